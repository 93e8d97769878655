# frozen_string_literal: true

module QueueFuzz
  # Step results that no worker produced: for steps that do not exist, or that finished.
  class BadMessages
    HUGE_NUMBERS = ["1e309", "-1e309", "1e-400", "[1e309,2e308]", "{\"n\":1e400}", "9" * 400].freeze

    private

    # Results and errors from a real worker look like this; the step does not exist.
    # (A step_queue's unknown_step is in bad_step_messages.rb.)
    def build_unknown_step(queue, base)
      return [JSON.generate(base)] unless queue == STEP_RESULTS
      return [splice(base, "results", @jt.value(depth: 4))] if @random.rand < 0.5

      error = { "class" => "RuntimeError", "message" => @jt.string, "retryable" => @random.rand < 0.5,
                "retry_after" => nil, "backtrace" => [] }
      [JSON.generate(base.merge("status" => "failure", "results" => nil, "error" => error))]
    end

    # A result as the worker that finished `step` sent it (a warm-up step, complete).
    def finished_result(step = pick(@realm.finished_steps))
      @look.result("task_uuid" => step["task_uuid"], "step_uuid" => step["step_uuid"],
                   "step_name" => step["step_name"], "attempt" => step["attempt"])
    end

    # A second result for a step that already completed (it must keep its first result).
    def build_result_for_finished_step(_queue, _base)
      [splice(finished_result, "results", @jt.value(depth: 3))]
    end

    # An attempt before the one the step finished at (the flaky warm-up step's 1 or 2).
    def build_result_stale_attempt(_queue, _base)
      step = pick(@realm.finished_steps.select { |s| s["attempt"] > 1 })
      result = finished_result(step)
      [JSON.generate(result.merge("attempt" => field_value("attempt", @random.rand(1...step["attempt"]))))]
    end

    def build_result_next_attempt(_queue, _base)
      result = finished_result
      [JSON.generate(result.merge("attempt" => result["attempt"] + 1))]
    end

    def build_result_names_other_task(_queue, _base)
      result = finished_result
      others = @realm.task_uuids - [result["task_uuid"]] + [@look.uuid]
      [JSON.generate(result.merge("task_uuid" => pick(others)))]
    end

    def build_result_names_other_step(_queue, _base)
      result = finished_result
      [JSON.generate(result.merge("step_name" => pick(%w[linear_step_1 linear_step_3 echo] - [result["step_name"]])))]
    end

    def build_huge_number_results(_queue, base)
      [splice(base, "results", field_value("results", pick(HUGE_NUMBERS)))]
    end
  end
end
