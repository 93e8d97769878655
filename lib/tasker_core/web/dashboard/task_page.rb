# frozen_string_literal: true

require_relative "page"
require_relative "dag_svg"

module TaskerCore
  module Web
    class Dashboard
      # GET /tasks/UUID: the DAG, each step's attempts, error and result, the transitions;
      # the page reloads itself (dashboard.js) while the task is not final.
      class TaskPage < Page
        def call
          task = admin.task(params.fetch("uuid")) or raise TaskerCore::NotFound, "no task #{params['uuid']}"
          live = !Client::FINAL_STATES.include?(task["state"])
          html("task", title: "Task #{task['name']}", refresh: live, task: task, dag: DagSvg.new(task["steps"]))
        end
      end
    end
  end
end
