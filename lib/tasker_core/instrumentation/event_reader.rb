# frozen_string_literal: true

require "pg"
require_relative "payloads"

module TaskerCore
  module Instrumentation
    # The SQL side of an EventRelay: reads the events committed since a snapshot and turns
    # each row into [name, started, finished, payload].
    #
    # Why snapshots and not an id cursor: ids are taken at insert and transactions commit in
    # any order, so a cursor past id 101 would skip id 100 committed a moment later. A row is
    # new exactly when it is visible now and was not in the last snapshot
    # (tasker_events_since), so each is read once, whenever its transaction commits.
    class EventReader
      CURRENT_SNAPSHOT = "SELECT pg_current_snapshot()::text AS snapshot"
      SINCE_SQL = "SELECT * FROM tasker_events_since($1::pg_snapshot, $2::bigint, $3::int)"
      PRUNE_SQL = "DELETE FROM tasker_events WHERE created_at < now() - make_interval(secs => $1::int)"
      PAGE = 500
      TIMESTAMP = PG::TextDecoder::TimestampWithTimeZone.new

      # The snapshot a relay starts from: nothing committed before it is replayed.
      def self.snapshot(conn)
        conn.exec(CURRENT_SNAPSHOT).getvalue(0, 0)
      end

      # [next snapshot, [[name, started, finished, payload], ...]] oldest first. One
      # repeatable-read transaction, so every page sees the same snapshot.
      def self.read(conn, since)
        rows = []
        snapshot = since
        conn.transaction do
          conn.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
          after = 0
          loop do
            page = conn.exec_params(SINCE_SQL, [since, after, PAGE]).to_a
            snapshot = page.first.fetch("snapshot")
            events = page.select { |row| row["event_id"] }
            rows.concat(events)
            break if events.size < PAGE

            after = events.last["event_id"]
          end
        end
        [snapshot, rows.filter_map { |row| event(row) }]
      end

      # Deletes events older than `seconds` (every relay may: each keeps its own snapshot).
      def self.prune(conn, seconds)
        conn.exec_params(PRUNE_SQL, [seconds]).cmd_tuples
      end

      def self.event(row)
        at = time(row["transition_at"])
        if row["source"] == "task"
          name = TASK_EVENTS[row["to_state"]] or return nil
          created = time(row["task_created_at"])
          [name, created, at, Payloads.task_event(row, created, at)]
        else
          due = row["delay_ms"] ? at + (Integer(row["delay_ms"]) / 1000.0) : at
          [STEP_RETRY, at, due, Payloads.step_retry(row, at, due)]
        end
      end

      def self.time(text)
        TIMESTAMP.decode(text)
      end
      private_class_method :event, :time
    end
  end
end
