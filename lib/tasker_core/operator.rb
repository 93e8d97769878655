# frozen_string_literal: true

require "json"
require_relative "errors"

module TaskerCore
  # Operator actions on tasks, from any process (console, web, job): the Rust core applies
  # them through its state machine in one transaction each, recorded as transitions.
  #
  #   TaskerCore.cancel(uuid)                      # unstarted steps cancelled; late results ignored
  #   TaskerCore.retry(uuid)                       # a task in error resumes from its failed steps
  #   TaskerCore.resolve_step(uuid, "charge", {"paid" => true})  # dependents receive this result
  class Operator
    @mutex = Mutex.new

    class << self
      # One per process and configuration; reconnected after fork or reconfiguration.
      def current(config: TaskerCore.config)
        @mutex.synchronize do
          @current = nil if @current && !@current.usable_for?(config)
          @current ||= new(config: config)
        end
      end
    end

    def initialize(config: TaskerCore.config)
      @config = config
      @core_json = config.to_core_json
      @pid = Process.pid
      @handle = Native::OperatorHandle._connect_private(@core_json)
    end

    def usable_for?(config)
      @pid == Process.pid && config.to_core_json == @core_json
    end

    # Installs pgmq and tasker_core's schema in the configured database, or brings them up
    # to this version's migrations, as an orchestrator does at start (and with it: the same
    # ledger, so neither applies anything twice). Starts nothing. Returns true.
    def install_schema
      @handle._install_schema_private
    end

    # => {"task_uuid"=>..., "state"=>"cancelled", "cancelled_steps"=>n}
    def cancel(uuid)
      JSON.parse(@handle._cancel_private(uuid.to_s))
    end

    # => {"task_uuid"=>..., "state"=>"in_progress", "retried_steps"=>n, "dispatched"=>n}
    def retry(uuid)
      JSON.parse(@handle._retry_private(uuid.to_s))
    end

    # => {"task_uuid"=>..., "step"=>name, "task_state"=>..., "dispatched"=>n}
    def resolve_step(uuid, step_name, result)
      JSON.parse(@handle._resolve_step_private(uuid.to_s, step_name.to_s, JSON.generate(result)))
    rescue JSON::GeneratorError => e
      raise ValidationError, "the resolution result is not JSON: #{e.message}"
    end
  end
end
