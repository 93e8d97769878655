# frozen_string_literal: true

require_relative "base"

module TaskerCore
  module Types
    # The `error` object of a failed StepResult. `class` is a Ruby keyword-ish method
    # name, so the attribute is error_class and its wire key "class".
    class StepError < Base
      BACKTRACE_LINES = 20

      attribute :error_class, Primitives::Strict::String.constrained(min_size: 1), key: "class",
                                                                                  rule: "must be a non-empty String"
      attribute :message, Primitives::Strict::String, rule: "must be a String"
      attribute :retryable, Primitives::Strict::Bool, rule: "must be true or false"
      attribute :retry_after, Primitives::Seconds.optional,
                rule: "must be nil or a number of seconds >= 0"
      attribute :backtrace,
                Primitives::Strict::Array.of(Primitives::Strict::String)
                                         .constructor { |v| v.is_a?(Array) ? v.first(BACKTRACE_LINES) : v }
                                         .default { [] },
                rule: "must be an Array of Strings", json: true

      def self.from_exception(error, retryable:, retry_after: nil, message: nil)
        new(error_class: error.class.name || error.class.inspect,
            message: message || error.message.to_s,
            retryable: retryable,
            retry_after: retry_after,
            backtrace: Array(error.backtrace).first(BACKTRACE_LINES))
      end
    end
  end
end
