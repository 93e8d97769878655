# frozen_string_literal: true

require_relative "../client"

module TaskerCore
  class Admin
    # Admin#step_counts: the waiting and skipped steps of the running tasks, waiting ones by
    # what they wait for. Over the in_progress tasks only (tasker_tasks_state_idx), each
    # probed through tasker_workflow_steps_listed_state_idx (task_id, listed_state: the state
    # of a waiting or skipped step, migration 18): the cost follows the running tasks, not the
    # history. A waiting step that is not a map, a signal wait or a sleep awaits a child task.
    module StepCounts
      SQL = <<~SQL
        SELECT count(*) FILTER (WHERE s.state = 'waiting') AS waiting,
               count(*) FILTER (WHERE s.state = 'skipped') AS skipped,
               count(*) FILTER (WHERE s.state = 'waiting' AND s.step_type = 'wait_for_signal') AS signal,
               count(*) FILTER (WHERE s.state = 'waiting' AND s.step_type = 'sleep') AS timer,
               count(*) FILTER (WHERE s.state = 'waiting' AND s.step_type = 'map') AS items,
               count(*) FILTER (WHERE s.state = 'waiting'
                                  AND s.step_type NOT IN ('wait_for_signal', 'sleep', 'map')) AS child_task,
               min(s.wake_at) FILTER (WHERE s.state = 'waiting') AS next_wake_at
          FROM tasker_tasks t
          JOIN tasker_workflow_steps s ON s.task_id = t.id AND s.listed_state IN ('waiting', 'skipped')
         WHERE t.state = 'in_progress'
      SQL
      KINDS = %w[signal timer items child_task].freeze

      module_function

      def call(conn)
        row = conn.exec(SQL).first
        { "waiting" => Integer(row["waiting"]), "skipped" => Integer(row["skipped"]),
          "waiting_by_kind" => KINDS.to_h { |kind| [kind, Integer(row[kind])] },
          "next_wake_at" => Client.time(row["next_wake_at"]) }
      end
    end
  end
end
