# frozen_string_literal: true

module TaskerCore
  module RSpec
    # expect(task).to fail_at_step("charge")
    class FailAtStepMatcher
      include ::RSpec::Matchers::Composable

      def initialize(step)
        @step = step
      end

      def matches?(task)
        @check = Testing::TaskCheck.new(task)
        @problem = @check.failed_at(@step)
        @problem.nil?
      end

      def failure_message
        @problem
      end

      def failure_message_when_negated
        @check.failed_at_negated(@step)
      end

      def description
        "fail at step #{@step}"
      end
    end
  end
end
