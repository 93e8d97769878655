# frozen_string_literal: true

require "spec_helper"

# tree_workflow/hierarchical_tree: root -> left, right; left -> d, e; right -> f, g;
# final depends on the four leaves = (d*e*f*g)**2.
RSpec.describe "conformance: tree workflow" do
  def expected_results(n)
    root = n**2
    left = root**2
    right = root**2
    d = left**2
    e = left**2
    f = right**2
    g = right**2
    { "tree_root" => root, "tree_branch_left" => left, "tree_branch_right" => right,
      "tree_leaf_d" => d, "tree_leaf_e" => e, "tree_leaf_f" => f, "tree_leaf_g" => g,
      "tree_final" => (d * e * f * g)**2 }
  end

  it "expects n**64, beyond 64 bits for even_number 2" do
    expect(expected_results(2)["tree_final"]).to eq(2**64).and eq(18_446_744_073_709_551_616)
  end

  [2, 6].each do |n|
    it "computes every step for even_number #{n} (final n**64 = #{n**64})" do
      task = run_task("tree_workflow", "hierarchical_tree", { "even_number" => n })
      expect(task["state"]).to eq("complete")
      expect(task["steps"].transform_values { |s| s["results"] }).to eq(expected_results(n))
      expect(task["steps"]["tree_final"]["results"]).to eq(n**64)
      expect(task["steps"].values.map { |s| [s["state"], s["attempts"], s["error"]] }.uniq).to eq([["complete", 1, nil]])
    end
  end

  it "runs the final step only after all four leaves completed" do
    task = run_task("tree_workflow", "hierarchical_tree", { "even_number" => 2 })
    at = lambda do |states|
      TaskerSpec::Database.query(<<~SQL, [task["uuid"], states]).to_h { |r| [r["name"], Float(r["at"])] }
        SELECT s.name, extract(epoch FROM max(tr.created_at))::float8 AS at FROM tasker_step_transitions tr
          JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
         WHERE t.uuid = $1 AND tr.to_state = $2 GROUP BY s.name
      SQL
    end
    completed = at.call("complete")
    enqueued = at.call("enqueued")
    leaves = %w[tree_leaf_d tree_leaf_e tree_leaf_f tree_leaf_g]
    expect(leaves.map { |leaf| completed.fetch(leaf) }.max).to be <= enqueued.fetch("tree_final")
  end
end
