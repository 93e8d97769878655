# frozen_string_literal: true

module TaskerCore
  module Handlers
    # What a handler sees of its task. The context is deep-frozen: handlers return new
    # data rather than mutate shared state. trace_context is the W3C trace context the task
    # was enqueued with ({"traceparent" => "00-…"}, frozen) or nil, so an app's tracer can
    # link the step's work to the enqueuing request.
    class TaskView
      attr_reader :uuid, :context, :namespace, :name, :version, :trace_context

      def initialize(uuid:, context:, namespace:, name:, version:, trace_context: nil)
        @uuid = uuid
        @context = context
        @namespace = namespace
        @name = name
        @version = version
        @trace_context = trace_context&.transform_keys(&:to_s)&.transform_values { |v| v.dup.freeze }&.freeze
        freeze
      end

      def to_h
        { "uuid" => uuid, "context" => context, "namespace" => namespace, "name" => name, "version" => version,
          "trace_context" => trace_context }
      end

      def inspect
        "#<#{self.class.name} #{namespace}/#{name}@#{version} #{uuid}>"
      end
    end
  end
end
