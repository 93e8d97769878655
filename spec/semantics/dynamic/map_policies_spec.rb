# frozen_string_literal: true

require "spec_helper"

# A map step's guardrails and policies (spec/fixtures/templates/dynamic/map.yml with
# max_parallel 2; map_collect.yml with failure_policy collect and max_items 4).
RSpec.describe "map step policies" do
  # The most items of the task enqueued or running at once, from their transitions.
  def most_at_once(uuid)
    rows = TaskerSpec::Database.query(<<~SQL, [uuid])
      SELECT s.name, tr.to_state, tr.created_at FROM tasker_step_transitions tr
        JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND s.map_step_id IS NOT NULL AND tr.to_state IN ('enqueued', 'complete')
    SQL
    # At the same instant a finish comes before the start it released.
    events = rows.map { |r| [r["created_at"], r["to_state"] == "enqueued" ? 1 : -1] }.sort_by { |at, delta| [at, delta] }
    events.reduce([0, 0]) { |(now, most), (_, delta)| [now + delta, [most, now + delta].max] }.last
  end

  it "has at most max_parallel items enqueued or running at once" do
    task = run_task("dynamic_workflows", "map", { "items" => (1..8).to_a })
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["total"]["results"]["items"]).to eq((1..8).to_a)
    expect(most_at_once(task["uuid"])).to eq(2)
  end

  it "fails the map step for good beyond max_items, creating no item" do
    task = run_task("dynamic_workflows", "map_collect", { "items" => %w[a b c d e] })
    expect(task["state"]).to eq("error")
    expect(task["steps"]["price"]["state"]).to eq("error")
    expect(task["steps"]["price"]["error"]["message"]).to match(/5 elements, more than max_items 4; no item was created/)
    expect(task["steps"].keys.grep(/\[/)).to eq([])
  end

  it "completes a collecting map step with each item's outcome when items fail" do
    task = run_task("dynamic_workflows", "map_collect", { "items" => %w[a fail b] })
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["price[1]"]["state"]).to eq("error")
    outcomes = task["steps"]["price"]["results"]
    expect(outcomes.size).to eq(3)
    expect(task["steps"]["total"]["results"]).to eq("got" => { "price" => outcomes })
  end
end
