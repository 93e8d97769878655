# frozen_string_literal: true

require "etc"
require "json"
require "socket"
require_relative "errors"
require_relative "types/limits"

module TaskerCore
  # Operator actions on tasks and dead letters, from any process (console, web, job): the
  # Rust core applies them in one transaction each, through its state machine, recorded as
  # transitions whose metadata names the actor ({"actor" => "cli:alice@host"}), or on the
  # dead letter's row (resolved_by).
  #
  #   TaskerCore.cancel(uuid, actor: "web:admin")  # unstarted steps cancelled; late results ignored
  #   TaskerCore.retry(uuid)                       # a task in error resumes from its failed steps
  #   TaskerCore.resolve_step(uuid, "charge", {"paid" => true})  # dependents receive this result
  #   TaskerCore::Operator.current.requeue_dead_letter(42, actor: "cli:alice@host")
  #
  # actor: who asked, 1 to Types::Limits::MAX_ACTOR_BYTES bytes of UTF-8 without control
  # characters (the core refuses others with ValidationError); nil (the default) stands for
  # default_actor, "ruby:<user>@<host>" for this process's effective user and host.
  class Operator
    @mutex = Mutex.new

    class << self
      # One per process and configuration; reconnected after fork or reconfiguration.
      def current(config: TaskerCore.config)
        @mutex.synchronize do
          @current = nil if @current && !@current.usable_for?(config)
          @current ||= new(config: config)
        end
      end

      # "ruby:<user>@<host>": the effective user (or $USER, or uid<n>) and the host name,
      # cut to the core's limit. Per process (a fork may change user).
      def default_actor
        @default_actor = nil unless @default_actor_pid == Process.pid
        @default_actor_pid = Process.pid
        @default_actor ||= "ruby:#{user_name}@#{Socket.gethostname}"
                           .byteslice(0, Types::Limits::MAX_ACTOR_BYTES).scrub("").freeze
      end

      # An action's answer as one line for people (the CLI's and the dashboard's notices):
      # "state=in_progress retried_steps=1 dispatched=1".
      def summary(result)
        result.reject { |key, _| key == "task_uuid" }.map { |key, value| "#{key}=#{value}" }.join(" ")
      end

      private

      def user_name
        name = begin
          Etc.getpwuid(Process.euid)&.name
        rescue StandardError
          nil
        end
        name || ENV.fetch("USER", nil) || "uid#{Process.euid}"
      end
    end

    def initialize(config: TaskerCore.config)
      @config = config
      @core_json = config.to_core_json
      @pid = Process.pid
      @handle = Native::OperatorHandle._connect_private(@core_json)
    end

    def usable_for?(config)
      @pid == Process.pid && config.to_core_json == @core_json
    end

    # Installs pgmq and tasker_core's schema in the configured database, or brings them up
    # to this version's migrations, as an orchestrator does at start (and with it: the same
    # ledger, so neither applies anything twice). Starts nothing. Returns true.
    def install_schema
      @handle._install_schema_private
    end

    # => {"task_uuid"=>..., "state"=>"cancelled", "cancelled_steps"=>n}
    def cancel(uuid, actor: nil)
      JSON.parse(@handle._cancel_private(uuid.to_s, actor_text(actor)))
    end

    # => {"task_uuid"=>..., "state"=>"in_progress", "retried_steps"=>n, "dispatched"=>n}
    def retry(uuid, actor: nil)
      JSON.parse(@handle._retry_private(uuid.to_s, actor_text(actor)))
    end

    # => {"task_uuid"=>..., "step"=>name, "task_state"=>..., "dispatched"=>n}
    def resolve_step(uuid, step_name, result, actor: nil)
      json = begin
        JSON.generate(result)
      rescue JSON::GeneratorError => e
        raise ValidationError, "the resolution result is not JSON: #{e.message}"
      end
      JSON.parse(@handle._resolve_step_private(uuid.to_s, step_name.to_s, json, actor_text(actor)))
    end

    # Sends dead letter `id`'s message again to its queue, in the transaction that marks the
    # letter requeued (its reader judges it anew). Raises DeadLetterNotFound, or
    # InvalidTransition (already requeued or discarded; no message kept; its queue is gone),
    # changing nothing. => {"id"=>id, "resolution"=>"requeued", "requeued_msg_id"=>n}
    def requeue_dead_letter(id, actor: nil)
      JSON.parse(@handle._requeue_dead_letter_private(dead_letter_id(id), actor_text(actor)))
    end

    # Marks dead letter `id` discarded (its message stays in the queue's archive). Raises as
    # requeue_dead_letter does. => {"id"=>id, "resolution"=>"discarded", "requeued_msg_id"=>nil}
    def discard_dead_letter(id, actor: nil)
      JSON.parse(@handle._discard_dead_letter_private(dead_letter_id(id), actor_text(actor)))
    end

    private

    # The core checks the text (length, control characters); a String of UTF-8 crosses.
    def actor_text(actor)
      return self.class.default_actor if actor.nil?
      raise ValidationError.new("actor must be a String, got #{actor.class}", field: "actor") unless actor.is_a?(String)

      text = actor.encode(Encoding::UTF_8)
      return text if text.valid_encoding?

      raise ValidationError.new("actor must be valid UTF-8", field: "actor")
    rescue EncodingError
      raise ValidationError.new("actor must be valid UTF-8", field: "actor")
    end

    def dead_letter_id(id)
      return id.to_s if id.is_a?(Integer) || id.is_a?(String)

      raise ValidationError.new("dead letter id must be an Integer, got #{id.class}", field: "id")
    end
  end
end
