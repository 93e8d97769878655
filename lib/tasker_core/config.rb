# frozen_string_literal: true

require "json"
require_relative "errors"
require_relative "logging"
require_relative "config/config_file"
require_relative "config/orchestrator_settings"
require_relative "config/worker_settings"
require_relative "config/api_tokens"

module TaskerCore
  # Settings for the client, the workers and the Rust core.
  #
  # Loaded from one YAML file (ERB first, as Rails' database.yml) with a section per environment (test, development,
  # production, ...). The environment comes from TASKER_ENV, then RAILS_ENV, else
  # "development"; DATABASE_URL overrides database_url. Anything not set keeps its default.
  # The orchestrator's settings are the Rust core's (Config::OrchestratorSettings); the
  # worker's are Ruby's (WORKER_SETTINGS).
  class Config
    DEFAULT_PATH = "config/tasker_core.yml"
    DEFAULT_ENV = "development"
    DEFAULT_DATABASE_URL = "postgres://postgres@localhost/tasker_development"

    WORKER_DEFAULTS = WORKER_SETTINGS.transform_values { |spec| spec[:default] }.freeze

    class << self
      # Reads `path` (default: config/tasker_core.yml under Dir.pwd when it exists). A file
      # without a section for `env` is an error only when nothing else gives database_url:
      # DATABASE_URL here, or (`deferred: true`, for TaskerCore.configure) the caller, which
      # then calls #complete! once it has set what it sets. `root`: where the default file
      # and relative template paths are found (default Dir.pwd; the Railtie: Rails.root).
      def load(path = nil, env: nil, environ: ENV, deferred: false, root: Dir.pwd)
        env = (env || current_env(environ)).to_s
        if path
          raise ConfigurationError, "config file #{path} does not exist" unless File.file?(path)
        else
          default = File.expand_path(DEFAULT_PATH, root)
          path = default if File.file?(default)
        end
        settings, missing_section = path ? ConfigFile.section(path, env) : [{}, nil]
        url = environ["DATABASE_URL"]
        settings["database_url"] = url if url && !url.strip.empty?
        config = new(env: env, source: path, root: root, **settings.transform_keys(&:to_sym))
        record_database_url_source(config, settings, missing_section)
        deferred ? config : config.complete!
      end

      def record_database_url_source(config, settings, missing_section)
        return config.source_gave_database_url! if settings.key?("database_url")

        config.leave_database_url_missing(missing_section)
      end
      private :record_database_url_source

      def current_env(environ = ENV)
        [environ["TASKER_ENV"], environ["RAILS_ENV"]].find { |v| v && !v.strip.empty? } || DEFAULT_ENV
      end

      # The orchestrator's settings as the core describes them:
      # {name => {default:, type:, minimum:, maximum:, doc:}}.
      def orchestrator_settings
        OrchestratorSettings.catalog
      end
    end

    attr_reader :env, :source, :root, :database_url, :template_paths, :log_level, :orchestrator, :worker, :api_tokens

    # `root` is the directory relative template paths are resolved against.
    def initialize(env: DEFAULT_ENV, source: nil, root: Dir.pwd, database_url: DEFAULT_DATABASE_URL,
                   template_paths: [], log_level: "info", orchestrator: {}, worker: {}, api_tokens: {})
      @env = env.to_s
      @source = source
      @root = root
      @orchestrator_given = {}.freeze
      @worker = WORKER_DEFAULTS
      self.database_url = database_url
      self.template_paths = template_paths
      self.log_level = log_level
      self.orchestrator = orchestrator
      self.worker = worker
      self.api_tokens = api_tokens
    end

    def database_url=(url)
      unless url.is_a?(String) && url.match?(%r{\Apostgres(ql)?://}i)
        raise ConfigurationError, "database_url must be a postgres:// URL, got #{Logging.mask_url(url.inspect)}"
      end

      @database_url_missing = nil
      @database_url = url.dup.freeze
    end

    # Whether the file or DATABASE_URL gave database_url (not a default).
    def source_gave_database_url?
      @source_gave_database_url == true
    end

    def source_gave_database_url!
      @source_gave_database_url = true
    end

    # Records that the source meant to give database_url (`why`) did not: #complete! raises
    # until database_url is set.
    def leave_database_url_missing(why)
      @database_url_missing = why
    end

    # Raises when the file this configuration was loaded from lacked its environment and
    # nothing else gave database_url; returns self otherwise.
    def complete!
      raise ConfigurationError, "#{@database_url_missing}, and DATABASE_URL is not set" if @database_url_missing

      self
    end

    def template_paths=(paths)
      paths = Array(paths)
      bad = paths.reject { |p| p.is_a?(String) && !p.empty? }
      raise ConfigurationError, "template_paths must be non-empty strings, got #{bad.inspect}" unless bad.empty?

      @template_paths = paths.map { |p| p.dup.freeze }.freeze
    end

    def log_level=(level)
      name = level.to_s.downcase
      raise ConfigurationError, "log_level must be one of #{Logging::LEVELS.keys.join(', ')}, got #{level.inspect}" unless Logging::LEVELS.key?(name)

      @log_level = name.freeze
    end

    # Merges the given keys over the settings given so far; the core checks them, and
    # `orchestrator` answers every effective value (given or the core's default).
    def orchestrator=(settings)
      raise ConfigurationError, "orchestrator must be a mapping, got #{settings.inspect}" unless settings.is_a?(Hash)

      given = @orchestrator_given.merge(settings.transform_keys(&:to_sym)).freeze
      @orchestrator = OrchestratorSettings.resolve(given)
      @orchestrator_given = given
    end

    # Merges the given keys over the current worker settings.
    def worker=(settings)
      raise ConfigurationError, "worker must be a mapping, got #{settings.inspect}" unless settings.is_a?(Hash)

      @worker = SettingCheck.resolve("worker", WORKER_SETTINGS, @worker.merge(settings.transform_keys(&:to_sym)))
    end

    # The HTTP API's bearer tokens (Web::Api): {name => token}, or a list of bare tokens
    # (each then named by Web::Api::Tokens). Never shown by to_h or inspect.
    def api_tokens=(tokens)
      @api_tokens = ApiTokens.normalize(tokens)
    end

    # template_paths resolved against root: what the core loads.
    def absolute_template_paths
      template_paths.map { |p| File.expand_path(p, root) }
    end

    def masked_database_url
      Logging.mask_url(database_url)
    end

    # The JSON document the Rust core is started with: the orchestrator settings as given
    # (the core fills in its defaults).
    def to_core_json
      JSON.generate(
        "database_url" => database_url,
        "template_paths" => absolute_template_paths,
        "log_level" => log_level,
        "orchestrator" => @orchestrator_given.transform_keys(&:to_s)
      )
    end

    def to_h
      {
        "env" => env, "database_url" => masked_database_url, "template_paths" => template_paths,
        "log_level" => log_level, "orchestrator" => orchestrator.transform_keys(&:to_s),
        "worker" => worker.transform_keys(&:to_s), "api_tokens" => api_tokens.keys
      }
    end

    # Never shows the database password.
    def inspect
      "#<#{self.class.name} #{to_h.inspect}>"
    end
    alias to_s inspect
  end

  @config_mutex = Mutex.new
  @config_loader = nil

  class << self
    # The process-wide configuration, loaded on first use (by config_loader when set).
    def config
      @config || @config_mutex.synchronize { @config ||= apply_config(load_config(deferred: false)) }
    end

    # What loads the configuration on first use instead of Config.load: a callable taking
    # `deferred:` (see Config.load). The Railtie sets it, so the app's configuration is read
    # when first needed, after boot, rather than during it.
    attr_reader :config_loader

    def config_loader=(loader)
      raise ArgumentError, "config_loader must respond to #call or be nil" unless loader.nil? || loader.respond_to?(:call)

      @config_mutex.synchronize { @config_loader = loader }
    end

    def config=(config)
      raise ArgumentError, "expected a TaskerCore::Config, got #{config.class}" unless config.is_a?(Config)

      @config_mutex.synchronize { @config = apply_config(config) }
    end

    # TaskerCore.configure { |c| c.database_url = url; c.template_paths = ["config/tasks"] }
    # Settings given here need no file; a file missing this environment's section is an
    # error only when the block and DATABASE_URL leave database_url to it.
    def configure
      current = @config || load_config(deferred: true)
      yield current if block_given?
      self.config = current.complete!
    end

    # Forgets the loaded configuration (the next `config` call reloads it).
    def reset_config!
      @config_mutex.synchronize { @config = nil }
    end

    private

    def load_config(deferred:)
      @config_loader ? @config_loader.call(deferred: deferred) : Config.load(deferred: deferred)
    end

    def apply_config(config)
      Logging.level = config.log_level
      config
    end
  end
end
