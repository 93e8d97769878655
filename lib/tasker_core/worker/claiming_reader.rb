# frozen_string_literal: true

require "json"
require_relative "../errors"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/prepared"
require_relative "../messaging/queue_names"
require_relative "../messaging/queue_statements"
require_relative "../types/limits"
require_relative "../instrumentation/traceparent"
require_relative "claim"

module TaskerCore
  module Worker
    # Reads step messages and claims their steps in ONE statement: one round trip and one
    # commit for a whole batch, instead of a read and a claim per step. The read is
    # PgmqClient's prioritized read (priority order with aging, SKIP LOCKED), prepared once
    # per connection so that its plan is cached.
    #
    # Each message is judged on its own in SQL, so no message can fail the batch: only the
    # bodies of claimed steps (lean, flat, checked) are transferred and parsed.
    class ClaimingReader
      # A step message is all envelope: no payload travels in it.
      MAX_STEP_MESSAGE_BYTES = Types::Limits::ENVELOPE_BYTES

      def initialize(queue:, worker_id:)
        @queue = Messaging::QueueNames.validate!(queue)
        @worker_id = worker_id
        @statement = "tasker_read_claim_#{@queue}"
        @sql = Messaging::QueueStatements.read_and_claim(@queue)
      end

      # Returns [[Messaging::Message, Claim], ...] in priority order.
      def read(conn, vt:, qty:)
        params = [vt, qty, @queue, @worker_id, MAX_STEP_MESSAGE_BYTES]
        Messaging::Prepared.exec(conn, @statement, @sql, params).map do |row|
          claim = Claim.new(verdict: row["verdict"], reason: row["reason"], step_state: row["step_state"],
                            task_context: json(row["task_context"]), parent_results: json(row["parent_results"]),
                            task_uuid: row["task_uuid"], traceparent: traceparent(row["traceparent"]),
                            step_details: json(row["step_details"]))
          [Messaging::PgmqClient.message_from(row), claim]
        end
      rescue PG::Error => e
        raise DatabaseError, "read-and-claim on queue #{@queue.inspect} failed: #{Messaging::PgmqClient.describe(e)}"
      end

      private

      def json(text)
        text && JSON.parse(text)
      end

      # The column's check holds the rule; a value that breaks it anyway is not passed on.
      def traceparent(text)
        Instrumentation::Traceparent.valid?(text) ? text : nil
      end
    end
  end
end
