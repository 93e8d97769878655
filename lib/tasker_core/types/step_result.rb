# frozen_string_literal: true

require "time"
require_relative "base"
require_relative "step_error"

module TaskerCore
  module Types
    # The outcome of one attempt of a step (queue `step_results`).
    class StepResult < Base
      kind "step_result"
      STATUSES = %w[success failure].freeze

      ErrorType = Primitives.Constructor(StepError) { |v| v.is_a?(Hash) ? StepError.from_json_hash(v) : v }
                            .optional

      attribute :task_uuid, Primitives::Uuid, rule: "must be a UUID string"
      attribute :step_uuid, Primitives::Uuid, rule: "must be a UUID string"
      attribute :step_name, Primitives::Name, rule: "must match ^[a-z][a-z0-9_]{0,62}$"
      attribute :attempt, Primitives::Attempt, rule: "must be an Integer >= 1"
      attribute :status, Primitives::Strict::String.enum(*STATUSES), rule: "must be \"success\" or \"failure\""
      attribute :results, Primitives::Json, rule: "must be a JSON value", json: true
      attribute :error, ErrorType, rule: "must be nil, a StepError or its Hash"
      attribute :worker_id, Primitives::Strict::String.constrained(min_size: 1, max_size: 255),
                rule: "must be a String of 1 to 255 characters"
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

      private

      def validate!
        if success?
          invalid!("error", "must be null when status is \"success\"") unless error.nil?
        else
          invalid!("error", "is required when status is \"failure\"") if error.nil?
          invalid!("results", "must be null when status is \"failure\"") unless results.nil?
        end
      end
    end
  end
end
