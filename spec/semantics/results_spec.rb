# frozen_string_literal: true

require "spec_helper"

RSpec.describe "results and retries" do
  it "passes a 1 MiB result to its dependents" do
    bytes = 1024 * 1024 - 2 # 1 MiB once JSON quotes it
    task = run_task("spec_workflows", "big_result", { "bytes" => bytes })
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["measure"]["results"]).to eq(bytes)
    stored = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).first
      SELECT jsonb_typeof(s.results) AS type, length(s.results #>> '{}') AS length
        FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND s.name = 'produce_big'
    SQL
    expect(stored).to eq("type" => "string", "length" => bytes.to_s) # real JSON, not a JSON string of JSON
  end

  it "fails a step whose result is over the payload limit, saying why" do
    task = run_task("spec_workflows", "big_result", { "bytes" => 2 * 1024 * 1024 })
    expect(task["state"]).to eq("error")
    expect(task["steps"]["produce_big"]["error"]).to include("retryable" => false)
    expect(task["steps"]["produce_big"]["error"]["message"]).to match(/more than orchestrator.max_message_bytes/)
  end

  it "stores results as JSON values, not JSON strings" do
    task = run_task("spec_workflows", "failing_chain", { "order" => 1 })
    type = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).first["type"]
      SELECT jsonb_typeof(s.results) AS type FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND s.name = 'validate'
    SQL
    expect(type).to eq("object")
  end

  it "always runs the first attempt, even with max_attempts 0, and never retries it" do
    task = run_task("spec_workflows", "no_retries", {})
    expect(task["state"]).to eq("error")
    expect(task["steps"]["flaky_step"]).to include("state" => "error", "attempts" => 1)
  end

  it "honours a handler's retry_after (fractional seconds) over the step's backoff" do
    task = run_task("spec_workflows", "retry_later", { "retry_after" => 0.4, "succeed_on" => 2 })
    expect(task["steps"]["patient"]).to include("state" => "complete", "attempts" => 2)
    times = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).map { |r| [r["to_state"], Time.parse(r["at"])] }
      SELECT tr.to_state, tr.created_at::text AS at FROM tasker_step_transitions tr
        JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 ORDER BY tr.id
    SQL
    failed_at = times.find { |state, _| state == "error" }.last
    retried_at = times.select { |state, _| state == "in_progress" }.last.last
    expect(retried_at - failed_at).to be_between(0.35, 5) # the template's backoff would be 60 s
  end
end
