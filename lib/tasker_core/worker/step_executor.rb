# frozen_string_literal: true

require "json"
require_relative "../errors"
require_relative "../logging"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/queue_names"
require_relative "../types/step_message"
require_relative "handler_runner"

module TaskerCore
  module Worker
    # One step message, start to finish, once its step was claimed with the read
    # (ClaimingReader): run its handler, then post the result, which deletes the message in
    # the same statement (guarded by read_ct; see ResultPoster).
    # Returns :success, :failure, :skipped (not claimable), :invalid or :redelivered.
    class StepExecutor
      ANCESTORS_SQL = "SELECT tasker_step_ancestor_results($1::uuid) AS results"
      DEAD_LETTER_SQL = "INSERT INTO tasker_dead_letters (queue_name, msg_id, read_ct, task_uuid, kind, reason, message) " \
                        "VALUES ($1, $2, $3, $4::uuid, $5, $6, $7::jsonb)"
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

      # claim: the Worker::Claim read with the message.
      def execute(message, claim)
        if message.read_ct > @max_reads
          dead_letter(message, "read #{message.read_ct} times without being processed (limit #{@max_reads}): " \
                               "its handler keeps killing the worker", kind: "poison_message")
          return :invalid
        end
        step = parse(message) or return :invalid
        if claim.claimed.nil?
          dead_letter(message, "step_uuid and attempt do not name a claimable step")
          return :invalid
        end
        return skip(message, step, claim) unless claim.claimed

        result = while_held(message) do
          @runner.run(step, HandlerRunner::Claim.new(task_context: claim.task_context, parent_results: claim.parent_results))
        end
        commit(message, step, result)
      end

      private

      # A long handler keeps its message invisible (see Heartbeat).
      def while_held(message, &block)
        @heartbeat ? @heartbeat.covering(@queue, message, &block) : yield
      end

      def parse(message)
        Types::StepMessage.from_json_hash(message.message)
      rescue ValidationError => e
        dead_letter(message, e.message)
        nil
      end

      # Archived with a dead letter row, never dropped: a malformed step message means a
      # producer bug worth inspecting.
      def dead_letter(message, reason, kind: "invalid_step_message")
        body = message.message
        task_uuid = body.is_a?(Hash) ? body["task_uuid"] : nil
        task_uuid = nil unless task_uuid.is_a?(String) && task_uuid.match?(Types::Primitives::UUID_FORMAT)
        with_client do |client|
          client.transaction do
            client.connection.exec_params(DEAD_LETTER_SQL, [@queue, message.msg_id, message.read_ct, task_uuid,
                                                            kind, reason, JSON.generate(body)])
            client.archive(@queue, message.msg_id)
          end
        end
        @log.error(msg: "step message set aside", kind: kind, msg_id: message.msg_id, reason: reason)
      end

      def skip(message, step, claim)
        deleted = with_client { |client| client.delete(@queue, message.msg_id, read_ct: message.read_ct) }
        @log.info(msg: "step not claimable, message dropped without running the handler",
                  step_uuid: step.step_uuid, step_name: step.step_name, attempt: step.attempt,
                  step_state: claim.step_state, msg_id: message.msg_id, deleted: deleted)
        :skipped
      end

      def commit(message, step, result)
        attempts = 0
        begin
          attempts += 1
          posted = @poster.post(@queue, message, result)
        rescue DatabaseError => e
          raise unless Messaging::PgmqClient.connection_error?(e) && attempts < COMMIT_ATTEMPTS

          # The handler's work is done: worth a reconnect rather than a rerun after the
          # visibility timeout. A post that did land is caught by the read_ct guard.
          sleep(0.2 * attempts)
          retry
        end
        return redelivered(message, step) unless posted

        log_result(message, step, result)
        result.success? ? :success : :failure
      end

      # The message was redelivered while the handler ran: its current holder reports.
      def redelivered(message, step)
        @log.warn(msg: "message was redelivered while the handler ran; result left to the new holder",
                  step_uuid: step.step_uuid, step_name: step.step_name, attempt: step.attempt,
                  msg_id: message.msg_id, read_ct: message.read_ct)
        :redelivered
      end

      def log_result(message, step, result)
        fields = { step_uuid: step.step_uuid, step_name: step.step_name, attempt: step.attempt,
                   msg_id: message.msg_id, task_uuid: step.task_uuid }
        if result.success?
          @log.info(msg: "step succeeded", **fields)
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
