# frozen_string_literal: true

module TaskerCore
  module Handlers
    # What a handler sees of the step it runs. max_attempts is nil when the worker does
    # not know it (the step message does not carry it).
    class StepView
      attr_reader :name, :uuid, :attempt, :max_attempts

      def initialize(name:, uuid:, attempt:, max_attempts: nil)
        @name = name
        @uuid = uuid
        @attempt = attempt
        @max_attempts = max_attempts
        freeze
      end

      def to_h
        { "name" => name, "uuid" => uuid, "attempt" => attempt, "max_attempts" => max_attempts }
      end

      def inspect
        "#<#{self.class.name} #{name} #{uuid} attempt=#{attempt}>"
      end
    end
  end
end
