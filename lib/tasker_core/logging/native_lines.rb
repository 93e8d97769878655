# frozen_string_literal: true

module TaskerCore
  module Logging
    # Carries the Rust core's log lines to Logging.output (Rails.logger in a Rails app).
    # The core writes each line to a pipe it opened for us; a thread here reads the pipe and
    # writes the lines, unchanged, to the output. Nothing calls into Ruby from the core's
    # threads. Attached while an orchestrator runs with an explicit output; without one the
    # core writes to stderr itself, as before.
    module NativeLines
      @mutex = Mutex.new
      @pid = nil
      @thread = nil

      class << self
        # Idempotent; in a forked child it opens a pipe of the child's own (the parent's
        # reader thread is not in the child).
        def attach
          @mutex.synchronize do
            return if @pid == Process.pid && @thread&.alive?

            reader = IO.for_fd(Native._open_log_pipe_private, "r", autoclose: true)
            @pid = Process.pid
            @thread = Thread.new { forward(reader) }
            @thread.name = "tasker_core.native_lines"
          end
        end

        # The core writes to stderr again; returns once every line written so far has
        # reached the output (at most `timeout` seconds).
        def detach(timeout: 2)
          @mutex.synchronize do
            return unless @pid == Process.pid && @thread

            Native._close_log_pipe_private
            @thread.join(timeout)
            @thread = nil
          end
        end

        def attached?
          @pid == Process.pid && @thread&.alive? ? true : false
        end

        private

        def forward(reader)
          reader.each_line { |line| Logging.write_line(line) }
        rescue IOError, SystemCallError
          nil
        ensure
          reader.close unless reader.closed?
        end
      end
    end
  end
end
