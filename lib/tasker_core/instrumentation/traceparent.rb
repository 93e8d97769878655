# frozen_string_literal: true

require_relative "../errors"

module TaskerCore
  module Instrumentation
    # The W3C Trace Context `traceparent` a task request may carry, so every step's handler can
    # link its work to the request that enqueued it (task.trace_context).
    #
    # Version 00 only, lowercase hex, trace id and parent id not all zero (Trace Context,
    # section 3.2): the Rust core (messages.rs is_traceparent) and the column's check apply the
    # same rule. Other versions are refused rather than guessed at: 00 is the only one defined.
    module Traceparent
      FORMAT = /\A00-(?!0{32}-)[0-9a-f]{32}-(?!0{16}-)[0-9a-f]{16}-[0-9a-f]{2}\z/
      RULE = "must be a W3C traceparent: 00-<32 lowercase hex, not all 0>-<16 lowercase hex, not all 0>-<2 hex>"

      @provider = nil

      class << self
        def valid?(value)
          value.is_a?(String) && FORMAT.match?(value)
        end

        # A callable returning the current traceparent (or nil), asked when an enqueue names
        # none: e.g. -> { OpenTelemetry's current span as a traceparent }.
        attr_reader :provider

        def provider=(callable)
          raise ArgumentError, "traceparent_provider must respond to #call or be nil" unless callable.nil? || callable.respond_to?(:call)

          @provider = callable
        end

        # The traceparent to send: the one given (checked: a bad one is the caller's mistake,
        # a ValidationError naming the field), else the provider's. A provider's value that is
        # not a valid traceparent (a tracer with no current span formats all zeros) or a
        # provider that raises sends none: tracing must never stop an enqueue.
        def resolve(given)
          return check!(given) unless given.nil?

          provided = provided_now
          valid?(provided) ? provided : nil
        end

        def check!(value, field: "traceparent")
          return value if valid?(value)

          shown = value.inspect
          shown = "#{shown[0, 77]}..." if shown.length > 80
          raise ValidationError.new("#{field} #{RULE}, got #{shown}", field: field)
        end

        def provided_now
          @provider&.call
        rescue StandardError
          nil
        end
        private :provided_now

        # What handlers and events see: {"traceparent" => ...}, or nil for an untraced task.
        def context(traceparent)
          traceparent && { "traceparent" => traceparent }.freeze
        end
      end
    end
  end
end
