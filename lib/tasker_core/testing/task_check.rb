# frozen_string_literal: true

module TaskerCore
  module Testing
    # What the task matchers (RSpec) and assertions (Minitest) check, and their messages,
    # written once. A task is a task hash (TaskerCore.task, run_task, drain) or a uuid.
    # `match` compares an expected value with an actual one (RSpec's values_match?, so
    # argument matchers work; == for Minitest).
    class TaskCheck
      # No expected result given: any results will do.
      ANY = Object.new.freeze

      attr_reader :task

      def initialize(task)
        @task = task.is_a?(String) ? Client.task(task) : task
        @given = task
      end

      # nil when the task completed (and `step`'s results match `result`, when given);
      # else why not.
      def completed_with(step: nil, result: ANY, match: ->(expected, actual) { expected == actual })
        return missing unless @task.is_a?(Hash)
        return "expected #{name} to be complete, but it is #{state_story}" unless @task["state"] == "complete"
        return nil if step.nil?

        found = steps[step.to_s] or return "expected #{name} to have a step #{step.to_s.inspect}, but its steps are #{steps.keys.join(', ')}"
        return nil if ANY.equal?(result) || match.call(result, found["results"])

        "expected step #{step} of #{name} to complete with #{describe(result)}, but its results are #{describe(found['results'])}"
      end

      # nil when the task is in error and `step` is one of its failed steps; else why not.
      def failed_at(step)
        return missing unless @task.is_a?(Hash)

        found = steps[step.to_s]
        return "expected #{name} to fail at step #{step}, but it has no such step (steps: #{steps.keys.join(', ')})" unless found
        return nil if @task["state"] == "error" && found["state"] == "error"

        "expected #{name} to fail at step #{step}, but the task is #{state_story}"
      end

      # Why a check that should have failed passed (for negations).
      def failed_at_negated(step)
        "expected #{name} not to fail at step #{step}, but it did: #{error_of(steps[step.to_s])}"
      end

      def completed_negated
        "expected #{name} not to complete like that, but it is complete: #{step_states}"
      end

      private

      def steps
        @task["steps"] || {}
      end

      def name
        return "task #{@given.inspect}" unless @task.is_a?(Hash)

        "task #{@task['uuid']} (#{@task['namespace']}/#{@task['name']})"
      end

      def missing
        "expected a task hash or a task uuid, got #{@given.inspect[0, 200]}" \
          "#{' (no such task)' if @given.is_a?(String)}"
      end

      def state_story
        return "rejected: #{@task['reason']}" if @task["state"] == Client::REJECTED

        "#{@task['state']}; steps: #{step_states}"
      end

      def step_states
        steps.map do |step_name, step|
          error = step["state"] == "error" ? " (#{error_of(step)})" : ""
          "#{step_name} #{step['state']}#{error}"
        end.join(", ")
      end

      def error_of(step)
        error = step && step["error"]
        return "no error recorded" unless error.is_a?(Hash)

        "#{error['class']}: #{error['message']}"
      end

      def describe(value)
        Formatter.format(value)
      end
    end
  end
end
