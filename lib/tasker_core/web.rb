# frozen_string_literal: true

require "rack"
require_relative "../tasker_core"
require_relative "web/dashboard"
%w[api probes].each do |part|
  path = File.join(__dir__, "web", "#{part}.rb")
  require path if File.file?(path)
end

module TaskerCore
  # The operators' web app, a plain Rack app (Rack 2.2, no framework):
  #
  #   # config/routes.rb, behind the host app's own authentication:
  #   mount TaskerCore::Web => "/tasker", constraints: AdminConstraint.new
  #   TaskerCore::Web.actor = ->(env) { "web:#{env['warden']&.user&.email}" }
  #
  # /health, /ready and /metrics go to Web::Probes, /api/ to Web::Api (when present),
  # everything else to the HTML dashboard. Links and forms honour SCRIPT_NAME (the mount point).
  module Web
    PROBES = %w[/health /ready /metrics].freeze
    DEFAULT_ACTOR = "web:anonymous"

    class << self
      # A callable env -> String naming who acts in the transitions; default: the basic-auth
      # user ("web:alice") or "web:anonymous".
      attr_writer :actor
      # When true the dashboard shows no action buttons and refuses every POST (403).
      attr_accessor :read_only

      def call(env)
        app_for(env["PATH_INFO"].to_s).call(env)
      end

      def actor_for(env)
        return @actor.call(env).to_s if @actor

        user = env["REMOTE_USER"]
        user && !user.empty? ? "web:#{user}" : DEFAULT_ACTOR
      end

      # The read model, one per process (its pool reconnects after a fork through ForkGuard).
      def admin
        (@admin_mutex ||= Mutex.new).synchronize do
          unless @admin_pid == Process.pid && @admin_url == TaskerCore.config.database_url
            @admin&.close if @admin_pid == Process.pid
            @admin = nil
          end
          @admin_pid = Process.pid
          @admin_url = TaskerCore.config.database_url
          @admin ||= Admin.new(config: TaskerCore.config)
        end
      end

      private

      def app_for(path)
        return Web::Probes if PROBES.include?(path) && const_defined?(:Probes, false)
        return Web::Api if (path == "/api" || path.start_with?("/api/")) && const_defined?(:Api, false)

        Dashboard.instance
      end
    end
  end
end
