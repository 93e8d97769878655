# frozen_string_literal: true

require_relative "../command"

module TaskerCore
  module CLI
    module Commands
      # tasker web [--port 9292] [--bind 127.0.0.1]: the dashboard, the probes and the API
      # served by Puma until TERM or INT, behind HTTP basic auth from TASKER_WEB_USER and
      # TASKER_WEB_PASSWORD. Without credentials it only listens on a loopback address.
      class Web < Command
        SUMMARY = "the web dashboard (basic auth from TASKER_WEB_USER/TASKER_WEB_PASSWORD)"
        USAGE = "[--port 9292] [--bind 127.0.0.1] [options]"
        DEFAULT_PORT = 9292
        DEFAULT_BIND = "127.0.0.1"

        private

        def declare(parser)
          parser.on("-p", "--port PORT", Integer, "TCP port (default #{DEFAULT_PORT})") { |v| options[:port] = v }
          parser.on("-b", "--bind ADDRESS", "address to listen on (default #{DEFAULT_BIND}; any other than a",
                    "loopback address needs TASKER_WEB_USER and TASKER_WEB_PASSWORD)") { |v| options[:bind] = v }
        end

        def run(_args)
          require_relative "../../web"
          require_relative "../../web/server"
          bind = options.fetch(:bind, DEFAULT_BIND)
          user, password = credentials
          return refuse_open(bind) if user.nil? && !TaskerCore::Web::Server.loopback?(bind)

          serve(TaskerCore::Web::Server.new(bind: bind, port: options.fetch(:port, DEFAULT_PORT),
                                            user: user, password: password))
        end

        def serve(server)
          require_relative "../signal_loop"
          server.start
          err.puts("#{program}: serving #{server.url}/#{' (basic auth)' if credentials.first}")
          SignalLoop.new("web").run(on_stop: -> { server.stop })
          EXIT[:ok]
        end

        # [user, password], or [nil, nil] when either is unset or empty.
        def credentials
          user = ENV.fetch("TASKER_WEB_USER", "")
          password = ENV.fetch("TASKER_WEB_PASSWORD", "")
          user.empty? || password.empty? ? [nil, nil] : [user, password]
        end

        def refuse_open(bind)
          err.puts("#{program}: refusing to serve the dashboard on #{bind} without credentials: set " \
                   "TASKER_WEB_USER and TASKER_WEB_PASSWORD, or bind to a loopback address (--bind 127.0.0.1)")
          EXIT[:error]
        end
      end
    end
  end
end
