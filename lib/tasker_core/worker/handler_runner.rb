# frozen_string_literal: true

require "json"
require "time"
require_relative "../decision"
require_relative "../errors"
require_relative "../logging"
require_relative "../types/json_value"
require_relative "../types/step_error"
require_relative "../types/step_result"
require_relative "../handlers/step_view"
require_relative "../handlers/registry"
require_relative "../hooks"
require_relative "../instrumentation/handler_context"
require_relative "../step_handler/base"

module TaskerCore
  module Worker
    # Runs the handler of one claimed step and turns whatever happens into a StepResult.
    # No database writes here: the caller commits the result.
    class HandlerRunner
      NO_NAMES = [].freeze
      def initialize(worker_id:, max_message_bytes:, fetch_ancestors:, registry: Handlers::Registry)
        @worker_id = worker_id
        @max_message_bytes = max_message_bytes
        @fetch_ancestors = fetch_ancestors # ->(step_uuid) { {name => results} }
        @registry = registry
      end

      # claim: the Worker::Claim of a claimed step (its task context and parents' results).
      # The handler runs inside every Hooks.around_handler wrapper (the Rails executor,
      # instrumentation).
      def run(step, claim)
        run_with_json(step, claim).first
      end

      # [result, its JSON]: the JSON that measured its size is the one the worker posts.
      def run_with_json(step, claim)
        started_at = Time.now
        outcome = Instrumentation::HandlerContext.running(worker_id: @worker_id, trace_context: claim.trace_context) do
          Hooks.run(:handler, step) { invoke(step, claim) }
        end
        result = build(step, outcome, started_at)
        within_size_limit(step, result, started_at)
      end

      private

      # [:success, results], [:failure, StepError] or [:await_task, Types::ChildTask]
      def invoke(step, claim)
        handler = begin
          @registry.resolve(step.handler)
        rescue HandlerNotFound
          # A deployment condition (this worker lacks the class), not a broken template:
          # retried with the step's backoff, so a worker that has the class can run it.
          return failure(missing_handler(step), retryable: true)
        rescue TemplateError => e
          return failure(e, retryable: false)
        end
        call_handler(handler, step, claim)
      rescue PermanentError => e
        failure(e, retryable: false)
      rescue RetryableError => e
        failure(e, retryable: true, retry_after: e.retry_after)
      rescue StandardError => e
        failure(e, retryable: true)
      rescue ScriptError, SystemStackError => e
        # A handler without #call, a syntax error in its file, runaway recursion: a
        # retry runs the same code, so it cannot help.
        failure(e, retryable: false)
      rescue Exception => e # rubocop:disable Lint/RescueException
        # Anything else outside StandardError (a bare Exception, SystemExit from `exit`,
        # NoMemoryError) is a failure of this step, not of the worker: report it, never retry.
        failure(e, retryable: false)
      end

      # step.await_task throws its child task out of the handler: [:await_task, child]. A
      # handler returning normally is told apart by a flag, whatever it returns.
      def call_handler(handler, step, claim)
        view = step_view(step, claim)
        returned = false
        value = catch(Handlers::StepView::AWAIT_TASK) do
          out = handler.call(task_view(step, claim), sequence(step, claim), view)
          returned = true
          out
        end
        return [:await_task, value] unless returned

        serialize(outcome_of(view, claim, value))
      end

      # A decision step's Decision as its results; anything else is the handler's value. Both
      # mistakes (no Decision from a decision step, a Decision from another) are code to fix,
      # so they fail the step permanently.
      def outcome_of(view, claim, value)
        declared = claim.step_details&.fetch("branches", nil) || []
        if view.type == "decision"
          return decision_results(view, declared, value) if value.is_a?(Decision)

          raise PermanentError, "decision step #{view.name} must return TaskerCore::Decision.run(...) or " \
                                "TaskerCore::Decision.none (declared branches: #{declared.join(', ')}), " \
                                "got #{preview(value)}"
        end
        return value unless value.is_a?(Decision)

        raise PermanentError, "step #{view.name} returned #{value.inspect}, but it is not a decision step " \
                              "(type #{view.type}); declare it with type: decision and branches:"
      end

      def decision_results(view, declared, decision)
        unknown = decision.branches - declared
        return decision.to_results if unknown.empty?

        raise PermanentError, "decision step #{view.name} chose #{unknown.join(', ')}, not among its declared " \
                              "branches (#{declared.join(', ')})"
      end

      def preview(value)
        text = value.inspect
        text.length > 80 ? "#{text[0, 77]}..." : text
      end

      def missing_handler(step)
        HandlerNotFound.new("handler class #{step.handler} is not defined on worker #{@worker_id} " \
                            "(is the file that defines it loaded?); retried while attempts remain, " \
                            "as a deploy may not have reached every worker yet")
      end

      # The JSON-value rules shared with the core (Types::JsonValue): what passes is what
      # PostgreSQL stores and every reader parses, so a bad value fails this step only.
      def serialize(value)
        [:success, Types::JsonValue.normalize(value, "results", symbols: false)]
      rescue Types::JsonValue::Invalid => e
        error = PermanentError.new(
          "handler output cannot be stored: #{e.message}; " \
          "return Hashes with String keys, Arrays, Strings, Integers, finite Floats, true, false or nil"
        )
        failure(error, retryable: false)
      end

      def failure(error, retryable:, retry_after: nil)
        backtrace = Array(error.backtrace).first(Types::StepError::BACKTRACE_LINES).map { |line| storable_text(line) }
        [:failure, Types::StepError.new(error_class: error.class.name || error.class.inspect,
                                        message: storable_text(error.message), retryable: retryable,
                                        retry_after: retry_after, backtrace: backtrace)]
      end

      # An exception's text as something the failure can carry: valid UTF-8 (invalid bytes
      # replaced), no NUL (jsonb cannot store it; shown as \0), credentials masked.
      def storable_text(text)
        text = text.to_s.dup.force_encoding(Encoding::UTF_8)
        text = text.scrub("\uFFFD") unless text.valid_encoding?
        Logging.mask_url(text.gsub("\0") { "\\0" })
      end

      def build(step, (status, payload), started_at)
        case status
        when :success
          Types::StepResult.success(step, results: payload, worker_id: @worker_id, started_at: started_at)
        when :await_task
          Types::StepResult.await_task(step, child: payload, worker_id: @worker_id, started_at: started_at)
        else
          Types::StepResult.failure(step, error: payload, worker_id: @worker_id, started_at: started_at)
        end
      end

      # An oversized result would be refused by the orchestrator; fail the step clearly instead.
      # The limit is on the payload (the results, or a child task's context); the envelope has
      # its own allowance.
      # Returns [result, its JSON]. The payload is part of the whole result, so a whole that
      # fits says the payload fits, without generating the payload's JSON on its own.
      def within_size_limit(step, result, started_at)
        json = JSON.generate(result.to_h)
        return [result, json] if json.bytesize <= @max_message_bytes

        what, payload = result.await_task? ? ["child task context", result.await_task.context] : ["step result", result.results]
        size = JSON.generate(payload).bytesize
        return [result, json] if size <= @max_message_bytes

        error = PermanentError.new(
          "#{what} is #{size} bytes, more than orchestrator.max_message_bytes (#{@max_message_bytes}); " \
          "store large data elsewhere and return a reference"
        )
        failure = Types::StepResult.failure(step, error: Types::StepError.from_exception(error, retryable: false),
                                                  worker_id: @worker_id, started_at: started_at)
        [failure, JSON.generate(failure.to_h)]
      end

      def task_view(step, claim)
        Handlers::TaskView.new(uuid: step.task_uuid, context: Types::JsonValue.normalize(claim.task_context || {}),
                               namespace: step.namespace, name: step.task_name, version: step.task_version,
                               trace_context: claim.trace_context)
      end

      def sequence(step, claim)
        Handlers::Sequence.new(results_by_name(claim.parent_results || {}),
                               fetch_ancestors: -> { results_by_name(@fetch_ancestors.call(step.step_uuid)) },
                               skipped: claim.step_details&.fetch("skipped", nil) || NO_NAMES)
      end

      # Results by step name: each payload sits one level inside.
      def results_by_name(results)
        Types::JsonValue.normalize(results, max_depth: Types::Limits::MAX_MESSAGE_DEPTH)
      end

      # A plain step's claim has no step_details: the view is the step's identity alone.
      def step_view(step, claim)
        details = claim.step_details
        return Handlers::StepView.new(name: step.step_name, uuid: step.step_uuid, attempt: step.attempt) unless details

        Handlers::StepView.new(name: step.step_name, uuid: step.step_uuid, attempt: step.attempt,
                               type: details.fetch("type", "task"), index: details["index"], map: details["map"],
                               item: Types::JsonValue.normalize(details["item"], "item"))
      end
    end
  end
end
