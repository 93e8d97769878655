# frozen_string_literal: true

module TaskerCore
  module CLI
    # Starts tasker-worker's QueueWorker. A namespace without its queue fails at once when
    # the namespaces were named (a typo, or the wrong database), but a worker that took its
    # namespaces from the app's own templates waits for an orchestrator to register them
    # (up to `wait_s`, default WAIT_FOR_TEMPLATES_S): started together in a deploy, the
    # worker is often first. An unreachable database fails at once either way.
    module WorkerStart
      WAIT_FOR_TEMPLATES_S = 60
      RETRY_EVERY_S = 1

      module_function

      def start(namespaces:, concurrency:, wait_s:, logger: Logging.logger("cli.worker"))
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + wait_s
        waited = false
        begin
          QueueWorker.start(namespaces: namespaces, concurrency: concurrency)
        rescue NamespaceNotRegistered => e
          raise if Process.clock_gettime(Process::CLOCK_MONOTONIC) >= deadline

          unless waited
            logger.info(msg: "waiting for an orchestrator to register the namespaces", namespaces: namespaces,
                        reason: e.message, wait_s: wait_s)
          end
          waited = true
          sleep RETRY_EVERY_S
          retry
        end
      end
    end
  end
end
