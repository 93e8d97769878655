# frozen_string_literal: true

module TaskerSpec
  # One embedded orchestrator and one worker shared by the integration specs (starting the
  # core per example would dominate the suite's time). Specs that test the lifecycle itself
  # start their own.
  module Runtime
    TEMPLATE_PATHS = [File.join(Database::ROOT, "examples", "templates"),
                      File.join(Database::ROOT, "spec", "fixtures", "templates")].freeze
    NAMESPACES = %w[linear_workflow diamond_workflow tree_workflow mixed_dag_workflow fulfillment approval_workflow spec_workflows
                    hostile_workflows dynamic_workflows].freeze

    module_function

    # Starts them on first use, on the suite's database (created anew first if need be).
    def ensure_started
      @orchestrator ||= begin
        Database.prepare!
        unless TaskerCore.config.database_url == Database.url
          raise "TaskerSpec::Runtime runs on the suite's database, not on #{TaskerCore.config.masked_database_url}"
        end

        require File.join(Database::ROOT, "spec", "fixtures", "handlers")
        require File.join(Database::ROOT, "spec", "fixtures", "hostile_handlers")
        require File.join(Database::ROOT, "spec", "fixtures", "dynamic_handlers")
        Dir[File.join(Database::ROOT, "examples", "handlers", "*.rb")].sort.each { |file| require file }
        TaskerCore.config.template_paths = TEMPLATE_PATHS
        TaskerCore::Orchestrator.start
      end
      @worker ||= TaskerCore::QueueWorker.start(namespaces: NAMESPACES, concurrency: 4)
      @orchestrator
    end

    def stop
      @worker&.stop(timeout: 5)
      @orchestrator&.stop(timeout: 5)
      @worker = @orchestrator = nil
    end
  end

  module Helpers
    def run_task(namespace, name, context, version: "1.0.0", timeout: 30)
      Runtime.ensure_started
      uuid = TaskerCore.enqueue(namespace: namespace, name: name, version: version, context: context)
      TaskerCore.wait(uuid, timeout: timeout)
    end

    def step_transitions(task_uuid, step_name)
      Database.query(<<~SQL, [task_uuid, step_name]).map { |r| [r["from_state"], r["to_state"]] }
        SELECT tr.from_state, tr.to_state FROM tasker_step_transitions tr
          JOIN tasker_workflow_steps s ON s.id = tr.step_id
          JOIN tasker_tasks t ON t.id = s.task_id
         WHERE t.uuid = $1 AND s.name = $2 ORDER BY tr.id
      SQL
    end
  end
end
