# frozen_string_literal: true

require "spec_helper"

# Child tasks through the embedded orchestrator and a real worker
# (spec/fixtures/templates/dynamic/parent.yml: spawn awaits a child task of child.yml, whose
# one step doubles n; after_child sees spawn's result).
RSpec.describe "child tasks (step.await_task)" do
  it "waits for the child, whose result becomes the step's, and links parent and child both ways" do
    # The handler calls await_task inside `rescue Exception`: the run ends anyway.
    task = run_task("dynamic_workflows", "parent", { "n" => 21, "rescue_everything" => true })
    expect(task["state"]).to eq("complete")
    spawn = task["steps"]["spawn"]
    expect(spawn).to include("state" => "complete", "results" => 42, "attempts" => 1)
    expect(task["steps"]["after_child"]["results"]).to eq("got" => { "spawn" => 42 })
    expect(task["parent"]).to be_nil

    child_uuid = spawn.fetch("child_task_uuid")
    child = TaskerCore.task(child_uuid)
    expect(child).to include("state" => "complete", "name" => "child", "context" => { "n" => 21, "sleep" => 0 })
    expect(child["steps"]["double"]["results"]).to eq(42)
    expect(child["parent"]).to eq("task_uuid" => task["uuid"], "step" => "spawn")
    expect(step_transitions(task["uuid"], "spawn")).to include(%w[in_progress waiting])
  end

  it "fails the step for good when the child task is refused (an unknown template)" do
    task = run_task("dynamic_workflows", "parent", { "n" => 1, "child" => "no_such_child" })
    expect(task["state"]).to eq("error")
    expect(task["steps"]["spawn"]["state"]).to eq("error")
  end

  it "refuses a bad child name in the handler, saying what is wrong" do
    task = run_task("dynamic_workflows", "parent", { "n" => 1, "child" => "Bad-Name" })
    expect(task["state"]).to eq("error")
    error = task["steps"]["spawn"]["error"]
    expect(error).to include("class" => "TaskerCore::PermanentError", "retryable" => false)
    expect(error["message"]).to match(/step.await_task: name must match/)
  end

  it "fails the step when the child task fails" do
    task = run_task("dynamic_workflows", "parent", { "n" => 1, "child" => "failing_child" })
    expect(task["state"]).to eq("error")
    expect(task["steps"]["spawn"]["state"]).to eq("error")
    child = TaskerCore.task(task["steps"]["spawn"].fetch("child_task_uuid"))
    expect(child["state"]).to eq("error")
    expect(task["steps"]["after_child"]["state"]).to eq("pending")
  end

  it "shows the waiting step's child while it runs, and cancels the child with its parent" do
    TaskerSpec::Runtime.ensure_started
    uuid = TaskerCore.enqueue(namespace: "dynamic_workflows", name: "parent", version: "1.0.0",
                              context: { "n" => 1, "child" => "slow_child", "child_sleep" => 2 })
    spawn = wait_for { TaskerCore.task(uuid)&.dig("steps", "spawn")&.then { |s| s if s["state"] == "waiting" } }
    child_uuid = spawn.fetch("child_task_uuid")
    wait_for { TaskerCore.task(child_uuid) }
    TaskerCore.cancel(uuid)
    expect(TaskerCore.wait(uuid)["state"]).to eq("cancelled")
    expect(TaskerCore.wait(child_uuid)["state"]).to eq("cancelled")
  end

  it "lets each item of a map step await a child task of its own" do
    task = run_task("dynamic_workflows", "map_children", { "items" => [1, 2, 3] })
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["spawn_each"]["results"]).to eq([2, 4, 6])
    children = (0..2).map { |i| task["steps"]["spawn_each[#{i}]"].fetch("child_task_uuid") }
    expect(children.uniq.size).to eq(3)
    expect(TaskerCore.task(children.last)["parent"]).to eq("task_uuid" => task["uuid"], "step" => "spawn_each[2]")
  end
end
