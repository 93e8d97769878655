# frozen_string_literal: true

require "tasker_core"

module TaskerCore
  module Generators
    # The text of the app's config/tasker_core.yml: every setting commented out at its
    # default, with its documentation, read from the settings catalogs (the core's for the
    # orchestrator, WORKER_SETTINGS for the worker), so the file names only real settings.
    module ConfigFileSource
      module_function

      def render
        <<~YAML
          # tasker_core settings, one section per environment (RAILS_ENV); ERB is evaluated
          # first. Every key is optional: a commented value is the default. Anything set in
          # config.tasker_core (config/application.rb, config/environments/*.rb) wins over this file.
          default: &default
            # database_url: postgres://user:password@host/database
            #   Omit it to use the app's ActiveRecord database (config/database.yml).
            #   DATABASE_URL, when set, overrides it.
            # Directories of task template YAML files (searched recursively), relative to the app root.
            template_paths:
              - config/tasker/templates
            # log_level: info   (#{Logging::LEVELS.keys.join(', ')}; the log is Rails.logger)
          #{section('orchestrator', Config.orchestrator_settings)}
          #{section('worker', Config::WORKER_SETTINGS, note: worker_note)}

          development:
            <<: *default

          test:
            <<: *default
            log_level: warn

          production:
            <<: *default
        YAML
      end

      def worker_note
        "A handler thread takes an ActiveRecord connection while it runs: keep concurrency\n" \
          "within the pool of config/database.yml."
      end

      # "  # name:\n  #   key: default   # doc" for every setting of a catalog.
      def section(name, catalog, note: nil)
        lines = note ? note.lines.map { |line| "  # #{line.chomp}" } : []
        lines << "  # #{name}:"
        catalog.each do |key, spec|
          lines << "  #   #{key}: #{spec[:default].inspect}".ljust(40) + "# #{spec[:doc]}"
        end
        lines.join("\n")
      end
    end
  end
end
