# frozen_string_literal: true

module TaskerCore
  module Worker
    # A wake-up with memory: a notify that arrives before anyone waits is not lost.
    class Wakeup
      def initialize
        @mutex = Mutex.new
        @cv = ConditionVariable.new
        @pending = false
      end

      def notify
        @mutex.synchronize do
          @pending = true
          @cv.signal
        end
      end

      # True when a notify is waiting to be taken by the next wait.
      def pending?
        @mutex.synchronize { @pending }
      end

      # Returns after a notify or `timeout` seconds, whichever comes first.
      def wait(timeout)
        @mutex.synchronize do
          @cv.wait(@mutex, timeout) unless @pending
          @pending = false
        end
      end
    end
  end
end
