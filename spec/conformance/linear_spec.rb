# frozen_string_literal: true

require "spec_helper"

# linear_workflow/mathematical_sequence: step_1 -> step_2 -> step_3 -> step_4, each squares
# what came before it.
RSpec.describe "conformance: linear workflow" do
  def expected_results(n)
    step1 = n**2
    step2 = step1**2
    step3 = step2**2
    step4 = step3**2
    { "linear_step_1" => step1, "linear_step_2" => step2, "linear_step_3" => step3, "linear_step_4" => step4 }
  end

  [2, 6].each do |n|
    it "computes every step for even_number #{n} (final n**16 = #{n**16})" do
      task = run_task("linear_workflow", "mathematical_sequence", { "even_number" => n })
      expect(task["state"]).to eq("complete")
      expect(task["steps"].transform_values { |s| s["results"] }).to eq(expected_results(n))
      expect(task["steps"]["linear_step_4"]["results"]).to eq(n**16)
      expect(task["steps"].values.map { |s| [s["state"], s["attempts"], s["error"]] }.uniq).to eq([["complete", 1, nil]])
    end
  end
end
