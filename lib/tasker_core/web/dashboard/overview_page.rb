# frozen_string_literal: true

require_relative "page"
require_relative "chart_svg"

module TaskerCore
  module Web
    class Dashboard
      # GET /: processes, queues, tasks by state, the running tasks' waiting and skipped
      # steps, and the last hour's throughput.
      class OverviewPage < Page
        def call
          html("overview", title: "Overview", processes: admin.processes, queues: admin.queues,
                           counts: admin.counts_by_state, steps: admin.step_counts, chart: ChartSvg.new(admin.throughput(minutes: 60)))
        end
      end
    end
  end
end
