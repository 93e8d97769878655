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

      # The columns read, by name (the statement's own order is looked up in each result).
      COLUMNS = (Messaging::PgmqClient::MESSAGE_FIELDS +
                 %w[verdict reason step_state task_context parent_results task_uuid traceparent step_details]).freeze

      attr_reader :queue

      # Returns [[Messaging::Message, Claim], ...] in priority order.
      def read(conn, vt:, qty:)
        pairs(Messaging::Prepared.exec(conn, @statement, @sql, params(vt: vt, qty: qty)))
      rescue PG::Error => e
        raise DatabaseError, "read-and-claim on queue #{@queue.inspect} failed: #{Messaging::PgmqClient.describe(e)}"
      end

      # The read-and-claim parameters ($1-$5) for a statement that reads as this reader does
      # (QueueStatements.read_and_claim, post_results_and_claim).
      def params(vt:, qty:)
        [vt, qty, @queue, @worker_id, MAX_STEP_MESSAGE_BYTES]
      end

      # The claimed pairs of such a statement's result; a row without a message (the one row
      # of a post that read nothing) is none.
      def pairs(result)
        return [] if result.ntuples.zero?

        # Rows as Arrays, read by column index: no Hash built per row.
        at = COLUMNS.to_h { |name| [name, result.fnumber(name)] }
        result.values.filter_map { |row| [message(row, at), claim(row, at)] if row[at["msg_id"]] }
      end

      private

      def message(row, at)
        Messaging::PgmqClient.message_of(*Messaging::PgmqClient::MESSAGE_FIELDS.map { |name| row[at[name]] })
      end

      def claim(row, at)
        Claim.new(verdict: row[at["verdict"]], reason: row[at["reason"]], step_state: row[at["step_state"]],
                  task_context: json(row[at["task_context"]]), parent_results: json(row[at["parent_results"]]),
                  task_uuid: row[at["task_uuid"]], traceparent: traceparent(row[at["traceparent"]]),
                  step_details: json(row[at["step_details"]]))
      end

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
