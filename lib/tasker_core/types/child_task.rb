# frozen_string_literal: true

require_relative "base"

module TaskerCore
  module Types
    # The `await_task` object of a StepResult: the child task a step's handler starts and
    # waits for (step.await_task). Its context follows enqueue's rules (JsonValue).
    class ChildTask < Base
      attribute :namespace, Primitives::Namespace, rule: "must match ^[a-z][a-z0-9_]{0,40}$"
      attribute :name, Primitives::Name, rule: "must match ^[a-z][a-z0-9_]{0,62}$"
      attribute :version, Primitives::Semver, rule: "must be a semantic version like 1.0.0"
      attribute :context, Primitives::JsonObject, rule: "must be a Hash (a JSON object)", json: true
    end
  end
end
