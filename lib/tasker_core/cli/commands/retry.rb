# frozen_string_literal: true

require_relative "../task_action"

module TaskerCore
  module CLI
    module Commands
      # tasker retry UUID, or tasker retry --state error --template y --since 1h [--yes].
      class Retry < TaskAction
        SUMMARY = "retry a task from its failed steps (or every task a filter matches)"
        USAGE = "UUID | --state error [--template y] [--since 1h] [--yes] [options]"
        VERB = "retried"

        private

        def act(uuid)
          operator.retry(uuid, actor: actor)
        end
      end
    end
  end
end
