# frozen_string_literal: true

require_relative "page"
require_relative "filters"

module TaskerCore
  module Web
    class Dashboard
      # GET /tasks: the tasks the filters match, newest first, a keyset page at a time.
      class TasksPage < Page
        LIMIT = 50 # rows per page unless ?limit= (1 to Admin's maximum) asks otherwise

        def call
          filters = Filters.new(request.GET)
          cursor = request.GET["cursor"].to_s
          limit = request.GET["limit"].to_s.match?(/\A\d{1,9}\z/) ? Integer(request.GET["limit"], 10) : LIMIT
          listing = admin.tasks(**filters.to_query, limit: limit, cursor: cursor.empty? ? nil : cursor)
          html("tasks", title: "Tasks", filters: filters, listing: listing, states: Admin::TASK_STATES,
                        step_states: Admin::TaskFilter::STEP_STATES,
                        paging: limit == LIMIT ? {} : { "limit" => limit })
        end
      end
    end
  end
end
