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

        def declare(parser)
          parser.on("-q", "--queue NAME", "dead letters of this queue") { |v| options[:queue] = v }
          parser.on("--kind KIND", "of this kind (e.g. rejected_request, ignored_result, poison_message)") { |v| options[:kind] = v }
          parser.on("-l", "--limit N", Integer, "per page (default 50)") { |v| options[:limit] = v }
          parser.on("--cursor CURSOR", "the next page") { |v| options[:cursor] = v }
          parser.on("--requeue ID", Integer, "send dead letter ID to its queue again") { |v| options[:requeue] = v }
          parser.on("--discard ID", Integer, "mark dead letter ID handled, without sending it") { |v| options[:discard] = v }
          declare_json(parser)
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
          letters.each { |letter| print_letter(letter) }
          output.puts(output.dim("more: --cursor #{page['next_cursor']}")) if page["next_cursor"]
        end

        def print_letter(letter)
          task = "  task #{letter['task_uuid']}" if letter["task_uuid"]
          output.puts("#{output.bold("##{letter['id']}")}  #{letter['queue_name']}  " \
                      "#{output.state('error', letter['kind'])}  #{letter['created_at']}#{task}")
          output.puts("    #{letter['reason']}")
          resolved = "    #{letter['resolution']} by #{letter['resolved_by']} at #{letter['resolved_at']}"
          output.puts(output.dim(resolved)) if letter["resolution"]
          output.puts(output.dim("    #{JSON.generate(letter['message'])[0, 200]}")) if letter["message"]
        end
      end
    end
  end
end
