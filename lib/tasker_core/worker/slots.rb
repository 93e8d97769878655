# frozen_string_literal: true

module TaskerCore
  module Worker
    # The free handler threads of a worker, shared by its pollers. A poller takes as many
    # slots as it has messages to start; a finished job gives its slot back and wakes the
    # pollers at once, so a busy worker reads its next message the moment a thread frees up.
    class Slots
      def initialize(count)
        @free = count
        @mutex = Mutex.new
        @freed = ConditionVariable.new
      end

      # Takes up to `wanted` free slots; returns how many it took (maybe 0).
      def take(wanted)
        @mutex.synchronize do
          taken = [@free, wanted].min
          @free -= taken
          taken
        end
      end

      def release(count = 1)
        return if count <= 0

        @mutex.synchronize do
          @free += count
          @freed.broadcast
        end
      end

      # Returns when a slot is free, or after `timeout` seconds.
      def wait_for_free(timeout)
        @mutex.synchronize do
          @freed.wait(@mutex, timeout) if @free.zero?
        end
      end

      def free
        @mutex.synchronize { @free }
      end
    end
  end
end
