# frozen_string_literal: true

require_relative "admin_helper"

# Admin#task over tasks run by the embedded orchestrator and a real worker: the DAG's depths,
# parents and edges, a failure as stored, every transition in time order.
RSpec.describe "TaskerCore::Admin#task (real tasks)" do
  include AdminHelpers

  before(:context) do
    TaskerSpec::Runtime.ensure_started
    enqueue = ->(namespace, name, context) { TaskerCore.enqueue(namespace: namespace, name: name, version: "1.0.0", context: context) }
    @dag = enqueue.call("mixed_dag_workflow", "complex_dag", { "even_number" => 2 })
    @diamond = enqueue.call("diamond_workflow", "diamond_pattern", { "even_number" => 2 })
    @failed = enqueue.call("spec_workflows", "failing_chain", { "order" => 7 })
    @flaky = enqueue.call("spec_workflows", "flaky", {})
    [@dag, @diamond, @failed, @flaky].each { |uuid| TaskerCore.wait(uuid, timeout: 30) }
  end

  def step(task, name)
    task["steps"].find { |s| s["name"] == name }
  end

  it "gives each step its depth (the longest path from a root) and parents, ordered by depth then name" do
    task = admin.task(@dag)
    expect(task.keys).to eq(AdminHelpers::DETAIL_FIELDS)
    expect(task).to include("uuid" => @dag, "state" => "complete", "context" => { "even_number" => 2 }, "steps_done" => 7)
    expect(task["duration_ms"]).to be_an(Integer).and(be >= 0)
    expect(task["steps"].map { |s| [s["name"], s["depth"], s["parents"]] }).to eq(
      [["dag_init", 0, []],
       ["dag_process_left", 1, ["dag_init"]], ["dag_process_right", 1, ["dag_init"]],
       ["dag_analyze", 2, ["dag_process_right"]], ["dag_transform", 2, ["dag_process_left"]],
       ["dag_validate", 2, %w[dag_process_left dag_process_right]],
       ["dag_finalize", 3, %w[dag_validate dag_transform dag_analyze]]]
    )
    expect(task["edges"]).to eq(
      [%w[dag_init dag_process_left], %w[dag_init dag_process_right], %w[dag_process_left dag_validate],
       %w[dag_process_left dag_transform], %w[dag_process_right dag_validate], %w[dag_process_right dag_analyze],
       %w[dag_validate dag_finalize], %w[dag_transform dag_finalize], %w[dag_analyze dag_finalize]]
    )
    task["steps"].each do |s|
      expect(s.keys).to eq(AdminHelpers::STEP_FIELDS)
      expect(s).to include("state" => "complete", "attempts" => 1, "max_attempts" => 3, "claims" => 1, "last_error" => nil,
                           "next_attempt_at" => nil, "step_type" => "task", "settings" => nil, "map" => nil,
                           "child_task" => nil, "waiting_for" => nil, "skipped" => nil, "note" => nil)
      expect(s["duration_ms"]).to be_an(Integer).and(be >= 0)
      expect(s.values_at("created_at", "updated_at", "completed_at")).to all(match(AdminHelpers::ISO_MS))
    end
    expect(step(task, "dag_init")["results"]).to eq(4)
    expect(step(task, "dag_finalize")["results"]).to eq(2**64) # integers of any size, as stored
    expect(JSON.parse(JSON.generate(task))).to eq(task)
  end

  it "shows a failed step's error as stored, backtrace included, and the steps it held back" do
    task = admin.task(@failed)
    expect(task).to include("state" => "error", "steps_failed" => 1)
    expect(task["duration_ms"]).to be_an(Integer)
    expect(task["steps"].map { |s| [s["name"], s["depth"], s["state"]] }).to eq(
      [%w[notify 0 complete], %w[validate 0 complete], %w[charge 1 error], %w[ship 2 pending]].map { |n, d, s| [n, d.to_i, s] }
    )
    charge = step(task, "charge")
    stored = TaskerSpec::Database.query(<<~SQL, [@failed]).first["last_error"]
      SELECT s.last_error FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND s.name = 'charge'
    SQL
    expect(charge["last_error"]).to eq(JSON.parse(stored))
    expect(charge["last_error"]).to include("class" => "TaskerCore::PermanentError", "message" => "card declined",
                                            "retryable" => false)
    expect(charge["last_error"]["backtrace"]).to be_an(Array).and(include(a_string_including("handlers.rb")))
    expect(charge).to include("completed_at" => nil, "results" => nil)
    expect(charge["duration_ms"]).to be_an(Integer).and(be >= 0) # claim to failure
    expect(step(task, "ship")).to include("parents" => ["charge"], "duration_ms" => nil, "completed_at" => nil,
                                          "attempts" => 0)
  end

  it "lists every transition of the task and its steps, in time order" do
    task = admin.task(@diamond)
    transitions = task["transitions"]
    transitions.each { |tr| expect(tr.keys).to eq(AdminHelpers::TRANSITION_FIELDS) }
    expect(transitions.map { |tr| tr["created_at"] }).to eq(transitions.map { |tr| tr["created_at"] }.sort)
    of = ->(scope, name) { transitions.select { |tr| tr["scope"] == scope && tr["step"] == name } }
    expect(of.call("task", nil).map { |tr| [tr["from_state"], tr["to_state"]] })
      .to eq([[nil, "pending"], %w[pending in_progress], %w[in_progress complete]])
    task["steps"].each do |s|
      expect(of.call("step", s["name"]).map { |tr| [tr["from_state"], tr["to_state"]] })
        .to eq(step_transitions(@diamond, s["name"]))
    end
    expect(transitions.size).to eq(3 + (4 * 4))
    index = ->(name, to) { transitions.index { |tr| tr["step"] == name && tr["to_state"] == to } }
    expect(index.call("diamond_end", "enqueued"))
      .to be > [index.call("diamond_branch_b", "complete"), index.call("diamond_branch_c", "complete")].max
    completed = of.call("step", "diamond_start").last
    expect(completed).to include("to_state" => "complete", "attempt" => 1, "reason" => a_kind_of(String))
    expect(completed["metadata"]).to include("worker_id", "started_at", "finished_at")
  end

  it "shows retries: each attempt's transitions, and the duration from the first claim" do
    task = admin.task(@flaky)
    flaky = step(task, "flaky_step")
    expect(flaky).to include("state" => "complete", "attempts" => 3, "results" => { "succeeded_on" => 3 })
    claims = task["transitions"].select { |tr| tr["scope"] == "step" && tr["to_state"] == "in_progress" }
    expect(claims.map { |tr| tr["attempt"] }).to eq([1, 2, 3])
    expect(task["transitions"].count { |tr| tr["to_state"] == "waiting_for_retry" }).to eq(2)
    first_claim = Time.iso8601(claims.first["created_at"])
    expect(flaky["duration_ms"]).to be_within(2).of(((Time.iso8601(flaky["completed_at"]) - first_claim) * 1000).round)
  end

  it "answers nil for an unknown uuid and refuses what is not a uuid" do
    expect(admin.task(SecureRandom.uuid)).to be_nil
    expect(admin.task(@dag.upcase)["uuid"]).to eq(@dag)
    ["nope", nil, 5, "#{@dag}'; DROP TABLE tasker_tasks; --", @dag.delete("-")].each do |bad|
      expect_validation_error("uuid") { admin.task(bad) }
    end
  end

  it "keeps a task readable when a stored value is too deep for Ruby's parser, beside readable ones" do
    conn = TaskerSpec::Database.connect_isolated
    conn.exec("SET client_min_messages TO warning")
    TaskerSpec::Database.truncate_tasker_tables(conn)
    fixture = TaskerSpec::WorkflowFixture.create(conn, context: { "ok" => true }, steps: [
                                                   { name: "a", handler: "Spec::A", state: "complete", results: 1 },
                                                   { name: "b", handler: "Spec::B", state: "complete", results: 2, parents: ["a"] }
                                                 ])
    deep = "(repeat('[', 150) || repeat(']', 150))::jsonb"
    conn.exec_params("UPDATE tasker_workflow_steps SET results = #{deep} WHERE uuid = $1", [fixture.steps["b"][:uuid]])
    conn.exec_params("UPDATE tasker_workflow_steps SET last_error = #{deep} WHERE uuid = $1", [fixture.steps["a"][:uuid]])
    task = isolated_admin.task(fixture.task_uuid)
    expect(task["context"]).to eq("ok" => true)
    expect(task["edges"]).to eq([%w[a b]])
    a, b = task["steps"]
    expect(a).to include("name" => "a", "depth" => 0, "results" => 1, "last_error" => nil)
    expect(a["last_error_error"]).to include("nested deeper", "tasker_workflow_steps")
    expect(b).to include("name" => "b", "depth" => 1, "parents" => ["a"], "results" => nil)
    expect(b["results_error"]).to include("nested deeper")
  ensure
    close_isolated_admin
    conn&.close
  end

  it "shows the steps of a dynamic workflow: types, skipped branches, items after their map step by index" do
    decided = TaskerCore.wait(TaskerCore.enqueue(namespace: "dynamic_workflows", name: "decision", version: "1.0.0",
                                                 context: { "choose" => ["a"] }))
    task = admin.task(decided["uuid"])
    expect(step(task, "route")).to include("step_type" => "decision", "state" => "complete")
    expect(step(task, "b")).to include("step_type" => "task", "state" => "skipped")
    expect(task["transitions"]).to include(include("scope" => "step", "step" => "b", "to_state" => "skipped",
                                                   "metadata" => { "decided_by" => "route" }))

    mapped = TaskerCore.wait(TaskerCore.enqueue(namespace: "dynamic_workflows", name: "map", version: "1.0.0",
                                                context: { "items" => (1..11).to_a }))
    task = admin.task(mapped["uuid"])
    expect(task["steps"].map { |s| s["name"] }).to eq(%w[items price total]) # the map step stands for its items
    expect(task["map_items"]).to eq(11)
    expect(step(task, "price")["map"]).to include("items_total" => 11, "items_finished" => 11, "items_failed" => 0)
    items = admin.map_items(mapped["uuid"], "price")
    expect(items["items"].map { |i| i["index"] }).to eq((0..10).to_a)
    expect(items["items"].last).to include("name" => "price[10]", "state" => "complete", "item" => 11)
  end
end
