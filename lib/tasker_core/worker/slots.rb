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
        @waiting = Hash.new(0) # waiter => how many of its threads wait for a slot now
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

      # Returns when a slot is free, or after `timeout` seconds. `waiter` names who waits (a
      # poller's queue), for others_waiting?.
      def wait_for_free(timeout, waiter: nil)
        @mutex.synchronize do
          next unless @free.zero?

          @waiting[waiter] += 1
          begin
            @freed.wait(@mutex, timeout)
          ensure
            @waiting.delete(waiter) if (@waiting[waiter] -= 1).zero?
          end
        end
      end

      # True when someone other than `waiter` waits for a slot now.
      def others_waiting?(waiter)
        @mutex.synchronize { @waiting.any? { |who, _| who != waiter } }
      end

      def free
        @mutex.synchronize { @free }
      end
    end
  end
end
