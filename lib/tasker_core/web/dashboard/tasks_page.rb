# frozen_string_literal: true

require_relative "page"
require_relative "filters"

module TaskerCore
  module Web
    class Dashboard
      # GET /tasks: the tasks the filters match, newest first, a keyset page at a time.
      class TasksPage < Page
        LIMIT = 50

        def call
          filters = Filters.new(request.GET)
          cursor = request.GET["cursor"].to_s
          listing = admin.tasks(**filters.to_query, limit: LIMIT, cursor: cursor.empty? ? nil : cursor)
          html("tasks", title: "Tasks", filters: filters, listing: listing, states: Admin::TASK_STATES)
        end
      end
    end
  end
end
