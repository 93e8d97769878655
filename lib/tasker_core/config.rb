# frozen_string_literal: true

require "json"
require "yaml"
require_relative "errors"
require_relative "logging"

module TaskerCore
  # Settings for the client, the workers and the Rust core.
  #
  # Loaded from one YAML file with a section per environment (test, development,
  # production, ...). The environment comes from TASKER_ENV, then RAILS_ENV, else
  # "development"; DATABASE_URL overrides database_url. Anything not set keeps its default.
  class Config
    DEFAULT_PATH = "config/tasker_core.yml"
    DEFAULT_ENV = "development"
    DEFAULT_DATABASE_URL = "postgres://postgres@localhost/tasker_development"

    ORCHESTRATOR_DEFAULTS = {
      poll_interval_ms: 50, visibility_timeout_s: 30, batch_size: 50, request_concurrency: 4,
      shutdown_timeout_ms: 10_000, max_message_bytes: 1_048_576, listen: true, fallback_poll_ms: 5000,
      archive_retention_hours: 168, maintenance_interval_s: 600, vacuum_interval_s: 10
    }.freeze

    WORKER_DEFAULTS = {
      poll_interval_ms: 50, visibility_timeout_s: 30, batch_size: 10,
      concurrency: 4, shutdown_timeout_s: 25, max_reads: 5, listen: true, fallback_poll_ms: 5000
    }.freeze

    # listen: wake on LISTEN/NOTIFY (turn off behind a transaction-mode pooler, which cannot
    # LISTEN; readers then poll every poll_interval_ms). With it on, an idle reader still
    # polls every fallback_poll_ms, because notifications can be lost.
    BOOLEANS = %i[listen].freeze

    # Settings that may be zero; every other numeric setting must be at least 1.
    ZERO_ALLOWED = %i[shutdown_timeout_ms shutdown_timeout_s archive_retention_hours vacuum_interval_s].freeze

    TOP_LEVEL_KEYS = %w[database_url template_paths log_level orchestrator worker].freeze

    class << self
      # Reads `path` (default: config/tasker_core.yml under Dir.pwd when it exists).
      def load(path = nil, env: nil, environ: ENV)
        env = (env || current_env(environ)).to_s
        if path
          raise ConfigurationError, "config file #{path} does not exist" unless File.file?(path)
        else
          default = File.expand_path(DEFAULT_PATH, Dir.pwd)
          path = default if File.file?(default)
        end
        settings = path ? read_section(path, env) : {}
        url = environ["DATABASE_URL"]
        settings["database_url"] = url if url && !url.strip.empty?
        new(env: env, source: path, **settings.transform_keys(&:to_sym))
      end

      def current_env(environ = ENV)
        [environ["TASKER_ENV"], environ["RAILS_ENV"]].find { |v| v && !v.strip.empty? } || DEFAULT_ENV
      end

      private

      def read_section(path, env)
        document = YAML.safe_load(File.read(path), aliases: true, filename: path)
        unless document.is_a?(Hash)
          raise ConfigurationError, "#{path} must map environment names to settings"
        end
        unless document.key?(env)
          raise ConfigurationError,
                "#{path} has no '#{env}' section (sections: #{document.keys.join(', ')})"
        end

        section = document[env] || {}
        raise ConfigurationError, "#{path}: section '#{env}' must be a mapping" unless section.is_a?(Hash)

        unknown = section.keys.map(&:to_s) - TOP_LEVEL_KEYS
        unless unknown.empty?
          raise ConfigurationError, "#{path} [#{env}]: unknown setting(s) #{unknown.join(', ')}"
        end

        section.transform_keys(&:to_s)
      rescue Psych::Exception => e
        raise ConfigurationError, "#{path} is not valid YAML: #{e.message}"
      end
    end

    attr_reader :env, :source, :root, :database_url, :template_paths, :log_level, :orchestrator, :worker

    # `root` is the directory relative template paths are resolved against.
    def initialize(env: DEFAULT_ENV, source: nil, root: Dir.pwd, database_url: DEFAULT_DATABASE_URL,
                   template_paths: [], log_level: "info", orchestrator: {}, worker: {})
      @env = env.to_s
      @source = source
      @root = root
      @orchestrator = ORCHESTRATOR_DEFAULTS
      @worker = WORKER_DEFAULTS
      self.database_url = database_url
      self.template_paths = template_paths
      self.log_level = log_level
      self.orchestrator = orchestrator
      self.worker = worker
    end

    def database_url=(url)
      unless url.is_a?(String) && url.match?(%r{\Apostgres(ql)?://}i)
        raise ConfigurationError, "database_url must be a postgres:// URL, got #{Logging.mask_url(url.inspect)}"
      end

      @database_url = url.dup.freeze
    end

    def template_paths=(paths)
      paths = Array(paths)
      bad = paths.reject { |p| p.is_a?(String) && !p.empty? }
      raise ConfigurationError, "template_paths must be non-empty strings, got #{bad.inspect}" unless bad.empty?

      @template_paths = paths.map { |p| p.dup.freeze }.freeze
    end

    def log_level=(level)
      name = level.to_s.downcase
      unless Logging::LEVELS.key?(name)
        raise ConfigurationError, "log_level must be one of #{Logging::LEVELS.keys.join(', ')}, got #{level.inspect}"
      end

      @log_level = name.freeze
    end

    # Merges the given keys over the current orchestrator settings.
    def orchestrator=(settings)
      @orchestrator = merge_numeric("orchestrator", @orchestrator, settings)
    end

    # Merges the given keys over the current worker settings.
    def worker=(settings)
      @worker = merge_numeric("worker", @worker, settings)
    end

    def masked_database_url
      Logging.mask_url(database_url)
    end

    # The JSON document the Rust core is started with.
    def to_core_json
      JSON.generate(
        "database_url" => database_url,
        "template_paths" => template_paths.map { |p| File.expand_path(p, root) },
        "log_level" => log_level,
        "orchestrator" => orchestrator.transform_keys(&:to_s)
      )
    end

    def to_h
      {
        "env" => env, "database_url" => masked_database_url, "template_paths" => template_paths,
        "log_level" => log_level, "orchestrator" => orchestrator.transform_keys(&:to_s),
        "worker" => worker.transform_keys(&:to_s)
      }
    end

    # Never shows the database password.
    def inspect
      "#<#{self.class.name} #{to_h.inspect}>"
    end
    alias to_s inspect

    private

    def merge_numeric(section, current, settings)
      raise ConfigurationError, "#{section} must be a mapping, got #{settings.inspect}" unless settings.is_a?(Hash)

      settings = settings.transform_keys(&:to_sym)
      unknown = settings.keys - current.keys
      unless unknown.empty?
        raise ConfigurationError,
              "#{section}: unknown setting(s) #{unknown.join(', ')} (known: #{current.keys.join(', ')})"
      end

      settings.each do |key, value|
        next if BOOLEANS.include?(key) && [true, false].include?(value)

        minimum = ZERO_ALLOWED.include?(key) ? 0 : 1
        next if value.is_a?(Integer) && value >= minimum

        raise ConfigurationError, "#{section}.#{key} must be an integer >= #{minimum}, got #{value.inspect}"
      end
      current.merge(settings).freeze
    end
  end

  @config_mutex = Mutex.new

  class << self
    # The process-wide configuration, loaded on first use.
    def config
      @config || @config_mutex.synchronize { @config ||= apply_config(Config.load) }
    end

    def config=(config)
      raise ArgumentError, "expected a TaskerCore::Config, got #{config.class}" unless config.is_a?(Config)

      @config_mutex.synchronize { @config = apply_config(config) }
    end

    # TaskerCore.configure { |c| c.database_url = url; c.template_paths = ["config/tasks"] }
    def configure
      current = config
      yield current if block_given?
      apply_config(current)
    end

    # Forgets the loaded configuration (the next `config` call reloads it).
    def reset_config!
      @config_mutex.synchronize { @config = nil }
    end

    private

    def apply_config(config)
      Logging.level = config.log_level
      config
    end
  end
end
