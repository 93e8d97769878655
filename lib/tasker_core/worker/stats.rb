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
        @running = Concurrent::AtomicFixnum.new(0)
        @handed_off = Concurrent::AtomicFixnum.new(0)
      end

      # A message claimed with a result's post and run by the same job (see NamespacePoller).
      def handed_off
        @handed_off.increment
      end

      def record(outcome)
        @counters.fetch(OUTCOMES.fetch(outcome)).increment
      end

      # Counts the block as a job running on a handler thread while it runs.
      def running_job
        @running.increment
        yield
      ensure
        @running.decrement
      end

      # Jobs running now (a free slot a poller holds while it reads is not one).
      def busy
        @running.value
      end

      def to_h
        @counters.transform_values(&:value).merge(handed_off: @handed_off.value)
      end
    end
  end
end
