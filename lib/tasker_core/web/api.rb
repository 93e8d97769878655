# frozen_string_literal: true

require "json"
require "pg"
require_relative "../../tasker_core"
require_relative "api/error"
require_relative "api/tokens"
require_relative "api/body"
require_relative "api/submission"

module TaskerCore
  module Web
    # The HTTP API for task submission, a Rack app of its own (`run TaskerCore::Web::Api` in a
    # config.ru; TaskerCore::Web mounts it under /api/). docs/openapi.yaml describes it:
    #   POST /api/tasks               enqueue (201 {"task_uuid"}, 200 for a repeated idempotency key)
    #   GET  /api/tasks/:uuid         the read model's task detail (Admin#task)
    #   POST /api/tasks/:uuid/retry   Operator#retry, actor "api:<token name>"
    #   POST /api/tasks/:uuid/cancel  Operator#cancel, likewise
    #   POST /api/tasks/:uuid/signals/:name  TaskerCore.signal, the body (any JSON, or none) as
    #                                 payload (201 {"task_uuid", "signal", "id"}; 409 refused)
    # Bearer tokens (Api::Tokens); errors as Api::Error's one JSON shape.
    class Api
      # Above the core's largest context: the envelope (the other fields, JSON escaping).
      ENVELOPE_BYTES = 64 * 1024
      TASKS = "/api/tasks"
      TASK = %r{\A/api/tasks/([^/]+)(?:/(retry|cancel)|/signals/([^/]+))?\z}
      UUID = /\A\h{8}-\h{4}-\h{4}-\h{4}-\h{12}\z/

      class << self
        # The process-wide instance on TaskerCore.config (rebuilt after a fork or reconfiguration).
        def call(env)
          instance.call(env)
        end

        def instance
          (@mutex ||= Mutex.new).synchronize do
            key = [Process.pid, TaskerCore.config]
            @instance = nil unless @key == key
            @key = key
            @instance ||= new
          end
        end

        def json_headers
          { "content-type" => "application/json", "cache-control" => "no-store" }
        end
      end

      def initialize(config: TaskerCore.config, environ: ENV)
        @config = config
        @tokens = Tokens.new(config: config, environ: environ)
        @body_limit = config.orchestrator[:max_message_bytes] + ENVELOPE_BYTES
        @admin = nil
        @mutex = Mutex.new
      end

      def call(env)
        route, uuid, action = route(env["PATH_INFO"].to_s)
        raise Error.new(404, "not_found", "no such resource") unless route

        check_method(env["REQUEST_METHOD"], route == :task ? "GET" : "POST")
        name = @tokens.authenticate!(env["HTTP_AUTHORIZATION"])
        status, body = dispatch(env, route, uuid, action, name)
        [status, self.class.json_headers, [JSON.generate(body)]]
      rescue Error => e
        e.response
      rescue ValidationError => e
        Error.new(422, "invalid", e.message, field: e.field).response
      rescue NotFound => e
        Error.new(404, "not_found", e.message).response
      rescue InvalidTransition => e
        Error.new(409, "invalid_transition", e.message).response
      rescue DatabaseError, PG::Error => e
        Logging.logger("web.api").warn("database error: #{Logging.mask_url(e.message)}")
        Error.new(503, "database_unavailable", "the database cannot be reached; try again").response
      end

      private

      def route(path)
        return [:submit] if [TASKS, "#{TASKS}/"].include?(path)

        match = TASK.match(path)
        return unless match
        return [:not_found] unless match[1].match?(UUID)

        return [:signal, match[1].downcase, match[3]] if match[3]

        [match[2] ? :action : :task, match[1].downcase, match[2]]
      end

      def check_method(method, allowed)
        return if method == allowed || (allowed == "GET" && method == "HEAD")

        raise Error.new(405, "method_not_allowed", "use #{allowed}", headers: { "allow" => allowed })
      end

      def dispatch(env, route, uuid, action, name)
        case route
        when :submit then Submission.call(Body.read(env, @body_limit))
        when :task then [200, task(uuid)]
        when :action then [200, act(action, uuid, "api:#{name}")]
        when :signal then [201, signal(uuid, action, Body.read_value(env, @body_limit))]
        else raise Error.new(404, "not_found", "no such resource")
        end
      end

      def task(uuid)
        admin.task(uuid) or
          raise Error.new(404, "not_found", "no task #{uuid} (a request just sent may still wait to be created)")
      end

      def act(action, uuid, actor)
        operator = Operator.current(config: @config)
        action == "retry" ? operator.retry(uuid, actor: actor) : operator.cancel(uuid, actor: actor)
      end

      def signal(uuid, name, payload)
        id = TaskerCore.signal(uuid, name, payload, connection: :own)
        { "task_uuid" => uuid, "signal" => name, "id" => id }
      rescue SignalError => e
        raise Error.new(409, "signal_refused", e.message)
      end

      def admin
        @mutex.synchronize { @admin ||= Admin.new(config: @config) }
      end
    end
  end
end
