# frozen_string_literal: true

require_relative "hostile_helper"

# TaskerCore.dead_letters: every kind of set-aside message, listed with where it came from,
# why, and the message itself; and every dead letter's message is in its queue's archive.
RSpec.describe "hostile input: TaskerCore.dead_letters" do
  include HostileHelpers

  before { TaskerSpec::Runtime.ensure_started }

  it "[24] lists every kind with queue_name, kind, reason and message, newest first" do
    step = { "kind" => "step", "task_uuid" => SecureRandom.uuid, "step_uuid" => SecureRandom.uuid, "attempt" => 1 }
    sent = [
      ["task_requests", JSON.generate("{not json"), "rejected_request", "{not json"],
      ["step_results", "[1]", "malformed_result", [1]],
      ["step_results", JSON.generate(unknown = step_result), "ignored_result", unknown],
      ["hostile_workflows_queue", JSON.generate(step), "invalid_step_message", step]
    ].map do |queue, json, kind, message|
      msg_id = send_raw(queue, json)
      dead_letter(queue, msg_id)
      [queue, msg_id, kind, message]
    end
    poison = task_request
    sent << ["task_requests", send_raw_read("task_requests", JSON.generate(poison), read_ct: 6), "poison_message", poison]
    dead_letter("task_requests", sent.last[1])

    letters = TaskerCore.dead_letters(limit: 10_000)
    expect(letters.map { |l| l["id"] }).to eq(letters.map { |l| l["id"] }.sort.reverse)
    sent.each do |queue, msg_id, kind, message|
      letter = letters.find { |l| l["queue_name"] == queue && l["msg_id"] == msg_id }
      expect(letter).to include("kind" => kind, "message" => message)
      expect(letter.keys).to contain_exactly("id", "queue_name", "msg_id", "read_ct", "task_uuid", "kind", "reason",
                                             "message", "created_at", "resolved_at", "resolution", "resolved_by",
                                             "requeued_msg_id")
      expect(letter.values_at("resolved_at", "resolution", "resolved_by", "requeued_msg_id")).to all(be_nil)
      expect(letter["reason"]).to be_a(String).and(satisfy { |r| !r.empty? })
      expect(letter["created_at"]).to match(/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z/)
    end
    expect(letters.map { |l| l["kind"] }.uniq)
      .to include("rejected_request", "malformed_result", "ignored_result", "invalid_step_message", "poison_message")
    expect_loops_running
    expect_hostile_queue_running
  end

  it "[24] keeps every dead letter's message in its queue's pgmq archive (nothing lost)" do
    dead_letter("task_requests", send_raw("task_requests", "[]")) # at least one, whatever ran before
    queues = TaskerSpec::Database.query("SELECT DISTINCT queue_name FROM tasker_dead_letters").map { |r| r["queue_name"] }
    expect(queues).not_to be_empty
    queues.each do |queue|
      archive = PG::Connection.quote_ident("a_#{TaskerCore::Messaging::QueueNames.validate!(queue)}")
      missing = TaskerSpec::Database.query(<<~SQL, [queue])
        SELECT d.msg_id FROM tasker_dead_letters d
         WHERE d.queue_name = $1 AND NOT EXISTS (SELECT 1 FROM pgmq.#{archive} a WHERE a.msg_id = d.msg_id)
      SQL
      expect(missing).to eq([]), "dead letters of #{queue} whose message is not archived: #{missing.inspect}"
    end
  end

  it "[24] refuses a limit that is not an Integer from 1 to 10000" do
    [0, 10_001, "5", nil].each do |limit|
      expect { TaskerCore.dead_letters(limit: limit) }
        .to raise_error(TaskerCore::ValidationError, "limit must be an Integer from 1 to 10000, got #{limit.inspect}")
    end
  end
end
