# frozen_string_literal: true

require "spec_helper"

# Every transition an operator action writes names who asked, in its metadata.
RSpec.describe "the actor of operator actions" do
  before { TaskerSpec::Runtime.ensure_started }
  after { SpecWorkflows::Switch.broken = true }

  def enqueue(name, context = {})
    TaskerCore.enqueue(namespace: "spec_workflows", name: name, version: "1.0.0", context: context)
  end

  # [[table, reason, from, to, actor]] of the task's transitions with id > since, in order.
  def transitions(uuid, since = [0, 0])
    rows = TaskerSpec::Database.query(<<~SQL, [uuid, *since])
      SELECT * FROM (
        SELECT 'step' AS t, tr.id, tr.reason, tr.from_state, tr.to_state, tr.metadata->>'actor' AS actor
          FROM tasker_step_transitions tr JOIN tasker_workflow_steps s ON s.id = tr.step_id
          JOIN tasker_tasks t ON t.id = s.task_id WHERE t.uuid = $1 AND tr.id > $2
        UNION ALL
        SELECT 'task', tr.id, tr.reason, tr.from_state, tr.to_state, tr.metadata->>'actor'
          FROM tasker_task_transitions tr JOIN tasker_tasks t ON t.id = tr.task_id WHERE t.uuid = $1 AND tr.id > $3) x
       ORDER BY t, id
    SQL
    rows.map { |row| row.values.values_at(0, 2, 3, 4, 5) }
  end

  def marks
    row = TaskerSpec::Database.query("SELECT (SELECT COALESCE(max(id), 0) FROM tasker_step_transitions) AS s, " \
                                     "(SELECT COALESCE(max(id), 0) FROM tasker_task_transitions) AS t").first
    [Integer(row["s"]), Integer(row["t"])]
  end

  it "records the actor of cancel on every step and task transition it writes" do
    uuid = enqueue("slow_chain", { "sleep" => 0.5 })
    wait_for { TaskerCore.task(uuid)&.dig("steps", "slow", "state") == "in_progress" }
    since = marks
    expect(TaskerCore.cancel(uuid, actor: "cli:alice@ops-1")).to include("state" => "cancelled")
    expect(transitions(uuid, since)).to eq([
                                             ["step", "cancelled_by_operator", "pending", "cancelled", "cli:alice@ops-1"],
                                             ["step", "cancelled_by_operator", "in_progress", "cancelled", "cli:alice@ops-1"],
                                             ["task", "cancelled_by_operator", "in_progress", "cancelled", "cli:alice@ops-1"]
                                           ])
  end

  it "records the default actor, ruby:<user>@<host>, on a retry and the steps it dispatches" do
    SpecWorkflows::Switch.broken = true
    uuid = enqueue("switchable")
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("error")
    SpecWorkflows::Switch.broken = false
    since = marks
    TaskerCore.retry(uuid)
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")

    actor = TaskerCore::Operator.default_actor
    expect(actor).to eq("ruby:#{Etc.getpwuid(Process.euid).name}@#{Socket.gethostname}")
    by_operator, by_core = transitions(uuid, since).partition(&:last)
    expect(by_operator).to eq([
                                ["step", "retried_by_operator", "error", "pending", actor],
                                ["step", "ready", "pending", "enqueued", actor],
                                ["task", "retried_by_operator", "error", "in_progress", actor]
                              ])
    # What the worker and the orchestrator did next is theirs: no actor.
    expect(by_core.map { |row| row[1] }).to eq(%w[claimed succeeded ready claimed succeeded all_steps_complete])
  end

  it "records the actor of resolve_step on the resolution, the release of dependents and the completion" do
    uuid = enqueue("failing_chain", { "order" => 1 })
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("error")
    since = marks
    TaskerCore.resolve_step(uuid, "charge", { "paid" => true }, actor: "web:admin")
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")
    expect(transitions(uuid, since).select(&:last)).to eq([
                                                            ["step", "resolved_by_operator", "error", "resolved_manually", "web:admin"],
                                                            ["step", "ready", "pending", "enqueued", "web:admin"],
                                                            ["task", "resumed_by_operator", "error", "in_progress", "web:admin"]
                                                          ])
  end

  it "refuses an actor the core cannot record, with a ValidationError, changing nothing" do
    uuid = enqueue("slow_chain", { "sleep" => 0.3 })
    wait_for { TaskerCore.task(uuid)&.fetch("state") == "in_progress" } # a valid actor would cancel it now
    [["a" * 201, "actor of 201 bytes exceeds 200 bytes"], ["", "actor must not be empty"],
     ["web:x\nlevel=ERROR", "actor contains the control character U+000A at byte 5"],
     [:admin, "actor must be a String, got Symbol"], ["\xFF".b, "actor must be valid UTF-8"]].each do |actor, message|
      expect { TaskerCore.cancel(uuid, actor: actor) }.to raise_error(TaskerCore::ValidationError, message)
    end
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")
    expect(transitions(uuid).map { |row| row[1] }).not_to include("cancelled_by_operator")
    expect(transitions(uuid).map(&:last).compact).to eq([])

    longest = "é" * 100 # 200 bytes
    expect { TaskerCore.cancel(uuid, actor: longest) }.to raise_error(TaskerCore::InvalidTransition) # past the actor check
    expect(TaskerCore::Operator.default_actor.bytesize).to be <= TaskerCore::Types::Limits::MAX_ACTOR_BYTES
  end
end
