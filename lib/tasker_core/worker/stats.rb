# frozen_string_literal: true

require "concurrent"

module TaskerCore
  module Worker
    # Thread-safe counters of what a worker's jobs ended with.
    class Stats
      OUTCOMES = {
        success: :processed,  # handler succeeded, result committed
        failure: :failed,     # handler failed, failure result committed
        skipped: :skipped,    # step no longer claimable, message dropped
        invalid: :invalid,    # malformed message archived
        redelivered: :redelivered, # message redelivered mid-run, result left to the new holder
        error: :errors # internal error (database down, ...), message left to redelivery
      }.freeze

      def initialize
        @counters = OUTCOMES.values.to_h { |name| [name, Concurrent::AtomicFixnum.new(0)] }
      end

      def record(outcome)
        @counters.fetch(OUTCOMES.fetch(outcome)).increment
      end

      def to_h
        @counters.transform_values(&:value)
      end
    end
  end
end
