# frozen_string_literal: true

require "json"
require_relative "../pure"
require_relative "probes/readiness"
require_relative "probes/exposition"
require_relative "probes/metrics"

module TaskerCore
  module Web
    # Kubernetes probes and Prometheus metrics, a Rack app of its own (`run TaskerCore::Web::Probes`
    # in a config.ru, TaskerCore::Web mounts it, `--http-port` serves it):
    #   GET /health  200 {"status":"ok"}: the process answers; never touches the database
    #   GET /ready   200 {"status":"ready"} when the database answers and every migration of
    #                the gem is applied; 503 {"status":"unavailable","reason":...} otherwise
    #   GET /metrics Prometheus text exposition 0.0.4 (Probes::Metrics), 503 text when the
    #                database cannot be read
    # Other paths 404, other methods 405 (JSON).
    class Probes
      JSON_TYPE = "application/json"
      ROUTES = { "/health" => :health, "/ready" => :ready, "/metrics" => :metrics }.freeze

      class << self
        # The process-wide instance on TaskerCore.config (rebuilt after a fork or a new URL).
        def call(env)
          instance.call(env)
        end

        def instance
          (@mutex ||= Mutex.new).synchronize do
            key = [Process.pid, TaskerCore.config.database_url]
            @instance = nil unless @key == key
            @key = key
            @instance ||= new
          end
        end
      end

      def initialize(config: TaskerCore.config)
        @readiness = Readiness.new(config: config)
        @metrics = Metrics.new(config: config)
      end

      def call(env)
        route = ROUTES[env["PATH_INFO"].to_s.chomp("/").then { |p| p.empty? ? "/" : p }]
        return json(404, "error" => { "code" => "not_found", "message" => "no such probe" }) unless route
        unless %w[GET HEAD].include?(env["REQUEST_METHOD"])
          return json(405, { "error" => { "code" => "method_not_allowed", "message" => "use GET" } }, "allow" => "GET, HEAD")
        end

        send(route)
      end

      private

      def health
        json(200, "status" => "ok")
      end

      def ready
        reason = @readiness.problem
        reason ? json(503, "status" => "unavailable", "reason" => reason) : json(200, "status" => "ready")
      end

      def metrics
        [200, { "content-type" => Exposition::CONTENT_TYPE, "cache-control" => "no-store" }, [@metrics.render]]
      rescue DatabaseError => e
        [503, { "content-type" => "text/plain; charset=utf-8" }, ["# metrics unavailable: #{Logging.mask_url(e.message)}\n"]]
      end

      def json(status, body, headers = {})
        [status, { "content-type" => JSON_TYPE, "cache-control" => "no-store" }.merge(headers), [JSON.generate(body)]]
      end
    end
  end
end
