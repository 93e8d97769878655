# frozen_string_literal: true

require "spec_helper"

# diamond_workflow/diamond_pattern: start -> branch_b, branch_c -> end = (b*c)**2.
RSpec.describe "conformance: diamond workflow" do
  def expected_results(n)
    start = n**2
    branch_b = start**2
    branch_c = start**2
    { "diamond_start" => start, "diamond_branch_b" => branch_b, "diamond_branch_c" => branch_c,
      "diamond_end" => (branch_b * branch_c)**2 }
  end

  [2, 6].each do |n|
    it "computes every step for even_number #{n} (final n**16 = #{n**16})" do
      task = run_task("diamond_workflow", "diamond_pattern", { "even_number" => n })
      expect(task["state"]).to eq("complete")
      expect(task["steps"].transform_values { |s| s["results"] }).to eq(expected_results(n))
      expect(task["steps"]["diamond_end"]["results"]).to eq(n**16)
      expect(task["steps"].values.map { |s| [s["state"], s["attempts"], s["error"]] }.uniq).to eq([["complete", 1, nil]])
    end
  end
end
