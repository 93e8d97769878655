# frozen_string_literal: true

require "spec_helper"

RSpec.describe "status SQL functions" do
  before { TaskerSpec::Runtime.ensure_started }

  it "reports a complete task" do
    task = run_task("diamond_workflow", "diamond_pattern", { "even_number" => 2 })
    context = TaskerCore::SqlFunctions.task_execution_context(task["uuid"])
    expect(context).to include("task_state" => "complete", "total_steps" => 4, "completed_steps" => 4,
                               "failed_steps" => 0, "ready_steps" => 0, "execution_status" => "all_complete",
                               "recommended_action" => "finalize_task", "completion_percentage" => 100.0)
    readiness = TaskerCore::SqlFunctions.step_readiness_status(task["uuid"])
    expect(readiness.map { |s| s["name"] }).to eq(%w[diamond_start diamond_branch_b diamond_branch_c diamond_end])
    expect(readiness.map { |s| s["dependencies_satisfied"] }.uniq).to eq([true])
  end

  it "lets blocked_by_failures take precedence over ready steps" do
    task = run_task("spec_workflows", "failing_chain", {})
    context = TaskerCore::SqlFunctions.task_execution_context(task["uuid"])
    expect(context).to include("failed_steps" => 1, "completed_steps" => 2, "pending_steps" => 1,
                               "execution_status" => "blocked_by_failures", "recommended_action" => "handle_failures",
                               "completion_percentage" => 50.0)
    # Make the blocked step look ready: failures still win.
    TaskerSpec::Database.query(<<~SQL, [task["uuid"]])
      UPDATE tasker_workflow_steps s SET remaining_parents = 0 FROM tasker_tasks t
       WHERE t.id = s.task_id AND t.uuid = $1 AND s.name = 'ship'
    SQL
    context = TaskerCore::SqlFunctions.task_execution_context(task["uuid"])
    expect(context).to include("ready_steps" => 1, "execution_status" => "blocked_by_failures")
    charge = TaskerCore::SqlFunctions.step_readiness_status(task["uuid"]).find { |s| s["name"] == "charge" }
    expect(charge).to include("state" => "error", "retry_eligible" => false, "ready_for_execution" => false)
  end

  it "shows a step waiting for its retry, with the time it becomes ready" do
    uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "retry_later", version: "1.0.0",
                              context: { "retry_after" => 30, "succeed_on" => 2 })
    deadline = Time.now + 10
    sleep 0.02 until TaskerCore.task(uuid)&.dig("steps", "patient", "state") == "waiting_for_retry" || Time.now > deadline
    step = TaskerCore::SqlFunctions.step_readiness_status(uuid).first
    expect(step).to include("state" => "waiting_for_retry", "retry_eligible" => true, "ready_for_execution" => false,
                            "attempts" => 2)
    expect(step["next_retry_at"]).to be_within(3).of(Time.now + 30)
    expect(TaskerCore::SqlFunctions.task_execution_context(uuid))
      .to include("execution_status" => "processing", "recommended_action" => "wait_for_completion")
    TaskerCore.cancel(uuid)
  end

  it "returns nil and [] for an unknown task" do
    expect(TaskerCore::SqlFunctions.task_execution_context(SecureRandom.uuid)).to be_nil
    expect(TaskerCore::SqlFunctions.step_readiness_status(SecureRandom.uuid)).to eq([])
  end
end
