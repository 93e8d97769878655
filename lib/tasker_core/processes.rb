# frozen_string_literal: true

require "pg"
require "json"
require "time"
require_relative "errors"
require_relative "processes/rss"
require_relative "processes/beat"

module TaskerCore
  # Who is running: every orchestrator and worker process keeps a row in tasker_processes
  # up to date (Processes::Beat, every `interval_s`) and deletes it when it stops. For
  # operators only: work is routed by the queues, never by this table.
  #
  #   TaskerCore::Processes.list   # => [{"kind"=>"worker", "pid"=>..., "alive"=>true, ...}]
  module Processes
    KINDS = %w[orchestrator worker].freeze
    # Each beat is a transaction per process: idle cost, so not more often than this.
    DEFAULT_INTERVAL_S = 10.0
    # A process is alive while its last beat is within this many of its own intervals.
    ALIVE_INTERVALS = 3
    # Rows silent this long (seconds) are deleted by the beats of the other processes.
    PRUNE_AFTER_S = 300

    TIMESTAMP = PG::TextDecoder::TimestampWithTimeZone.new
    TEXT_ARRAY = PG::TextDecoder::Array.new

    # alive is judged by the database's clock, which stamped last_seen_at: hosts' clocks may differ.
    LIST_SQL = <<~SQL.freeze
      SELECT id, kind, host, pid, version, namespaces, concurrency, busy, processed, failed, rss_bytes,
             beat_interval_s, details::text AS details, started_at, last_seen_at,
             last_seen_at >= clock_timestamp() - make_interval(secs => beat_interval_s * #{ALIVE_INTERVALS}) AS alive
        FROM tasker_processes ORDER BY kind, host, pid, started_at
    SQL

    # SKIP LOCKED: processes pruning at once never wait on each other (nor deadlock).
    PRUNE_SQL = <<~SQL
      WITH gone AS (
        DELETE FROM tasker_processes WHERE id IN (
          SELECT id FROM tasker_processes WHERE last_seen_at < clock_timestamp() - make_interval(secs => $1::float8)
             FOR UPDATE SKIP LOCKED)
        RETURNING 1)
      SELECT count(*) AS n FROM gone
    SQL

    @interval_s = DEFAULT_INTERVAL_S

    class << self
      # How often the beats of processes started from now on are sent (seconds; specs
      # shorten it). Each row records its own interval, so readers judge each process by it.
      attr_reader :interval_s

      def interval_s=(seconds)
        @interval_s = check_seconds(seconds, "interval_s")
      end

      # Every process row, oldest kind first: {"id", "kind", "host", "pid", "version",
      # "namespaces", "concurrency", "busy", "processed", "failed", "rss_bytes", "started_at",
      # "last_seen_at" (ISO 8601 UTC, ms), "alive", "beat_interval_s", "details"}. conn: a
      # PG::Connection, or nil for the client's pool.
      def list(conn = nil)
        rows = conn ? conn.exec_params(LIST_SQL, []).to_a : Client.query(LIST_SQL, [])
        rows.map { |row| process_hash(row) }
      rescue PG::Error => e
        raise DatabaseError, "could not list processes: #{Messaging::PgmqClient.describe(e)}"
      end

      # Deletes the rows of processes silent for more than `older_than` seconds (every beat
      # calls it; it is one indexed DELETE). Returns how many were deleted.
      def prune!(conn = nil, older_than: PRUNE_AFTER_S)
        params = [check_seconds(older_than, "older_than")]
        rows = conn ? conn.exec_params(PRUNE_SQL, params).to_a : Client.query(PRUNE_SQL, params)
        Integer(rows.first["n"])
      rescue PG::Error => e
        raise DatabaseError, "could not prune processes: #{Messaging::PgmqClient.describe(e)}"
      end

      private

      def check_seconds(value, field)
        return value.to_f if value.is_a?(Numeric) && value.positive? && value.finite?

        raise ValidationError.new("#{field} must be a positive number of seconds, got #{value.inspect}", field: field)
      end

      def process_hash(row)
        { "id" => row["id"], "kind" => row["kind"], "host" => row["host"], "pid" => Integer(row["pid"]),
          "version" => row["version"], "namespaces" => TEXT_ARRAY.decode(row["namespaces"]),
          "concurrency" => int(row["concurrency"]), "busy" => int(row["busy"]), "processed" => int(row["processed"]),
          "failed" => int(row["failed"]), "rss_bytes" => int(row["rss_bytes"]),
          "started_at" => time(row["started_at"]), "last_seen_at" => time(row["last_seen_at"]),
          "alive" => row["alive"] == "t", "beat_interval_s" => Float(row["beat_interval_s"]),
          "details" => JSON.parse(row["details"]) }
      end

      def int(text)
        text && Integer(text)
      end

      # The format of TaskerCore.task's times.
      def time(text)
        TIMESTAMP.decode(text).getutc.iso8601(3)
      end
    end
  end
end
