# frozen_string_literal: true

module TaskerCore
  module RSpec
    # expect(task).to complete_with(step: "ship", result: {...})
    class CompleteWithMatcher
      include ::RSpec::Matchers::Composable

      def initialize(step:, result:)
        @step = step
        @result = result
      end

      def matches?(task)
        @check = Testing::TaskCheck.new(task)
        @problem = @check.completed_with(step: @step, result: @result,
                                         match: ->(expected, actual) { values_match?(expected, actual) })
        @problem.nil?
      end

      def failure_message
        @problem
      end

      def failure_message_when_negated
        @check.completed_negated
      end

      def description
        "complete#{" with step #{@step}" if @step}#{" results #{description_of(@result)}" unless Testing::TaskCheck::ANY.equal?(@result)}"
      end
    end
  end
end
