# frozen_string_literal: true

require "time"
require_relative "base"
require_relative "child_task"
require_relative "step_error"

module TaskerCore
  module Types
    # The outcome of one attempt of a step (queue `step_results`): "success" with results,
    # "failure" with an error, or "await_task" naming the child task the step now waits for
    # (step.await_task; the orchestrator starts it and completes the step with its result).
    class StepResult < Base
      kind "step_result"
      STATUSES = %w[success failure await_task].freeze
      WORKER_ID_MAX = 255

      ErrorType = Primitives.Constructor(StepError) { |v| v.is_a?(Hash) ? StepError.from_json_hash(v) : v }
                            .optional
      ChildTaskType = Primitives.Constructor(ChildTask) { |v| v.is_a?(Hash) ? ChildTask.from_json_hash(v) : v }
                                .optional

      attribute :task_uuid, Primitives::Uuid, rule: "must be a UUID string"
      attribute :step_uuid, Primitives::Uuid, rule: "must be a UUID string"
      attribute :step_name, Primitives::StepName, rule: Primitives::STEP_NAME_RULE
      attribute :attempt, Primitives::Attempt, rule: "must be an Integer >= 1"
      attribute :status, Primitives::Strict::String.enum(*STATUSES),
                rule: "must be \"success\", \"failure\" or \"await_task\"", fast: Primitives::Fast.one_of(STATUSES)
      attribute :results, Primitives::Json, rule: "must be a JSON value", json: true
      attribute :error, ErrorType, rule: "must be nil, a StepError or its Hash", fast: Primitives::Fast.optional(StepError)
      attribute :await_task, ChildTaskType, rule: "must be nil, a ChildTask or its Hash",
                                            fast: Primitives::Fast.optional(ChildTask)
      attribute :worker_id, Primitives::Strict::String.constrained(min_size: 1, max_size: WORKER_ID_MAX),
                rule: "must be a String of 1 to #{WORKER_ID_MAX} characters",
                fast: Primitives::Fast.string(min_size: 1, max_size: WORKER_ID_MAX)
      attribute :started_at, Primitives::Timestamp, rule: "must be #{Primitives::TIME_RULE}"
      attribute :finished_at, Primitives::Timestamp, rule: "must be #{Primitives::TIME_RULE}"

      class << self
        def success(step, results:, worker_id:, started_at:, finished_at: Time.now)
          new(**identity(step), status: "success", results: results, error: nil,
                                worker_id: worker_id, started_at: started_at, finished_at: finished_at)
        end

        def failure(step, error:, worker_id:, started_at:, finished_at: Time.now)
          new(**identity(step), status: "failure", results: nil, error: error,
                                worker_id: worker_id, started_at: started_at, finished_at: finished_at)
        end

        # child: a ChildTask or its Hash (namespace, name, version, context).
        def await_task(step, child:, worker_id:, started_at:, finished_at: Time.now)
          new(**identity(step), status: "await_task", results: nil, error: nil, await_task: child,
                                worker_id: worker_id, started_at: started_at, finished_at: finished_at)
        end

        private

        def identity(step)
          { task_uuid: step.task_uuid, step_uuid: step.step_uuid, step_name: step.step_name, attempt: step.attempt }
        end
      end

      def success?
        status == "success"
      end

      def failure?
        status == "failure"
      end

      def await_task?
        status == "await_task"
      end

      # The wire keys; "await_task" only in an await_task result (the others keep their shape).
      def to_h
        hash = super
        hash.delete("await_task") unless await_task?
        hash
      end

      private

      def validate!
        invalid!("await_task", "must be null unless status is \"await_task\"") unless await_task? || await_task.nil?
        if success?
          invalid!("error", "must be null when status is \"success\"") unless error.nil?
        elsif failure?
          invalid!("error", "is required when status is \"failure\"") if error.nil?
          invalid!("results", "must be null when status is \"failure\"") unless results.nil?
        else
          invalid!("await_task", "is required when status is \"await_task\"") if await_task.nil?
          invalid!("error", "must be null when status is \"await_task\"") unless error.nil?
          invalid!("results", "must be null when status is \"await_task\"") unless results.nil?
        end
      end
    end
  end
end
