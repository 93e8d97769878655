# frozen_string_literal: true

require "pg"

module Bench
  # What a stretch of work cost the database server: CPU seconds of every PostgreSQL
  # process, and the transactions and top-level statements of one database. Shared by our
  # workloads and the peers', so that both are measured the same way.
  #
  # CPU: the live postgres processes' user + system time, plus the postmaster's reaped
  # children's (a backend that exits mid-run takes its time with it otherwise). It is
  # server-wide: nothing else should run on the server meanwhile.
  # Transactions come from pg_stat_database, statements from pg_stat_statements where it
  # is preloaded (nil otherwise). Backends flush their statistics at most once a second
  # while busy and within ~10 s when idle, so `finish` waits for them.
  # Counts that do not depend on the machine's speed, for comparing runs and machines: rows
  # written (inserted, updated, deleted) and rows read by sequential scans in the
  # database's tables (pg_stat_user_tables), and WAL records and bytes written
  # (server-wide). A checkpoint starts the window, so that every page's first change in it
  # writes its full image, whatever the server's checkpoint timing (about half the bytes).
  module ServerCost
    TICK = 100.0 # USER_HZ on Linux
    FLUSH_WAIT = 11
    PROBE = "/* bench:server_cost */"
    TABLE_COUNTS = %w[row_writes seq_scan_rows].freeze
    COUNTS = (%w[transactions wal_records] + TABLE_COUNTS).freeze

    module_function

    # Runs the block and returns [block's value, {"pg_cpu_s", "wal_bytes", "wal_records",
    # "transactions", "row_writes", "seq_scan_rows", "statements"}].
    def measure(url)
      conn = PG.connect(url)
      statements = statements_available?(conn)
      conn.exec("#{PROBE} CHECKPOINT")
      before = snapshot(conn, statements)
      value = yield
      cpu_after = cpu_seconds
      wal_after = wal_bytes(conn)
      sleep FLUSH_WAIT
      after = snapshot(conn, statements)
      [value, { "pg_cpu_s" => cpu_after - before["cpu"], "wal_bytes" => wal_after - before["wal_bytes"],
                **COUNTS.to_h { |name| [name, after[name] - before[name]] },
                "statements" => statements ? after["statements"] - before["statements"] : nil }]
    ensure
      conn&.close
    end

    # Divides a measure's counts by `steps`: {"pg_cpu_ms_per_step", ...}.
    def per_step(cost, steps)
      { "pg_cpu_ms_per_step" => cost["pg_cpu_s"] * 1000.0 / steps,
        "transactions_per_step" => cost["transactions"].to_f / steps,
        "row_writes_per_step" => cost["row_writes"].to_f / steps,
        "seq_scan_rows_per_step" => cost["seq_scan_rows"].to_f / steps,
        "wal_records_per_step" => cost["wal_records"].to_f / steps,
        "wal_bytes_per_step" => cost["wal_bytes"].to_f / steps,
        "statements_per_step" => cost["statements"] && cost["statements"].to_f / steps }
    end

    def snapshot(conn, statements)
      conn.exec("#{PROBE} SELECT pg_stat_clear_snapshot()")
      transactions = conn.exec(<<~SQL).getvalue(0, 0).to_i
        #{PROBE} SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()
      SQL
      counted = statements && conn.exec(<<~SQL).getvalue(0, 0).to_i
        #{PROBE} SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
         WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%bench:server_cost%'
      SQL
      tables = conn.exec(<<~SQL).first
        #{PROBE} SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS row_writes,
                        coalesce(sum(seq_tup_read), 0) AS seq_scan_rows
          FROM pg_stat_user_tables
      SQL
      wal_records = conn.exec("#{PROBE} SELECT wal_records FROM pg_stat_wal").getvalue(0, 0).to_i
      { "cpu" => cpu_seconds, "wal_bytes" => wal_bytes(conn), "wal_records" => wal_records, "transactions" => transactions,
        "statements" => counted,
        **TABLE_COUNTS.to_h { |name| [name, tables[name].to_i] } }
    end

    def wal_bytes(conn)
      conn.exec("#{PROBE} SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").getvalue(0, 0).to_i
    end

    def statements_available?(conn)
      conn.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
      conn.exec("#{PROBE} SELECT 1 FROM pg_stat_statements LIMIT 1")
      true
    rescue PG::Error
      false # not in shared_preload_libraries
    end

    def cpu_seconds
      pids = Dir.glob("/proc/[0-9]*/comm").filter_map { |f| f.split("/")[2].to_i if read(f)&.strip == "postgres" }
      pids.sum do |pid|
        fields = read("/proc/#{pid}/stat")&.split(") ")&.last&.split
        next 0.0 unless fields

        own = fields[11, 2].sum(&:to_i)
        # The postmaster (its parent is not postgres) holds its reaped backends' time.
        reaped = pids.include?(fields[1].to_i) ? 0 : fields[13, 2].sum(&:to_i)
        (own + reaped) / TICK
      end
    end

    def read(path)
      File.read(path)
    rescue SystemCallError
      nil
    end
  end
end
