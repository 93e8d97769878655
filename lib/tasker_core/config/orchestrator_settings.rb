# frozen_string_literal: true

require "json"
require_relative "../errors"
require_relative "setting_check"
require_relative "orchestrator_settings_copy"

module TaskerCore
  class Config
    # The orchestrator's settings belong to the Rust core (names, types, defaults, checks:
    # ext/tasker_orchestration/src/config.rs). With the native extension loaded every answer
    # comes from it; a pure-Ruby process (no extension) answers from the checked copy and
    # applies the per-key checks only (rules tying keys together are the core's, at start).
    module OrchestratorSettings
      module_function

      def native?
        defined?(TaskerCore::Native) ? TaskerCore::Native.respond_to?(:_orchestrator_config_private) : false
      end

      # {name => {default:, type:, minimum:, maximum:, doc:}}, in the core's order.
      # The native side's when it is loaded (it may load after this file), else the copy.
      def catalog
        native? ? native_catalog : copy_catalog
      end

      def native_catalog
        @native_catalog ||= parse(TaskerCore::Native._orchestrator_settings_private)
      end

      def copy_catalog
        @copy_catalog ||= parse(ORCHESTRATOR_SETTINGS_COPY)
      end

      def defaults
        catalog.transform_values { |spec| spec[:default] }.freeze
      end

      # Every effective setting: the defaults with `given` (checked, keys named) over them.
      def resolve(given)
        return SettingCheck.resolve("orchestrator", catalog, given) unless native?
        raise ConfigurationError, "orchestrator must be a mapping, got #{given.inspect}" unless given.is_a?(Hash)

        parse(TaskerCore::Native._orchestrator_config_private(JSON.generate(given)))
      rescue JSON::GeneratorError => e
        raise ConfigurationError, "orchestrator settings are not JSON: #{e.message}"
      end

      def parse(json)
        deep_freeze(JSON.parse(json, symbolize_names: true))
      end

      def deep_freeze(value)
        value.each_value { |v| deep_freeze(v) } if value.is_a?(Hash)
        value.freeze
      end
    end
  end
end
