# frozen_string_literal: true

module Bench
  # Does nothing, so that what is measured is the engine.
  class Noop < TaskerCore::StepHandler::Base
    def call(_task, _sequence, step)
      step.attempt
    end
  end

  # The elements a map step maps over: 0...context["n"].
  class Items < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      Array.new(task.context.fetch("n")) { |i| i }
    end
  end
end
