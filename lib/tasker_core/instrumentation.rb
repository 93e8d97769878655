# frozen_string_literal: true

require "securerandom"
require_relative "hooks"
require_relative "instrumentation/traceparent"
require_relative "instrumentation/handler_context"
require_relative "instrumentation/payloads"
require_relative "instrumentation/event_relay"

module TaskerCore
  # ActiveSupport::Notifications events of tasker_core (payloads: Instrumentation::Payloads,
  # docs/ARCHITECTURE.md "Events"):
  #   enqueue.tasker_core      every TaskerCore.enqueue, timed around the send
  #   step.tasker_core         every handler run in this process's workers, timed around it
  #   task_completed.tasker_core, task_failed.tasker_core, task_cancelled.tasker_core,
  #   step_retry.tasker_core   state changes made by the orchestrator (Rust), carried through
  #                            the database by an EventRelay to every process that runs one
  #
  # Nothing is registered by `require "tasker_core"`: install! adds the two hooks (the Railtie
  # calls it), and without ActiveSupport::Notifications loaded every event is a no-op, so the
  # gem runs without ActiveSupport.
  module Instrumentation
    NAMESPACE = "tasker_core"
    ENQUEUE = "enqueue.#{NAMESPACE}".freeze
    STEP = "step.#{NAMESPACE}".freeze
    STEP_RETRY = "step_retry.#{NAMESPACE}".freeze
    TASK_COMPLETED = "task_completed.#{NAMESPACE}".freeze
    TASK_FAILED = "task_failed.#{NAMESPACE}".freeze
    TASK_CANCELLED = "task_cancelled.#{NAMESPACE}".freeze
    # The event of each final task state a relay reports.
    TASK_EVENTS = { "complete" => TASK_COMPLETED, "error" => TASK_FAILED, "cancelled" => TASK_CANCELLED }.freeze
    EVENTS = [ENQUEUE, STEP, STEP_RETRY, *TASK_EVENTS.values].freeze

    @wrappers = nil
    @mutex = Mutex.new

    class << self
      # Registers the enqueue and handler hooks once (later calls do nothing); returns true
      # when they are registered.
      def install!
        @mutex.synchronize do
          @wrappers ||= [Hooks.around_enqueue { |request, &send| instrument_enqueue(request, &send) },
                         Hooks.around_handler { |step, &run| instrument_step(step, &run) }]
        end
        true
      end

      def installed?
        !@wrappers.nil?
      end

      # Removes the hooks install! added (tests, or an app turning instrumentation off).
      def uninstall!
        @mutex.synchronize do
          @wrappers&.each { |wrapper| Hooks.remove(wrapper) }
          @wrappers = nil
        end
        true
      end

      def traceparent_provider
        Traceparent.provider
      end

      # A callable returning the current traceparent, used by enqueue when none is given.
      def traceparent_provider=(callable)
        Traceparent.provider = callable
      end

      def notifications?
        defined?(::ActiveSupport::Notifications) ? true : false
      end

      # ActiveSupport::Notifications.instrument when it is loaded, else just the block.
      def instrument(name, payload, &block)
        return yield(payload) unless notifications?

        ::ActiveSupport::Notifications.instrument(name, payload, &block)
      end

      # An event that already happened (started..finished: Times), so its duration is the
      # real one. ActiveSupport >= 7 publishes an Event (every kind of subscriber gets it);
      # 6.1 can only publish to subscribers with the five-argument form (see subscribe).
      def publish(name, started, finished, payload)
        return unless notifications?

        notifications = ::ActiveSupport::Notifications
        id = SecureRandom.hex(10)
        if notifications.respond_to?(:publish_event)
          notifications.publish_event(notifications::Event.new(name, started, finished, id, payload))
        else
          notifications.publish(name, started, finished, id, payload)
        end
      end

      # Subscribes to a name or pattern and yields an ActiveSupport::Notifications::Event with
      # its duration, for instrumented and published (relayed) events alike, whatever the
      # ActiveSupport version. Returns the subscriber (for ActiveSupport::Notifications.unsubscribe).
      def subscribe(pattern, &block)
        raise ArgumentError, "subscribe needs a block" unless block

        ::ActiveSupport::Notifications.subscribe(pattern) do |*args|
          block.call(args.first.is_a?(::ActiveSupport::Notifications::Event) ? args.first : ::ActiveSupport::Notifications::Event.new(*args))
        end
      end

      private

      def instrument_enqueue(request, &send)
        # What the client sends: the one given (when valid; an invalid one fails the send,
        # which the event reports), else the provider's.
        given = request[:traceparent]
        traceparent = given.nil? ? Traceparent.resolve(nil) : (given if Traceparent.valid?(given))
        connection = request[:connection]
        transactional = connection.nil? ? !Client.connection_provider.nil? : connection != :own
        payload = Payloads.enqueue(request, traceparent: traceparent, transactional: transactional)
        instrument(ENQUEUE, payload) { payload[:task_uuid] = send.call }
      end

      def instrument_step(step, &run)
        payload = Payloads.step(step, HandlerContext.current)
        instrument(STEP, payload) { run.call.tap { |outcome| Payloads.step_outcome(payload, outcome) } }
      end
    end
  end
end
