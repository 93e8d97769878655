# frozen_string_literal: true

# tasker_core: DAG workflows on PostgreSQL. The pure-Ruby parts (client, workers, types)
# load first; the native extension carries the Rust orchestration core.
require_relative "tasker_core/pure"
require "tasker_core/tasker_core"
require_relative "tasker_core/orchestrator"
require_relative "tasker_core/operator"
require_relative "tasker_core/sql_functions"
# Rails loads its gems after itself (Bundler.require in config/application.rb).
require_relative "tasker_core/rails/railtie" if defined?(::Rails::Railtie)

module TaskerCore
  class << self
    # Sends a task request; returns the task's uuid at once. Works from any process
    # (a web process runs no orchestrator).
    #   priority:        higher runs first; waiting work gains 1 point per second (no starvation)
    #   idempotency_key: a repeated key returns the same task's uuid, and one task is created
    #   run_at / delay:  the task is created at once, its first steps run at that time
    #                    (run_at: a Time or RFC 3339 string up to year 9999; delay: seconds >= 0)
    #   on_conflict:     :record (default) sends a repeated key with another template or
    #                    context, and the orchestrator records the conflict as a dead letter;
    #                    :raise refuses it here with IdempotencyConflict, sending nothing
    #   connection:      a PG::Connection to send on, inside the caller's transaction: the
    #                    request commits or rolls back with it, so no step runs before the
    #                    commit (in Rails the app's ActiveRecord connection is the default);
    #                    :own sends on the client's own pool whatever the default
    #   traceparent:     a W3C traceparent ("00-<trace id>-<span id>-<flags>") carried to every
    #                    step (task.trace_context); nil asks Instrumentation.traceparent_provider
    # Runs inside every Hooks.around_enqueue wrapper (instrumentation, testing modes).
    def enqueue(namespace:, name:, version:, context: {}, priority: 0, idempotency_key: nil, run_at: nil, delay: nil,
                on_conflict: :record, connection: nil, traceparent: nil)
      request = { namespace: namespace, name: name, version: version, context: context, priority: priority,
                  idempotency_key: idempotency_key, run_at: run_at, delay: delay, on_conflict: on_conflict,
                  connection: connection, traceparent: traceparent }.freeze
      Hooks.run(:enqueue, request) { Client.enqueue(**request) }
    end

    # Sends signal `name` (with a JSON payload) to a task from any process; the task's
    # wait_for_signal step waiting for it completes with the payload as its result, now or
    # when it starts waiting. Returns the signal's id. Raises TaskNotFound for an unknown
    # task and SignalError for a finished task, a signal none of its steps waits for, or a
    # second signal of the same name. connection: as enqueue's (inside the caller's
    # transaction, the signal commits with it).
    def signal(task_uuid, name, payload = nil, connection: nil)
      Client.signal(task_uuid, name, payload, connection: connection)
    end

    # Operator actions, each recorded as transitions naming `actor` (see TaskerCore::Operator;
    # nil: Operator.default_actor, "ruby:<user>@<host>").
    def cancel(uuid, actor: nil)
      Operator.current.cancel(uuid, actor: actor)
    end

    def retry(uuid, actor: nil)
      Operator.current.retry(uuid, actor: actor)
    end

    def resolve_step(uuid, step_name, result, actor: nil)
      Operator.current.resolve_step(uuid, step_name, result, actor: actor)
    end

    # A dead letter's message sent again to its queue, or the letter set aside for good;
    # either recorded on its row (resolved_by: actor). See Operator#requeue_dead_letter.
    def requeue_dead_letter(id, actor: nil)
      Operator.current.requeue_dead_letter(id, actor: actor)
    end

    def discard_dead_letter(id, actor: nil)
      Operator.current.discard_dead_letter(id, actor: actor)
    end

    # The task with its steps, or nil when no such task exists (yet).
    def task(uuid)
      Client.task(uuid)
    end

    # Waits until the task is complete, in error, cancelled or resolved. Raises
    # TaskRejected when its request was refused and TimeoutError after `timeout` seconds.
    def wait(uuid, timeout: 30)
      Client.wait(uuid, timeout: timeout)
    end

    # Messages set aside with the reason (rejected requests, ignored results, poison), and
    # how an operator resolved each ("resolution": nil, "requeued" or "discarded").
    def dead_letters(limit: 100)
      Client.dead_letters(limit: limit)
    end

    # Validates a task template (YAML text) without a database; raises TemplateError naming
    # the problem, or returns {"key"=>..., "steps"=>[...topological order...]}.
    def validate_template(yaml)
      JSON.parse(Native._validate_template_private(yaml))
    end

    # The templates an orchestrator would register from `paths` (default: the configured
    # template_paths; files or directories searched for *.yml/*.yaml), each as
    # validate_template answers, without a database. Raises TemplateError on a bad file.
    def templates(paths = config.absolute_template_paths)
      JSON.parse(Native._load_templates_private(JSON.generate(Array(paths))))
    end

    # The namespaces of those templates: what a worker serves when none are named.
    def template_namespaces(paths = config.absolute_template_paths)
      templates(paths).map { |t| t["namespace"] }.uniq.sort
    end
  end
end
