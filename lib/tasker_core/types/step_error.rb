# frozen_string_literal: true

require_relative "base"

module TaskerCore
  module Types
    # The `error` object of a failed StepResult. `class` is a Ruby keyword-ish method
    # name, so the attribute is error_class and its wire key "class".
    class StepError < Base
      BACKTRACE_LINES = 20

      attribute :error_class, Primitives::Strict::String.constrained(min_size: 1), key: "class",
                                                                                   rule: "must be a non-empty String",
                                                                                   json: true
      attribute :message, Primitives::Strict::String, rule: "must be a String", json: true
      attribute :retryable, Primitives::Strict::Bool, rule: "must be true or false"
      attribute :retry_after, Primitives::Seconds.optional,
                rule: "must be nil or a number of seconds >= 0"
      attribute :backtrace,
                Primitives::Strict::Array.of(Primitives::Strict::String)
                                         .constructor { |v| v.is_a?(Array) ? v.first(BACKTRACE_LINES) : v }
                                         .default { [] },
                rule: "must be an Array of Strings", json: true

      # Never raises for what an exception carries: its text is made storable first (a
      # NUL, which jsonb refuses, is written as \0, as the worker does; bytes that are not
      # UTF-8 become U+FFFD), so a failure can always be reported.
      def self.from_exception(error, retryable:, retry_after: nil, message: nil)
        new(error_class: storable(error.class.name || error.class.inspect),
            message: storable(message || error.message.to_s),
            retryable: retryable,
            retry_after: retry_after,
            backtrace: Array(error.backtrace).first(BACKTRACE_LINES).map { |line| storable(line.to_s) })
      end

      def self.storable(text)
        utf8 =
          if [Encoding::UTF_8, Encoding::ASCII_8BIT, Encoding::US_ASCII].include?(text.encoding)
            text.dup.force_encoding(Encoding::UTF_8)
          else
            text.encode(Encoding::UTF_8, invalid: :replace, undef: :replace)
          end
        utf8.scrub.gsub(JsonValue::NUL) { "\\0" }
      end
      private_class_method :storable
    end
  end
end
