# frozen_string_literal: true

require "json"
require "time"

module TaskerCore
  module Instrumentation
    # The payload of every event, in one place: the stable shape subscribers, the dashboard
    # and the CLI read (docs/ARCHITECTURE.md, Events). Symbol keys (ActiveSupport's
    # convention); values are JSON values (Strings, Integers, Floats, true/false/nil, Hashes
    # with String keys), outcome a Symbol, times ISO 8601 UTC Strings with milliseconds (the
    # format of TaskerCore.task). A key is never removed or renamed; new keys may be added.
    module Payloads
      module_function

      # enqueue.tasker_core, before the send; task_uuid is filled in when it returns.
      # transactional: a connection was given, or none and a connection provider is set (the
      # request then commits with the caller's transaction); false for connection: :own.
      def enqueue(request, traceparent:, transactional:)
        { namespace: request[:namespace], name: request[:name], version: request[:version], task_uuid: nil,
          priority: request[:priority], idempotency_key: request[:idempotency_key], transactional: transactional,
          trace_context: Traceparent.context(traceparent) }
      end

      # step.tasker_core, before the handler runs; the outcome keys are filled in after.
      def step(step, context)
        { task_uuid: step.task_uuid, namespace: step.namespace, task_name: step.task_name,
          task_version: step.task_version, step_name: step.step_name, step_uuid: step.step_uuid,
          handler: step.handler, attempt: step.attempt, worker_id: context&.worker_id,
          trace_context: context&.trace_context, outcome: nil, retryable: nil, error_class: nil,
          error_message: nil, retry_after: nil }
      end

      # The handler's outcome ([:success, results] or [:failure, Types::StepError]) into `payload`.
      def step_outcome(payload, (status, value))
        payload[:outcome] = status
        return payload unless status == :failure

        payload.merge!(retryable: value.retryable, error_class: value.error_class, error_message: value.message,
                       retry_after: value.retry_after)
      end

      # task_completed / task_failed / task_cancelled from a task transition row
      # (tasker_events_since); duration_ms: from the task's creation to this transition.
      def task_event(row, created_at, finished_at)
        { task_uuid: row["task_uuid"], namespace: row["namespace"], name: row["task_name"],
          version: row["task_version"], state: row["to_state"], from_state: row["from_state"],
          reason: row["reason"], transition_id: Integer(row["transition_id"]), created_at: iso(created_at),
          finished_at: iso(finished_at), duration_ms: milliseconds(created_at, finished_at),
          trace_context: Traceparent.context(row["traceparent"]) }
      end

      # step_retry.tasker_core from a step transition row: `attempt` failed and `next_attempt`
      # is due at next_attempt_at (delay_ms after the retry was scheduled).
      def step_retry(row, scheduled_at, due_at)
        error = row["error"] ? JSON.parse(row["error"]) : {}
        attempt = Integer(row["attempt"])
        { task_uuid: row["task_uuid"], namespace: row["namespace"], task_name: row["task_name"],
          task_version: row["task_version"], step_name: row["step_name"], step_uuid: row["step_uuid"],
          attempt: attempt, next_attempt: attempt + 1, delay_ms: row["delay_ms"] && Integer(row["delay_ms"]),
          scheduled_at: iso(scheduled_at), next_attempt_at: iso(due_at), error_class: error["class"],
          error_message: error["message"], transition_id: Integer(row["transition_id"]),
          trace_context: Traceparent.context(row["traceparent"]) }
      end

      def iso(time)
        time&.getutc&.iso8601(3)
      end

      def milliseconds(from, to)
        ((to - from) * 1000.0).round(3)
      end
    end
  end
end
