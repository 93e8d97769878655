# frozen_string_literal: true

require "json"
require "pg"
require_relative "../errors"
require_relative "../messaging/pgmq_client"

module TaskerCore
  module Client
    # enqueue(on_conflict: :raise): before sending a request with an idempotency key, look
    # up the task its key names and refuse a repeat that asks for something else.
    #
    # Race: only tasks already created are seen. A conflicting request still waiting in
    # task_requests (sent a moment ago by another process) is not; the orchestrator then
    # records the later request as an idempotency_conflict dead letter, with the same
    # digests (the core computes them with the same expression).
    module IdempotencyCheck
      # The orchestrator's own question, from the schema (tasker_existing_task): the task the
      # uuid or the key names, whether it is this request, and both contexts' digests.
      LOOKUP_SQL = "SELECT uuid, template, same, existing_digest, requested_digest " \
                   "FROM tasker_existing_task($1::uuid, $2, $3, $4, $5, $6::jsonb)"

      module_function

      # true: the task exists exactly as requested (nothing to send); false: no such task
      # yet (send). Raises IdempotencyConflict when it exists as another request.
      def already_created?(conn, request)
        params = [request.task_uuid, request.idempotency_key, request.namespace, request.name, request.version,
                  JSON.generate(request.context)]
        row = conn.exec_params(LOOKUP_SQL, params).first
        return false unless row
        return true if row["same"] == "t"

        raise conflict(row, request)
      rescue PG::Error => e
        raise DatabaseError, "idempotency key lookup failed: #{Messaging::PgmqClient.describe(e)}"
      end

      # Worded as the orchestrator's idempotency_conflict reason, plus what happened here.
      def conflict(row, request)
        existing = "sha256:#{row['existing_digest']}"
        requested = "sha256:#{row['requested_digest']}"
        IdempotencyConflict.new(
          "idempotency key #{request.idempotency_key.inspect} already names task #{row['uuid']} " \
          "(#{row['template']} with context #{existing}); this request asks for " \
          "#{request.namespace}/#{request.name}@#{request.version} with context #{requested}; nothing was sent",
          idempotency_key: request.idempotency_key, task_uuid: row["uuid"],
          existing_digest: existing, requested_digest: requested
        )
      end
    end
  end
end
