# frozen_string_literal: true

# start = n**2; both branches square start; end = (b * c)**2 = n**16.
module DiamondWorkflow
  class Start < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context.fetch("even_number")**2
    end
  end

  class BranchB < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["diamond_start"]**2
    end
  end

  class BranchC < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["diamond_start"]**2
    end
  end

  class End < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      (sequence["diamond_branch_b"] * sequence["diamond_branch_c"])**2
    end
  end
end
