# frozen_string_literal: true

require_relative "cli_helper"
require_relative "../admin/dynamic_fixture"

# exe/tasker over a dynamic workflow: FIXTURE DATA (spec/admin/dynamic_fixture.rb: a map
# step of 500 items, a decision's skipped branch, a signal wait, a sleep, a child task) in
# the suite's database; the tree summarises the items, the tasks list and status filter and
# count by the step states.
RSpec.describe "the tasker command line over a dynamic workflow (fixture rows)" do
  before(:context) do
    TaskerSpec::Runtime.ensure_started
    @rows = TaskerSpec::Database.with_connection do |conn|
      ReadModelFixture.insert(conn, items: 500, finished: 37, failed: [3, 17])
    end
  end

  include CliHelpers

  def tasker(*args, env: {})
    super(*args, env: { "NO_COLOR" => "1" }.merge(env))
  end

  it "draws the tree with the map's progress, its first failures and a count, skips and waits saying why" do
    out, err, code = tasker("task", @rows["parent"])
    expect(code).to eq(0), err
    lines = out.lines.map(&:rstrip)
    expect(lines).to include("1 skipped, 4 waiting, 500 map items")
    expect(lines).to include(a_string_matching(%r{\Alist  complete  1/3  .*\z}),
                             "└─ each  waiting  0/3  -  each: 37/500 items, 2 failed",
                             "   ├┄ each[3]  error  3/3  TaskerCore::PermanentError: bad sku 3",
                             "   ├┄ each[17]  error  3/3  TaskerCore::PermanentError: bad sku 17",
                             "   └┄ 498 more items: tasker task #{@rows['parent']} --items each",
                             "│  └─ finish  pending  0/3  -  (also after: gift_wrap, each, approve, nap, call_child)",
                             a_string_matching(%r{gift_wrap  skipped  0/3  -  skipped: not chosen by route\z}),
                             a_string_matching(%r{approve  waiting  0/3  -  waits for signal approve \(timeout 3600s, then fail\) until }),
                             a_string_matching(%r{nap  waiting  0/3  -  sleeps until }),
                             a_string_matching(%r{call_child  waiting  1/3  -  awaits child task #{@rows['child']} \(in_progress\)\z}),
                             a_string_matching(%r{route  complete  1/3  .*  chose: express\z}))
    expect(out).not_to include("each[20]")
    expect(lines.size).to be < 30

    child, = tasker("task", @rows["child"])
    expect(child).to include("child of task #{@rows['parent']} (step call_child): tasker task #{@rows['parent']}",
                             "gate  waiting  0/3  -  waits for signal go")
  end

  it "pages through a map's items, filtered by state, and refuses a step that is not a map" do
    page = json("task", @rows["parent"], "--items", "each", "--limit", "200")
    expect(page["items"].map { |i| i["index"] }).to eq((0...200).to_a)
    rest = json("task", @rows["parent"], "--items", "each", "--limit", "500", "--cursor", page["next_cursor"])
    expect([rest["items"].first["name"], rest["items"].size, rest["next_cursor"]]).to eq(["each[200]", 300, nil])
    failed, = tasker("task", @rows["parent"], "--items", "each", "--item-state", "error")
    expect(failed).to include("each: 37/500 items finished, 2 failed", "each[3]", "each[17]", "bad sku 17")
    expect(failed).not_to include("each[4]")
    _, err, code = tasker("task", @rows["parent"], "--items", "approve")
    expect([code, err]).to match([3, include("has no map step approve")])
  end

  it "lists the tasks with waiting or skipped steps and counts the waiting steps by kind" do
    waiting = json("tasks", "--state", "waiting", "--namespace", "read_model_fixture")["tasks"].map { |t| t["uuid"] }
    expect(waiting).to include(@rows["parent"], @rows["child"])
    skipped = json("tasks", "--state", "skipped,in_progress", "--namespace", "read_model_fixture")["tasks"]
    expect(skipped.map { |t| t["uuid"] }).to include(@rows["parent"])
    expect(skipped.map { |t| t["uuid"] }).not_to include(@rows["child"])
    listed, = tasker("tasks", "--state", "waiting", "--namespace", "read_model_fixture")
    expect(listed).to include("(child of #{@rows['parent'][0, 8]})")
    _, err, code = tasker("tasks", "--state", "waiting,skipped")
    expect([code, err]).to match([1, include("--state takes one step state")])

    status = json("status")
    expect(status.keys).to eq(%w[processes queues tasks steps])
    expect(status["steps"]).to include("waiting" => be >= 5, "skipped" => be >= 1,
                                       "waiting_by_kind" => include("signal" => be >= 2, "items" => be >= 1,
                                                                    "child_task" => be >= 1, "timer" => be >= 1))
    text, = tasker("status")
    expect(text).to match(/waiting\s+\d+ \(\d+ signal, \d+ timer, \d+ items, \d+ child task\)  next wake /)
  end

  # Last: the signal completes the fixture's waiting step (the orchestrator applies its wake).
  it "sends a signal with tasker signal, refusing a second one and naming an unknown task" do
    out, err, code = tasker("signal", @rows["parent"], "approve", "--payload", '{"approved_by":"ada"}')
    expect([code, err]).to eq([0, ""])
    expect(out).to eq("sent signal approve to #{@rows['parent']}\n")
    _, err, code = tasker("signal", @rows["parent"], "approve")
    expect(code).to eq(1)
    expect(err).to include("was already sent signal approve")
    _, err, code = tasker("signal", "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f", "approve")
    expect(code).to eq(3)
    expect(err).to include("0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f")
    _, err, code = tasker("signal", @rows["parent"], "approve", "--payload", "{nope")
    expect(code).to eq(1)
    expect(err).to include("--payload is not JSON")
  end
end
