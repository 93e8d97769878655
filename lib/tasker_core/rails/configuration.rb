# frozen_string_literal: true

require_relative "../config"
require_relative "database_url"
require_relative "log_output"
require_relative "schema"

module TaskerCore
  module Rails
    # TaskerCore's configuration in a Rails app, built once at boot from, lowest first:
    # the defaults, config/tasker_core.yml (ERB, this Rails environment's section; optional),
    # DATABASE_URL, then `config.tasker_core.*` from application.rb and the environments.
    # Without any database_url the app's ActiveRecord database is used. An initializer may
    # still change it with TaskerCore.configure.
    module Configuration
      # `config.tasker_core.*` keys that are TaskerCore::Config settings.
      SETTINGS = %i[database_url template_paths log_level orchestrator worker].freeze
      # Rails-only keys (with their defaults), see Railtie.
      OPTIONS = { execution_mode: :external, active_record_class: "ActiveRecord::Base", log_to_rails: true,
                  active_job_queues: %w[default mailers], async_concurrency: 2, relay_events: false }.freeze
      DEFAULT_TEMPLATE_PATHS = ["config/tasker/templates"].freeze
      EXECUTION_MODES = %i[external async].freeze

      module_function

      # deferred: (TaskerCore.configure) the caller completes it after its block.
      def build(app, options, deferred: false)
        check_options(options)
        config = Config.load(nil, env: ::Rails.env, root: app.root.to_s, deferred: true)
        config.template_paths = DEFAULT_TEMPLATE_PATHS if config.template_paths.empty?
        SETTINGS.each do |key|
          config.public_send(:"#{key}=", options[key]) unless options[key].nil?
        end
        add_active_job_templates(app, config, options) if active_job_adapter?(app)
        if database_url_given?(config, options)
          Schema.active_record_database = nil
        else
          config.database_url = active_record_url(options)
          Schema.active_record_database = active_record_class(options).connection_db_config.name
        end
        deferred ? config : config.complete!
      end

      # The ActiveRecord class whose database holds tasker_core's schema (multiple
      # databases: an abstract class with connects_to, named by config.tasker_core.active_record_class).
      def active_record_class(options)
        name = options[:active_record_class] || OPTIONS[:active_record_class]
        name.is_a?(String) ? Object.const_get(name) : name
      end

      def active_record_url(options)
        DatabaseUrl.from(active_record_class(options).connection_db_config.configuration_hash)
      end

      # The file or DATABASE_URL (both read by Config.load), or config.tasker_core.
      def database_url_given?(config, options)
        !options[:database_url].nil? || config.source_gave_database_url?
      end

      def active_job_adapter?(app)
        app.config.respond_to?(:active_job) && app.config.active_job.queue_adapter.to_s == "tasker_core"
      end

      # The ActiveJob adapter's templates, written under tmp/ and registered like the app's.
      def add_active_job_templates(app, config, options)
        require_relative "active_job_templates"
        require_relative "active_job_step"
        directory = ActiveJobTemplates.write(app.root.join("tmp", "tasker_core", "active_job").to_s,
                                             Array(options[:active_job_queues]))
        config.template_paths = config.template_paths + [directory]
      end

      def check_options(options)
        mode = (options[:execution_mode] || OPTIONS[:execution_mode]).to_sym
        return if EXECUTION_MODES.include?(mode)

        raise ConfigurationError, "config.tasker_core.execution_mode must be one of #{EXECUTION_MODES.join(', ')}, " \
                                  "got #{mode.inspect}"
      end

      # Sends the gem's JSON log lines to Rails.logger.
      def log_to(logger)
        Logging.output = LogOutput.new(logger)
      end
    end
  end
end
