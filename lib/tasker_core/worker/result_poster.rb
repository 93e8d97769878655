# frozen_string_literal: true

require "json"
require "pg"
require_relative "../errors"
require_relative "../logging"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/prepared"
require_relative "../messaging/queue_names"

module TaskerCore
  module Worker
    # Posts the results of all of a worker's handler threads in batches. A handler thread
    # hands over its result and waits; the poster thread sends whatever has gathered in ONE
    # statement: delete each step message, guarded by the read_ct it was read with, and send
    # the results of exactly the deleted ones to step_results, atomically. Under load many results share a round trip and a commit;
    # a lone result goes out at once (group commit, no timer).
    class ResultPoster
      # Written against the queue tables (prepared once per connection, so planned once); the
      # insert is what pgmq.send_batch does, and fires the same NOTIFY trigger. A
      # data-modifying CTE always runs to completion, read or not.
      SQL = <<~SQL
        WITH gone AS (
            DELETE FROM %<table>s q
             USING unnest($1::bigint[], $2::int[]) AS h(msg_id, read_ct)
             WHERE q.msg_id = h.msg_id AND q.read_ct = h.read_ct
            RETURNING q.msg_id),
        sent AS (
            INSERT INTO pgmq.q_step_results (vt, message)
            SELECT clock_timestamp(), r.result
              FROM unnest($1::bigint[], $3::jsonb[]) WITH ORDINALITY AS r(msg_id, result, n)
             WHERE r.msg_id IN (SELECT msg_id FROM gone)
             ORDER BY r.n
            RETURNING msg_id)
        SELECT msg_id FROM gone
      SQL
      MAX_BATCH = 100
      ARRAY = PG::TextEncoder::Array.new

      Entry = Struct.new(:queue, :message, :result, :reply)

      def initialize(db:, logger: Logging.logger("worker.results"))
        @db = db
        @log = logger
        @pending = []
        @mutex = Mutex.new
        @arrived = ConditionVariable.new
        @stopping = false
        @batches = 0
      end

      # Statements run so far (each posts one batch).
      attr_reader :batches

      def start
        @thread = Thread.new do
          Thread.current.name = "tasker-results"
          run
        end
        self
      end

      # Posts `result` for `message` of `queue`. Returns true when posted, false when the
      # message was redelivered since it was read (its current holder reports instead).
      # Raises DatabaseError when the statement failed (nothing was posted).
      def post(queue, message, result)
        entry = Entry.new(queue, message, JSON.generate(result.to_h), Thread::Queue.new)
        @mutex.synchronize do
          raise Error, "result poster stopped" if @stopping || !@thread&.alive?

          @pending << entry
          @arrived.signal
        end
        outcome = entry.reply.pop
        raise outcome if outcome.is_a?(Exception)

        outcome
      end

      # Posts what is pending, then ends the thread.
      def stop(timeout: 5)
        @mutex.synchronize do
          @stopping = true
          @arrived.signal
        end
        @thread&.join(timeout)
      end

      private

      def run
        while (batch = next_batch)
          batch.group_by(&:queue).each { |queue, entries| post_batch(queue, entries) }
        end
      end

      # Waits for results; nil once stopping and drained.
      def next_batch
        @mutex.synchronize do
          @arrived.wait(@mutex) while @pending.empty? && !@stopping
          return nil if @pending.empty?

          @pending.shift(MAX_BATCH)
        end
      end

      def post_batch(queue, entries)
        params = [ARRAY.encode(entries.map { |e| e.message.msg_id }),
                  ARRAY.encode(entries.map { |e| e.message.read_ct }), ARRAY.encode(entries.map(&:result))]
        sql = format(SQL, table: Messaging::QueueNames.table(queue))
        @batches += 1
        posted = @db.with do |conn|
          Messaging::Prepared.exec(conn, "tasker_post_results_#{queue}", sql, params).map { |row| Integer(row["msg_id"]) }
        end
        entries.each { |e| e.reply << posted.include?(e.message.msg_id) }
      rescue PG::Error => e
        # Raised here so that the DatabaseError keeps the PG::Error as its cause.
        fail_all(entries) { raise DatabaseError, "posting results failed: #{Messaging::PgmqClient.describe(e)}" }
      rescue StandardError => e
        fail_all(entries) { raise e }
      rescue Exception # rubocop:disable Lint/RescueException
        # The thread is being killed: no waiting handler thread is left hanging.
        fail_all(entries) { raise Error, "result poster stopped before posting" }
        raise
      end

      def fail_all(entries)
        yield
      rescue StandardError => e
        entries.each { |entry| entry.reply << e }
      end
    end
  end
end
