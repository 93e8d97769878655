# frozen_string_literal: true

require "concurrent"

module TaskerCore
  module Worker
    # Which handlers of a namespace ran quickly last time, so that a poller may run such a
    # step itself instead of handing it to a pool thread (a hand-off costs a thread wake-up,
    # often more than the handler). A poller running a step reads nothing meanwhile, so only
    # a handler whose last run took at most QUICK_S qualifies; a handler not seen yet runs
    # on the pool first, where it is timed (by StepExecutor, around the handler's run).
    class QuickHandlers
      QUICK_S = 0.005

      def initialize
        @last_run_s = Concurrent::Map.new # handler name => seconds its last run took
      end

      # handler: the step message's handler name (nil for a message that runs no handler:
      # setting it aside is one statement, always quick).
      def quick?(handler)
        return true if handler.nil?

        seconds = @last_run_s[handler]
        !seconds.nil? && seconds <= QUICK_S
      end

      # Times the block as a run of `handler`; returns what it returns.
      def timing(handler)
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        yield
      ensure
        @last_run_s[handler] = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started unless handler.nil?
      end
    end
  end
end
