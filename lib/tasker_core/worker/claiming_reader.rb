# frozen_string_literal: true

require "json"
require_relative "../errors"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/queue_names"

module TaskerCore
  module Worker
    # What the read-and-claim said of a step message's step. `claimed` is nil when the body
    # names no step and attempt (the message is set aside), false when the step is not
    # claimable (finished, another attempt, the task is no longer running).
    Claim = Struct.new(:claimed, :step_state, :task_context, :parent_results, keyword_init: true)

    # Reads step messages and claims their steps in ONE statement (tasker_read_claim): one
    # round trip and one commit for a whole batch, instead of a read and a claim per step.
    class ClaimingReader
      SQL = "SELECT msg_id, read_ct, enqueued_at, vt, message, claimed, step_state, task_context, parent_results " \
            "FROM tasker_read_claim($1, $2::int, $3::int, $4)"

      def initialize(queue:, worker_id:)
        @queue = Messaging::QueueNames.validate!(queue)
        @worker_id = worker_id
      end

      # Returns [[Messaging::Message, Claim], ...] in priority order.
      def read(conn, vt:, qty:)
        conn.exec_params(SQL, [@queue, vt, qty, @worker_id]).map do |row|
          claim = Claim.new(claimed: row["claimed"] && row["claimed"] == "t", step_state: row["step_state"],
                            task_context: json(row["task_context"]), parent_results: json(row["parent_results"]))
          [Messaging::PgmqClient.message_from(row), claim]
        end
      rescue PG::Error => e
        raise DatabaseError, "tasker_read_claim on queue #{@queue.inspect} failed: #{Messaging::PgmqClient.describe(e)}"
      end

      private

      def json(text)
        text && JSON.parse(text)
      end
    end
  end
end
