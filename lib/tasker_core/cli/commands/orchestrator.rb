# frozen_string_literal: true

require_relative "../command"
require_relative "../http_port"

module TaskerCore
  module CLI
    module Commands
      # tasker orchestrator (alias tasker-orchestrator): runs an orchestrator until TERM or
      # INT. Run any number of them against one database.
      class Orchestrator < Command
        SUMMARY = "an orchestrator process (tasker orchestrator --help)"
        USAGE = "[--http-port PORT] [options]"

        private

        def declare(parser)
          HttpPort.declare(parser, options)
        end

        # The listener starts first (/health answers while the core bootstraps; /ready once
        # the schema is current) and stops after the orchestrator.
        def run(_args)
          require_relative "../signal_loop"
          listener = HttpPort.start(options, "orchestrator")
          orchestrator = TaskerCore::Orchestrator.start
          SignalLoop.new("orchestrator").run(on_stop: -> { orchestrator.stop })
          EXIT[:ok]
        ensure
          listener&.stop
        end
      end
    end
  end
end
