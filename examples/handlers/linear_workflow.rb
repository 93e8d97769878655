# frozen_string_literal: true

# Each step squares what came before it: even_number -> n**2 -> n**4 -> n**8 -> n**16.
module LinearWorkflow
  class StepOne < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context.fetch("even_number")**2
    end
  end

  class StepTwo < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["linear_step_1"]**2
    end
  end

  class StepThree < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["linear_step_2"]**2
    end
  end

  class StepFour < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["linear_step_3"]**2
    end
  end
end
