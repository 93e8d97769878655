# frozen_string_literal: true

require_relative "../errors"

module TaskerCore
  class Config
    # Checks settings given for one section against a catalog of the form the Rust core
    # exports ({name => {default:, type:, minimum:, maximum:, doc:}}), in the core's words
    # (`SettingSpec::check` in ext/tasker_orchestration/src/config.rs).
    module SettingCheck
      module_function

      # The catalog's defaults with `given` merged over them, every given key checked.
      def resolve(section, catalog, given)
        raise ConfigurationError, "#{section} must be a mapping, got #{given.inspect}" unless given.is_a?(Hash)

        given = given.transform_keys(&:to_sym)
        given.each { |name, value| check(section, catalog, name, value) }
        catalog.transform_values { |spec| spec[:default] }.merge(given).freeze
      end

      def check(section, catalog, name, value)
        spec = catalog[name] or
          raise ConfigurationError, "unknown setting #{section}.#{name} (known: #{catalog.keys.join(', ')})"
        problem = spec[:type] == "boolean" ? boolean_problem(value) : integer_problem(spec, value)
        raise ConfigurationError, "#{section}.#{name} #{problem}" if problem
      end

      def boolean_problem(value)
        "must be true or false, got #{JSON.generate(value)}" unless [true, false].include?(value)
      end

      def integer_problem(spec, value)
        return "must be an integer, got #{JSON.generate(value)}" unless value.is_a?(Integer)

        minimum = spec[:minimum] || 0
        maximum = spec[:maximum]
        return "must be >= #{minimum}, got #{value}" if value < minimum

        "must be <= #{maximum}, got #{value}" if maximum && value > maximum
      end
    end
  end
end
