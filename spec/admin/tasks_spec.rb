# frozen_string_literal: true

require_relative "admin_helper"

# Admin#tasks over tasks run by the embedded orchestrator and a real worker: every filter
# answers what the same condition answers in SQL, in the listing's order; bad input is
# refused naming the field; pages follow each other without a gap or a repeat while new
# tasks arrive.
RSpec.describe "TaskerCore::Admin#tasks (real tasks)" do
  include AdminHelpers

  def enqueue(namespace, name, context, **options)
    TaskerCore.enqueue(namespace: namespace, name: name, version: "1.0.0", context: context, **options)
  end

  before(:context) do
    TaskerSpec::Runtime.ensure_started
    @key = "admin-spec-#{SecureRandom.hex(4)}"
    @linear = Array.new(3) do |i|
      enqueue("linear_workflow", "mathematical_sequence", { "even_number" => 2 }, idempotency_key: i.zero? ? @key : nil)
    end
    @diamond = Array.new(2) { enqueue("diamond_workflow", "diamond_pattern", { "even_number" => 2 }) }
    @failed = enqueue("spec_workflows", "failing_chain", { "order" => 1 })
    (@linear + @diamond + [@failed]).each { |uuid| TaskerCore.wait(uuid, timeout: 30) }
  end

  it "answers each task with its fields, newest first, as JSON values" do
    page = admin.tasks(limit: 500)
    expect(page.keys).to eq(%w[tasks next_cursor])
    uuids = page["tasks"].map { |task| task["uuid"] }
    expect(uuids).to eq(uuids_in_listing_order(nil).first(500))
    diamond = page["tasks"].find { |task| task["uuid"] == @diamond.first }
    expect(diamond.keys).to eq(AdminHelpers::TASK_FIELDS)
    expect(diamond).to include("namespace" => "diamond_workflow", "name" => "diamond_pattern", "version" => "1.0.0",
                               "state" => "complete", "priority" => 0, "idempotency_key" => nil, "steps_total" => 4,
                               "steps_done" => 4, "steps_failed" => 0, "steps_active" => 0, "run_at" => nil)
    expect(diamond.values_at("created_at", "updated_at", "completed_at")).to all(match(AdminHelpers::ISO_MS))
    stored = TaskerSpec::Database.query("SELECT created_at FROM tasker_tasks WHERE uuid = $1", [@diamond.first]).first
    expect(Time.iso8601(diamond["created_at"])).to be_within(0.001).of(Time.parse(stored["created_at"]))
    failed = page["tasks"].find { |task| task["uuid"] == @failed }
    expect(failed).to include("state" => "error", "steps_total" => 4, "steps_done" => 2, "steps_failed" => 1)
    expect(page["tasks"].find { |task| task["uuid"] == @linear.first }["idempotency_key"]).to eq(@key)
    expect(JSON.parse(JSON.generate(page))).to eq(page)
  end

  it "answers every filter as its SQL condition does, in the listing's order" do
    middle = Time.parse(TaskerSpec::Database.query("SELECT created_at FROM tasker_tasks WHERE uuid = $1",
                                                   [@diamond.first]).first["created_at"])
    failed_hex = @failed.delete("-")
    cases = [
      [{ state: "error" }, "t.state = 'error'", [], [@failed]],
      [{ state: :error }, "t.state = 'error'", [], [@failed]],
      [{ state: %w[error complete] }, "t.state IN ('error', 'complete')", [], [@failed, *@diamond]],
      [{ namespace: "diamond_workflow" }, "n.name = 'diamond_workflow'", [], @diamond],
      [{ template: "diamond_pattern" }, "nt.name = 'diamond_pattern'", [], @diamond],
      [{ template: "diamond_pattern@1.0.0" }, "nt.name = 'diamond_pattern' AND nt.version = '1.0.0'", [], @diamond],
      [{ template: "diamond_workflow/diamond_pattern" }, "n.name = 'diamond_workflow' AND nt.name = 'diamond_pattern'",
       [], @diamond],
      [{ template: "linear_workflow/diamond_pattern" }, "FALSE", [], []],
      [{ template: "diamond_pattern@9.9.9" }, "FALSE", [], []],
      [{ template: "failing_chain", state: "error" }, "nt.name = 'failing_chain' AND t.state = 'error'", [], [@failed]],
      [{ namespace: "linear_workflow", template: "spec_workflows/failing_chain" }, "FALSE", [], []],
      # (requests are handled several at once: creation order is not enqueue order)
      [{ since: middle }, "t.created_at >= $1", [middle.iso8601(6)], [@diamond.first]],
      [{ before: middle }, "t.created_at < $1", [middle.iso8601(6)], []],
      [{ since: middle, before: middle + 3600, state: "complete" },
       "t.created_at >= $1 AND t.created_at < $2 AND t.state = 'complete'", [middle.iso8601(6), (middle + 3600).iso8601(6)],
       [@diamond.first]],
      [{ idempotency_key: @key }, "t.idempotency_key = $1", [@key], [@linear.first]],
      [{ idempotency_key: "#{@key}-unknown" }, "FALSE", [], []],
      [{ uuid_prefix: @failed[0, 8] }, "t.uuid::text LIKE $1", ["#{@failed[0, 8]}%"], [@failed]],
      [{ uuid_prefix: @failed[0, 13].upcase }, "t.uuid::text LIKE $1", ["#{@failed[0, 13]}%"], [@failed]],
      [{ uuid_prefix: failed_hex[0, 12] }, "replace(t.uuid::text, '-', '') LIKE $1", ["#{failed_hex[0, 12]}%"], [@failed]],
      [{ uuid_prefix: @failed }, "t.uuid = $1", [@failed], [@failed]],
      [{ uuid_prefix: @failed[0, 2], state: "error", namespace: "spec_workflows" },
       "t.uuid::text LIKE $1 AND t.state = 'error' AND n.name = 'spec_workflows'", ["#{@failed[0, 2]}%"], [@failed]]
    ]
    cases.each do |filter, where, params, included|
      listed = admin.tasks(**filter, limit: 500)["tasks"].map { |task| task["uuid"] }
      expect(listed).to eq(uuids_in_listing_order(nil, where, params).first(500)), "filter #{filter}"
      expect(listed).to include(*included), "filter #{filter}"
    end
  end

  it "refuses bad filter input naming the field, and answers valid input right after it" do
    dead_letter_cursor = TaskerCore::Admin::Page.encode(TaskerCore::Admin::DeadLetterListing::CURSOR_KIND, 5)
    impossible_day = TaskerCore::Admin::Page.encode("t", "2026-02-30T00:00:00.000000Z", 1)
    too_big_id = TaskerCore::Admin::Page.encode("t", "2026-02-01T00:00:00.000000Z", "9" * 19)
    hostile = {
      "state" => [{ state: "bogus" }, { state: ["complete", "nope'; DROP TABLE tasker_tasks; --"] }, { state: [] },
                  { state: 5 }],
      "namespace" => [{ namespace: "Bad-NS" }, { namespace: 5 }, { namespace: "a" * 42 }],
      "template" => [{ template: "a/b/c" }, { template: "x@1" }, { template: "/x" }, { template: "ns/" },
                     { template: "Name" }, { template: "x@" }, { template: :x }],
      "since" => [{ since: "yesterday" }, { since: 1_700_000_000 }], "before" => [{ before: Date.today }],
      "idempotency_key" => [{ idempotency_key: "" }, { idempotency_key: "a\0b" }, { idempotency_key: "x" * 256 },
                            { idempotency_key: "\xff".b }, { idempotency_key: 7 }],
      "uuid_prefix" => [{ uuid_prefix: "xyz" }, { uuid_prefix: "" }, { uuid_prefix: "--" }, { uuid_prefix: "0" * 33 },
                        { uuid_prefix: "3fa8' OR '1'='1" }, { uuid_prefix: 3 }],
      "limit" => [{ limit: 0 }, { limit: 501 }, { limit: "5" }, { limit: 1.5 }, { limit: nil }],
      "cursor" => [{ cursor: "garbage!" }, { cursor: "" }, { cursor: 5 }, { cursor: dead_letter_cursor },
                   { cursor: impossible_day }, { cursor: too_big_id }, { cursor: "A" * 300 }]
    }
    count = -> { TaskerSpec::Database.query("SELECT count(*) FROM tasker_tasks").first["count"] }
    before = count.call
    hostile.each do |field, inputs|
      inputs.each do |input|
        expect { admin.tasks(**input) }.to raise_error(TaskerCore::ValidationError) { |error|
          expect(error.field).to eq(field), "#{input} raised #{error.message}"
          expect(error.message).to include(field)
        }
        expect(admin.tasks(state: "error")["tasks"].map { |task| task["uuid"] }).to include(@failed)
      end
    end
    expect(count.call).to eq(before)
  end

  it "pages through every task once, in order, while new tasks arrive" do
    condition = "n.name = 'linear_workflow' AND nt.name = 'mathematical_sequence'"
    existing = uuids_in_listing_order(nil, condition)
    seen = []
    arrived = []
    cursor = nil
    loop do
      page = admin.tasks(template: "linear_workflow/mathematical_sequence", limit: 2, cursor: cursor)
      seen.concat(page["tasks"].map { |task| task["uuid"] })
      arrived << enqueue("linear_workflow", "mathematical_sequence", { "even_number" => 2 })
      wait_for(timeout: 10, describe: -> { "task #{arrived.last} created" }) do
        TaskerSpec::Database.query("SELECT 1 FROM tasker_tasks WHERE uuid = $1", [arrived.last]).any?
      end
      break unless (cursor = page["next_cursor"])
    end
    expect(seen).to eq(existing)
    expect(seen & arrived).to be_empty
    newest = admin.tasks(template: "mathematical_sequence", limit: arrived.size)["tasks"].map { |task| task["uuid"] }
    expect(newest).to eq(arrived.reverse)
    arrived.each { |uuid| TaskerCore.wait(uuid, timeout: 30) }
  end
end
