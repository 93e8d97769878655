# frozen_string_literal: true

require "json"
require_relative "../step_handler/base"

module TaskerCore
  module Rails
    # The one step of an ActiveJob task: runs the job the way ActiveJob's own adapters do
    # (ActiveJob::Base.execute: callbacks, retry_on/discard_on, the job's executor wrap).
    class ActiveJobStep < StepHandler::Base
      def call(task, _sequence, _step)
        # The context is deep-frozen; ActiveJob deserializes into fresh objects of its own.
        job_data = JSON.parse(JSON.generate(task.context.fetch("job")))
        ::ActiveJob::Base.execute(job_data)
        { "job_id" => job_data["job_id"], "job_class" => job_data["job_class"] }
      end
    end
  end
end
