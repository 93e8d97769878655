# frozen_string_literal: true

require "spec_helper"

# mixed_dag_workflow/complex_dag: init -> left, right; validate <- left, right;
# transform <- left; analyze <- right; finalize <- validate, transform, analyze.
RSpec.describe "conformance: mixed DAG workflow" do
  def expected_results(n)
    init = n**2
    left = init**2
    right = init**2
    validate = (left * right)**2
    transform = left**2
    analyze = right**2
    { "dag_init" => init, "dag_process_left" => left, "dag_process_right" => right, "dag_validate" => validate,
      "dag_transform" => transform, "dag_analyze" => analyze,
      "dag_finalize" => (validate * transform * analyze)**2 }
  end

  it "expects n**64: validate n**16, transform and analyze n**8" do
    expect(expected_results(2)).to include("dag_validate" => 2**16, "dag_transform" => 2**8, "dag_analyze" => 2**8,
                                           "dag_finalize" => 2**64)
  end

  [2, 6].each do |n|
    it "computes every step for even_number #{n} (final n**64 = #{n**64})" do
      task = run_task("mixed_dag_workflow", "complex_dag", { "even_number" => n })
      expect(task["state"]).to eq("complete")
      expect(task["steps"].transform_values { |s| s["results"] }).to eq(expected_results(n))
      expect(task["steps"]["dag_finalize"]["results"]).to eq(n**64)
      expect(task["steps"].values.map { |s| [s["state"], s["attempts"], s["error"]] }.uniq).to eq([["complete", 1, nil]])
    end
  end
end
