# frozen_string_literal: true

require "spec_helper"

RSpec.describe "requests: idempotency, delays and priority" do
  before { TaskerSpec::Runtime.ensure_started }

  def linear(**options)
    TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                       context: { "even_number" => 2 }, **options)
  end

  it "returns the existing task's uuid for a repeated idempotency key and creates one task" do
    key = "order-#{SecureRandom.hex(4)}"
    first = linear(idempotency_key: key)
    TaskerCore.wait(first, timeout: 15)
    again = linear(idempotency_key: key)
    expect(again).to eq(first)
    expect(TaskerCore.wait(again, timeout: 15)["state"]).to eq("complete")
    concurrent = Array.new(4) { Thread.new { linear(idempotency_key: "#{key}-b") } }.map(&:value)
    expect(concurrent.uniq.size).to eq(1)
    TaskerCore.wait(concurrent.first, timeout: 15)
    rows = TaskerSpec::Database.query("SELECT count(*) FROM tasker_tasks WHERE idempotency_key LIKE $1", ["#{key}%"])
    expect(rows.first["count"].to_i).to eq(2)
  end

  it "creates a delayed task at once and runs its first step only at its time" do
    enqueued_at = Time.now
    uuid = linear(delay: 1.5)
    deadline = Time.now + 5
    sleep 0.02 until TaskerCore.task(uuid) || Time.now > deadline
    early = TaskerCore.task(uuid)
    expect(early["state"]).to eq("in_progress")
    expect(early["steps"]["linear_step_1"]["state"]).to eq("enqueued")
    task = TaskerCore.wait(uuid, timeout: 15)
    expect(task["state"]).to eq("complete")
    started = TaskerSpec::Database.query(<<~SQL, [uuid]).first["at"]
      SELECT min(tr.created_at)::text AS at FROM tasker_step_transitions tr
        JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND tr.to_state = 'in_progress'
    SQL
    expect(Time.parse(started) - enqueued_at).to be >= 1.4
  end

  it "accepts run_at as a time" do
    uuid = linear(run_at: Time.now + 0.5)
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")
    run_at = TaskerSpec::Database.query("SELECT run_at FROM tasker_tasks WHERE uuid = $1", [uuid]).first["run_at"]
    expect(run_at).not_to be_nil
  end

  describe "priority" do
    # No worker of the shared runtime serves priority_workflow: messages wait in the queue
    # until this spec starts a one-thread worker, which then reads them one at a time.
    def probe(label, priority)
      TaskerCore.enqueue(namespace: "priority_workflow", name: "priority_probe", version: "1.0.0",
                         context: { "label" => label }, priority: priority)
    end

    def queued(count)
      deadline = Time.now + 10
      loop do
        n = TaskerSpec::Database.query("SELECT count(*) FROM pgmq.q_priority_workflow_queue").first["count"].to_i
        return if n >= count
        raise "only #{n} step messages queued" if Time.now > deadline

        sleep 0.02
      end
    end

    def run_in_order(count)
      order = SpecWorkflows::RecordOrder.order
      order.clear
      worker = TaskerCore::QueueWorker.start(namespaces: ["priority_workflow"], concurrency: 1)
      deadline = Time.now + 10
      sleep 0.01 while order.size < count && Time.now < deadline
      Array.new([order.size, count].min) { order.pop }
    ensure
      worker&.stop(timeout: 5)
    end

    it "runs ready steps of higher-priority tasks first" do
      # One at a time, so that equal priorities keep the order they were sent in (requests
      # are created concurrently).
      [["low1", 0], ["low2", 0], ["low3", 0], ["high1", 10], ["high2", 10], ["urgent", 50]].each.with_index(1) do |(label, priority), n|
        probe(label, priority)
        queued(n)
      end
      expect(run_in_order(6)).to eq(%w[urgent high1 high2 low1 low2 low3])
    end

    it "ages waiting work so a steady stream of urgent work cannot starve it" do
      probe("patient", 0)
      queued(1)
      # The low-priority message has waited 60 s: it now outranks new work of priority < 60.
      TaskerSpec::Database.query("UPDATE pgmq.q_priority_workflow_queue SET enqueued_at = enqueued_at - interval '60 s'")
      # One at a time: requests are created concurrently (request_concurrency), so two sent
      # together may be enqueued in either order.
      %w[urgent1 urgent2].each.with_index(2) do |label, n|
        probe(label, 30)
        queued(n)
      end
      probe("critical", 100)
      queued(4)
      expect(run_in_order(4)).to eq(%w[critical patient urgent1 urgent2])
    end
  end
end
