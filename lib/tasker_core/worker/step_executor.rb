# frozen_string_literal: true

require "json"
require_relative "../errors"
require_relative "../logging"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/queue_names"
require_relative "../messaging/queue_statements"
require_relative "../types/step_message"
require_relative "handler_runner"

module TaskerCore
  module Worker
    # One step message, start to finish, once the read judged it (ClaimingReader): run the
    # handler of a claimed step, then post the result, which deletes the message in the same
    # statement (guarded by read_ct; see ResultPoster). Any other message is set aside with
    # the database's reason: nothing is deleted without a trace.
    # Returns :success (an await_task result too), :failure, :skipped (not claimable), :invalid
    # or :redelivered.
    class StepExecutor
      ANCESTORS_SQL = "SELECT tasker_step_ancestor_results($1::uuid) AS results"
      # Dead-letter kind of each verdict that runs nothing.
      SET_ASIDE_KINDS = { "invalid" => "invalid_step_message", "mismatch" => "step_mismatch",
                          "ignored" => "ignored_step_message" }.freeze
      COMMIT_ATTEMPTS = 3

      def initialize(namespace:, db:, poster:, worker_id:, max_message_bytes:, registry: Handlers::Registry,
                     heartbeat: nil, max_reads: 5)
        @queue = Messaging::QueueNames.namespace_queue(namespace)
        @db = db
        @poster = poster # Worker::ResultPoster
        @worker_id = worker_id
        @heartbeat = heartbeat
        @max_reads = max_reads
        @log = Logging.logger("worker.#{namespace}")
        @runner = HandlerRunner.new(worker_id: worker_id, max_message_bytes: max_message_bytes,
                                    fetch_ancestors: method(:fetch_ancestors), registry: registry)
      end

      attr_reader :queue

      # claim: the Worker::Claim read with the message. handoff: a Worker::Handoff to claim
      # the next message with the result's post (left empty when no result is posted).
      def execute(message, claim, handoff: nil)
        return set_aside(message, claim) unless claim.claimed?

        step = parse(message, claim) or return :invalid
        return poisoned(message, step) if message.read_ct > @max_reads

        result, json = while_held(message) do
          @runner.run_with_json(step, claim)
        end
        commit(message, step, result, json, handoff)
      end

      private

      # A long handler keeps its message invisible (see Heartbeat).
      def while_held(message, &block)
        @heartbeat ? @heartbeat.covering(@queue, message, &block) : yield
      end

      # The database checked the claimed message's shape; this check is Ruby's own types.
      def parse(message, claim)
        Types::StepMessage.from_json_hash(message.message)
      rescue ValidationError => e
        dead_letter(message, claim.task_uuid, e.message)
        nil
      end

      def set_aside(message, claim)
        kind = SET_ASIDE_KINDS.fetch(claim.verdict, "invalid_step_message")
        dead_letter(message, claim.task_uuid, claim.reason || "step message not claimable", kind: kind)
        kind == "ignored_step_message" ? :skipped : :invalid
      end

      # Its handler killed the worker max_reads times: the step fails for good (a retry would
      # run the same code), in the transaction that sets the message aside, so the task
      # moves on instead of waiting for a message that will never be run.
      def poisoned(message, step)
        reason = "read #{message.read_ct} times without being processed (limit #{@max_reads}): " \
                 "its handler keeps killing the worker"
        error = Types::StepError.new(error_class: "TaskerCore::PoisonMessage", message: reason, retryable: false)
        result = Types::StepResult.failure(step, error: error, worker_id: @worker_id, started_at: Time.now)
        with_client do |client|
          client.transaction do
            insert_dead_letter(client, message, step.task_uuid, reason, "poison_message")
            client.send(Messaging::QueueNames::STEP_RESULTS, result.to_h)
          end
        end
        @log.error(msg: "step message set aside", kind: "poison_message", msg_id: message.msg_id, reason: reason)
        :invalid
      end

      # Archived with a dead letter row, never dropped: a message that runs nothing is worth
      # inspecting (a producer bug, a forgery, a cancelled task's leftover).
      def dead_letter(message, task_uuid, reason, kind: "invalid_step_message")
        with_client { |client| insert_dead_letter(client, message, task_uuid, reason, kind) }
        level = kind == "ignored_step_message" ? :info : :error
        @log.public_send(level, msg: "step message set aside", kind: kind, msg_id: message.msg_id, reason: reason)
      end

      def insert_dead_letter(client, message, task_uuid, reason, kind)
        params = [@queue, message.msg_id, kind, reason, task_uuid, ClaimingReader::MAX_STEP_MESSAGE_BYTES]
        client.connection.exec_params(Messaging::QueueStatements::DEAD_LETTER, params)
      rescue PG::Error => e
        raise DatabaseError, "setting aside message #{message.msg_id} failed: #{Messaging::PgmqClient.describe(e)}"
      end

      def commit(message, step, result, json, handoff)
        attempts = 0
        begin
          attempts += 1
          posted = @poster.post(@queue, message, result, json: json, handoff: handoff)
        rescue DatabaseError => e
          raise unless Messaging::PgmqClient.connection_error?(e) && attempts < COMMIT_ATTEMPTS

          # The handler's work is done: worth a reconnect rather than a rerun after the
          # visibility timeout. A post that did land is caught by the read_ct guard.
          sleep(0.2 * attempts)
          retry
        end
        return redelivered(message, step) unless posted

        log_result(message, step, result)
        result.failure? ? :failure : :success
      end

      # The message was redelivered while the handler ran: its current holder reports.
      def redelivered(message, step)
        @log.warn(msg: "message was redelivered while the handler ran; result left to the new holder",
                  step_uuid: step.step_uuid, step_name: step.step_name, attempt: step.attempt,
                  msg_id: message.msg_id, read_ct: message.read_ct)
        :redelivered
      end

      def log_result(message, step, result)
        return unless result.failure? ? @log.warn? : @log.info? # the fields are built for nothing otherwise

        fields = { step_uuid: step.step_uuid, step_name: step.step_name, attempt: step.attempt,
                   msg_id: message.msg_id, task_uuid: step.task_uuid }
        if result.success?
          @log.info(msg: "step succeeded", **fields)
        elsif result.await_task?
          child = result.await_task
          @log.info(msg: "step awaits a child task", child: "#{child.namespace}/#{child.name}@#{child.version}", **fields)
        else
          error = result.error
          @log.warn(msg: "step failed", error_class: error.error_class, error: error.message,
                    retryable: error.retryable, retry_after: error.retry_after, **fields)
        end
      end

      def fetch_ancestors(step_uuid)
        with_client do |client|
          JSON.parse(client.connection.exec_params(ANCESTORS_SQL, [step_uuid])[0]["results"]) # never NULL
        rescue PG::Error => e
          raise DatabaseError, "tasker_step_ancestor_results failed: #{Messaging::PgmqClient.describe(e)}"
        end
      end

      def with_client(&block)
        @db.with { |conn| block.call(Messaging::PgmqClient.new(conn)) }
      end
    end
  end
end
