# frozen_string_literal: true

# root = n**2; each branch squares the root and each leaf squares its branch (n**8 per leaf);
# final = (d * e * f * g)**2 = n**64.
module TreeWorkflow
  class Root < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context.fetch("even_number")**2
    end
  end

  class BranchLeft < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["tree_root"]**2
    end
  end

  class BranchRight < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["tree_root"]**2
    end
  end

  class LeafD < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["tree_branch_left"]**2
    end
  end

  class LeafE < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["tree_branch_left"]**2
    end
  end

  class LeafF < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["tree_branch_right"]**2
    end
  end

  class LeafG < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      sequence["tree_branch_right"]**2
    end
  end

  class Final < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      (sequence["tree_leaf_d"] * sequence["tree_leaf_e"] * sequence["tree_leaf_f"] * sequence["tree_leaf_g"])**2
    end
  end
end
