# frozen_string_literal: true

require_relative "../command"
require_relative "../dag_tree"
require_relative "../time_window"

module TaskerCore
  module CLI
    module Commands
      # tasker task UUID: the task and its DAG; --follow redraws it until the task is final.
      class Task < Command
        SUMMARY = "one task: its DAG as a tree with each step's state, attempts, duration and last error"
        USAGE = "UUID [--follow] [options]"
        ARGUMENTS = 1
        FINAL = %w[complete error cancelled resolved_manually].freeze
        FAILED = %w[error cancelled].freeze

        private

        def declare(parser)
          parser.on("-f", "--follow", "show progress until the task is final (exit 5 if it ends in error or cancelled)") do
            options[:follow] = true
          end
          parser.on("--interval SECONDS", Float, "how often --follow reads the task (default 1)") { |v| options[:interval] = v }
          declare_json(parser)
        end

        def run(args)
          uuid = args.first
          task = fetch(uuid)
          task = follow(uuid, task) if options[:follow]
          output.json? ? output.json(task) : render(task)
          options[:follow] && FAILED.include?(task["state"]) ? EXIT[:task_failed] : EXIT[:ok]
        end

        def fetch(uuid)
          admin.task(uuid) or raise TaskNotFound, "no task #{uuid}"
        end

        # Prints a progress line whenever it changes (redrawn in place on a terminal).
        def follow(uuid, task)
          interval = options.fetch(:interval, 1.0)
          last = nil
          until FINAL.include?(task["state"])
            line = progress(task)
            unless output.json? || line == last
              out.tty? ? out.print("\r\e[K#{line}") : out.puts(line)
              last = line
            end
            sleep interval
            task = fetch(uuid)
          end
          out.print("\r\e[K") if out.tty? && !output.json?
          task
        end

        def progress(task)
          total = [task["steps_total"].to_i, 1].max
          done = task["steps_done"].to_i
          filled = (done * 30 / total)
          "[#{'#' * filled}#{'.' * (30 - filled)}] #{done}/#{task['steps_total']} steps  #{task['state']}"
        end

        def render(task)
          output.puts("#{output.bold(task['uuid'])}  #{task['namespace']}/#{task['name']}@#{task['version']}  " \
                      "#{output.state(task['state'])}  steps #{task['steps_done']}/#{task['steps_total']}  " \
                      "#{TimeWindow.format_ms(task['duration_ms'])}")
          output.puts(output.dim("created #{task['created_at']}#{"  key #{task['idempotency_key']}" if task['idempotency_key']}"))
          output.puts
          DagTree.new(task, output).lines.each { |line| output.puts(line) }
        end
      end
    end
  end
end
