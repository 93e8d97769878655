# frozen_string_literal: true

require "rails/railtie"
require_relative "configuration"
require_relative "executor"
require_relative "schema"
require_relative "async_mode"
require_relative "event_relay_service"

module TaskerCore
  module Rails
    # Loaded by `require "tasker_core"` when Rails is present. What it does, in boot order:
    # - TaskerCore.config from config/tasker_core.yml and config.tasker_core.* (Configuration),
    #   on the app's ActiveRecord database unless a database_url is given; logs to Rails.logger;
    # - TaskerCore.enqueue sends on the app's ActiveRecord connection, so a request commits or
    #   rolls back with the app's transaction (pass connection: to choose another);
    # - handler calls run inside the app's reloader/executor, the AR pool fits the worker
    #   (Executor); handlers live under app/tasker/ (autoloaded, reloaded in development),
    #   templates under config/tasker/templates/;
    # - the schema: install migration, tasker_core:migrate, schema.rb hooks (Schema);
    # - ActiveSupport::Notifications events (Instrumentation); relay_events: true relays the
    #   orchestrator's task events into this app's processes (EventRelayService);
    # - execution_mode :async runs an orchestrator and a worker in the app's process (AsyncMode);
    # - `config.active_job.queue_adapter = :tasker_core` (ActiveJobAdapter).
    class Railtie < ::Rails::Railtie
      config.tasker_core = ActiveSupport::OrderedOptions.new

      initializer "tasker_core.configuration", after: "active_record.initialize_database" do |app|
        options = app.config.tasker_core
        Configuration::OPTIONS.each { |key, default| options[key] = default if options[key].nil? }
        Configuration.log_to(::Rails.logger) if options.log_to_rails && ::Rails.logger
        # Read on first use (ActiveRecord's configuration is complete by then).
        TaskerCore.config_loader = ->(deferred:) { Configuration.build(app, options, deferred: deferred) }
        Client.connection_provider = -> { Configuration.active_record_class(options).connection.raw_connection }
        ActiveSupport.on_load(:active_record) { Schema.install_active_record_hooks! }
      end

      # The reloader first, so instrumentation (and its subscribers) run inside it.
      initializer "tasker_core.executor" do |app|
        Executor.install!(app)
        Instrumentation.install!
      end

      config.after_initialize do |app|
        AsyncMode.boot(app) if app.config.tasker_core.execution_mode.to_sym == :async
        EventRelayService.boot if app.config.tasker_core.relay_events
      end

      # Before ActiveJob applies config.active_job.queue_adapter, which looks the adapter up.
      initializer "tasker_core.active_job", before: "active_job.set_configs" do
        ActiveSupport.on_load(:active_job) do
          require_relative "active_job_adapter"
          ActiveJob::QueueAdapters.const_set(:TaskerCoreAdapter, ActiveJobAdapter) unless
            ActiveJob::QueueAdapters.const_defined?(:TaskerCoreAdapter, false)
        end
      end

      rake_tasks do
        load File.expand_path("tasks.rake", __dir__)
      end
    end
  end
end
