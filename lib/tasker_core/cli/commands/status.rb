# frozen_string_literal: true

require_relative "../command"
require_relative "../time_window"

module TaskerCore
  module CLI
    module Commands
      # tasker status: the processes, the queues and the tasks by state, on one screen.
      class Status < Command
        SUMMARY = "processes, queues and tasks by state"
        USAGE = "[options]"

        private

        def declare(parser)
          declare_json(parser)
        end

        def run(_args)
          report = { "processes" => admin.processes, "queues" => admin.queues, "tasks" => admin.counts_by_state }
          return print_json(report) if output.json?

          print_processes(report["processes"])
          output.puts
          Queues.print_table(output, report["queues"])
          output.puts
          output.table(%w[STATE TASKS], report["tasks"].map { |state, count| [output.state(state), count] })
          EXIT[:ok]
        end

        def print_processes(processes)
          if processes.empty?
            output.puts("no processes have reported (orchestrators and workers beat every few seconds)")
            return
          end
          rows = processes.map do |p|
            [p["kind"], "#{p['host']}:#{p['pid']}", p["alive"] ? output.state("complete", "alive") : output.state("error", "gone"),
             Array(p["namespaces"]).join(","), "#{p['busy']}/#{p['concurrency']}", p["processed"], p["failed"],
             p["last_seen_at"]]
          end
          output.table(%w[KIND PROCESS STATUS NAMESPACES BUSY PROCESSED FAILED LAST_SEEN], rows)
        end
      end
    end
  end
end
