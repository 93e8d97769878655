# frozen_string_literal: true

require "ipaddr"
require "rack"
require_relative "http_listener"

module TaskerCore
  module Web
    # TaskerCore::Web served alone (`tasker web`, the browser specs) on an HttpListener,
    # behind HTTP basic auth when credentials are given.
    #
    #   server = TaskerCore::Web::Server.new(bind: "127.0.0.1", port: 0, user: "ops", password: "s3cret").start
    #   server.port   # the port bound (a free one for port 0)
    #   server.stop
    class Server
      REALM = "tasker"
      # Open without credentials: a Kubernetes probe sends none.
      OPEN_PATHS = %w[/health /ready].freeze

      # Whether `bind` is a loopback address (or "localhost"): the only place the dashboard
      # may listen without credentials.
      def self.loopback?(bind)
        bind == "localhost" || IPAddr.new(bind).loopback?
      rescue IPAddr::Error
        false
      end

      # `app` behind basic auth (constant-time compares) but for OPEN_PATHS, or alone when
      # user is nil.
      def self.app(user: nil, password: nil, app: Web)
        return app if user.nil?

        guarded = Rack::Auth::Basic.new(app, REALM) do |given_user, given_password|
          # & not &&: both compared whatever the first says, so timing tells nothing.
          Rack::Utils.secure_compare(given_user.to_s, user) & Rack::Utils.secure_compare(given_password.to_s, password.to_s)
        end
        ->(env) { (OPEN_PATHS.include?(env["PATH_INFO"]) ? app : guarded).call(env) }
      end

      # app: what is served (default TaskerCore::Web at the root; a Rack::URLMap to mount it).
      def initialize(bind:, port:, user: nil, password: nil, app: Web)
        @bind = bind
        @listener = HttpListener.new(self.class.app(user: user, password: password, app: app), port: port, host: bind)
      end

      def start
        @listener.start
        self
      end

      def port
        @listener.port
      end

      def url
        host = @bind.include?(":") ? "[#{@bind}]" : @bind
        "http://#{host}:#{port}"
      end

      def stop
        @listener.stop
      end
    end
  end
end
