# frozen_string_literal: true

require "json"
require_relative "../command"

module TaskerCore
  module CLI
    module Commands
      # tasker dead-letters: messages set aside with their reason; --requeue ID sends one
      # again to its queue, --discard ID marks it handled. Either is recorded with who did it.
      class DeadLetters < Command
        SUMMARY = "list dead letters; --requeue ID or --discard ID"
        USAGE = "[--queue q] [--kind k] [--limit 50] [--cursor C] | --requeue ID | --discard ID [options]"

        private

        def declare(o)
          o.on("-q", "--queue NAME", "dead letters of this queue") { |v| options[:queue] = v }
          o.on("--kind KIND", "of this kind (e.g. rejected_request, ignored_result, poison_message)") { |v| options[:kind] = v }
          o.on("-l", "--limit N", Integer, "per page (default 50)") { |v| options[:limit] = v }
          o.on("--cursor CURSOR", "the next page") { |v| options[:cursor] = v }
          o.on("--requeue ID", Integer, "send dead letter ID to its queue again") { |v| options[:requeue] = v }
          o.on("--discard ID", Integer, "mark dead letter ID handled, without sending it") { |v| options[:discard] = v }
          declare_json(o)
        end

        def run(_args)
          return act(:requeue_dead_letter, options[:requeue]) if options[:requeue]
          return act(:discard_dead_letter, options[:discard]) if options[:discard]

          page = admin.dead_letters(queue: options[:queue], kind: options[:kind], limit: options.fetch(:limit, 50),
                                    cursor: options[:cursor])
          return print_json(page) if output.json?

          print_page(page)
          EXIT[:ok]
        end

        def act(action, id)
          result = TaskerCore::Operator.current.public_send(action, id, actor: actor)
          output.json? ? output.json(result) : output.puts("dead letter #{id}: #{result['resolution']}")
          EXIT[:ok]
        end

        def print_page(page)
          letters = page["dead_letters"]
          output.puts("no dead letters") if letters.empty?
          letters.each do |letter|
            output.puts("#{output.bold("##{letter['id']}")}  #{letter['queue_name']}  #{output.state('error', letter['kind'])}  " \
                        "#{letter['created_at']}#{"  task #{letter['task_uuid']}" if letter['task_uuid']}")
            output.puts("    #{letter['reason']}")
            if letter["resolution"]
              output.puts(output.dim("    #{letter['resolution']} by #{letter['resolved_by']} at #{letter['resolved_at']}"))
            end
            output.puts(output.dim("    #{JSON.generate(letter['message'])[0, 200]}")) if letter["message"]
          end
          output.puts(output.dim("more: --cursor #{page['next_cursor']}")) if page["next_cursor"]
        end
      end
    end
  end
end
