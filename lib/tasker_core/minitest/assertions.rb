# frozen_string_literal: true

module TaskerCore
  module Minitest
    # The kit's checks as Minitest assertions (values compared with ==); a task is a task
    # hash or a uuid.
    module Assertions
      # The block enqueued "namespace/name" (any task when nil), in any testing mode.
      # Fields (context:, version:, priority:, ...) must equal the request's; count: exactly
      # that many matching enqueues. Returns the matching entries.
      def assert_enqueued_task(target = nil, count: nil, message: nil, **fields, &block)
        raise ArgumentError, "assert_enqueued_task needs a block" unless block

        entries = Testing::Recorder.recording(&block)
        check = Testing::EnqueueCheck.new(target, with: fields, count: count)
        assert(check.matches?(entries), message || -> { check.failure_message(entries) })
        check.matching(entries)
      end

      # The task is complete; with step:, that step's results == result.
      def assert_task_completed_with(task, step: nil, result: Testing::TaskCheck::ANY, message: nil)
        problem = Testing::TaskCheck.new(task).completed_with(step: step, result: result)
        assert(problem.nil?, message || problem)
      end

      # The task is in error and `step` is one of its failed steps.
      def assert_task_failed_at_step(task, step, message: nil)
        problem = Testing::TaskCheck.new(task).failed_at(step)
        assert(problem.nil?, message || problem)
      end
    end
  end
end
