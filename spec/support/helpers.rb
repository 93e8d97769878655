# frozen_string_literal: true

module TaskerSpec
  # Included in every example group (the process and runtime helpers add to this module in
  # processes.rb and runtime.rb).
  module Helpers
    # The block's value once it is truthy; fails after `timeout` seconds, saying what it
    # waited for (`describe`: a callable answering the text, asked only then).
    def wait_for(timeout: 30, interval: 0.05, describe: nil)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      loop do
        value = yield
        return value if value
        raise "condition not met within #{timeout}s#{describe && ": #{describe.call}"}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep interval
      end
    end
  end
end
