# frozen_string_literal: true

require "json"
require "pg"
require_relative "../errors"
require_relative "../logging"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/prepared"
require_relative "../messaging/queue_statements"
require_relative "../types/step_error"

module TaskerCore
  module Worker
    # Posts the results of all of a worker's handler threads in batches, by combining: a
    # handler thread adds its result to the pending list; if no thread is posting, it
    # becomes the poster and sends everything pending (its own result included) in ONE
    # statement, otherwise it waits for the current post and then checks again. A lone result
    # goes out at once from its own thread (no hand-off to another thread, no timer); under
    # load many results share a round trip and a commit.
    #
    # The statement deletes each step message, guarded by the read_ct it was read with
    # (pgmq has no receipt handle), and posts the results of exactly the deleted ones,
    # atomically: a plain success whose task moves on without a decision is applied in the
    # same transaction (tasker_apply_successes), the others are sent to step_results
    # (Messaging::QueueStatements.post_results, prepared once per connection, so planned
    # once). When results come with Handoffs, the same statement also gets a message for each:
    # under a backlog it claims the next ones of the queue and sends all its results to
    # step_results (post_results_and_claim); with none, it takes children its successes
    # applied in place release (post_results_and_take).
    class ResultPoster
      MAX_BATCH = 100
      ARRAY = PG::TextEncoder::Array.new
      IDS = PG::TextDecoder::Array.new(elements_type: PG::TextDecoder::Integer.new)

      # outcome: true (posted), false (redelivered meanwhile) or an exception. `json` is
      # what is sent: the result, or the failure that replaced a result PostgreSQL refused.
      # handoff: a Worker::Handoff or nil.
      Entry = Struct.new(:queue, :message, :result, :json, :outcome, :handoff) do
        def done?
          !outcome.nil?
        end

        def replaced?
          result.failure? && result.error.error_class == UNSTORABLE
        end

        # The step fails for good with a reason that itself can be stored, so the task
        # moves on (a retry would produce the same output).
        def replace_with_failure(why)
          error = Types::StepError.new(error_class: UNSTORABLE, message: "handler output cannot be stored: #{why}",
                                       retryable: false)
          self.result = result.with(status: "failure", results: nil, error: error, await_task: nil)
          self.json = JSON.generate(result.to_h)
        end
      end
      UNSTORABLE = "TaskerCore::UnstorableResult"

      # max_message_bytes: orchestrator.max_message_bytes (a success larger is left to the
      # orchestrator, which refuses it). A post that also claims under a backlog sends all
      # its results to step_results (see QueueStatements.post_results_and_claim).
      def initialize(db:, max_message_bytes:)
        @db = db
        @max_message_bytes = max_message_bytes
        @pending = []
        @posting = false
        @mutex = Mutex.new
        @posted = ConditionVariable.new
        @batches = 0
        @statements = {}
        @log = Logging.logger("worker.results")
      end

      # Statements run so far (each posts one batch).
      attr_reader :batches

      # Posts `result` for `message` of `queue`. Returns true when posted, false when the
      # message was redelivered since it was read (its current holder reports instead).
      # Raises DatabaseError when the statement failed (nothing was posted). json: the
      # result's JSON when the caller has it already. handoff: fills its pairs with the
      # message claimed for it, if any.
      def post(queue, message, result, json: nil, handoff: nil)
        entry = Entry.new(queue, message, result, json || JSON.generate(result.to_h), nil, handoff)
        @mutex.synchronize { @pending << entry }
        until entry.done?
          batch = take_batch_or_wait(entry)
          post_batch(batch) if batch
        end
        raise entry.outcome if entry.outcome.is_a?(Exception)

        entry.outcome
      end

      private

      # The pending results when this thread becomes the poster; nil after waiting for
      # another thread's post (which may or may not have carried this entry).
      def take_batch_or_wait(entry)
        @mutex.synchronize do
          return nil if entry.done?

          if @posting
            @posted.wait(@mutex)
            return nil
          end
          @posting = true
          @pending.shift(MAX_BATCH)
        end
      end

      def post_batch(batch)
        batch.group_by(&:queue).each { |queue, entries| post_queue(queue, entries) }
      ensure
        # Also when the thread is killed mid-post: no entry of the batch is left waiting.
        batch.each { |e| e.outcome = Error.new("result not posted: the posting thread was stopped") unless e.done? }
        @mutex.synchronize do
          @posting = false
          @posted.broadcast
        end
      end

      # A statement that fails for one result never fails the others: the batch is posted
      # again one result at a time, and a result PostgreSQL cannot store (a data error, e.g.
      # a NUL in a string) becomes a failure of its own step.
      def post_queue(queue, entries)
        posted = run(queue, entries)
        entries.each { |e| e.outcome = posted.include?(e.message.msg_id) }
      rescue PG::Error => e
        if Messaging::PgmqClient.connection_error?(e)
          fail_all(entries) { raise DatabaseError, "posting results failed: #{Messaging::PgmqClient.describe(e)}" }
        elsif entries.any?(&:handoff)
          # A claim never costs a result its post: post again without claiming.
          entries.each { |entry| entry.handoff = nil }
          post_queue(queue, entries)
        elsif entries.size > 1
          entries.each { |entry| post_queue(queue, [entry]) }
        else
          post_unstorable(queue, entries.first, e)
        end
      rescue StandardError => e
        fail_all(entries) { raise e }
      end

      # Posts alone, or with the handoffs' messages: taken from the children released when no
      # handoff saw a backlog, read from the queue otherwise.
      def run(queue, entries)
        handoffs = entries.filter_map(&:handoff)
        return run_post(queue, entries) if handoffs.empty?

        kind = handoffs.all?(&:released_only) ? :post_results_and_take : :post_results_and_claim
        run_post_and_hand_over(queue, entries, kind)
      end

      def run_post(queue, entries)
        name, sql = statement(queue)
        @batches += 1
        params = post_params(entries) << @max_message_bytes
        @db.with do |conn|
          Messaging::Prepared.exec(conn, name, sql, params).map { |row| Integer(row["msg_id"]) }
        end
      end

      # Posts and claims (or takes) as many messages as the batch has handoffs, each claimed
      # message going to one of them (at most one each, in order).
      def run_post_and_hand_over(queue, entries, kind)
        handoffs = entries.filter_map(&:handoff)
        reader = handoffs.first.reader
        params = reader.params(vt: handoffs.first.vt, qty: handoffs.size) + post_params(entries)
        params << @max_message_bytes if kind == :post_results_and_take
        name, sql = statement(queue, kind)
        @batches += 1
        result = @db.with { |conn| Messaging::Prepared.exec(conn, name, sql, params) }
        posted = IDS.decode(result.getvalue(0, result.fnumber("posted"))) || []
        hand_over(reader, result, handoffs)
        posted
      end

      # The results are posted (committed) by now: a claimed message that cannot be handed
      # over is left to be redelivered after its visibility timeout, not counted against them.
      def hand_over(reader, result, handoffs)
        reader.pairs(result).zip(handoffs) { |pair, handoff| handoff.pairs << pair }
      rescue StandardError => e
        @log.error(msg: "claimed messages not handed over; they will be redelivered after the visibility timeout",
                   queue: reader.queue, error_class: e.class.name, error: e.message)
      end

      def post_params(entries)
        [ARRAY.encode(entries.map { |e| e.message.msg_id }), ARRAY.encode(entries.map { |e| e.message.read_ct }),
         ARRAY.encode(entries.map(&:json))]
      end

      # [prepared statement name, SQL] of a queue's statement, built once (only the posting
      # thread reads it).
      def statement(queue, kind = :post_results)
        @statements[[queue, kind]] ||= ["tasker_#{kind}_#{queue}", Messaging::QueueStatements.public_send(kind, queue)].freeze
      end

      def post_unstorable(queue, entry, error)
        why = Messaging::PgmqClient.describe(error)
        return fail_all([entry]) { raise DatabaseError, "posting results failed: #{why}" } unless error.is_a?(PG::DataException) && !entry.replaced?

        entry.replace_with_failure(why)
        post_queue(queue, [entry])
      end

      def fail_all(entries)
        yield
      rescue StandardError => e
        entries.each { |entry| entry.outcome = e }
      end
    end
  end
end
