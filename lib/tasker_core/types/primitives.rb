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

      # What a fast check returns when it cannot tell: the dry-types type then decides (and
      # names what is wrong).
      SLOW = Object.new.freeze
      LOWER_UUID_FORMAT = /\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/

      # Plain-Ruby checks of the types a worker builds for every step (a dry-types call costs
      # microseconds, a message has ten attributes): each returns what its type returns for a
      # value it accepts as is, else SLOW. They never accept what the type refuses:
      # spec/ruby/types_fast_checks_spec.rb holds each to its type.
      module Fast
        module_function

        def string(format = nil, min_size: 0, max_size: nil)
          lambda do |v|
            if v.is_a?(::String) && (format.nil? || format.match?(v)) && v.size >= min_size &&
               (max_size.nil? || v.size <= max_size)
              v
            else
              SLOW
            end
          end
        end

        # nil or an instance of klass, as an optional Constructor(klass) type returns them.
        def optional(klass)
          ->(v) { v.nil? || v.is_a?(klass) ? v : SLOW }
        end

        def one_of(values)
          ->(v) { values.include?(v) ? v : SLOW }
        end

        def integer(range)
          ->(v) { v.is_a?(::Integer) && range.cover?(v) ? v : SLOW }
        end

        # A Time as Timestamp writes it (UTC, µs: what iso8601(6) writes, in one strftime); a
        # year outside 0..9999 is left to the type.
        def timestamp(value)
          return SLOW unless value.is_a?(::Time)

          utc = value.getutc
          (0..9999).cover?(utc.year) ? utc.strftime("%Y-%m-%dT%H:%M:%S.%6NZ") : SLOW
        end
      end

      FAST_CHECKS = {
        Uuid => Fast.string(LOWER_UUID_FORMAT),
        Namespace => Fast.string(Identifiers::NAMESPACE_FORMAT),
        Name => Fast.string(Identifiers::NAME_FORMAT),
        StepName => Fast.string(Identifiers::STEP_NAME_FORMAT),
        Semver => Fast.string(Identifiers::VERSION_FORMAT, max_size: Identifiers::MAX_VERSION),
        HandlerName => Fast.string(Identifiers::HANDLER_CLASS_FORMAT, max_size: Identifiers::MAX_HANDLER_CLASS),
        Attempt => Fast.integer(1..INT4.max),
        Priority => Fast.integer(INT4),
        Timestamp => Fast.method(:timestamp),
        Json => ->(v) { v }
      }.compare_by_identity.freeze

      # The fast check of a type, or nil (the type always decides).
      def self.fast_check(type)
        FAST_CHECKS[type]
      end
    end
  end
end
