# frozen_string_literal: true

require_relative "admin_helper"

# The decision of spec/fixtures/templates/read_model_dynamic.yml: only express.
module SpecWorkflows
  class ChooseExpress < TaskerCore::StepHandler::Base
    def call(_task, _sequence, _step)
      TaskerCore::Decision.run(:express)
    end
  end
end

# Admin#task over a dynamic workflow run by the embedded orchestrator and a real worker
# (spec/fixtures/templates/read_model_dynamic.yml): a decision that skips a branch and, in
# turn, the step after it; a step waiting for a signal, then signalled through SQL
# tasker_signal; a sleep, still waiting when the task is cancelled. No fixture rows here.
RSpec.describe "TaskerCore::Admin#task (a real dynamic workflow)" do
  include AdminHelpers

  before(:context) do
    TaskerSpec::Runtime.ensure_started
    @uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "read_model_dynamic", version: "1.0.0", context: {})
  end

  # nap sleeps for 600 s: the task is cancelled rather than left running.
  after(:context) do
    reader = TaskerCore::Admin.new
    state = reader.task(@uuid)&.fetch("state")
    reader.close
    TaskerCore::Operator.current.cancel(@uuid, actor: "spec") if state == "in_progress"
  end

  def step(task, name)
    task["steps"].find { |s| s["name"] == name }
  end

  def task_when(describe)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    loop do
      task = admin.task(@uuid)
      return task if task && yield(task)
      raise "timed out waiting for #{describe}: #{task&.fetch('steps')&.map { |s| [s['name'], s['state']] }}" if
        Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.05
    end
  end

  it "shows the skipped branch decided by route, the waits and their transitions, then the signal" do
    task = task_when("approve and nap waiting") { |t| %w[approve nap].all? { |n| step(t, n)["state"] == "waiting" } }
    expect(task).to include("state" => "in_progress", "steps_skipped" => 2, "steps_waiting" => 2, "map_items" => 0,
                            "parent_task_uuid" => nil, "parent_step" => nil)
    expect(step(task, "route")).to include("step_type" => "decision", "state" => "complete", "note" => "chose: express",
                                           "settings" => include("branches" => %w[express gift_wrap]))
    expect(step(task, "gift_wrap")).to include("state" => "skipped", "skipped" => { "reason" => "not_chosen", "decided_by" => "route" },
                                               "note" => "skipped: not chosen by route")
    expect(step(task, "wrap_note")).to include("state" => "skipped", "note" => "skipped: every parent skipped by route",
                                               "skipped" => { "reason" => "parents_skipped", "decided_by" => "route" })
    approve = step(task, "approve")
    expect(approve).to include("step_type" => "wait_for_signal", "handler" => "", "signal_sent_at" => nil,
                               "waiting_for" => include("kind" => "signal", "signal" => "approve", "timeout_s" => 600,
                                                        "on_timeout" => "fail"))
    expect(approve["wake_at"]).to match(AdminHelpers::ISO_MS)
    expect(Time.iso8601(approve["wake_at"])).to be_within(30).of(Time.now + 600)
    expect(approve["note"]).to eq("waits for signal approve (timeout 600s, then fail) until #{approve['wake_at']}")
    nap = step(task, "nap")
    expect(nap).to include("step_type" => "sleep", "waiting_for" => { "kind" => "timer", "until" => nap["wake_at"] },
                           "note" => "sleeps until #{nap['wake_at']}")
    reasons = task["transitions"].select { |tr| tr["scope"] == "step" }.to_h { |tr| [[tr["step"], tr["to_state"]], tr] }
    expect(reasons[%w[gift_wrap skipped]]).to include("reason" => "not_chosen", "metadata" => { "decided_by" => "route" })
    expect(reasons[%w[approve waiting]]).to include("reason" => "waiting_for_signal",
                                                    "metadata" => include("signal" => "approve"))
    expect(reasons[%w[nap waiting]]).to include("reason" => "sleeping")
    expect(admin.tasks(step_state: "waiting", template: "read_model_dynamic")["tasks"].map { |t| t["uuid"] }).to include(@uuid)
    expect(admin.tasks(step_state: "skipped", template: "read_model_dynamic")["tasks"].map { |t| t["uuid"] }).to include(@uuid)
    expect(admin.step_counts).to include("waiting" => be >= 2, "skipped" => be >= 2)
    context = TaskerCore::SqlFunctions.task_execution_context(@uuid)
    expect(context).to include("total_steps" => 7, "skipped_steps" => 2, "waiting_steps" => 2, "dynamic_steps" => 0,
                               "execution_status" => "processing")
    readiness = TaskerCore::SqlFunctions.step_readiness_status(@uuid).to_h { |row| [row["name"], row] }
    expect(readiness["nap"]).to include("step_type" => "sleep", "map_step" => nil, "item_index" => nil,
                                        "wake_at" => be_a(Time))

    TaskerSpec::Database.query("SELECT tasker_signal($1::uuid, 'approve', '{\"ok\": true}'::jsonb)", [@uuid])
    task = task_when("finish complete") { |t| step(t, "finish")["state"] == "complete" }
    expect(step(task, "approve")).to include("state" => "complete", "results" => { "ok" => true }, "waiting_for" => nil,
                                             "note" => nil)
    expect(step(task, "approve")["signal_sent_at"]).to match(AdminHelpers::ISO_MS)
    signalled = task["transitions"].find { |tr| tr["step"] == "approve" && tr["to_state"] == "complete" }
    expect(signalled).to include("reason" => "signalled", "metadata" => { "signal" => "approve" })
    expect(task).to include("state" => "in_progress", "steps_waiting" => 1) # nap sleeps on
  end
end
