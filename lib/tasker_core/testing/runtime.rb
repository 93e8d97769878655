# frozen_string_literal: true

module TaskerCore
  module Testing
    # The kit's embedded orchestrator and workers, started lazily and once: an orchestrator
    # already running in the process is reused; each namespace asked gets a QueueWorker the
    # first time (a worker of another component polling it too is fine: many may).
    module Runtime
      @mutex = Mutex.new
      @orchestrator = nil
      @started = []
      @workers = {}

      module_function

      def ensure_orchestrator
        @mutex.synchronize do
          return @orchestrator if @orchestrator&.running?

          url = TaskerCore.config.database_url
          found = Orchestrator.running.find { |o| o.running? && o.config.database_url == url }
          @orchestrator = found || Orchestrator.start.tap { |o| @started << o }
        end
      end

      # A namespace no template registered gets no worker: its requests are rejected
      # (TaskRejected), which says more than the worker's refusal to start.
      def ensure_workers(namespaces)
        @mutex.synchronize do
          namespaces.uniq.each do |namespace|
            next if @workers[namespace]&.running?

            @workers[namespace] = QueueWorker.start(namespaces: [namespace])
          rescue ConfigurationError
            @workers.delete(namespace)
          end
        end
      end

      # Stops what the kit started (not an orchestrator it found running).
      def stop
        @mutex.synchronize do
          @workers.each_value { |worker| worker.stop(timeout: 5) }
          @started.each { |orchestrator| orchestrator.stop(timeout: 5) }
          @workers = {}
          @started = []
          @orchestrator = nil
        end
      end
    end
  end
end

# Before the orchestrators' own at_exit (registered earlier, so run later): workers first.
# A forked child leaves its parent's workers alone.
pid = Process.pid
at_exit do
  TaskerCore::Testing::Runtime.stop if Process.pid == pid
rescue TaskerCore::Error
  nil
end
