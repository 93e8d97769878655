# frozen_string_literal: true

require "time"
require "dry-types"
require_relative "../identifiers"
require_relative "rfc3339"

module TaskerCore
  module Types
    # dry-types building blocks for the message classes. Kept in their own module so
    # Dry's constants (String, Integer, ...) never shadow Ruby's inside TaskerCore::Types.
    module Primitives
      include Dry.Types()

      UUID_FORMAT = /\A\h{8}-\h{4}-\h{4}-\h{4}-\h{12}\z/
      INT4 = (-2**31..2**31 - 1)
      TIME_RULE = "an RFC 3339 time (ISO8601 with a 4-digit year, seconds and an offset, e.g. 2026-01-01T12:00:00Z)"

      # Times are carried as RFC 3339 strings the core can parse (see Rfc3339); a Time given
      # in Ruby is written in UTC with µs (latencies between steps are a few milliseconds).
      def self.rfc3339(value)
        text = value.is_a?(::Time) ? value.getutc.iso8601(6) : value
        return text if !text.is_a?(::String) || Rfc3339.valid?(text)

        raise ArgumentError, "#{text.inspect} is not an RFC 3339 time the core can read"
      end

      Uuid = Strict::String
             .constructor { |v| v.is_a?(::String) ? v.downcase : v }
             .constrained(format: UUID_FORMAT)
      # The identifier rules are Identifiers' (the core's, mirrored).
      Namespace = Strict::String.constrained(format: Identifiers::NAMESPACE_FORMAT)
      Name = Strict::String.constrained(format: Identifiers::NAME_FORMAT)
      # A step's name, an item of a map step's (`name[3]`) included.
      StepName = Strict::String.constrained(format: Identifiers::STEP_NAME_FORMAT)
      STEP_NAME_RULE = "must match ^[a-z][a-z0-9_]{0,62}$, or be an item's name like name[3]"
      Semver = Strict::String.constrained(format: Identifiers::VERSION_FORMAT, max_size: Identifiers::MAX_VERSION)
      HandlerName = Strict::String.constrained(format: Identifiers::HANDLER_CLASS_FORMAT,
                                               max_size: Identifiers::MAX_HANDLER_CLASS)
      Attempt = Strict::Integer.constrained(gteq: 1, lteq: INT4.max)
      Priority = Strict::Integer.constrained(gteq: INT4.min, lteq: INT4.max).default(0)
      Timestamp = Strict::String.constructor { |v| Primitives.rfc3339(v) }
      # Seconds, whole or fractional.
      Seconds = Strict::Integer.constrained(gteq: 0) | Strict::Float.constrained(gteq: 0)
      # Values of these two are normalized by Base (JsonValue) before the type check.
      JsonObject = Strict::Hash
      Json = Nominal::Any
    end
  end
end
