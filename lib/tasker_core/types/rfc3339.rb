# frozen_string_literal: true

require "date"

module TaskerCore
  module Types
    # The times the Rust core can read: it parses run_at and requested_at with chrono's
    # DateTime::parse_from_rfc3339, so the client accepts exactly that form (a subset of
    # ISO 8601): a 4-digit year, a time with seconds, an offset; "T", "t" or a space between
    # date and time; any number of fractional digits; second 60 (a leap second). Ruby's
    # Time.iso8601 accepts more (dates alone, years past 9999), which the core would refuse.
    module Rfc3339
      FORMAT = /\A(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|[+-](\d\d):(\d\d))\z/

      module_function

      def valid?(text)
        match = text.is_a?(::String) && FORMAT.match(text)
        return false unless match

        year, month, day, hour, minute, second, offset_hours, offset_minutes = match.captures.map { |c| c&.to_i }
        # Proleptic Gregorian, as chrono: 1582-10-10 exists, 0000-02-29 too.
        Date.valid_date?(year, month, day, Date::GREGORIAN) && hour <= 23 && minute <= 59 && second <= 60 &&
          (offset_hours.nil? || (offset_hours <= 23 && offset_minutes <= 59))
      end
    end
  end
end
