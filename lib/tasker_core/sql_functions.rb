# frozen_string_literal: true

require_relative "client"

module TaskerCore
  # The status functions of the schema, typed for Ruby.
  #
  #   TaskerCore::SqlFunctions.task_execution_context(uuid)
  #   # => {"task_uuid"=>..., "task_state"=>"in_progress", "total_steps"=>4, "completed_steps"=>1, ...,
  #   #     "ready_steps"=>0, "execution_status"=>"processing", "recommended_action"=>"wait_for_completion",
  #   #     "completion_percentage"=>25.0, "skipped_steps"=>0, "waiting_steps"=>1, "dynamic_steps"=>100}
  #   (dynamic_steps: the items of map steps, which the other counts leave out: a map step
  #   stands for them)
  #   TaskerCore::SqlFunctions.step_readiness_status(uuid)
  #   # => [{"step_uuid"=>..., "name"=>"linear_step_1", "state"=>"complete", "dependencies_satisfied"=>true,
  #   #      "retry_eligible"=>false, "next_retry_at"=>nil, "ready_for_execution"=>false, "step_type"=>"task",
  #      "map_step"=>nil, "item_index"=>nil, "wake_at"=>nil}, ...]  (items: map_step and item_index)
  module SqlFunctions
    INTEGERS = %w[total_steps pending_steps enqueued_steps in_progress_steps completed_steps failed_steps
                  waiting_for_retry_steps cancelled_steps ready_steps attempts max_attempts remaining_parents
                  skipped_steps waiting_steps dynamic_steps item_index].freeze
    TIMES = %w[next_retry_at wake_at].freeze
    BOOLEANS = %w[dependencies_satisfied retry_eligible ready_for_execution].freeze

    module_function

    # nil when no such task exists.
    def task_execution_context(uuid)
      row = Client.query("SELECT * FROM tasker_task_execution_context($1::uuid)", [uuid]).first
      row && typed(row)
    end

    def step_readiness_status(uuid)
      Client.query("SELECT * FROM tasker_step_readiness_status($1::uuid)", [uuid]).map { |row| typed(row) }
    end

    def typed(row)
      row.to_h do |key, value|
        [key, if value.nil? then nil
              elsif INTEGERS.include?(key) then Integer(value)
              elsif BOOLEANS.include?(key) then value == "t"
              elsif key == "completion_percentage" then Float(value)
              elsif TIMES.include?(key) then Time.parse(value)
              else
                value
              end]
      end
    end
  end
end
