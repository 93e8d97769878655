# frozen_string_literal: true

require_relative "measure"
require_relative "server_cost"
require_relative "workloads"

module Bench
  # Concurrent diamonds (four no-op steps each) through a running fleet: steps per second
  # over the work alone, and what PostgreSQL and each kind of process spent per step.
  # Verifying the results (`verify!`) is the caller's, after the measurement: it is the
  # benchmark's cost, not the engine's.
  module Throughput
    STEPS_PER_TASK = 4
    # Slower than the latency runs' polling: every poll is a transaction the server pays for.
    POLL_INTERVAL = 0.05
    # The worker's own CPU per no-op step the performance issue asks for.
    WORKER_CPU_MS_PER_STEP_TARGET = 0.25
    # Busy backends flush their statistics at most once a second: waiting this long first
    # keeps the previous section's last transactions out of this one's count.
    SETTLE_S = 1.5

    module_function

    # The full cost, for the throughput section: ServerCost.measure around the work (it then
    # waits for the backends' statistics to flush). Returns [uuids, figures].
    def with_server_cost(conn, url, fleet, count, timeout: 600)
      sleep SETTLE_S
      (uuids, seconds, polls, cpu), cost = ServerCost.measure(url) do
        before = Measure.cpu_seconds(fleet)
        uuids, seconds, polls = diamonds(conn, count, timeout: timeout)
        [uuids, seconds, polls, spent(before, Measure.cpu_seconds(fleet))]
      end
      steps = uuids.size * STEPS_PER_TASK
      # The waiting loop's polls are one statement and one transaction each: not the engine's.
      engine = cost.merge("transactions" => cost["transactions"] - polls, "statements" => cost["statements"]&.-(polls))
      figures = { "steps_per_s" => steps / seconds, **ServerCost.per_step(engine, steps),
                  "worker_cpu_ms_per_step" => cpu["workers"] * 1000.0 / steps,
                  "orchestrator_cpu_ms_per_step" => cpu["orchestrator"] * 1000.0 / steps,
                  "steps_per_pg_core_s" => steps / cost["pg_cpu_s"] }
      cpu.each { |role, total| figures["cpu_share_#{role}"] = total / seconds }
      [uuids, figures]
    end

    # CPU only (no wait for statistics), for the scaling points: cores used are CPU seconds
    # over the work's wall seconds. Returns [uuids, figures].
    def with_cpu(conn, fleet, count, timeout: 600)
      pg_before = ServerCost.cpu_seconds
      before = Measure.cpu_seconds(fleet)
      uuids, seconds, = diamonds(conn, count, timeout: timeout)
      cpu = spent(before, Measure.cpu_seconds(fleet))
      pg = ServerCost.cpu_seconds - pg_before
      steps = uuids.size * STEPS_PER_TASK
      [uuids, { "steps_per_s" => steps / seconds, "pg_cpu_ms_per_step" => pg * 1000.0 / steps,
                "pg_cores" => pg / seconds, "worker_cores" => cpu["workers"] / seconds,
                "orchestrator_cores" => cpu["orchestrator"] / seconds }]
    end

    # The timed work: requests `count` diamonds and waits for them all.
    # Returns [uuids, seconds, polls].
    def diamonds(conn, count, timeout:)
      started = Measure.now
      uuids = Array.new(count) { Workloads.enqueue("diamond") }
      polls = Measure.wait_all(conn, uuids, timeout: timeout, interval: POLL_INTERVAL)
      [uuids, Measure.now - started, polls]
    end

    def verify!(conn, uuids)
      raise "diamond: not every task completed" unless Measure.all_complete?(conn, uuids)

      Measure.verify_results!(conn, uuids)
    end

    def spent(before, after)
      after.to_h { |role, total| [role, total - before[role]] }
    end
  end
end
