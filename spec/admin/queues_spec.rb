# frozen_string_literal: true

require_relative "admin_helper"

# Admin#queues: every pgmq queue with its messages counted by condition, through pgmq's
# own functions (a queue no worker reads, so nothing moves under the counts), and a dead
# letter made by the real worker counted on its queue.
RSpec.describe "TaskerCore::Admin#queues" do
  include AdminHelpers

  before(:context) { TaskerSpec::Runtime.ensure_started }

  def queue(name)
    admin.queues.find { |q| q["name"] == name }
  end

  def on_suite_db(sql, params = [])
    TaskerSpec::Database.query(sql, params)
  end

  it "lists every pgmq queue, by name, with each count" do
    names = on_suite_db("SELECT queue_name FROM pgmq.meta ORDER BY queue_name").map { |row| row["queue_name"] }
    queues = admin.queues
    expect(queues.map { |q| q["name"] }).to eq(names)
    expect(names).to include("task_requests", "step_results", "linear_workflow_queue", "hostile_workflows_queue")
    queues.each do |q|
      expect(q.keys).to eq(AdminHelpers::QUEUE_FIELDS)
      expect(q.values_at("depth", "visible", "in_flight", "delayed", "archived", "dead_letters")).to all(be_an(Integer))
      expect(q["depth"]).to eq(q["visible"] + q["in_flight"] + q["delayed"])
    end
  end

  it "counts visible, in-flight, delayed and archived messages and dead letters" do
    name = "admin_spec_#{SecureRandom.hex(3)}"
    conn = PG.connect(TaskerSpec::Database.url)
    client = TaskerCore::Messaging::PgmqClient.new(conn)
    client.create(name)
    expect(queue(name)).to eq(AdminHelpers::QUEUE_FIELDS.zip([name, 0, 0, 0, 0, nil, 0, 0]).to_h)

    flight = client.send(name, { "n" => 1 })
    expect(client.read(name, vt: 600, qty: 1).map(&:msg_id)).to eq([flight]) # read: hidden for 10 minutes
    2.times { |i| client.send(name, { "n" => 2 + i }) }
    client.send(name, { "n" => 4 }, delay: 600) # never read, visible in 10 minutes
    client.archive(name, client.send(name, { "n" => 5 }))
    letter = client.send(name, { "n" => 6 })
    conn.exec_params("SELECT tasker_dead_letter($1, $2, 'invalid_step_message', 'admin spec', NULL, 1000)", [name, letter])

    counts = queue(name)
    expect(counts).to include("depth" => 4, "visible" => 2, "in_flight" => 1, "delayed" => 1, "archived" => 2,
                              "dead_letters" => 1)
    expect(counts["oldest_age_s"]).to be_a(Float).and(be >= 0).and(be < 60)
  ensure
    # (every dead letter's queue keeps its archive: spec/hostile/dead_letters_spec.rb checks)
    conn&.exec_params("DELETE FROM tasker_dead_letters WHERE queue_name = $1", [name])
    client&.drop(name)
    conn&.close
  end

  it "counts a dead letter the worker set aside on its queue (with its archived message)" do
    name = "hostile_workflows_queue"
    before = queue(name)
    msg_id = on_suite_db("SELECT pgmq.send($1, '{\"kind\": \"step\", \"attempt\": \"one\"}'::jsonb) AS id", [name]).first["id"]
    wait_for(timeout: 10, describe: -> { "a dead letter for message #{msg_id}" }) do
      on_suite_db("SELECT 1 FROM tasker_dead_letters WHERE queue_name = $1 AND msg_id = $2", [name, msg_id]).any?
    end
    after = queue(name)
    expect(after["dead_letters"]).to eq(before["dead_letters"] + 1)
    expect(after["archived"]).to eq(before["archived"] + 1)
    expect(admin.dead_letters(queue: name, limit: 1)["dead_letters"].first)
      .to include("msg_id" => Integer(msg_id), "kind" => "invalid_step_message")
  end
end
