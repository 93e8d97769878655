# frozen_string_literal: true

module Bench
  # Does nothing, so that what is measured is the engine.
  class Noop < TaskerCore::StepHandler::Base
    def call(_task, _sequence, step)
      step.attempt
    end
  end
end
