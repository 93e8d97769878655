# frozen_string_literal: true

require_relative "admin_helper"
require_relative "dynamic_fixture"

# Admin over the rows of a map step and a child task, which this branch's Ruby workers
# cannot produce yet: FIXTURE DATA (spec/admin/dynamic_fixture.rb) in the isolated database.
# A map step is one step with its progress and a few of its items, never all of them;
# Admin#map_items pages through them by index; the child names its parent; the tasks with
# waiting or skipped steps are listed and counted.
RSpec.describe "TaskerCore::Admin over map steps and child tasks (fixture rows)" do
  include AdminHelpers

  before(:context) do
    @conn = TaskerSpec::Database.connect_isolated
    @conn.exec("SET client_min_messages TO warning")
    TaskerSpec::Database.truncate_tasker_tables(@conn)
    @small = ReadModelFixture.insert(@conn, items: 100, finished: 37, failed: [3, 17])
    @large = ReadModelFixture.insert(@conn, items: 10_000, finished: 9_000, failed: [5_000])
    @conn.exec("ANALYZE tasker_workflow_steps")
  end

  after(:context) do
    TaskerSpec::Database.truncate_tasker_tables(@conn)
    @conn.close
  end

  after { close_isolated_admin }

  def step(task, name)
    task["steps"].find { |s| s["name"] == name }
  end

  it "shows a map step as one step: its progress, its first items and first failures, not its items' rows" do
    task = isolated_admin.task(@small["parent"])
    expect(task["steps"].map { |s| s["name"] }).to eq(%w[approve call_child list nap route each express gift_wrap finish])
    expect(task).to include("steps_total" => 9, "steps_skipped" => 1, "steps_waiting" => 4, "map_items" => 100)
    each = step(task, "each")
    expect(each).to include("step_type" => "map", "state" => "waiting", "depth" => 1, "parents" => ["list"],
                            "note" => "each: 37/100 items, 2 failed",
                            "waiting_for" => { "kind" => "items", "items_total" => 100, "items_finished" => 37,
                                               "items_failed" => 2 })
    map = each["map"]
    expect(map).to include("items_total" => 100, "items_finished" => 37, "items_failed" => 2, "items_shown" => 20)
    expect(map["items"].map { |i| i["index"] }).to eq((0...20).to_a)
    expect(map["items"].first).to include("name" => "each[0]", "state" => "complete", "item" => 0, "results" => { "price" => 1 })
    expect(map["failed_items"].map { |i| [i["name"], i["state"], i.dig("last_error", "message")] })
      .to eq([["each[3]", "error", "bad sku 3"], ["each[17]", "error", "bad sku 17"]])
    expect(task["transitions"].map { |tr| tr["step"] }.compact.uniq).not_to include(a_string_matching(/\[/))
    expect(task["edges"]).to include(%w[list each], %w[each finish])
    expect(JSON.parse(JSON.generate(task))).to eq(task)
  end

  it "costs a page, not the map, with 10,000 items: the detail caps them, the items pages use the map's index" do
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    task = isolated_admin.task(@large["parent"])
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 2
    map = step(task, "each")["map"]
    expect([map["items_total"], map["items"].size, map["failed_items"].map { |i| i["index"] }]).to eq([10_000, 20, [5_000]])
    expect(JSON.generate(task).bytesize).to be < 100_000
    sql = TaskerCore::Admin::MapItems::PAGE_SQL
    plan = @conn.exec_params("EXPLAIN (FORMAT JSON) #{sql}", [@large["parent"], "each", 9_500, nil, 51]).getvalue(0, 0)
    expect(plan).to include("tasker_workflow_steps_map_item_idx")
    page = isolated_admin.map_items(@large["parent"], "each", limit: 50,
                                                              cursor: TaskerCore::Admin::Page.encode("i", 9_499))
    expect(page["items"].map { |i| i["index"] }).to eq((9_500...9_550).to_a)
  end

  it "pages through a map's items by index, filtered by state, and refuses what is not a map step" do
    items = all_pages("items") { |cursor| isolated_admin.map_items(@small["parent"], "each", limit: 30, cursor: cursor) }
    expect(items.map { |i| i["index"] }).to eq((0...100).to_a)
    expect(items.map { |i| i["name"] }.last).to eq("each[99]")
    expect(items.group_by { |i| i["state"] }.transform_values(&:size))
      .to eq("complete" => 35, "error" => 2, "in_progress" => 2, "pending" => 61)
    failed = isolated_admin.map_items(@small["parent"], "each", state: "error")
    expect(failed).to include("map" => "each", "task_state" => "in_progress", "items_total" => 100, "items_finished" => 37, "items_failed" => 2,
                              "next_cursor" => nil)
    expect(failed["items"].map { |i| i["index"] }).to eq([3, 17])
    expect(isolated_admin.map_items(@small["parent"], "approve")).to be_nil
    expect(isolated_admin.map_items(SecureRandom.uuid, "each")).to be_nil
    expect_validation_error("state") { isolated_admin.map_items(@small["parent"], "each", state: "bogus") }
    expect_validation_error("cursor") { isolated_admin.map_items(@small["parent"], "each", cursor: "x") }
    expect_validation_error("uuid") { isolated_admin.map_items("nope", "each") }
  end

  it "shows what each waiting step waits for, the skip's decider, and links a child task and its parent both ways" do
    task = isolated_admin.task(@small["parent"])
    expect(step(task, "gift_wrap")).to include("state" => "skipped", "note" => "skipped: not chosen by route")
    expect(step(task, "approve")["note"]).to start_with("waits for signal approve (timeout 3600s, then fail) until ")
    expect(step(task, "nap")["waiting_for"]).to include("kind" => "timer", "until" => match(AdminHelpers::ISO_MS))
    call_child = step(task, "call_child")
    expect(call_child["child_task"]).to include("uuid" => @small["child"], "state" => "in_progress",
                                                "namespace" => "read_model_fixture", "steps_done" => 0, "steps_total" => 1)
    expect(call_child["note"]).to eq("awaits child task #{@small['child']} (in_progress)")
    child = isolated_admin.task(@small["child"])
    expect(child).to include("parent_task_uuid" => @small["parent"], "parent_step" => "call_child")
    expect(step(child, "gate")).to include("note" => "waits for signal go")
  end

  it "lists and counts the tasks with waiting or skipped steps" do
    waiting = isolated_admin.tasks(step_state: "waiting")["tasks"]
    expect(waiting.map { |t| t["uuid"] }).to contain_exactly(*@small.values, *@large.values)
    expect(waiting.find { |t| t["uuid"] == @small["child"] }).to include("parent_task_uuid" => @small["parent"],
                                                                         "parent_step" => "call_child")
    skipped = isolated_admin.tasks(step_state: :skipped, state: "in_progress")["tasks"].map { |t| t["uuid"] }
    expect(skipped).to contain_exactly(@small["parent"], @large["parent"])
    expect(isolated_admin.tasks(step_state: "waiting", state: "complete")["tasks"]).to eq([])
    expect(isolated_admin.step_counts).to eq(
      "waiting" => 10, "skipped" => 2,
      "waiting_by_kind" => { "signal" => 4, "timer" => 2, "items" => 2, "child_task" => 2 },
      "next_wake_at" => step(isolated_admin.task(@small["parent"]), "nap")["wake_at"].then do |small_nap|
        [small_nap, step(isolated_admin.task(@large["parent"]), "nap")["wake_at"]].min
      end
    )
    expect_validation_error("step_state") { isolated_admin.tasks(step_state: "complete") }
    %w[waiting skipped].each do |state|
      sql, params = TaskerCore::Admin::TaskListing.statement(TaskerCore::Admin::TaskFilter.new(step_state: state))
      plan = @conn.exec_params("EXPLAIN #{sql}", params).map { |row| row["QUERY PLAN"] }.join("\n")
      expect(plan).to include("tasker_workflow_steps_listed_state_idx") # a probe per task, never a scan of the steps
      expect(plan).not_to include("Seq Scan on tasker_workflow_steps")
    end
    expect(@conn.exec("SELECT count(*) FROM tasker_counter_drift").getvalue(0, 0)).to eq("0")
  end
end
