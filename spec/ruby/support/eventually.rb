# frozen_string_literal: true

# Polls a block until it returns a truthy value (or fails the example after `timeout`).
module Eventually
  def eventually(timeout: 5, interval: 0.02)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      value = yield
      return value if value
      raise "condition not met within #{timeout}s" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep interval
    end
  end
end
