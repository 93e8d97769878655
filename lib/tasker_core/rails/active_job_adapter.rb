# frozen_string_literal: true

require "active_job"
require_relative "active_job_templates"

module TaskerCore
  module Rails
    # `config.active_job.queue_adapter = :tasker_core`: every perform_later becomes a
    # one-step task (template active_job@1.0.0 in the namespace named like the job's queue,
    # see ActiveJobTemplates) on the same workers as the app's workflows, enqueued like any
    # task: on the app's ActiveRecord connection, so it commits or rolls back with the
    # enqueuing transaction. priority -> task priority, wait/wait_until -> run_at.
    #
    # Retries are ActiveJob's: retry_on re-enqueues the job (a new task) after its own wait;
    # the step itself runs once, and an exception that ActiveJob lets through fails it for
    # good (the task ends in error, with the exception, visible like any failed task).
    class ActiveJobAdapter
      def enqueue(job)
        enqueue_at(job, nil)
      end

      def enqueue_at(job, timestamp)
        queue = job.queue_name.to_s
        TaskerCore.config # built on first use, which writes the templates and knows the queues
        ActiveJobTemplates.check_queue!(queue)
        uuid = TaskerCore.enqueue(namespace: queue, name: ActiveJobTemplates::NAME, version: ActiveJobTemplates::VERSION,
                                  context: { "job" => job.serialize }, priority: job.priority.to_i,
                                  run_at: timestamp && Time.at(timestamp).utc)
        job.provider_job_id = uuid
        uuid
      end
    end
  end
end
