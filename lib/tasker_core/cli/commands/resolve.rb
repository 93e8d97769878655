# frozen_string_literal: true

require "json"
require_relative "../command"

module TaskerCore
  module CLI
    module Commands
      # tasker resolve UUID STEP --result JSON: completes a step by hand with the given result.
      class Resolve < Command
        SUMMARY = "resolve a step by hand with a result, so the task goes on"
        USAGE = "UUID STEP --result JSON [options]"
        ARGUMENTS = 2

        private

        def declare(parser)
          parser.on("-r", "--result JSON", "the step's result (JSON; default {})") { |v| options[:result] = v }
          declare_json(parser)
        end

        def run(args)
          uuid, step = args
          result = JSON.parse(options.fetch(:result, "{}"))
          outcome = TaskerCore::Operator.current.resolve_step(uuid, step, result, actor: actor)
          output.json? ? output.json(outcome) : output.puts("resolved #{step} of #{uuid}: task #{outcome['task_state']}")
          EXIT[:ok]
        rescue JSON::ParserError => e
          raise BadArgument, "--result is not JSON: #{e.message}"
        end
      end
    end
  end
end
