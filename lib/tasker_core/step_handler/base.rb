# frozen_string_literal: true

require_relative "../handlers/task_view"
require_relative "../handlers/step_view"
require_relative "../handlers/sequence"

module TaskerCore
  module StepHandler
    # Superclass of step handlers. A worker makes a new instance for every step it runs
    # and calls `call`; the return value (JSON-serializable) becomes the step's results.
    #
    #   class LinearWorkflow::StepOne < TaskerCore::StepHandler::Base
    #     def call(task, sequence, step)
    #       task.context["even_number"] ** 2
    #     end
    #   end
    #
    # Raise TaskerCore::RetryableError (optionally with retry_after:) for a failure that
    # may pass later, TaskerCore::PermanentError for one that will not. Any other
    # StandardError counts as retryable.
    class Base
      # task: Handlers::TaskView, sequence: Handlers::Sequence, step: Handlers::StepView
      def call(task, sequence, step)
        raise NotImplementedError, "#{self.class.name} must implement #call(task, sequence, step)"
      end
    end
  end
end
