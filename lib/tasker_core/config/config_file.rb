# frozen_string_literal: true

require "erb"
require "yaml"
require_relative "../errors"
require_relative "../logging"

module TaskerCore
  class Config
    # One YAML file with a section per environment, rendered as ERB first (as Rails renders
    # database.yml), so secrets can come from the environment: <%= ENV["DATABASE_URL"] %>.
    module ConfigFile
      TOP_LEVEL_KEYS = %w[database_url template_paths log_level orchestrator worker api_tokens].freeze

      module_function

      # [settings of section `env` (string keys), nil] or, when the file has no such
      # section, [{}, why] so the caller decides whether another source makes up for it.
      def section(path, env)
        document = YAML.safe_load(render(path), aliases: true, filename: path)
        raise ConfigurationError, "#{path} must map environment names to settings" unless document.is_a?(Hash)
        return [{}, "#{path} has no '#{env}' section (sections: #{document.keys.join(', ')})"] unless document.key?(env)

        section = document[env] || {}
        raise ConfigurationError, "#{path}: section '#{env}' must be a mapping" unless section.is_a?(Hash)

        unknown = section.keys.map(&:to_s) - TOP_LEVEL_KEYS
        raise ConfigurationError, "#{path} [#{env}]: unknown setting(s) #{unknown.join(', ')}" unless unknown.empty?

        [section.transform_keys(&:to_s), nil]
      rescue Psych::Exception => e
        raise ConfigurationError, "#{path} is not valid YAML: #{e.message}"
      end

      def render(path)
        template = ERB.new(File.read(path), trim_mode: "-")
        template.filename = path
        template.result
      rescue StandardError, ScriptError => e
        raise ConfigurationError, "#{path}: its ERB failed: #{e.class}: #{Logging.mask_url(e.message)}"
      end
    end
  end
end
