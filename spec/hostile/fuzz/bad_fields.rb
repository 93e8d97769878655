# frozen_string_literal: true

require_relative "look_alikes"

module QueueFuzz
  # Per message type: the fields a message cannot lack, and values (JSON text) of a wrong
  # type or range for a field. Optional fields take null, so null is listed only where the
  # field is required.
  module BadFields
    STEP = :step # every namespace queue

    REQUIRED = {
      TASK_REQUESTS => %w[kind task_uuid namespace name version context],
      STEP_RESULTS => %w[kind task_uuid step_uuid step_name attempt status],
      STEP => %w[kind task_uuid step_uuid step_name handler attempt namespace task_name task_version]
    }.freeze

    VALUES = {
      TASK_REQUESTS => {
        "priority" => ['"high"', "1.5", "true", "[1]", "{}", '"0"'],
        "context" => ["[1,2]", '"x"', "5", "null"],
        "task_uuid" => ["42", '"not-a-uuid"', '""', "null", '"00000000-0000-0000-0000-00000000000g"'],
        "namespace" => ["7", "null", '""'],
        "name" => ["[]", "null"],
        "version" => ["1.0", '"1.0"', '"v1"'],
        "idempotency_key" => ["5", '""', "{}"],
        "run_at" => %w[5 true],
        "requested_at" => ["5", "[]"],
        "kind" => ["1", '"Task_Request"', "null"]
      },
      STEP_RESULTS => {
        "status" => ['"maybe"', "1", "null"],
        "attempt" => ['"one"', "0", "-1", "1.5", '"1"', "1e309", "null", "2147483648"],
        "error" => ['"boom"', "[]"],
        "step_uuid" => ["5", '"x"'],
        "task_uuid" => ["[]"],
        "kind" => ['"StepResult"'],
        "step_name" => ["3"],
        "worker_id" => ["{}"],
        "priority" => ["1e309", "-1e309"] # not a field of a result, but every queue's index reads it
      },
      STEP => {
        "attempt" => ['"one"', "0", "-1", "1.5", '"1"', "1e309", "null", "2147483648"],
        "handler" => ['"Kernel.exit"', %("system('ls')"), '"::Object"', '""', "5"],
        "step_name" => ['"../../etc/passwd"', '"Linear"', '""'],
        "task_uuid" => ['"x"', "5"],
        "step_uuid" => ["7"],
        "kind" => ['"task_request"', "null"],
        "namespace" => ["5", '"Linear Workflow"'],
        "task_version" => ["1", '"latest"'],
        "priority" => ['"high"', "1e309"]
      }
    }.freeze

    # String fields whose value can be swapped for a long or subtly different string.
    STRINGS = {
      TASK_REQUESTS => %w[kind task_uuid namespace name version idempotency_key requested_at run_at],
      STEP_RESULTS => %w[kind task_uuid step_name status],
      STEP => %w[kind step_name handler namespace task_name task_version]
    }.freeze
    IDENTIFIERS = {
      TASK_REQUESTS => %w[namespace name version],
      STEP_RESULTS => %w[step_name],
      STEP => %w[step_name handler namespace task_name]
    }.freeze

    module_function

    def type_of(queue)
      STEP_QUEUES.key?(queue) ? STEP : queue
    end

    def required(queue)
      REQUIRED.fetch(type_of(queue))
    end

    def values(queue)
      VALUES.fetch(type_of(queue))
    end

    def strings(queue)
      STRINGS.fetch(type_of(queue))
    end

    def identifiers(queue)
      IDENTIFIERS.fetch(type_of(queue))
    end
  end
end
