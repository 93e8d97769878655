# frozen_string_literal: true

require_relative "../orchestrator"
require_relative "../queue_worker"

module TaskerCore
  module Rails
    # config.tasker_core.execution_mode = :async: an embedded orchestrator and a QueueWorker
    # (every namespace the app's templates register; config.tasker_core.async_concurrency
    # handler threads) run inside the app's own process, as GoodJob's async mode does: for
    # small apps and development, with no separate processes to run.
    #
    # Started after boot in servers and `rails runner` (not in rake tasks, the console or
    # generators), stopped at exit. A forked child (Puma cluster workers, Spring, Parallel)
    # never uses what its parent started, whose threads did not survive the fork: the child
    # forgets them and starts its own. A preloading Puma cluster master (`workers` > 0 with
    # `preload_app!`) starts nothing itself: it forks the workers, and a fork while the core's
    # and the worker's threads are inside libpq and OpenSSL can leave a child a broken TLS
    # state; each worker starts its own after the fork instead.
    module AsyncMode
      @lock = Mutex.new
      @running = nil

      module_function

      def boot(app)
        return unless wanted?

        @app = app
        @fork_hook ||= ActiveSupport::ForkTracker.after_fork { AsyncMode.after_fork }
        return @deferred = true if preloading_cluster_master?

        start
      end

      def start
        @lock.synchronize do
          return @running if @running

          orchestrator = Orchestrator.start
          namespaces = TaskerCore.template_namespaces
          worker = QueueWorker.start(namespaces: namespaces, concurrency: @app.config.tasker_core.async_concurrency)
          @running = { orchestrator: orchestrator, worker: worker, pid: Process.pid }
        end
      end

      def stop(timeout: 10)
        running = @lock.synchronize { @running.tap { @running = nil } }
        return false unless running && running[:pid] == Process.pid

        running[:worker].stop(timeout: timeout)
        running[:orchestrator].stop(timeout: timeout)
        true
      end

      def running?
        !@running.nil? && @running[:pid] == Process.pid
      end

      # In a child after fork: what the parent started lives on in the parent only.
      def after_fork
        @lock = Mutex.new
        had = !@running.nil? || @deferred
        @running = nil
        @deferred = false
        start if had
      end

      # Puma's master with workers and preload_app: the app boots here, before the forks.
      def preloading_cluster_master?
        return false unless defined?(::Puma) && ::Puma.respond_to?(:cli_config) && ::Puma.cli_config

        options = ::Puma.cli_config.options
        options[:workers].to_i.positive? && options[:preload_app] ? true : false
      end

      def wanted?
        return false if defined?(::Rails::Console) || defined?(::Rails::Generators)
        return false if defined?(::Rake.application) && ::Rake.application.top_level_tasks.any?

        true
      end

      at_exit { AsyncMode.stop if AsyncMode.running? }
    end
  end
end
