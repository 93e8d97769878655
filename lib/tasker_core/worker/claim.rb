# frozen_string_literal: true

require_relative "../instrumentation/traceparent"

module TaskerCore
  module Worker
    # What the database said of a step message (tasker_claim_message). `verdict` is
    # "claimed" (the step is now in_progress: run it), "invalid" (malformed), "mismatch"
    # (its identity disagrees with the step's row) or "ignored" (unknown step, another
    # attempt, finished step, task not running); `reason` says why for all but "claimed".
    # A claimed step's claim also carries its task's context, its parents' results and the
    # traceparent its task was enqueued with (nil for an untraced task). step_details is nil
    # for a plain step none of whose parents was skipped, else {"type", "skipped" => [parent
    # names], and "index", "item", "map" for an item of a map step, "branches" for a decision}.
    Claim = Struct.new(:verdict, :reason, :step_state, :task_context, :parent_results, :task_uuid, :traceparent,
                       :step_details, keyword_init: true) do
      def claimed?
        verdict == "claimed"
      end

      # {"traceparent" => ...} or nil: what the handler sees as task.trace_context.
      def trace_context
        Instrumentation::Traceparent.context(traceparent)
      end
    end
  end
end
