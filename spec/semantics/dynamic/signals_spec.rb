# frozen_string_literal: true

require "spec_helper"

# Signals through the embedded orchestrator and a real worker
# (spec/fixtures/templates/dynamic/approval.yml: prepare sleeps context sleep seconds, then
# approval waits for signal approval; ship sees its payload).
RSpec.describe "signals (TaskerCore.signal)" do
  def start(sleep_s)
    TaskerSpec::Runtime.ensure_started
    uuid = TaskerCore.enqueue(namespace: "dynamic_workflows", name: "approval", version: "1.0.0",
                              context: { "sleep" => sleep_s })
    wait_for { TaskerCore.task(uuid) }
    uuid
  end

  def state_of(uuid, step)
    TaskerCore.task(uuid)["steps"][step]["state"]
  end

  it "completes the waiting step with the payload, then refuses a second signal and one to the finished task" do
    uuid = start(0)
    wait_for(describe: -> { TaskerCore.task(uuid).inspect }) { state_of(uuid, "approval") == "waiting" }
    id = TaskerCore.signal(uuid, "approval", { "by" => "ops", approved: true })
    expect(id).to be_a(Integer)
    expect { TaskerCore.signal(uuid, :approval, 1) }
      .to raise_error(TaskerCore::SignalError, /already sent signal approval/)

    task = TaskerCore.wait(uuid)
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["approval"]).to include("state" => "complete", "type" => "wait_for_signal",
                                                 "results" => { "by" => "ops", "approved" => true })
    expect(task["steps"]["ship"]["results"]).to eq("got" => { "approval" => { "by" => "ops", "approved" => true } })
    expect(step_transitions(uuid, "approval")).to include(%w[pending waiting])
    expect { TaskerCore.signal(uuid, "approval") }.to raise_error(TaskerCore::SignalError, /finished task/)
  end

  it "keeps a signal sent before the step waits and consumes it when it does" do
    uuid = start(1)
    expect(state_of(uuid, "approval")).to eq("pending")
    TaskerCore.signal(uuid, "approval", "early")
    task = TaskerCore.wait(uuid)
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["approval"]["results"]).to eq("early")
    consumed = TaskerSpec::Database.query(<<~SQL, [uuid]).first
      SELECT g.consumed_at IS NOT NULL AS consumed, s.name FROM tasker_signals g
        JOIN tasker_tasks t ON t.id = g.task_id JOIN tasker_workflow_steps s ON s.id = g.consumed_by_step_id
       WHERE t.uuid = $1
    SQL
    expect(consumed).to eq("consumed" => "t", "name" => "approval")
  end

  it "sends a null payload and refuses a signal no step waits for, or to an unknown task" do
    uuid = start(0)
    expect { TaskerCore.signal(uuid, "shipment") }.to raise_error(TaskerCore::SignalError, /waits for approval/)
    expect { TaskerCore.signal(SecureRandom.uuid, "approval") }.to raise_error(TaskerCore::TaskNotFound, /not found/)
    TaskerCore.signal(uuid, "approval")
    task = TaskerCore.wait(uuid)
    expect(task["steps"]["approval"]).to include("state" => "complete", "results" => nil)
  end
end
