# frozen_string_literal: true

require "json"
require_relative "bad_message"
require_relative "look_alikes"

module QueueFuzz
  # Copies of a REAL enqueued step message (a held task's, still invisible in its queue)
  # with one thing changed. Each names a step that exists under the attempt it is enqueued
  # at, so only a check of the message against the database can tell it from the genuine one.
  class Forgeries
    CLASSES = %w[forged_handler forged_task_uuid forged_step_name forged_attempt_plus_one forged_attempt_zero
                 forged_namespace_field forged_task_name forged_wrong_queue forged_twin].freeze
    # Real handler classes, each of a step other than the one forged.
    HANDLERS = %w[LinearWorkflow::StepOne LinearWorkflow::StepTwo LinearWorkflow::StepFour HostileWorkflows::Echo
                  SpecWorkflows::Echo HostileWorkflows::NotANumber].freeze
    STEP_NAMES = %w[linear_step_1 linear_step_2 linear_step_4 echo validate].freeze

    # The queue whose held task a forgery sent to `queue` copies: the other one for
    # forged_wrong_queue (a real step message delivered to the wrong namespace).
    def self.source_queue(cls, queue)
      cls == "forged_wrong_queue" ? (STEP_QUEUES.keys - [queue]).first : queue
    end

    def initialize(random, look_alikes, other_task_uuids)
      @random = random
      @look_alikes = look_alikes
      @other_task_uuids = other_task_uuids # real tasks other than the target
    end

    # target: a held ValidTask with .genuine = { msg_id:, body: }.
    def build(cls, queue, target)
      genuine = target.genuine.fetch(:body)
      body = mutate(cls, genuine)
      changed = body.reject { |key, value| genuine[key] == value }
      note = changed.map { |key, value| "#{key}=#{value}" }.join(" ")
      note = cls == "forged_wrong_queue" ? "the genuine #{target.queue} message" : "an exact copy" if changed.empty?
      BadMessage.new(cls: cls, queue: queue, json: JSON.generate(body), target: target, note: note,
                     twin_of: cls == "forged_twin" ? target.genuine.fetch(:msg_id) : nil)
    end

    private

    def mutate(cls, genuine)
      case cls
      when "forged_handler" then genuine.merge("handler" => other(HANDLERS, genuine["handler"]))
      when "forged_task_uuid" then genuine.merge("task_uuid" => other_task_uuid)
      when "forged_step_name" then genuine.merge("step_name" => other(STEP_NAMES, genuine["step_name"]))
      when "forged_attempt_plus_one" then genuine.merge("attempt" => genuine["attempt"] + 1)
      when "forged_attempt_zero" then genuine.merge("attempt" => genuine["attempt"] - 1)
      when "forged_namespace_field" then genuine.merge("namespace" => other_namespace(genuine["namespace"]))
      when "forged_task_name" then forged_task_name(genuine)
      when "forged_wrong_queue", "forged_twin" then genuine
      else raise ArgumentError, "no forgery #{cls}"
      end
    end

    def other(choices, current)
      (choices - [current]).sample(random: @random)
    end

    def other_task_uuid
      @random.rand < 0.5 ? @other_task_uuids.sample(random: @random) : @look_alikes.uuid
    end

    def other_namespace(current)
      other(STEP_QUEUES.values + ["priority_workflow"], current)
    end

    def forged_task_name(genuine)
      if @random.rand < 0.5
        genuine.merge("task_name" => other(%w[mathematical_sequence hostile_echo failing_chain], genuine["task_name"]))
      else
        genuine.merge("task_version" => "2.0.0")
      end
    end
  end
end
