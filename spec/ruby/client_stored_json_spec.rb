# frozen_string_literal: true

require "spec_helper"

# jsonb stores nesting Ruby's JSON parser refuses (it stops at 100 levels): the client reads
# whatever the database holds without raising, reporting the unreadable value by its key.
RSpec.describe "TaskerCore.dead_letters, .task and .wait with JSON too deep for Ruby" do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:deep) { "#{'[' * 10_000}#{']' * 10_000}" } # stored fine by pgmq and jsonb

  before { TaskerSpec::Database.truncate_tasker_tables(conn) }
  after { conn.close }

  def insert_dead_letter(msg_id, message_json)
    conn.exec_params(<<~SQL, [msg_id, message_json])
      INSERT INTO tasker_dead_letters (queue_name, msg_id, read_ct, task_uuid, kind, reason, message)
      VALUES ('task_requests', $1, 1, NULL, 'rejected_request', 'spec', $2::jsonb)
    SQL
  end

  it "lists a dead letter whose message is 10,000 levels deep, with message nil and why, among the others" do
    insert_dead_letter(1, JSON.generate("n" => 1))
    insert_dead_letter(2, deep)
    insert_dead_letter(3, JSON.generate("n" => 3))

    letters = TaskerCore.dead_letters(limit: 10)
    expect(letters.map { |l| l["msg_id"] }).to eq([3, 2, 1])
    expect(letters[0]["message"]).to eq("n" => 3)
    expect(letters[2]["message"]).to eq("n" => 1)
    expect(letters[0]).not_to have_key("message_error")
    expect(letters[1]).to include("message" => nil, "kind" => "rejected_request", "reason" => "spec")
    expect(letters[1]["message_error"])
      .to match(/\Amessage is nested deeper than Ruby's JSON parser reads \(nesting of 101 is too deep\)/)
      .and include("pgmq.a_task_requests (msg_id 2)")
  end

  it "returns a task whose context and one step's results are too deep, the other step intact; wait too" do
    fixture = TaskerSpec::WorkflowFixture.create(conn, task_state: "complete", steps: [
                                                   { name: "deep", handler: "A", state: "complete", results: 1 },
                                                   { name: "plain", handler: "B", state: "complete", results: { "v" => 2 } }
                                                 ])
    conn.exec_params("UPDATE tasker_tasks SET context = $1::jsonb WHERE uuid = $2", [%({"x": #{deep}}), fixture.task_uuid])
    conn.exec_params("UPDATE tasker_workflow_steps SET results = $1::jsonb, last_error = $1::jsonb WHERE uuid = $2",
                     [deep, fixture.steps["deep"][:uuid]])

    [TaskerCore.task(fixture.task_uuid), TaskerCore.wait(fixture.task_uuid, timeout: 1)].each do |task|
      expect(task).to include("uuid" => fixture.task_uuid, "state" => "complete", "context" => nil)
      expect(task["context_error"]).to match(/\Acontext is nested deeper than Ruby's JSON parser reads .*tasker_tasks\.context/)
      expect(task["steps"]["plain"]).to eq("state" => "complete", "results" => { "v" => 2 }, "attempts" => 1, "error" => nil,
                                           "type" => "task")
      expect(task["steps"]["deep"]).to include("state" => "complete", "results" => nil, "error" => nil, "attempts" => 1)
      expect(task["steps"]["deep"]["results_error"]).to match(/nesting of 101 is too deep.*step deep \(results\)/)
      expect(task["steps"]["deep"]["error_error"]).to match(/nesting of 101 is too deep.*step deep \(last_error\)/)
    end
  end
end
