# frozen_string_literal: true

module TaskerCore
  module Handlers
    # What a handler sees of the step it runs.
    class StepView
      attr_reader :name, :uuid, :attempt

      def initialize(name:, uuid:, attempt:)
        @name = name
        @uuid = uuid
        @attempt = attempt
        freeze
      end

      def to_h
        { "name" => name, "uuid" => uuid, "attempt" => attempt }
      end

      def inspect
        "#<#{self.class.name} #{name} #{uuid} attempt=#{attempt}>"
      end
    end
  end
end
