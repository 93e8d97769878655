# frozen_string_literal: true

module TaskerCore
  module RSpec
    # The DSL of the kit's matchers (included in example groups by tasker_core/rspec).
    module Matchers
      # A block expectation: the block enqueued "namespace/name" (any task when nil).
      def enqueue_task(target = nil)
        EnqueueTaskMatcher.new(target)
      end

      # The task (a task hash or uuid) is complete; with step:, that step's results match
      # `result` (values_match?: literal values or argument matchers).
      def complete_with(step: nil, result: Testing::TaskCheck::ANY)
        CompleteWithMatcher.new(step: step, result: result)
      end

      # The task is in error and `step` is one of its failed steps.
      def fail_at_step(step)
        FailAtStepMatcher.new(step)
      end
    end
  end
end
