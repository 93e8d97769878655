# frozen_string_literal: true

require "json"
require_relative "../errors"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/prepared"
require_relative "../messaging/queue_names"

module TaskerCore
  module Worker
    # What the read-and-claim said of a step message's step. `claimed` is nil when the body
    # names no step and attempt (the message is set aside), false when the step is not
    # claimable (finished, another attempt, the task is no longer running).
    Claim = Struct.new(:claimed, :step_state, :task_context, :parent_results, keyword_init: true)

    # Reads step messages and claims their steps in ONE statement: one round trip and one
    # commit for a whole batch, instead of a read and a claim per step. The read is
    # PgmqClient's prioritized read (priority order with aging, SKIP LOCKED), prepared once
    # per connection so that its plan is cached.
    class ClaimingReader
      def initialize(queue:, worker_id:)
        @queue = Messaging::QueueNames.validate!(queue)
        @worker_id = worker_id
        @statement = "tasker_read_claim_#{@queue}"
        @sql = Messaging::PgmqClient.prioritized_read_sql(@queue, select: <<~SQL)
          SELECT u.msg_id, u.read_ct, u.enqueued_at, u.vt, u.message, c.claimed, c.step_state, c.task_context, c.parent_results
            FROM updated u CROSS JOIN LATERAL tasker_claim_message(u.message, $3) c
        SQL
      end

      # Returns [[Messaging::Message, Claim], ...] in priority order.
      def read(conn, vt:, qty:)
        Messaging::Prepared.exec(conn, @statement, @sql, [vt, qty, @worker_id]).map do |row|
          claim = Claim.new(claimed: row["claimed"] && row["claimed"] == "t", step_state: row["step_state"],
                            task_context: json(row["task_context"]), parent_results: json(row["parent_results"]))
          [Messaging::PgmqClient.message_from(row), claim]
        end
      rescue PG::Error => e
        raise DatabaseError, "read-and-claim on queue #{@queue.inspect} failed: #{Messaging::PgmqClient.describe(e)}"
      end

      private

      def json(text)
        text && JSON.parse(text)
      end
    end
  end
end
