# frozen_string_literal: true

require "pg"
require "time"

module Bench
  # Reads measurements from the database (transition times) and from /proc.
  module Measure
    module_function

    # Milliseconds from each step's result being posted (the worker's finished_at) to the
    # next step's claim (its handler starting), along a chain.
    def hop_latencies_ms(conn, task_uuid)
      rows = conn.exec_params(<<~SQL, [task_uuid]).to_a
        SELECT s.name, tr.to_state, tr.created_at, tr.metadata->>'finished_at' AS finished_at
          FROM tasker_step_transitions tr JOIN tasker_workflow_steps s ON s.id = tr.step_id
          JOIN tasker_tasks t ON t.id = s.task_id
         WHERE t.uuid = $1 AND tr.to_state IN ('in_progress', 'complete')
      SQL
      claimed = rows.select { |r| r["to_state"] == "in_progress" }.to_h { |r| [r["name"], Time.parse(r["created_at"])] }
      finished = rows.select { |r| r["to_state"] == "complete" }.to_h { |r| [r["name"], Time.parse(r["finished_at"])] }
      (1...claimed.size).map { |i| (claimed["s#{i}"] - finished["s#{i - 1}"]) * 1000.0 }
    end

    def percentile(values, pct)
      sorted = values.sort
      sorted[[(pct / 100.0 * sorted.size).ceil - 1, 0].max]
    end

    # Returns how many times it asked (each one statement in a transaction of its own), so
    # that a cost measured around it can leave the benchmark's own polling out.
    def wait_all(conn, uuids, timeout:, interval: 0.02)
      deadline = Time.now + timeout
      encoded = PG::TextEncoder::Array.new.encode(uuids)
      (1..).each do |polls|
        done = conn.exec_params("SELECT count(*) FROM tasker_tasks WHERE uuid = ANY($1::uuid[]) AND state IN ('complete', 'error')",
                                [encoded]).getvalue(0, 0).to_i
        return polls if done == uuids.size
        raise "only #{done}/#{uuids.size} tasks finished in #{timeout} s" if Time.now > deadline

        sleep interval
      end
    end

    # Every step of these tasks completed with the result its handler returns (its attempt
    # number, see Bench::Noop); raises naming what is wrong.
    def verify_results!(conn, uuids)
      wrong = conn.exec_params(<<~SQL, [PG::TextEncoder::Array.new.encode(uuids)]).getvalue(0, 0).to_i
        SELECT count(*) FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
         WHERE t.uuid = ANY($1::uuid[]) AND (s.state <> 'complete' OR s.results IS DISTINCT FROM to_jsonb(s.attempts))
      SQL
      raise "#{wrong} steps did not complete with their handler's result" unless wrong.zero?
    end

    # After the whole run: no step accepted twice, no counter drift.
    def verify_history!(conn)
      twice = conn.exec(<<~SQL).getvalue(0, 0).to_i
        SELECT count(*) FROM (SELECT step_id FROM tasker_step_transitions WHERE to_state = 'complete'
                               GROUP BY step_id HAVING count(*) > 1) t
      SQL
      drift = conn.exec("SELECT count(*) FROM tasker_counter_drift").getvalue(0, 0).to_i
      raise "#{twice} steps completed twice, #{drift} tasks with drifted counters" unless twice.zero? && drift.zero?
    end

    def all_complete?(conn, uuids)
      conn.exec_params("SELECT count(*) FROM tasker_tasks WHERE uuid = ANY($1::uuid[]) AND state = 'complete'",
                       [PG::TextEncoder::Array.new.encode(uuids)]).getvalue(0, 0).to_i == uuids.size
    end

    # Resident memory of a process, in MiB.
    def rss_mib(pid)
      File.read("/proc/#{pid}/status")[/VmRSS:\s+(\d+)/, 1].to_i / 1024.0
    end

    # The database's load while tasker_core idles for `seconds`, per second:
    # "transactions" from pg_stat_database (every backend, autovacuum included) and, where
    # pg_stat_statements is loaded, "statements" (top-level statements, this probe's
    # excluded). First waits for autovacuum to finish with the tables the previous runs
    # churned, and for idle backends to flush their statistics (PostgreSQL does so within
    # 10 s), so that the window holds only what idling costs.
    def idle_load(url, seconds)
      conn = PG.connect(url)
      settle(conn)
      statements = statements_counter(conn)
      sql = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
      transactions = -> { conn.exec(sql).getvalue(0, 0).to_i }
      conn.exec("SELECT pg_stat_clear_snapshot()")
      before = [transactions.call, statements&.call]
      sleep seconds
      conn.exec("SELECT pg_stat_clear_snapshot()")
      after = [transactions.call, statements&.call]
      { "transactions" => (after[0] - before[0] - 2) / seconds.to_f,
        "statements" => statements && (after[1] - before[1]) / seconds.to_f }
    ensure
      conn&.close
    end

    def settle(conn, limit: 120)
      deadline = now + limit
      sleep 1 while now < deadline && conn.exec(<<~SQL).getvalue(0, 0).to_i.positive?
        SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'autovacuum worker'
      SQL
      sleep 11
    end

    # Counts top-level statements of everyone but this connection's user-invisible probes.
    def statements_counter(conn)
      conn.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
      sql = "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) " \
            "AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_stat_database%' AND query NOT LIKE '%pg_stat_clear_snapshot%'"
      conn.exec(sql)
      -> { conn.exec(sql).getvalue(0, 0).to_i }
    rescue PG::Error
      nil # not loaded (shared_preload_libraries): transactions only
    end

    # CPU seconds (user + system) used so far by the orchestrators, the workers, PostgreSQL
    # (every postgres process) and this benchmark process, to show where a run's time goes.
    def cpu_seconds(fleet)
      tick = 100.0 # USER_HZ on Linux
      cpu = lambda do |pid|
        fields = proc_file("/proc/#{pid}/stat")&.split(") ")&.last&.split
        fields ? fields[11, 2].sum(&:to_i) / tick : 0.0
      end
      postgres = Dir.glob("/proc/[0-9]*/comm").select { |f| proc_file(f)&.strip == "postgres" }
                    .map { |f| f.split("/")[2].to_i }
      { "orchestrator" => fleet.alive(:orchestrator).sum { |m| cpu.call(m.pid) },
        "workers" => fleet.alive(:worker).sum { |m| cpu.call(m.pid) },
        "postgres" => postgres.sum { |pid| cpu.call(pid) },
        "benchmark" => Process.times.then { |t| t.utime + t.stime } }
    end

    # A /proc file's text, or nil when the process is gone (processes come and go mid-read).
    def proc_file(path)
      File.read(path)
    rescue SystemCallError
      nil
    end

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
