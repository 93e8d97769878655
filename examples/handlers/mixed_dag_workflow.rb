# frozen_string_literal: true

# init = n**2; left = right = init**2 = n**4; validate = (left * right)**2 = n**16;
# transform = left**2 = n**8; analyze = right**2 = n**8;
# finalize = (validate * transform * analyze)**2 = (n**32)**2 = n**64.
module MixedDagWorkflow
  class Init < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context.fetch("even_number")**2
    end
  end

  class ProcessLeft < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["dag_init"]**2
    end
  end

  class ProcessRight < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["dag_init"]**2
    end
  end

  class Validate < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      (sequence["dag_process_left"] * sequence["dag_process_right"])**2
    end
  end

  class Transform < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["dag_process_left"]**2
    end
  end

  class Analyze < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["dag_process_right"]**2
    end
  end

  class Finalize < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      (sequence["dag_validate"] * sequence["dag_transform"] * sequence["dag_analyze"])**2
    end
  end
end
