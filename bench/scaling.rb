# frozen_string_literal: true

require "etc"
require_relative "measure"
require_relative "throughput"
require_relative "workloads"

module Bench
  # Throughput against the fleet's shape: 1, 2 and 4 worker processes under one
  # orchestrator, and 1 and 2 orchestrators over 2 workers. Each shape gets a fleet of its
  # own, started, warmed up and stopped around its point; CPU only (no wait for statistics
  # to flush), so that the section stays short. Needs the benchmark's own fleet stopped.
  class Scaling
    # series => [[orchestrators, workers], ...]; the number in a row's name is the one varied.
    SERIES = { "workers" => [[1, 1], [1, 2], [1, 4]], "orchestrators" => [[1, 2], [2, 2]] }.freeze
    # Diamonds run before each point: connections opened, statements prepared.
    WARM_UP = 20
    READY_TIMEOUT = 60
    COLUMNS = { "steps_per_s" => "steps/s", "pg_cpu_ms_per_step" => "pg ms/step", "pg_cores" => "pg cores",
                "worker_cores" => "worker cores", "orchestrator_cores" => "orch cores" }.freeze

    # new_fleet: returns a Chaos::Fleet not yet started.
    def initialize(conn:, new_fleet:, count:)
      @conn = conn
      @new_fleet = new_fleet
      @count = count
      @points = {}
    end

    # Measures every shape once (a shape in two series is shared) and returns the rows,
    # e.g. "scaling_workers_4_steps_per_s", with each series' last point over its first.
    def run
      SERIES.values.flatten(1).uniq.each { |shape| @points[shape] = measure(*shape) }
      SERIES.each_with_object({}) do |(series, shapes), rows|
        shapes.each do |shape|
          @points[shape].each { |key, value| rows["scaling_#{series}_#{varied(series, shape)}_#{key}"] = value }
        end
        first, last = shapes.values_at(0, -1)
        rows["scaling_#{series}_#{varied(series, last)}_over_#{varied(series, first)}"] =
          @points[last]["steps_per_s"] / @points[first]["steps_per_s"]
      end
    end

    # The points measured, as a compact table.
    def table
      lines = ["scaling (#{@count} diamonds per point, #{Etc.nprocessors} cores)",
               format("  %-26s%s", "shape", COLUMNS.values.map { |title| title.rjust(13) }.join)]
      @points.each do |(orchestrators, workers), figures|
        shape = "#{orchestrators} orchestrator#{'s' if orchestrators > 1}, #{workers} worker#{'s' if workers > 1}"
        lines << format("  %-26s%s", shape, COLUMNS.keys.map { |key| format("%13.3f", figures[key]) }.join)
      end
      lines.join("\n")
    end

    private

    def varied(series, (orchestrators, workers))
      series == "workers" ? workers : orchestrators
    end

    def measure(orchestrators, workers)
      fleet = @new_fleet.call.start(orchestrators: orchestrators, workers: workers)
      wait_for_listeners(workers)
      warm = Array.new(WARM_UP) { Workloads.enqueue("diamond") }
      Measure.wait_all(@conn, warm, timeout: READY_TIMEOUT)
      uuids, figures = Throughput.with_cpu(@conn, fleet, @count)
      Throughput.verify!(@conn, warm + uuids)
      figures
    ensure
      fleet&.shutdown
    end

    # Every worker process LISTENs on a connection of its own once it is up.
    def wait_for_listeners(workers)
      deadline = Measure.now + READY_TIMEOUT
      until @conn.exec(<<~SQL).getvalue(0, 0).to_i >= workers
        SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tasker_core_listener'
      SQL
        raise "#{workers} workers did not connect within #{READY_TIMEOUT} s" if Measure.now > deadline

        sleep 0.05
      end
    end
  end
end
