# frozen_string_literal: true

require_relative "../../client"
require_relative "../../errors"
require_relative "error"

module TaskerCore
  module Web
    class Api
      # POST /api/tasks: the body's fields are TaskerCore.enqueue's arguments. A repeated
      # idempotency key answers 200 with the same uuid (201 when this request created it),
      # and a repeat asking for another template or context 409 (enqueue's on_conflict:
      # :raise). A repeat sent before the orchestrator has created the first request's task
      # answers 201 too (the orchestrator still creates one task).
      module Submission
        FIELDS = %w[namespace name version context priority idempotency_key run_at delay].freeze
        REQUIRED = %w[namespace name version].freeze

        module_function

        # [status, {"task_uuid" => uuid}]
        def call(body)
          check_fields(body)
          args = body.slice(*FIELDS).transform_keys(&:to_sym)
          key = args[:idempotency_key]
          existed = key.is_a?(String) && !key.empty? && exists?(Types::TaskRequest.uuid_for_key(key))
          uuid = TaskerCore.enqueue(**args, on_conflict: :raise, connection: :own)
          [existed ? 200 : 201, { "task_uuid" => uuid }]
        rescue IdempotencyConflict => e
          raise Error.new(409, "idempotency_conflict", e.message, field: "idempotency_key")
        end

        def check_fields(body)
          unknown = body.keys - FIELDS
          raise Error.new(422, "invalid", "unknown field #{unknown.first.inspect[0, 80]}", field: unknown.first[0, 80]) if unknown.any?

          missing = REQUIRED.find { |key| !body.key?(key) }
          raise Error.new(422, "invalid", "#{missing} is required", field: missing) if missing
        end

        # A task exists for the key's uuid (a rejected request is none: sent again, it is judged again).
        def exists?(uuid)
          task = Client.task(uuid)
          !task.nil? && task["state"] != Client::REJECTED
        end
      end
    end
  end
end
