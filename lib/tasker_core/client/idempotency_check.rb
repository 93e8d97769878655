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
      # Contexts are compared and digested by PostgreSQL (jsonb equality and text form),
      # so key order and spacing do not matter and digests match the core's.
      LOOKUP_SQL = <<~SQL
        SELECT t.uuid, n.name AS namespace, nt.name, nt.version, t.context = $2::jsonb AS same_context,
               encode(sha256(convert_to(t.context::text, 'UTF8')), 'hex') AS existing_digest,
               encode(sha256(convert_to($2::jsonb::text, 'UTF8')), 'hex') AS requested_digest
          FROM tasker_tasks t
          JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
          JOIN tasker_namespaces n ON n.id = nt.namespace_id
         WHERE t.uuid = $1::uuid
      SQL

      module_function

      # true: the task exists exactly as requested (nothing to send); false: no such task
      # yet (send). Raises IdempotencyConflict when it exists as another request.
      def already_created?(conn, request)
        row = conn.exec_params(LOOKUP_SQL, [request.task_uuid, JSON.generate(request.context)]).first
        return false unless row
        return true if template_key(row) == template_key(request.to_h) && row["same_context"] == "t"

        raise conflict(row, request)
      rescue PG::Error => e
        raise DatabaseError, "idempotency key lookup failed: #{Messaging::PgmqClient.describe(e)}"
      end

      def template_key(fields)
        "#{fields['namespace']}/#{fields['name']}@#{fields['version']}"
      end

      def conflict(row, request)
        existing = "sha256:#{row['existing_digest']}"
        requested = "sha256:#{row['requested_digest']}"
        IdempotencyConflict.new(
          "idempotency key #{request.idempotency_key.inspect} already names task #{row['uuid']} " \
          "(#{template_key(row)}, context #{existing}), not this request (#{template_key(request.to_h)}, " \
          "context #{requested}); nothing was sent",
          idempotency_key: request.idempotency_key, task_uuid: row["uuid"],
          existing_digest: existing, requested_digest: requested
        )
      end
    end
  end
end
