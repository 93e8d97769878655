# frozen_string_literal: true

require "json"
require_relative "../command"

module TaskerCore
  module CLI
    module Commands
      # tasker signal UUID NAME [--payload JSON]: sends a signal to a task (what a
      # wait_for_signal step waits for), as TaskerCore.signal does from code.
      class Signal < Command
        SUMMARY = "send a signal to a task's waiting step (wait_for_signal)"
        USAGE = "UUID NAME [--payload JSON] [options]"
        ARGUMENTS = 2

        private

        def declare(parser)
          parser.on("-p", "--payload JSON", "the signal's payload, the step's result (JSON; default null)") do |v|
            options[:payload] = v
          end
          declare_json(parser)
        end

        def run(args)
          uuid, name = args
          payload = options.key?(:payload) ? JSON.parse(options[:payload]) : nil
          id = TaskerCore.signal(uuid, name, payload)
          answer = { "task_uuid" => uuid, "signal" => name, "id" => id }
          output.json? ? output.json(answer) : output.puts("sent signal #{name} to #{uuid}")
          EXIT[:ok]
        rescue JSON::ParserError => e
          raise BadArgument, "--payload is not JSON: #{e.message}"
        end
      end
    end
  end
end
