# frozen_string_literal: true

require "puma"
require "puma/events"
require "puma/server"

module TaskerCore
  module Web
    # A small in-process Puma server for one Rack app (the --http-port of `tasker orchestrator`
    # and `tasker worker`, serving Web::Probes; the specs' real HTTP). Few threads: probes
    # and scrapes are rare and short. Port 0 picks a free port (see #port).
    #
    #   listener = TaskerCore::Web::HttpListener.start(TaskerCore::Web::Probes, port: 9394)
    #   listener.stop
    class HttpListener
      DEFAULT_HOST = "0.0.0.0"
      THREADS = 1..4

      def self.start(app, port:, host: DEFAULT_HOST)
        new(app, port: port, host: host).tap(&:start)
      end

      attr_reader :host

      def initialize(app, port:, host: DEFAULT_HOST)
        unless port.is_a?(Integer) && port.between?(0, 65_535)
          raise ValidationError.new("port must be an Integer from 0 to 65535, got #{port.inspect}", field: "port")
        end

        @app = app
        @host = host
        @requested_port = port
      end

      def start
        events = Puma::Events.new(StringIO.new, StringIO.new) # requests are not logged
        @server = Puma::Server.new(@app, events, min_threads: THREADS.min, max_threads: THREADS.max)
        @server.add_tcp_listener(@host, @requested_port)
        @thread = @server.run
        self
      end

      # The port bound (the one chosen when 0 was asked).
      def port
        @server.connected_ports.first
      end

      def stop(timeout: 5)
        return unless @server

        @server.stop(true)
        @thread&.join(timeout)
        @server = nil
      end
    end
  end
end
