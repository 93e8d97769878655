# frozen_string_literal: true

require "digest"
require "securerandom"
require "time"
require_relative "base"
require_relative "../instrumentation/traceparent"

module TaskerCore
  module Types
    # A request to run a task (queue `task_requests`). The client generates the task
    # uuid, so enqueueing returns at once, with no orchestrator in the process.
    class TaskRequest < Base
      kind "task_request"

      # Counted in bytes, as the core does (it refuses more than 255); UTF-8 with no NUL.
      IdempotencyKey = Primitives::Strict::String
                       .constructor { |v| v.is_a?(::String) ? JsonValue.text(v, "idempotency_key") : v }
                       .constrained(min_size: 1, max_bytesize: Limits::MAX_IDEMPOTENCY_KEY_BYTES)

      attribute :task_uuid, Primitives::Uuid, rule: "must be a UUID string"
      attribute :namespace, Primitives::Namespace, rule: "must match ^[a-z][a-z0-9_]{0,40}$"
      attribute :name, Primitives::Name, rule: "must match ^[a-z][a-z0-9_]{0,62}$"
      attribute :version, Primitives::Semver, rule: "must be a semantic version like 1.0.0"
      attribute :context, Primitives::JsonObject, rule: "must be a Hash (a JSON object)", json: true
      attribute :priority, Primitives::Priority, rule: "must be an Integer within the int4 range"
      attribute :idempotency_key, IdempotencyKey.optional,
                rule: "must be nil or UTF-8 text of 1 to #{Limits::MAX_IDEMPOTENCY_KEY_BYTES} bytes, no NUL character"
      attribute :requested_at, Primitives::Timestamp, rule: "must be #{Primitives::TIME_RULE}"
      # The task's first steps stay invisible to workers until then.
      attribute :run_at, Primitives::Timestamp.optional, rule: "must be nil or #{Primitives::TIME_RULE}"
      # The enqueuing request's W3C trace context, given to every step's handler (task.trace_context).
      attribute :traceparent,
                Primitives::Strict::String.constrained(format: Instrumentation::Traceparent::FORMAT).optional,
                rule: "must be nil or a W3C traceparent (00-<32 lowercase hex, not all 0>-<16 lowercase hex, " \
                      "not all 0>-<2 hex>)"

      # The namespace of idempotency-key uuids; the Rust core uses the same (messages.rs).
      IDEMPOTENCY_NAMESPACE = "6a8f3c2e-51d4-4b7a-9e0c-7d1b2f4e8a93"

      # A new request, requested now. With an idempotency key the task uuid is derived from
      # the key (UUIDv5), so every repetition, from any process, names the same task;
      # otherwise it is fresh. `delay` (seconds) is a shorthand for run_at.
      def self.build(namespace:, name:, version:, context: {}, priority: 0, idempotency_key: nil, run_at: nil,
                     delay: nil, traceparent: nil)
        now = Time.now.utc
        delayed_at = delayed(now, delay) # checked even when run_at wins
        run_at ||= delayed_at
        uuid = idempotency_key.is_a?(::String) && !idempotency_key.empty? ? uuid_for_key(idempotency_key) : SecureRandom.uuid
        new(task_uuid: uuid, namespace: namespace, name: name, version: version, context: context,
            priority: priority, idempotency_key: idempotency_key, requested_at: now.iso8601(3), run_at: run_at,
            traceparent: traceparent)
      end

      # `now + delay`, refusing a delay that is not a finite number of seconds >= 0 or that
      # ends past what run_at can say (year 9999).
      def self.delayed(now, delay)
        return nil if delay.nil?

        unless delay.is_a?(Numeric) && delay.real? && delay.finite? && delay >= 0
          raise ValidationError.new("#{type_name}.delay must be nil or a finite number of seconds >= 0, " \
                                    "got #{delay.inspect[0, 80]}", field: "delay")
        end
        at = now + delay
        return at if Rfc3339.valid?(at.iso8601)

        raise ValidationError.new("#{type_name}.delay of #{delay} seconds ends in year #{at.year}, " \
                                  "past what run_at can say (9999)", field: "delay")
      end
      private_class_method :delayed

      # UUIDv5 (RFC 4122: SHA-1 of namespace bytes + name) of an idempotency key.
      # The key is hashed as UTF-8, as the core hashes the key it stores.
      def self.uuid_for_key(key)
        namespace = [IDEMPOTENCY_NAMESPACE.delete("-")].pack("H*")
        bytes = Digest::SHA1.digest(namespace + utf8_bytes(key)).bytes.first(16)
        bytes[6] = (bytes[6] & 0x0f) | 0x50
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        hex = bytes.pack("C*").unpack1("H*")
        [hex[0, 8], hex[8, 4], hex[12, 4], hex[16, 4], hex[20, 12]].join("-")
      end

      # A key that cannot be UTF-8 is refused when the request is built; hash its bytes meanwhile.
      def self.utf8_bytes(key)
        JsonValue.utf8(key, "idempotency_key").b
      rescue JsonValue::Invalid
        key.b
      end
      private_class_method :utf8_bytes
    end
  end
end
