# frozen_string_literal: true

module TaskerCore
  module RSpec
    # expect { ... }.to enqueue_task("namespace/name").with(context: ...).exactly(2).times
    class EnqueueTaskMatcher
      include ::RSpec::Matchers::Composable

      def initialize(target)
        @target = target
        @with = {}
        @count = nil
      end

      # Expected values of the enqueued request's fields (:context, :version, :priority, ...).
      def with(**fields)
        @with = @with.merge(Testing::EnqueueCheck.check_fields!(fields))
        self
      end

      def exactly(count)
        raise ArgumentError, "exactly needs an Integer >= 0, got #{count.inspect}" unless count.is_a?(Integer) && count >= 0

        @count = count
        self
      end

      def once
        exactly(1)
      end

      def twice
        exactly(2)
      end

      # Reads as English only: exactly(n).times.
      def times
        self
      end

      def supports_block_expectations?
        true
      end

      def supports_value_expectations?
        false
      end

      def matches?(block)
        raise ArgumentError, "enqueue_task needs a block: expect { ... }.to enqueue_task(...)" unless block.respond_to?(:call)

        @entries = Testing::Recorder.recording { block.call }
        check.matches?(@entries)
      end

      def does_not_match?(block)
        !matches?(block)
      end

      def failure_message
        check.failure_message(@entries)
      end

      def failure_message_when_negated
        check.negated_failure_message(@entries)
      end

      def description
        check.description
      end

      private

      def check
        @check ||= Testing::EnqueueCheck.new(@target, with: @with, count: @count,
                                                      match: ->(expected, actual) { values_match?(expected, actual) })
      end
    end
  end
end
