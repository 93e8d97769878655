# frozen_string_literal: true

require "spec_helper"

# TaskerCore.task tells a rejected request apart from a uuid nothing is known of: the first
# answers "rejected" with the reason and the dead letter's kind, the second nil.
RSpec.describe "TaskerCore.task for a rejected request" do
  before { TaskerSpec::Runtime.ensure_started }

  it "answers rejected, with the reason and kind, while wait still raises TaskRejected" do
    uuid = TaskerCore.enqueue(namespace: "linear_workflow", name: "no_such_template", version: "1.0.0",
                              context: { "even_number" => 2 })
    error = nil
    expect { TaskerCore.wait(uuid, timeout: 15) }.to raise_error(TaskerCore::TaskRejected) { |e| error = e }
    expect(error.task_uuid).to eq(uuid)
    expect(TaskerCore.task(uuid)).to eq("uuid" => uuid, "state" => "rejected", "kind" => "rejected_request",
                                        "reason" => error.reason)
    expect(error.reason).to start_with("unknown template linear_workflow/no_such_template@1.0.0")
    expect(TaskerCore.task(uuid.upcase)).to eq(TaskerCore.task(uuid))
  end

  it "answers nil for a uuid no request named" do
    expect(TaskerCore.task(SecureRandom.uuid)).to be_nil
  end

  it "answers the task itself when a task exists, even with a dead letter naming it" do
    uuid = TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                              context: { "even_number" => 2 })
    TaskerCore.wait(uuid, timeout: 15)
    # A poison step message also names its task (kind poison_message): the task still wins.
    # The row is made by hand (no message behind it), so it goes again afterwards: the
    # hostile suite checks that every dead letter's message is archived.
    id = TaskerSpec::Database.query(<<~SQL, [uuid])[0]["id"]
      INSERT INTO tasker_dead_letters (queue_name, task_uuid, kind, reason)
      VALUES ('linear_workflow_queue', $1, 'poison_message', 'read 6 times without being processed (limit 5)')
      RETURNING id
    SQL
    begin
      expect(TaskerCore.task(uuid)).to include("uuid" => uuid, "state" => "complete")
    ensure
      TaskerSpec::Database.query("DELETE FROM tasker_dead_letters WHERE id = $1", [id])
    end
  end
end
