# frozen_string_literal: true

require_relative "base"

module TaskerCore
  module Types
    # One dispatch of a step (queue `<namespace>_queue`). Lean on purpose: the worker
    # reads the task context and the parents' results when it claims the step.
    class StepMessage < Base
      kind "step"

      attribute :task_uuid, Primitives::Uuid, rule: "must be a UUID string"
      attribute :step_uuid, Primitives::Uuid, rule: "must be a UUID string"
      attribute :step_name, Primitives::StepName, rule: Primitives::STEP_NAME_RULE
      attribute :handler, Primitives::HandlerName, rule: "must be a Ruby constant path like LinearWorkflow::StepOne"
      attribute :attempt, Primitives::Attempt, rule: "must be an Integer >= 1"
      attribute :namespace, Primitives::Namespace, rule: "must match ^[a-z][a-z0-9_]{0,40}$"
      attribute :task_name, Primitives::Name, rule: "must match ^[a-z][a-z0-9_]{0,62}$"
      attribute :task_version, Primitives::Semver, rule: "must be a semantic version like 1.0.0"
      # The task's priority: workers read higher priority first, with aging (the prioritized read).
      attribute :priority, Primitives::Priority, rule: "must be an Integer within the int4 range"
    end
  end
end
