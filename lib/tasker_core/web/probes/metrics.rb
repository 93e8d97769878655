# frozen_string_literal: true

require "pg"
require_relative "../../admin"
require_relative "../../client"
require_relative "../../errors"
require_relative "../../processes"
require_relative "exposition"
require_relative "histograms"

module TaskerCore
  module Web
    class Probes
      # GET /metrics. Gauges from the read model (Admin#queues, Admin#processes); counters
      # and histograms from the schema's totals (migration 12: appended by triggers on the
      # transitions, folded by each scrape, read as totals + pending deltas in one snapshot),
      # so they never go down when retention prunes history, and a scrape reads a few small
      # rows whatever the history's size. Every process serves the whole database's values:
      # scrape one target, or aggregate with max() across targets, never sum().
      class Metrics
        FOLD_SQL = "SELECT tasker_metrics_fold() AS moved"
        READ_SQL = "SELECT family, a, b, c, bucket, count, sum FROM tasker_metrics_read()"
        BOUNDS_SQL = "SELECT unnest(tasker_metric_bounds()) AS bound"
        HELP = {
          "tasker_queue_depth" => "Messages in the pgmq queue (visible, in flight and delayed).",
          "tasker_queue_oldest_age_seconds" => "Age of the queue's oldest message in seconds (0 when empty).",
          "tasker_steps_total" => "Step attempts finished, by outcome: completed, failed (final), retried.",
          "tasker_handler_duration_seconds" => "Run time of a step attempt, from its claim to its result.",
          "tasker_task_duration_seconds" => "Time from a task's creation to its completion or failure.",
          "tasker_dead_letters" => "Dead letters not yet requeued or discarded, by the queue they came from.",
          "tasker_processes" => "Orchestrator and worker processes alive (beating), by kind."
        }.freeze

        def initialize(config:, admin: nil)
          @config = config
          @admin = admin
          @mutex = Mutex.new
        end

        def render
          queues = admin.queues
          processes = admin.processes
          rows = counter_rows
          out = Exposition.new
          gauges(out, queues, processes)
          out.family("tasker_steps_total", "counter", HELP["tasker_steps_total"], step_samples(rows))
          Histograms.new(bounds, rows).families(out, HELP)
          out.to_s
        end

        private

        def gauges(out, queues, processes)
          out.family("tasker_queue_depth", "gauge", HELP["tasker_queue_depth"],
                     queues.map { |q| ["", { "queue" => q["name"] }, q["depth"]] })
          out.family("tasker_queue_oldest_age_seconds", "gauge", HELP["tasker_queue_oldest_age_seconds"],
                     queues.map { |q| ["", { "queue" => q["name"] }, q["oldest_age_s"] || 0] })
          out.family("tasker_dead_letters", "gauge", HELP["tasker_dead_letters"],
                     queues.map { |q| ["", { "queue" => q["name"] }, q["dead_letters"]] })
          alive = Processes::KINDS.to_h { |kind| [kind, 0] }
          processes.each { |p| alive[p["kind"]] = alive.fetch(p["kind"], 0) + 1 if p["alive"] }
          out.family("tasker_processes", "gauge", HELP["tasker_processes"],
                     alive.map { |kind, n| ["", { "kind" => kind }, n] })
        end

        def step_samples(rows)
          rows.select { |row| row["family"] == "steps" }.map do |row|
            ["", { "namespace" => row["a"], "handler" => row["b"], "outcome" => row["c"] }, Integer(row["count"])]
          end
        end

        # Folds first (committed on its own), then reads: the read sees the fold or, when
        # another scrape is folding, counts the deltas itself.
        def counter_rows
          Client.query(FOLD_SQL, [])
          Client.query(READ_SQL, [])
        end

        def bounds
          @mutex.synchronize { @bounds ||= Client.query(BOUNDS_SQL, []).map { |row| Float(row["bound"]) } }
        end

        def admin
          @mutex.synchronize { @admin ||= Admin.new(config: @config) }
        end
      end
    end
  end
end
