# frozen_string_literal: true

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

      # A new request with a fresh uuid, requested now.
      def self.build(namespace:, name:, version:, context: {}, priority: 0, idempotency_key: nil)
        new(task_uuid: SecureRandom.uuid, namespace: namespace, name: name, version: version,
            context: context, priority: priority, idempotency_key: idempotency_key,
            requested_at: Time.now.utc.iso8601(3))
      end
    end
  end
end
