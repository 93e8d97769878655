# frozen_string_literal: true

require_relative "../task_action"

module TaskerCore
  module CLI
    module Commands
      # tasker cancel UUID, or tasker cancel --state pending --template y [--yes].
      class Cancel < TaskAction
        SUMMARY = "cancel a task (or every task a filter matches)"
        USAGE = "UUID | --state pending [--template y] [--since 1h] [--yes] [options]"
        VERB = "cancelled"

        private

        def act(uuid)
          operator.cancel(uuid, actor: actor)
        end
      end
    end
  end
end
