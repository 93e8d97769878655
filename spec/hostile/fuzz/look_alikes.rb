# frozen_string_literal: true

require "json"
require_relative "../hostile_helper"

module QueueFuzz
  TASK_REQUESTS = "task_requests"
  STEP_RESULTS = "step_results"
  # Namespace queues served by the suite's worker (TaskerSpec::Runtime::NAMESPACES).
  STEP_QUEUES = { "linear_workflow_queue" => "linear_workflow",
                  "hostile_workflows_queue" => "hostile_workflows" }.freeze
  QUEUES = [TASK_REQUESTS, STEP_RESULTS, *STEP_QUEUES.keys].freeze

  # Well-formed messages of each queue naming nothing that exists (uuids from the seeded
  # Random): the base that the bad-message classes break in one place. The request and result
  # shapes are HostileHelpers'.
  class LookAlikes
    include HostileHelpers

    # The one step of a task of each served namespace that a step message names by default.
    STEP_SHAPES = {
      "linear_workflow_queue" => { "step_name" => "linear_step_1", "handler" => "LinearWorkflow::StepOne",
                                   "namespace" => "linear_workflow", "task_name" => "mathematical_sequence" },
      "hostile_workflows_queue" => { "step_name" => "echo", "handler" => "HostileWorkflows::Echo",
                                     "namespace" => "hostile_workflows", "task_name" => "hostile_echo" }
    }.freeze

    def initialize(random)
      @random = random
    end

    # A random (version 4) uuid drawn from the seeded Random, so a replay names the same ones.
    def uuid
      bytes = @random.bytes(16).bytes
      bytes[6] = (bytes[6] & 0x0f) | 0x40
      bytes[8] = (bytes[8] & 0x3f) | 0x80
      hex = bytes.pack("C*").unpack1("H*")
      [hex[0, 8], hex[8, 4], hex[12, 4], hex[16, 4], hex[20, 12]].join("-")
    end

    def request(changes = {})
      task_request({ "task_uuid" => uuid, "context" => { "even_number" => 2 * @random.rand(1..500) } }.merge(changes))
    end

    def result(changes = {})
      step_result({ "task_uuid" => uuid, "step_uuid" => uuid }.merge(changes))
    end

    def step(queue, changes = {})
      { "kind" => "step", "task_uuid" => uuid, "step_uuid" => uuid, **STEP_SHAPES.fetch(queue), "attempt" => 1,
        "task_version" => "1.0.0", "priority" => 0 }.merge(changes)
    end

    # The look-alike of the queue's own message type.
    def for_queue(queue, changes = {})
      case queue
      when TASK_REQUESTS then request(changes)
      when STEP_RESULTS then result(changes)
      else step(queue, changes)
      end
    end
  end
end
