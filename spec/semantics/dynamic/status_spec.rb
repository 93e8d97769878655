# frozen_string_literal: true

require "spec_helper"

# The status functions (TaskerCore::SqlFunctions) on dynamic workflows: skipped, waiting and
# dynamic steps counted and typed.
RSpec.describe "status functions of dynamic workflows" do
  it "counts skipped and dynamic steps, and lists items with their index and map step" do
    task = run_task("dynamic_workflows", "decision", { "choose" => ["a"] })
    context = TaskerCore::SqlFunctions.task_execution_context(task["uuid"])
    expect(context).to include("execution_status" => "all_complete", "skipped_steps" => 2, "completed_steps" => 3,
                               "waiting_steps" => 0, "dynamic_steps" => 0, "completion_percentage" => 100.0)

    task = run_task("dynamic_workflows", "map", { "items" => %w[x y z] })
    context = TaskerCore::SqlFunctions.task_execution_context(task["uuid"])
    expect(context).to include("total_steps" => 3, "completed_steps" => 3, "dynamic_steps" => 3)
    items = TaskerCore::SqlFunctions.step_readiness_status(task["uuid"]).select { |s| s["map_step"] }
    expect(items.map { |s| [s["name"], s["step_type"], s["map_step"], s["item_index"]] })
      .to eq((0..2).map { |i| ["price[#{i}]", "map_item", "price", i] })
  end

  it "counts a waiting step and gives a signal wait's timeout as a Time" do
    TaskerSpec::Runtime.ensure_started
    uuid = TaskerCore.enqueue(namespace: "dynamic_workflows", name: "approval", version: "1.0.0", context: {})
    wait_for { TaskerCore.task(uuid)&.dig("steps", "approval", "state") == "waiting" }
    expect(TaskerCore::SqlFunctions.task_execution_context(uuid)).to include("waiting_steps" => 1,
                                                                             "execution_status" => "processing")
    approval = TaskerCore::SqlFunctions.step_readiness_status(uuid).find { |s| s["name"] == "approval" }
    expect(approval["wake_at"]).to be_a(Time)
    expect(approval["wake_at"]).to be_within(10).of(Time.now + 60)
    expect(TaskerCore.task(uuid)["steps"]["approval"]["wake_at"]).to eq(approval["wake_at"].utc.iso8601(3))
    TaskerCore.signal(uuid, "approval", true)
    expect(TaskerCore.wait(uuid)["state"]).to eq("complete")
  end
end
