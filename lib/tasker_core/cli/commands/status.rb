# frozen_string_literal: true

require_relative "../command"
require_relative "../time_window"

module TaskerCore
  module CLI
    module Commands
      # tasker status: the processes, the queues, the tasks by state and the steps of running
      # tasks that no worker holds (waiting, by what for; skipped), on one screen.
      class Status < Command
        SUMMARY = "processes, queues, tasks by state, waiting and skipped steps"
        USAGE = "[options]"

        private

        def declare(parser)
          declare_json(parser)
        end

        def run(_args)
          report = { "processes" => admin.processes, "queues" => admin.queues, "tasks" => admin.counts_by_state,
                     "steps" => admin.step_counts }
          return print_json(report) if output.json?

          print_processes(report["processes"])
          output.puts
          Queues.print_table(output, report["queues"])
          output.puts
          output.table(%w[STATE TASKS], report["tasks"].map { |state, count| [output.state(state), count] })
          output.puts
          print_steps(report["steps"])
          EXIT[:ok]
        end

        # Steps of the running tasks: waiting (for what) and skipped.
        def print_steps(steps)
          kinds = steps["waiting_by_kind"].select { |_, n| n.positive? }.map { |kind, n| "#{n} #{kind.tr('_', ' ')}" }
          waiting = "#{steps['waiting']}#{" (#{kinds.join(', ')})" unless kinds.empty?}"
          waiting += "  next wake #{steps['next_wake_at']}" if steps["next_wake_at"]
          output.table(%w[STEPS_OF_RUNNING_TASKS COUNT],
                       [[output.state("waiting"), waiting], [output.state("skipped"), steps["skipped"]]])
        end

        def print_processes(processes)
          if processes.empty?
            output.puts("no processes have reported (orchestrators and workers beat every few seconds)")
            return
          end
          rows = processes.map do |p|
            [p["kind"], "#{p['host']}:#{p['pid']}", p["alive"] ? output.state("complete", "alive") : output.state("error", "gone"),
             Array(p["namespaces"]).join(","), "#{p['busy']}/#{p['concurrency']}", p["processed"], p["failed"],
             p["last_seen_at"]]
          end
          output.table(%w[KIND PROCESS STATUS NAMESPACES BUSY PROCESSED FAILED LAST_SEEN], rows)
        end
      end
    end
  end
end
