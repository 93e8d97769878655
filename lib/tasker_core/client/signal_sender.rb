# frozen_string_literal: true

require "json"
require "pg"
require_relative "../errors"
require_relative "../identifiers"
require_relative "../messaging/pgmq_client"
require_relative "../types/json_value"
require_relative "../types/primitives"

module TaskerCore
  module Client
    # TaskerCore.signal: one call of the schema's tasker_signal, which stores the signal and
    # wakes the step waiting for it in the same transaction (a signal sent before its step
    # waits is kept and consumed when it does). The database's refusals become errors:
    # TKNF1 (no such task) TaskNotFound, TKSG1 (a finished task, a signal no step of the task
    # waits for, a second signal of that name) SignalError, each with its message.
    module SignalSender
      SQL = "SELECT tasker_signal($1::uuid, $2, $3::jsonb) AS id"
      ERRORS = { "TKNF1" => TaskNotFound, "TKSG1" => SignalError }.freeze

      module_function

      # The statement's parameters, checked (raises ValidationError naming the field).
      def params(task_uuid, name, payload)
        [check_uuid(task_uuid), check_name(name), JSON.generate(check_payload(payload))]
      end

      # Returns the signal's id.
      def run(conn, params)
        Integer(conn.exec_params(SQL, params)[0]["id"])
      rescue PG::Error => e
        klass = ERRORS[e.result&.error_field(PG::Result::PG_DIAG_SQLSTATE)]
        raise klass, Messaging::PgmqClient.describe(e) if klass

        raise DatabaseError, "tasker_signal failed: #{Messaging::PgmqClient.describe(e)}"
      end

      def check_uuid(uuid)
        return uuid.downcase if uuid.is_a?(String) && uuid.match?(Types::Primitives::UUID_FORMAT)

        raise ValidationError.new("task uuid must be a UUID string, got #{uuid.inspect[0, 80]}", field: "task_uuid")
      end

      def check_name(name)
        name = name.to_s if name.is_a?(Symbol)
        return name if Identifiers.name?(name)

        raise ValidationError.new("signal name must match ^[a-z][a-z0-9_]{0,62}$, got #{name.inspect[0, 80]}",
                                  field: "name")
      end

      # The JSON-value rules of a task's context; at most orchestrator.max_message_bytes.
      def check_payload(payload)
        value = Types::JsonValue.normalize(payload, "payload")
        limit = TaskerCore.config.orchestrator[:max_message_bytes]
        size = JSON.generate(value).bytesize
        return value if size <= limit

        raise ValidationError.new("payload of #{size} bytes exceeds orchestrator.max_message_bytes (#{limit})",
                                  field: "payload")
      rescue Types::JsonValue::Invalid => e
        raise ValidationError.new(e.message, field: "payload")
      end
    end
  end
end
