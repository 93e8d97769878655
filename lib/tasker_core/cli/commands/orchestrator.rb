# frozen_string_literal: true

require_relative "../command"

module TaskerCore
  module CLI
    module Commands
      # tasker orchestrator (alias tasker-orchestrator): runs an orchestrator until TERM or
      # INT. Run any number of them against one database.
      class Orchestrator < Command
        SUMMARY = "an orchestrator process (tasker orchestrator --help)"
        USAGE = "[options]"

        private

        def run(_args)
          require_relative "../signal_loop"
          orchestrator = TaskerCore::Orchestrator.start
          SignalLoop.new("orchestrator").run(on_stop: -> { orchestrator.stop })
          EXIT[:ok]
        end
      end
    end
  end
end
