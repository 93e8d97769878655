# frozen_string_literal: true

require_relative "testing_helper"

# fake! / inline! / disable!, as Sidekiq::Testing's modes, behind one enqueue hook.
RSpec.describe "TaskerCore::Testing modes" do
  before(:all) { TestingKitSpec.start }
  after { testing.disable! && testing.clear! }

  let(:testing) { TaskerCore::Testing }
  let(:linear) { { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0" } }

  def error_of
    yield
    nil
  rescue TaskerCore::Error => e
    [e.class, e.message, e.respond_to?(:field) ? e.field : nil]
  end

  it "is disabled by default: enqueue sends to the real queue and nothing is recorded" do
    expect(testing.mode).to eq(:disable)
    uuid = TaskerCore.enqueue(**linear, context: { even_number: 2 })
    expect(testing.enqueued).to be_empty
    expect(TaskerCore.wait(uuid, timeout: 30)["steps"]["linear_step_4"]["results"]).to eq(2**16)
  end

  it "fake! records validated requests, sends nothing, and drain runs them under the uuids enqueue returned" do
    testing.fake!
    first = TaskerCore.enqueue(**linear, context: { even_number: 2 })
    second = TaskerCore.enqueue(namespace: "fulfillment", name: "process_order", version: "1.0.0",
                                context: TestingKitSpec::ORDER, priority: 5)
    expect(testing.enqueued.size).to eq(2)
    expect(testing.enqueued.first).to include(namespace: "linear_workflow", name: "mathematical_sequence",
                                              version: "1.0.0", context: { "even_number" => 2 }, uuid: first)
    expect(testing.enqueued.last).to include(uuid: second, priority: 5, idempotency_key: nil)
    expect(TaskerCore.task(first)).to be_nil # nothing was sent
    expect(TaskerSpec::Database.query("SELECT count(*) AS n FROM pgmq.q_task_requests WHERE message ->> 'task_uuid' IN ($1, $2)",
                                      [first, second]).first["n"]).to eq("0")

    tasks = testing.drain
    expect(tasks.map { |t| [t["uuid"], t["state"]] }).to eq([[first, "complete"], [second, "complete"]])
    expect(testing.enqueued).to be_empty
    expect(TaskerCore.task(first)["steps"]["linear_step_4"]["results"]).to eq(2**16)
    expect(testing.drain).to eq([])
  end

  it "fake! refuses an invalid request with the same error as a real enqueue, and records the valid ones beside it" do
    bad = [
      { **linear, context: "not a hash" },
      { **linear, namespace: "Bad-Namespace", context: {} },
      { **linear, version: "one", context: {} },
      { **linear, context: { "nul" => "a\u0000b" } },
      { **linear, context: {}, priority: 2**40 },
      { **linear, context: {}, on_conflict: :explode },
      { **linear, context: {}, delay: -1 },
      { **linear, context: {}, connection: "postgres://elsewhere" },
      { **linear, context: { "big" => "x" * (TaskerCore.config.orchestrator[:max_message_bytes] + 1) } }
    ]
    real = bad.map { |args| error_of { TaskerCore.enqueue(**args) } }
    expect(real).to all(be_an(Array)) # each one refused by the real client
    fake = testing.fake! do
      bad.each_with_index.map do |args, i|
        TaskerCore.enqueue(**linear, context: { even_number: i * 2 })
        error_of { TaskerCore.enqueue(**args) }
      end
    end
    expect(fake).to eq(real)
    expect(testing.enqueued.map { |e| e[:context] }).to eq(bad.each_index.map { |i| { "even_number" => i * 2 } })
  end

  it "drain also runs what handlers enqueue while it drains, and idempotency keys keep one task" do
    testing.fake!
    start = TaskerCore.enqueue(namespace: "testing_kit", name: "chain_start", version: "1.0.0", context: {})
    keyed = Array.new(2) { TaskerCore.enqueue(**linear, context: { even_number: 6 }, idempotency_key: "order-42") }
    expect(keyed.uniq.size).to eq(1)

    tasks = testing.drain
    expect(tasks.map { |t| t["name"] }).to eq(%w[chain_start mathematical_sequence mathematical_sequence chain_end])
    follow_up = tasks.first["steps"]["start"]["results"]["follow_up"]
    expect(tasks.last).to include("uuid" => follow_up, "state" => "complete")
    expect(tasks.last["steps"]["finish"]["results"]).to eq("noted" => start)
    expect(tasks[1]["uuid"]).to eq(keyed.first)
  end

  it "drain raises TaskRejected for a refused request only once the valid ones beside it are finished" do
    testing.fake!
    good = TaskerCore.enqueue(**linear, context: { even_number: 2 })
    bad = TaskerCore.enqueue(**linear, name: "no_such_template", context: {})
    other = TaskerCore.enqueue(**linear, context: { even_number: 4 })
    expect { testing.drain }.to raise_error(TaskerCore::TaskRejected) { |e| expect(e.task_uuid).to eq(bad) }
    expect([TaskerCore.task(good)["state"], TaskerCore.task(other)["state"]]).to eq(%w[complete complete])
    expect(testing.enqueued).to be_empty
  end

  it "clear! and enqueued.clear forget recorded requests" do
    testing.fake!
    TaskerCore.enqueue(**linear, context: { even_number: 2 })
    testing.enqueued.clear
    expect(testing.drain).to eq([])
    TaskerCore.enqueue(**linear, context: { even_number: 2 })
    testing.clear!
    expect(testing.enqueued).to be_empty
  end

  it "inline! runs the whole task before enqueue returns, and raises TaskRejected for a refused request" do
    uuid = testing.inline! { TaskerCore.enqueue(**linear, context: { even_number: 2 }) }
    expect(TaskerCore.task(uuid)).to include("state" => "complete")
    failed = testing.inline! do
      TaskerCore.enqueue(namespace: "fulfillment", name: "process_order", version: "1.0.0", context: TestingKitSpec::DECLINED)
    end
    expect(TaskerCore.task(failed)["state"]).to eq("error")
    delayed = testing.inline! { TaskerCore.enqueue(**linear, context: { even_number: 2 }, delay: 3600) }
    expect(TaskerCore.task(delayed)["state"]).to eq("complete") # its first step was due in an hour: time advanced
    testing.inline!
    expect { TaskerCore.enqueue(**linear, context: { odd: 1 }) }.to raise_error(TaskerCore::TaskRejected, /even_number/)
    expect { TaskerCore.enqueue(**linear, version: "x", context: {}) }.to raise_error(TaskerCore::ValidationError, /version/)
  end

  it "inline! also runs what a handler enqueues, and run_task runs for real in fake mode" do
    start = testing.inline! { TaskerCore.enqueue(namespace: "testing_kit", name: "chain_start", version: "1.0.0", context: {}) }
    follow_up = TaskerCore.task(start)["steps"]["start"]["results"]["follow_up"]
    expect(TaskerCore.task(follow_up)).to include("state" => "complete", "context" => { "from" => start })

    testing.fake! do
      task = testing.run_task(namespace: "testing_kit", name: "chain_start", context: {})
      expect(task["state"]).to eq("complete")
      expect(testing.enqueued.map { |e| [e[:name], e[:context]] }).to eq([["chain_end", { "from" => task["uuid"] }]])
    end
  end

  it "block forms restore the previous mode, also when the block raises" do
    expect(testing.fake! { testing.inline! { testing.mode } }).to eq(:inline)
    testing.fake! do
      expect(testing.mode).to eq(:fake)
      testing.inline! { expect(testing).to be_inline }
      expect(testing).to be_fake
      testing.disable! { expect(testing).to be_disabled }
      expect { testing.inline! { raise "boom" } }.to raise_error(RuntimeError, "boom")
      expect(testing.mode).to eq(:fake)
    end
    expect(testing.mode).to eq(:disable)
    expect(testing.fake!).to eq(:fake)
    expect(testing.mode).to eq(:fake)
    expect { TaskerCore::Testing::Modes.switch(:sometimes) }.to raise_error(ArgumentError, /mode must be one of/)
  end
end
