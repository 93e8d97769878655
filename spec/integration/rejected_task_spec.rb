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
    TaskerSpec::Database.query(<<~SQL, [uuid])
      INSERT INTO tasker_dead_letters (queue_name, task_uuid, kind, reason)
      VALUES ('linear_workflow_queue', $1, 'poison_message', 'read 6 times without being processed (limit 5)')
    SQL
    expect(TaskerCore.task(uuid)).to include("uuid" => uuid, "state" => "complete")
  end
end
