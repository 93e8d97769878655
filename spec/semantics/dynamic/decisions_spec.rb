# frozen_string_literal: true

require "spec_helper"

# Decision steps through the embedded orchestrator and a real worker
# (spec/fixtures/templates/dynamic/decision.yml: route decides between a and b; after_b
# depends on b only; join converges on a and b).
RSpec.describe "decision steps" do
  def decide(context)
    run_task("dynamic_workflows", "decision", context)
  end

  it "runs the chosen branch, skips the other and what only it leads to, and converges" do
    task = decide({ "choose" => ["a"] })
    expect(task["state"]).to eq("complete")
    steps = task["steps"]
    expect(steps["route"]).to include("state" => "complete", "type" => "decision", "results" => { "branches" => ["a"] })
    expect(steps["a"]).to include("state" => "complete", "results" => { "step" => "a", "type" => "task", "parents" => ["route"] })
    expect(steps["b"]["state"]).to eq("skipped")
    expect(steps["after_b"]["state"]).to eq("skipped")
    expect(steps["join"]).to include("state" => "complete")
    expect(steps["join"]["results"]).to eq("a" => steps["a"]["results"], "b" => nil, "has_b" => false,
                                           "a_skipped" => false, "b_skipped" => true, "type" => "task")
  end

  it "completes a task whose remaining steps are all skipped (Decision.none)" do
    task = decide({ "choose" => [] })
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["route"]["results"]).to eq("branches" => [])
    expect(task["steps"].values_at("a", "b", "after_b", "join").map { |s| s["state"] }).to all(eq("skipped"))
  end

  it "runs both branches when both are chosen" do
    task = decide({ "choose" => %w[b a] })
    expect(task["steps"].values.map { |s| s["state"] }.uniq).to eq(["complete"])
    expect(task["steps"]["join"]["results"]).to include("has_b" => true, "b_skipped" => false)
  end

  it "fails the decision step for good when it names an undeclared branch, naming the declared ones" do
    task = decide({ "choose" => %w[a c] })
    expect(task["state"]).to eq("error")
    error = task["steps"]["route"]["error"]
    expect(error).to include("retryable" => false)
    expect(error["message"]).to match(/chose c, not among its declared branches \(a, b\)/)
  end

  it "fails the decision step for good when it returns something else than a Decision" do
    task = decide({ "return" => { "branches" => ["a"] } })
    expect(task["state"]).to eq("error")
    expect(task["steps"]["route"]["error"]).to include("retryable" => false)
    expect(task["steps"]["route"]["error"]["message"])
      .to match(/must return TaskerCore::Decision.run\(...\) or TaskerCore::Decision.none \(declared branches: a, b\)/)
  end

  it "fails a plain step that returns a Decision" do
    task = run_task("dynamic_workflows", "not_a_decision", { "choose" => ["a"] })
    expect(task["state"]).to eq("error")
    expect(task["steps"]["plain"]["error"]).to include("retryable" => false)
    expect(task["steps"]["plain"]["error"]["message"]).to match(/is not a decision step \(type task\)/)
  end
end
