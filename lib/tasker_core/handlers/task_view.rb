# frozen_string_literal: true

module TaskerCore
  module Handlers
    # What a handler sees of its task. The context is deep-frozen: handlers return new
    # data rather than mutate shared state.
    class TaskView
      attr_reader :uuid, :context, :namespace, :name, :version

      def initialize(uuid:, context:, namespace:, name:, version:)
        @uuid = uuid
        @context = context
        @namespace = namespace
        @name = name
        @version = version
        freeze
      end

      def to_h
        { "uuid" => uuid, "context" => context, "namespace" => namespace, "name" => name, "version" => version }
      end

      def inspect
        "#<#{self.class.name} #{namespace}/#{name}@#{version} #{uuid}>"
      end
    end
  end
end
