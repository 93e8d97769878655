# frozen_string_literal: true

require_relative "../client"

module TaskerCore
  class Admin
    # The fields of a task in every answer of the read model (a listing's rows, a task's
    # detail): one SELECT list and one Hash shape. Times are ISO 8601 UTC with milliseconds.
    # A child task (a step's await_task) names its parent task and the step awaiting it.
    module TaskFields
      # Reads t (tasker_tasks), nt (tasker_named_tasks), n (tasker_namespaces) and the parent
      # task pt and step ps (primary key lookups, only for a child task), joined by JOINS.
      COLUMNS = "t.id, t.uuid, n.name AS namespace, nt.name, nt.version, t.state, t.priority, t.idempotency_key, " \
                "t.steps_total, t.steps_done, t.steps_failed, t.steps_active, t.created_at, t.updated_at, " \
                "t.completed_at, t.run_at, pt.uuid AS parent_task_uuid, ps.name AS parent_step"
      JOINS = "JOIN tasker_named_tasks nt ON nt.id = t.named_task_id JOIN tasker_namespaces n ON n.id = nt.namespace_id " \
              "LEFT JOIN tasker_tasks pt ON pt.id = t.parent_task_id " \
              "LEFT JOIN tasker_workflow_steps ps ON ps.id = t.parent_step_id"
      TEXTS = %w[uuid namespace name version state].freeze
      COUNTERS = %w[steps_total steps_done steps_failed steps_active].freeze
      TIMES = %w[created_at updated_at completed_at run_at].freeze

      module_function

      def hash(row)
        task = TEXTS.to_h { |key| [key, row[key]] }
        task["priority"] = Integer(row["priority"])
        task["idempotency_key"] = row["idempotency_key"]
        COUNTERS.each { |key| task[key] = Integer(row[key]) }
        TIMES.each { |key| task[key] = Client.time(row[key]) }
        task["parent_task_uuid"] = row["parent_task_uuid"]
        task["parent_step"] = row["parent_step"]
        task
      end
    end
  end
end
