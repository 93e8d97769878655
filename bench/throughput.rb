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
    # pg_stat_statements' entries evicted or reset (server-wide, by anyone) since its start.
    STATEMENTS_INFO = "SELECT dealloc, stats_reset FROM pg_stat_statements_info"

    module_function

    # The full cost, for the throughput section: ServerCost.measure around the work (it then
    # waits for the backends' statistics to flush). It waits as long before, too: statistics
    # flushed late (under contention backends retry after 10 s) would count the previous
    # section's transactions as this one's. Returns [uuids, figures].
    def with_server_cost(conn, url, fleet, count, timeout: 600)
      sleep ServerCost::FLUSH_WAIT
      info_before = ServerCost.statements_available?(conn) && statements_info(conn)
      # The waiting loop finds its tasks by key, so that the rows read by sequential scans
      # are the engine's alone.
      conn.exec("SET enable_seqscan = off")
      (uuids, seconds, polls, cpu), cost = ServerCost.measure(url) do
        before = Measure.cpu_seconds(fleet)
        uuids, seconds, polls = diamonds(conn, count, timeout: timeout)
        [uuids, seconds, polls, spent(before, Measure.cpu_seconds(fleet))]
      end
      conn.exec("RESET enable_seqscan")
      steps = uuids.size * STEPS_PER_TASK
      # The waiting loop's polls are one statement and one transaction each: not the engine's.
      statements = cost["statements"]&.-(polls)
      if statements && info_before != statements_info(conn)
        warn "bench: pg_stat_statements was reset or evicted entries meanwhile (server-wide): no statements figure"
        statements = nil
      end
      engine = cost.merge("transactions" => cost["transactions"] - polls, "statements" => statements)
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

    def statements_info(conn)
      conn.exec(STATEMENTS_INFO).values
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
