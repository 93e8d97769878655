# frozen_string_literal: true

require_relative "../hooks"

module TaskerCore
  module Rails
    # Runs every handler call inside the app's reloader (which wraps the executor): the
    # handler's ActiveRecord connection goes back to the pool and the query cache is cleared
    # when the step ends, and in development changed handler files are reloaded before the
    # next step. Before a worker starts, the ActiveRecord pool is raised to the worker's
    # concurrency, so handler threads never wait for (or time out on) a connection.
    module Executor
      module_function

      def install!(app)
        @install ||= begin
          Hooks.around_handler { |_step, &run| app.reloader.wrap(&run) }
          Hooks.around_worker_start do |worker, &start|
            ensure_pool_size(worker.concurrency)
            start.call
          end
          true
        end
      end

      # Re-establishes ActiveRecord's connection with a pool of at least `threads`
      # connections (plus one for the thread that started the worker).
      def ensure_pool_size(threads)
        return unless defined?(::ActiveRecord::Base)

        needed = threads + 1
        pool = ::ActiveRecord::Base.connection_pool
        return if pool.size >= needed

        config = pool.db_config.configuration_hash.merge(pool: needed)
        ::ActiveRecord::Base.establish_connection(config)
        Logging.logger("rails").info(msg: "raised the ActiveRecord pool for the worker's handler threads",
                                     from: pool.size, to: needed)
      end
    end
  end
end
