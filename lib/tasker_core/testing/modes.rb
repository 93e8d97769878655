# frozen_string_literal: true

module TaskerCore
  module Testing
    # The testing modes behind one Hooks.around_enqueue wrapper. The mode is global to the
    # process (handler threads enqueue too), as Sidekiq::Testing's is. Every enqueue that
    # succeeds, in any mode, is also offered to the Recorder (the enqueue_task matchers).
    module Modes
      @mode = :disable
      @enqueued = []
      @mutex = Mutex.new
      @wrapper = nil

      module_function

      def current
        @mode
      end

      # Sets the mode; with a block, only for the block (the previous mode comes back after it).
      def switch(mode, &block)
        raise ArgumentError, "mode must be one of #{MODES.inspect}, got #{mode.inspect}" unless MODES.include?(mode)

        previous = @mode
        @mode = mode
        return mode unless block

        begin
          yield
        ensure
          @mode = previous
        end
      end

      # The fake mode's record (the very Array: `enqueued.clear` empties it).
      def enqueued
        @enqueued
      end

      def take_enqueued
        @mutex.synchronize { @enqueued.slice!(0..) }
      end

      # Registers the one enqueue wrapper (once); returns it.
      def install
        wrapper
      end

      def wrapper
        @mutex.synchronize { @wrapper ||= Hooks.around_enqueue { |request, &send| enqueue(request, send) } }
      end

      def enqueue(request, send)
        entry = case @mode
                when :fake then record_fake(request)
                when :inline then run_inline(request)
                else Recorder.entry(request, send.call)
                end
        Recorder.record(entry)
        entry[:uuid]
      end

      # Validated exactly as a real enqueue, so an invalid request raises the same error.
      def record_fake(request)
        entry = Recorder.entry_of(build(request))
        @mutex.synchronize { @enqueued << entry }
        entry
      end

      # Sent on the client's own pool whatever connection the caller gave: a request inside
      # the test's transaction would never reach the orchestrator while this waits.
      def run_inline(request)
        built = build(request)
        TaskRun.run([built], timeout: TaskRun::TIMEOUT, on_conflict: request.fetch(:on_conflict, :record))
        Recorder.entry_of(built)
      end

      def build(request)
        connection = request[:connection]
        built = Client.build_request(**request.except(:connection))
        Client.check_connection(connection) unless connection.nil? || connection == :own
        built
      end
      private_class_method :record_fake, :run_inline, :build
    end
  end
end
