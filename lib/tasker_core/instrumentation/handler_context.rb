# frozen_string_literal: true

module TaskerCore
  module Instrumentation
    # What is known of the handler running on this thread beyond its step message: the
    # worker's id and the task's trace context. Hooks.around_handler wrappers receive only the
    # step message, so a tracer (or the step.tasker_core event) reads the rest here.
    #
    #   TaskerCore::Hooks.around_handler do |step, &run|
    #     parent = TaskerCore::Instrumentation::HandlerContext.current&.trace_context
    #     ...
    #   end
    module HandlerContext
      KEY = :tasker_core_handler_context
      Current = Struct.new(:worker_id, :trace_context, keyword_init: true)

      module_function

      # Runs the block with `current` set on this thread (restored after, even when nested).
      def running(worker_id:, trace_context:)
        previous = Thread.current[KEY]
        Thread.current[KEY] = Current.new(worker_id: worker_id, trace_context: trace_context).freeze
        yield
      ensure
        Thread.current[KEY] = previous
      end

      # The running handler's context, or nil outside a handler call.
      def current
        Thread.current[KEY]
      end
    end
  end
end
