# frozen_string_literal: true

require "ipaddr"
require "rack"

module TaskerCore
  module Web
    # TaskerCore::Web served alone by an in-process Puma (`tasker web`, the browser specs),
    # behind HTTP basic auth when credentials are given.
    #
    #   server = TaskerCore::Web::Server.new(bind: "127.0.0.1", port: 0, user: "ops", password: "s3cret").start
    #   server.port   # the port bound (a free one for port 0)
    #   server.stop
    class Server
      REALM = "tasker"
      MAX_THREADS = 5
      OPEN_PATHS = %w[/health /ready].freeze

      # Whether `bind` is a loopback address (or "localhost"): the only place the dashboard
      # may listen without credentials.
      def self.loopback?(bind)
        bind == "localhost" || IPAddr.new(bind).loopback?
      rescue IPAddr::Error
        false
      end

      # The dashboard behind basic auth (constant-time compares), or alone when user is nil.
      # /health and /ready stay open: a Kubernetes probe sends no credentials.
      def self.app(user: nil, password: nil, app: Web)
        return app if user.nil?

        guarded = Rack::Auth::Basic.new(app, REALM) do |given_user, given_password|
          # & not &&: both compared whatever the first says, so timing tells nothing.
          Rack::Utils.secure_compare(given_user.to_s, user) & Rack::Utils.secure_compare(given_password.to_s, password.to_s)
        end
        ->(env) { (OPEN_PATHS.include?(env["PATH_INFO"]) ? app : guarded).call(env) }
      end

      # app: what is served (default TaskerCore::Web at the root; a Rack::URLMap to mount it).
      def initialize(bind:, port:, user: nil, password: nil, threads: MAX_THREADS, app: Web)
        require "puma"
        require "puma/server"
        @bind = bind
        @requested_port = port
        @app = self.class.app(user: user, password: password, app: app)
        @threads = threads
      end

      # Listens and serves from a background thread; returns self.
      def start
        @puma = Puma::Server.new(@app, Puma::Events.stdio, min_threads: 0, max_threads: @threads)
        @listener = @puma.add_tcp_listener(@bind, @requested_port)
        @thread = @puma.run
        self
      end

      def port
        @listener.addr[1]
      end

      def url
        host = @bind.include?(":") ? "[#{@bind}]" : @bind
        "http://#{host}:#{port}"
      end

      # Blocks until the server stops.
      def join
        @thread&.join
      end

      def stop
        @puma&.stop(true)
        @thread = nil
      end
    end
  end
end
