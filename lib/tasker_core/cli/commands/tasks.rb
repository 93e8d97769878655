# frozen_string_literal: true

require_relative "../command"
require_relative "../task_filter"
require_relative "../time_window"

module TaskerCore
  module CLI
    module Commands
      # tasker tasks: a page of tasks, newest first, filtered.
      class Tasks < Command
        SUMMARY = "list tasks: --state (skipped, waiting: by step) --namespace --template --since --key --uuid, paged by --cursor"
        USAGE = "[--state error] [--template name] [--since 1h] [--limit 50] [--cursor C] [options]"

        def self.row(output, task)
          steps = "#{task['steps_done']}/#{task['steps_total']}"
          steps += " (#{task['steps_failed']} failed)" if task["steps_failed"].to_i.positive?
          template = "#{task['namespace']}/#{task['name']}@#{task['version']}"
          template += output.dim(" (child of #{task['parent_task_uuid'][0, 8]})") if task["parent_task_uuid"]
          [task["uuid"], template, output.state(task["state"]), steps, task["created_at"]]
        end

        private

        def declare(parser)
          @filter = TaskFilter.new
          @filter.declare(parser)
          parser.on("-l", "--limit N", Integer, "tasks per page (1-500, default 50)") { |v| options[:limit] = v }
          parser.on("--cursor CURSOR", "the next page (printed under a full page)") { |v| options[:cursor] = v }
          declare_json(parser)
        end

        def run(_args)
          page = admin.tasks(**@filter.to_query, limit: options.fetch(:limit, 50), cursor: options[:cursor])
          return print_json(page) if output.json?

          if page["tasks"].empty?
            output.puts("no tasks#{" match #{@filter.describe}" if @filter.any?}")
          else
            output.table(%w[UUID TEMPLATE STATE STEPS CREATED], page["tasks"].map { |task| self.class.row(output, task) })
          end
          output.puts(output.dim("more: --cursor #{page['next_cursor']}")) if page["next_cursor"]
          EXIT[:ok]
        end
      end
    end
  end
end
