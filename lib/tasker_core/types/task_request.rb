# frozen_string_literal: true

require "digest"
require "securerandom"
require "time"
require_relative "base"

module TaskerCore
  module Types
    # A request to run a task (queue `task_requests`). The client generates the task
    # uuid, so enqueueing returns at once, with no orchestrator in the process.
    class TaskRequest < Base
      kind "task_request"

      attribute :task_uuid, Primitives::Uuid, rule: "must be a UUID string"
      attribute :namespace, Primitives::Namespace, rule: "must match ^[a-z][a-z0-9_]{0,40}$"
      attribute :name, Primitives::Name, rule: "must match ^[a-z][a-z0-9_]{0,62}$"
      attribute :version, Primitives::Semver, rule: "must be a semantic version like 1.0.0"
      attribute :context, Primitives::JsonObject, rule: "must be a Hash (a JSON object)", json: true
      attribute :priority, Primitives::Priority, rule: "must be an Integer within the int4 range"
      attribute :idempotency_key, Primitives::Strict::String.constrained(min_size: 1, max_size: 255).optional,
                rule: "must be nil or a String of 1 to 255 characters"
      attribute :requested_at, Primitives::Timestamp, rule: "must be an ISO8601 time"
      # The task's first steps stay invisible to workers until then.
      attribute :run_at, Primitives::Timestamp.optional, rule: "must be nil or an ISO8601 time"

      # The namespace of idempotency-key uuids; the Rust core uses the same (messages.rs).
      IDEMPOTENCY_NAMESPACE = "6a8f3c2e-51d4-4b7a-9e0c-7d1b2f4e8a93"

      # A new request, requested now. With an idempotency key the task uuid is derived from
      # the key (UUIDv5), so every repetition, from any process, names the same task;
      # otherwise it is fresh. `delay` (seconds) is a shorthand for run_at.
      def self.build(namespace:, name:, version:, context: {}, priority: 0, idempotency_key: nil, run_at: nil,
                     delay: nil)
        now = Time.now.utc
        run_at ||= now + delay if delay
        uuid = idempotency_key.is_a?(::String) && !idempotency_key.empty? ? uuid_for_key(idempotency_key) : SecureRandom.uuid
        new(task_uuid: uuid, namespace: namespace, name: name, version: version, context: context,
            priority: priority, idempotency_key: idempotency_key, requested_at: now.iso8601(3), run_at: run_at)
      end

      # UUIDv5 (RFC 4122: SHA-1 of namespace bytes + name) of an idempotency key.
      def self.uuid_for_key(key)
        namespace = [IDEMPOTENCY_NAMESPACE.delete("-")].pack("H*")
        bytes = Digest::SHA1.digest(namespace + key.b).bytes.first(16)
        bytes[6] = (bytes[6] & 0x0f) | 0x50
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        hex = bytes.pack("C*").unpack1("H*")
        [hex[0, 8], hex[8, 4], hex[12, 4], hex[16, 4], hex[20, 12]].join("-")
      end
    end
  end
end
