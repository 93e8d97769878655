# frozen_string_literal: true

require "json"
require "pg"
require_relative "../errors"
require_relative "../logging"
require_relative "../messaging/pgmq_client"

module TaskerCore
  module Worker
    # Posts the results of all of a worker's handler threads in batches. A handler thread
    # hands over its result and waits; the poster thread sends whatever has gathered in ONE
    # statement (tasker_post_results: delete each step message, guarded by read_ct, and
    # send its result, atomically). Under load many results share a round trip and a commit;
    # a lone result goes out at once (group commit, no timer).
    class ResultPoster
      SQL = "SELECT tasker_post_results($1, $2::bigint[], $3::int[], $4::jsonb[]) AS msg_id"
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
        params = [queue, ARRAY.encode(entries.map { |e| e.message.msg_id }),
                  ARRAY.encode(entries.map { |e| e.message.read_ct }), ARRAY.encode(entries.map(&:result))]
        @batches += 1
        posted = @db.with { |conn| conn.exec_params(SQL, params).map { |row| Integer(row["msg_id"]) } }
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
