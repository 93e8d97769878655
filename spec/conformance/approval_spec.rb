# frozen_string_literal: true

require "spec_helper"

# approval_workflow/order_approval (examples/): a map step prices each line, a decision routes
# large orders to a person, who approves through a signal, a sleep pauses, a child task ships.
RSpec.describe "conformance: order approval (map, decision, signal, sleep, child task)" do
  def order(id, unit_price_cents, lines: 12)
    { "order_id" => id,
      "lines" => Array.new(lines) { |i| { "sku" => "SKU-#{i}", "quantity" => i + 1, "unit_price_cents" => unit_price_cents } } }
  end

  def enqueue(context)
    TaskerSpec::Runtime.ensure_started
    TaskerCore.enqueue(namespace: "approval_workflow", name: "order_approval", version: "1.0.0", context: context)
  end

  def step_state(uuid, step)
    TaskerCore.task(uuid)&.dig("steps", step, "state")
  end

  def transition_notes(uuid, step)
    TaskerSpec::Database.query(<<~SQL, [uuid, step]).map { |r| [r["reason"], JSON.parse(r["metadata"])] }
      SELECT tr.reason, tr.metadata FROM tasker_step_transitions tr
        JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND s.name = $2 ORDER BY tr.id
    SQL
  end

  it "approves a small order at once, skipping the review, and ships it through a child task" do
    uuid = enqueue(order("ord_small", 250))
    task = TaskerCore.wait(uuid, timeout: 30)
    expect(task["state"]).to eq("complete")
    steps = task["steps"]
    expect(steps["price_lines"]["results"].map { |line| line["index"] }).to eq((0..11).to_a)
    expect(steps.keys.grep(/\Aprice_lines\[\d+\]\z/).size).to eq(12)
    expect(steps["price_lines[3]"]).to include("state" => "complete", "index" => 3, "map" => "price_lines")
    expect(steps["route"]["results"]).to eq("branches" => ["auto_approve"])
    expect(steps["manual_review"]["state"]).to eq("skipped")
    expect(transition_notes(uuid, "manual_review").last).to eq(["not_chosen", { "decided_by" => "route" }])
    expect(steps["cool_off"]["results"]).to include("slept_until")
    child = TaskerCore.task(steps["ship"]["child_task_uuid"])
    expect(child).to include("state" => "complete", "parent" => { "task_uuid" => uuid, "step" => "ship" })
    expect(steps["confirm"]["results"]).to include("approved_by" => "auto", "total_cents" => 78 * 250)
  end

  it "waits for a person's approval (a signal sent while the step waits) before shipping a large order" do
    uuid = enqueue(order("ord_large", 2_500))
    wait_for(timeout: 30) { step_state(uuid, "manual_review") == "waiting" }
    expect(TaskerCore.task(uuid)["state"]).to eq("in_progress")
    TaskerCore.signal(uuid, "approval", { "approved_by" => "ada@example.com" })
    task = TaskerCore.wait(uuid, timeout: 30)
    expect(task["steps"]["auto_approve"]["state"]).to eq("skipped")
    expect(task["steps"]["manual_review"]["results"]).to eq("approved_by" => "ada@example.com")
    expect(task["steps"]["confirm"]["results"]).to include("approved_by" => "ada@example.com", "total_cents" => 78 * 2_500)
    expect { TaskerCore.signal(uuid, "approval", {}) }.to raise_error(TaskerCore::SignalError, /is complete/)
  end

  it "keeps a signal sent before its step waits and consumes it when the step does" do
    uuid = enqueue(order("ord_early", 2_500, lines: 40))
    wait_for(timeout: 30) { TaskerCore.task(uuid) }
    TaskerCore.signal(uuid, "approval", { "approved_by" => "early@example.com" })
    expect { TaskerCore.signal(uuid, "approval", {}) }.to raise_error(TaskerCore::SignalError, /already sent signal approval/)
    task = TaskerCore.wait(uuid, timeout: 30)
    expect(task["steps"]["confirm"]["results"]).to include("approved_by" => "early@example.com")
  end
end
