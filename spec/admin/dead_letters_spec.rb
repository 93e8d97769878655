# frozen_string_literal: true

require_relative "admin_helper"

# Admin#dead_letters: newest first, by keyset, filtered by queue and kind; a message too
# deep for Ruby's parser on the same page as readable ones; the orchestrator's own.
RSpec.describe "TaskerCore::Admin#dead_letters" do
  include AdminHelpers

  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }

  after do
    close_isolated_admin
    conn.close
  end

  # 30 dead letters over three queues and two kinds, one of them holding a message nested
  # deeper than Ruby's parser reads.
  def insert_letters
    TaskerSpec::Database.truncate_tasker_tables(conn)
    conn.exec(<<~SQL)
      INSERT INTO tasker_dead_letters (queue_name, msg_id, read_ct, kind, reason, message)
      SELECT (ARRAY['task_requests', 'step_results', 'spec_queue'])[1 + i % 3], i, 1,
             (ARRAY['rejected_request', 'ignored_result'])[1 + i % 2], 'reason ' || i,
             CASE WHEN i = 14 THEN (repeat('[', 150) || repeat(']', 150))::jsonb ELSE jsonb_build_object('n', i) END
        FROM generate_series(1, 30) i
    SQL
  end

  def ids(letters)
    letters.map { |letter| letter["id"] }
  end

  it "pages through every dead letter once, newest first, by queue and kind" do
    insert_letters
    all = all_pages("dead_letters") { |cursor| isolated_admin.dead_letters(limit: 4, cursor: cursor) }
    expect(ids(all)).to eq((1..30).to_a.reverse)
    expect(all.first.keys).to eq(%w[id queue_name msg_id read_ct task_uuid kind reason message created_at resolved_at resolution
                                    resolved_by requeued_msg_id])
    expect(all.first).to include("queue_name" => "task_requests", "msg_id" => 30, "kind" => "rejected_request",
                                 "message" => { "n" => 30 }, "created_at" => match(AdminHelpers::ISO_MS))
    deep = all.find { |letter| letter["msg_id"] == 14 }
    expect(deep["message"]).to be_nil
    expect(deep["message_error"]).to include("nested deeper", "pgmq.a_spec_queue")
    expect(all.find { |letter| letter["msg_id"] == 13 }["message"]).to eq("n" => 13) # same page, readable

    by_queue = all_pages("dead_letters") { |c| isolated_admin.dead_letters(queue: "step_results", limit: 3, cursor: c) }
    expect(ids(by_queue)).to eq((1..30).select { |i| i % 3 == 1 }.reverse)
    both = all_pages("dead_letters") do |c|
      isolated_admin.dead_letters(queue: "spec_queue", kind: "ignored_result", limit: 2, cursor: c)
    end
    expect(ids(both)).to eq((1..30).select { |i| i % 3 == 2 && i.odd? }.reverse)
    expect(isolated_admin.dead_letters(kind: "poison_message")).to eq("dead_letters" => [], "next_cursor" => nil)
    expect(ids(isolated_admin.dead_letters(kind: :ignored_result, limit: 500)["dead_letters"])).to eq((1..30).select(&:odd?).reverse)
  end

  it "answers a page the way TaskerCore.dead_letters answers the same rows" do
    TaskerSpec::Runtime.ensure_started
    msg_id = Integer(TaskerSpec::Database.query("SELECT pgmq.send('task_requests', '{\"not\": \"a request\"}') AS id")
                                         .first["id"])
    letter = wait_for(timeout: 10, describe: -> { "a dead letter for request #{msg_id}" }) do
      admin.dead_letters(queue: "task_requests", kind: "rejected_request", limit: 1)["dead_letters"]
           .find { |l| l["msg_id"] == msg_id }
    end
    expect(letter).to eq(TaskerCore.dead_letters(limit: 10_000).find { |l| l["id"] == letter["id"] })
    expect(letter["message"]).to eq("not" => "a request")
  end

  it "refuses bad input naming the field" do
    task_cursor = TaskerCore::Admin::Page.encode(TaskerCore::Admin::TaskFilter::CURSOR_KIND,
                                                 "2026-01-01T00:00:00.000000Z", 5)
    { "queue" => [{ queue: "Bad Queue" }, { queue: "x'; DROP TABLE tasker_dead_letters; --" }, { queue: 5 }],
      "kind" => [{ kind: "Rejected" }, { kind: "" }, { kind: "a b" }, { kind: 5 }],
      "limit" => [{ limit: 0 }, { limit: 501 }, { limit: "50" }],
      "cursor" => [{ cursor: "!!" }, { cursor: task_cursor }, { cursor: TaskerCore::Admin::Page.encode("d", "-1") }] }
      .each do |field, inputs|
        inputs.each { |input| expect_validation_error(field) { isolated_admin.dead_letters(**input) } }
      end
    expect(isolated_admin.dead_letters(limit: 500)["dead_letters"]).to be_an(Array)
  end
end
