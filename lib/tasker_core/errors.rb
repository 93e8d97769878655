# frozen_string_literal: true

module TaskerCore
  # Root of every error this gem raises. The native extension raises the subclasses
  # below by name, so their names are part of the contract with the Rust side.
  class Error < StandardError; end

  class ConfigurationError < Error; end
  # A worker's namespace has no queue yet: no orchestrator has registered a template of it
  # (or pgmq is not installed at all) in the worker's database.
  class NamespaceNotRegistered < ConfigurationError; end
  class DatabaseError < Error; end
  class TemplateError < Error; end

  # A step names a handler class this process has not loaded. Retryable: during a rolling
  # deploy another worker (or this one, once deployed) may have it.
  class HandlerNotFound < TemplateError; end
  # Something an operator named does not exist.
  class NotFound < Error; end
  class TaskNotFound < NotFound; end
  class DeadLetterNotFound < NotFound; end
  class TimeoutError < Error; end
  class OrchestratorError < Error; end

  # A state change the state machine does not allow (e.g. retrying a complete task).
  class InvalidTransition < Error; end

  # TaskerCore.signal refused: the task is finished, none of its steps waits for that
  # signal, or it was already sent that signal (a signal is sent once).
  class SignalError < Error; end

  # A panic or internal error inside the Rust core.
  class NativeError < Error; end

  # Invalid input. `field` names the offending attribute when there is one.
  class ValidationError < Error
    attr_reader :field

    def initialize(message = nil, field: nil)
      @field = field
      super(message)
    end
  end

  class QueueNameError < ValidationError; end

  # The orchestrator refused a task request (unknown template, invalid context, ...).
  # The native side may raise it with a message only, so every argument is optional.
  class TaskRejected < Error
    attr_reader :reason, :task_uuid

    def initialize(message = nil, reason: nil, task_uuid: nil)
      @reason = reason || message
      @task_uuid = task_uuid
      super(message || default_message)
    end

    private

    def default_message
      subject = task_uuid ? "task #{task_uuid}" : "task request"
      "#{subject} was rejected: #{reason || 'no reason recorded'}"
    end
  end

  # enqueue(on_conflict: :raise): the idempotency key already names a task created for
  # another template or context. Digests are "sha256:<hex>" of each context's jsonb text,
  # as in the orchestrator's idempotency_conflict dead letters.
  class IdempotencyConflict < Error
    attr_reader :idempotency_key, :task_uuid, :existing_digest, :requested_digest

    def initialize(message = nil, idempotency_key: nil, task_uuid: nil, existing_digest: nil, requested_digest: nil)
      @idempotency_key = idempotency_key
      @task_uuid = task_uuid
      @existing_digest = existing_digest
      @requested_digest = requested_digest
      super(message || "idempotency key #{idempotency_key.inspect} already names task #{task_uuid} for another request")
    end
  end

  # Raised by a step handler: the step failed but may succeed on a later attempt.
  class RetryableError < Error
    # Seconds to wait before the next attempt, or nil to use the step's backoff.
    attr_reader :retry_after

    def initialize(message = nil, retry_after: nil)
      unless retry_after.nil? || (retry_after.is_a?(Numeric) && retry_after >= 0)
        raise ArgumentError, "retry_after must be nil or a non-negative number of seconds, got #{retry_after.inspect}"
      end

      @retry_after = retry_after
      super(message)
    end
  end

  # Raised by a step handler: retrying cannot help (bad input, business rule violated).
  class PermanentError < Error; end
end
