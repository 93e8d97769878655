# frozen_string_literal: true

module TaskerCore
  module CLI
    # How an executable finds its configuration. In a Rails root (config/environment.rb in
    # the working directory, unless --no-rails) it loads the app, whose Railtie configures
    # TaskerCore (config/tasker_core.yml, config.tasker_core, the app's database) and whose
    # loader finds the handlers; --config/--env then still choose a file explicitly.
    # Elsewhere it reads the YAML file (Config.load). Log lines go to Rails.logger and stderr.
    module AppLoader
      RAILS_ENVIRONMENT = "config/environment.rb"

      module_function

      def rails_root?(dir = Dir.pwd)
        File.file?(File.join(dir, RAILS_ENVIRONMENT))
      end

      # options: :rails (true/false/nil = detect), :config, :env. Returns :rails or :plain.
      def load!(options)
        rails = options[:rails].nil? ? rails_root? : options[:rails]
        if rails
          ENV["RAILS_ENV"] ||= options[:env] if options[:env]
          # The gem was required before Rails (by this executable): register the Railtie
          # now, before the app initializes, as Bundler.require would have.
          require "rails"
          require_relative "../rails/railtie"
          require File.expand_path(RAILS_ENVIRONMENT, Dir.pwd)
          echo_logs_to_terminal
          TaskerCore.config = Config.load(options[:config], env: options[:env]) if options[:config]
          :rails
        else
          TaskerCore.config = Config.load(options[:config], env: options[:env])
          :plain
        end
      end

      # The process's lines (its own and the core's) go to Rails.logger (log/<env>.log) and,
      # as outside Rails, to stderr.
      def echo_logs_to_terminal
        output = Logging.output
        Logging.output = output.with_terminal($stderr) if output.is_a?(TaskerCore::Rails::LogOutput)
      end
    end
  end
end
