# frozen_string_literal: true

require "rails/generators"
require "tasker_core"
require_relative "config_file_source"

module TaskerCore
  module Generators
    # bin/rails g tasker_core:install
    #
    # The config file, an initializer, the schema migration, the templates and handlers
    # folders and bin/tasker. Running it again changes nothing: files with the same content
    # are left as they are, and an installed migration is not copied twice.
    class InstallGenerator < ::Rails::Generators::Base
      def self.exit_on_failure?
        true
      end

      def create_config_file
        create_file "config/tasker_core.yml", ConfigFileSource.render
      end

      def create_initializer
        create_file "config/initializers/tasker_core.rb", initializer_source
      end

      def create_folders
        create_file "config/tasker/templates/.keep", ""
        create_file "app/tasker/.keep", ""
      end

      def create_binstub
        create_file "bin/tasker", <<~RUBY
          #!/usr/bin/env ruby
          # frozen_string_literal: true

          # tasker_core's command line for this app, through Bundler, from the app's root:
          #   bin/tasker worker [options]        runs step handlers (bin/tasker worker --help)
          #   bin/tasker orchestrator [options]  drives the tasks
          #   bin/tasker status | tasks | task UUID | retry | ...   (bin/tasker --help)
          Dir.chdir(File.expand_path("..", __dir__))
          ENV["BUNDLE_GEMFILE"] ||= File.expand_path("Gemfile")
          require "bundler/setup"
          load Gem.bin_path("tasker_core", "tasker")
        RUBY
        chmod "bin/tasker", 0o755 unless File.executable?(File.join(destination_root, "bin/tasker"))
      end

      # Last: the other files do not depend on it.
      def copy_migration
        require "tasker_core/rails/schema"
        copied = TaskerCore::Rails::Schema.copy_migration(File.join(destination_root, "db/migrate"))
        if copied
          say_status :create, relative_to_original_destination_root(copied)
        else
          say_status :identical, "db/migrate/*_install_tasker_core.rb", :blue
        end
      end

      private

      # The Rails options with their defaults (TaskerCore::Rails::Configuration::OPTIONS).
      def initializer_source
        default = ->(key) { TaskerCore::Rails::Configuration::OPTIONS.fetch(key).inspect }
        <<~RUBY
          # frozen_string_literal: true

          # tasker_core in this app. The settings live in config/tasker_core.yml; what is set
          # here (or in config/environments/*.rb) wins over the file. Commented values are the defaults.
          Rails.application.configure do
            # Where tasks run: :external (`bin/tasker worker` and `bin/tasker orchestrator`
            # processes) or :async (an orchestrator and a worker inside each server or
            # `rails runner` process, started after boot; for small apps and development).
            # config.tasker_core.execution_mode = #{default[:execution_mode]}
            # config.tasker_core.async_concurrency = #{default[:async_concurrency]}   # handler threads in :async mode

            # The ActiveRecord class whose database holds tasker_core's schema and whose
            # connection TaskerCore.enqueue joins (an abstract class with connects_to for another database).
            # config.tasker_core.active_record_class = #{default[:active_record_class]}

            # Relay the orchestrator's task events (task_completed.tasker_core, ...) to this
            # app's ActiveSupport::Notifications subscribers (step events need no relay).
            # config.tasker_core.relay_events = #{default[:relay_events]}

            # Settings of config/tasker_core.yml, in code:
            # config.tasker_core.log_level = "debug"
            # config.tasker_core.worker = { concurrency: 5 }

            # ActiveJob's perform_later on the same workers; a queue is a namespace.
            # config.active_job.queue_adapter = :tasker_core
            # config.tasker_core.active_job_queues = #{default[:active_job_queues]}
          end

          # The same settings in plain Ruby (also outside Rails):
          # TaskerCore.configure do |config|
          #   config.template_paths = ["config/tasker/templates"]
          #   config.worker = { concurrency: 5 }
          # end
        RUBY
      end
    end
  end
end
