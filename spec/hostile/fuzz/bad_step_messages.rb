# frozen_string_literal: true

module QueueFuzz
  # Step messages naming steps that cannot run: finished ones, or another attempt of them.
  # (Forgeries of steps still enqueued are in forgeries.rb; unknown_step in bad_results.rb.)
  class BadMessages
    private

    def finished_step(queue)
      pick(@realm.finished_steps.select { |step| "#{step['namespace']}_queue" == queue })
    end

    def build_finished_step(queue, _base)
      [JSON.generate(finished_step(queue))]
    end

    def build_finished_step_other_attempt(queue, _base)
      step = finished_step(queue)
      [JSON.generate(step.merge("attempt" => step["attempt"] + 1))]
    end
  end
end
