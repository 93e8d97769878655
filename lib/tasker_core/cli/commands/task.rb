# frozen_string_literal: true

require_relative "../command"
require_relative "../dag_tree"
require_relative "../time_window"

module TaskerCore
  module CLI
    module Commands
      # tasker task UUID: the task and its DAG; --follow redraws it until the task is final;
      # --items MAP pages through the items of map step MAP (Admin#map_items).
      class Task < Command
        SUMMARY = "one task: its DAG as a tree with each step's state, attempts, duration and last error"
        USAGE = "UUID [--follow] [--items MAP [--item-state error] [--cursor C]] [options]"
        ARGUMENTS = 1
        FINAL = %w[complete error cancelled resolved_manually].freeze
        FAILED = %w[error cancelled].freeze

        private

        def declare(parser)
          parser.on("-f", "--follow", "show progress until the task is final (exit 5 if it ends in error or cancelled)") do
            options[:follow] = true
          end
          parser.on("--interval SECONDS", Float, "how often --follow reads the task (default 1)") { |v| options[:interval] = v }
          parser.on("--items MAP", "list the items of map step MAP, by index, a page at a time") { |v| options[:items] = v }
          parser.on("--item-state STATE", Array, "with --items: only items in these states") { |v| options[:item_state] = v }
          parser.on("-l", "--limit N", Integer, "with --items: items per page (1-500, default 50)") { |v| options[:limit] = v }
          parser.on("--cursor CURSOR", "with --items: the next page (printed under a full page)") { |v| options[:cursor] = v }
          declare_json(parser)
        end

        def run(args)
          uuid = args.first
          return items(uuid, options[:items]) if options[:items]

          task = fetch(uuid)
          task = follow(uuid, task) if options[:follow]
          output.json? ? output.json(task) : render(task)
          options[:follow] && FAILED.include?(task["state"]) ? EXIT[:task_failed] : EXIT[:ok]
        end

        def items(uuid, map)
          page = admin.map_items(uuid, map, state: options[:item_state], limit: options.fetch(:limit, 50),
                                            cursor: options[:cursor])
          raise TaskNotFound, "task #{uuid} has no map step #{map}" unless page
          return print_json(page) if output.json?

          output.puts("#{output.bold(map)}: #{page['items_finished'] || 0}/#{page['items_total'] || 0} items finished, " \
                      "#{page['items_failed'] || 0} failed")
          output.table(%w[INDEX ITEM STATE ATTEMPTS CHILD ERROR], page["items"].map { |item| item_row(item) }) if page["items"].any?
          output.puts(output.dim("more: --cursor #{page['next_cursor']}")) if page["next_cursor"]
          EXIT[:ok]
        end

        def item_row(item)
          error = item["last_error"]
          [item["index"], item["name"], output.state(item["state"]), "#{item['attempts']}/#{item['max_attempts']}",
           item["child_task_uuid"] || "", error.is_a?(Hash) ? error["message"].to_s[0, 80] : ""]
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
          line = "[#{'#' * filled}#{'.' * (30 - filled)}] #{done}/#{task['steps_total']} steps  #{task['state']}"
          maps = task["steps"].filter_map { |step| step["map"] }
          return line if maps.empty?

          "#{line}  items #{maps.sum { |m| m['items_finished'] }}/#{maps.sum { |m| m['items_total'] }}"
        end

        def render(task)
          output.puts("#{output.bold(task['uuid'])}  #{task['namespace']}/#{task['name']}@#{task['version']}  " \
                      "#{output.state(task['state'])}  steps #{task['steps_done']}/#{task['steps_total']}  " \
                      "#{TimeWindow.format_ms(task['duration_ms'])}")
          output.puts(output.dim("created #{task['created_at']}#{"  key #{task['idempotency_key']}" if task['idempotency_key']}"))
          dynamic_lines(task).each { |line| output.puts(line) }
          output.puts
          DagTree.new(task, output).lines.each { |line| output.puts(line) }
        end

        # The counts of a dynamic workflow's steps, and the parent of a child task.
        def dynamic_lines(task)
          lines = []
          if (task["steps_skipped"].to_i + task["steps_waiting"].to_i + task["map_items"].to_i).positive?
            lines << output.dim("#{task['steps_skipped']} skipped, #{task['steps_waiting']} waiting, " \
                                "#{task['map_items']} map items")
          end
          parent = task["parent_task_uuid"]
          lines << "child of task #{parent} (step #{task['parent_step']}): tasker task #{parent}" if parent
          lines
        end
      end
    end
  end
end
