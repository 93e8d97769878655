# frozen_string_literal: true

module TaskerCore
  module CLI
    # --http-port PORT (and --http-host) of `tasker orchestrator` and `tasker worker`: a small
    # Puma listener in the process serving Web::Probes (/health, /ready, /metrics) for
    # Kubernetes probes and Prometheus, started before the service and stopped after it.
    module HttpPort
      DEFAULT_HOST = "0.0.0.0"

      module_function

      def declare(parser, options)
        parser.on("--http-port PORT", Integer, "serve /health, /ready and /metrics on this port (default: none)") do |v|
          options[:http_port] = v
        end
        parser.on("--http-host HOST", "address the --http-port listener binds (default #{DEFAULT_HOST})") do |v|
          options[:http_host] = v
        end
      end

      # The listener, or nil without --http-port. Logs where it listens.
      def start(options, name)
        return unless options[:http_port]

        require_relative "../web/probes"
        require_relative "../web/http_listener"
        listener = Web::HttpListener.start(Web::Probes, port: options[:http_port], host: options[:http_host] || DEFAULT_HOST)
        Logging.logger("cli.#{name}").info({ "msg" => "probes listening", "host" => listener.host, "port" => listener.port })
        listener
      rescue SystemCallError => e
        raise ConfigurationError, "--http-port #{options[:http_port]}: cannot listen: #{e.message}"
      end
    end
  end
end
