# frozen_string_literal: true

require_relative "admin_helper"
require File.join(TaskerSpec::Database::ROOT, "bench", "admin_history")

# With 100k tasks of history (generated with generate_series, then ANALYZE: autovacuum may be
# off), every listing filter of Admin#tasks is planned as index scans that stop after a page:
# never a Seq Scan on tasker_tasks. And keyset pages stay exact at that volume while tasks
# are inserted between them.
RSpec.describe "TaskerCore::Admin#tasks on 100k tasks" do
  include AdminHelpers

  before(:context) do
    @conn = TaskerSpec::Database.connect_isolated
    @conn.exec("SET client_min_messages TO warning")
    TaskerSpec::Database.truncate_tasker_tables(@conn)
    Bench::AdminHistory.generate(@conn, tasks: 100_000)
  end

  after(:context) do
    TaskerSpec::Database.truncate_tasker_tables(@conn)
    @conn.close
  end

  after { close_isolated_admin }

  # The node types of a JSON plan that read tasker_tasks (a table scan or one of its indexes).
  def tasks_scans(plan)
    own = plan["Relation Name"] == "tasker_tasks" || plan["Index Name"].to_s.start_with?("tasker_tasks_")
    [*(own ? [plan["Node Type"]] : []), *Array(plan["Plans"]).flat_map { |child| tasks_scans(child) }]
  end

  def plan_of(filter)
    sql, params = TaskerCore::Admin::TaskListing.statement(TaskerCore::Admin::TaskFilter.new(**filter))
    JSON.parse(@conn.exec_params("EXPLAIN (FORMAT JSON) #{sql}", params).getvalue(0, 0)).first["Plan"]
  end

  it "plans every filter as index scans of tasker_tasks, never a Seq Scan" do
    expect(@conn.exec("SELECT count(*) FROM tasker_tasks").getvalue(0, 0).to_i).to eq(100_000)
    uuid = @conn.exec("SELECT uuid FROM tasker_tasks WHERE state = 'error' ORDER BY id LIMIT 1 OFFSET 500").getvalue(0, 0)
    key = @conn.exec("SELECT idempotency_key FROM tasker_tasks WHERE idempotency_key IS NOT NULL LIMIT 1 OFFSET 999")
               .getvalue(0, 0)
    deep = isolated_admin.tasks(limit: 500)["next_cursor"]
    now = Time.now
    filters = [
      {}, { cursor: deep }, { state: "error" }, { state: %w[error cancelled pending] }, { state: "complete", cursor: deep },
      { namespace: "history_billing" }, { namespace: "history_search", state: "error" },
      { template: "template_2" }, { template: "template_3@2.0.0" }, { template: "history_search/template_3@2.0.0" },
      { template: "history_billing/template_1", state: %w[error in_progress], cursor: deep },
      { since: now - 3600 }, { before: now - 43_200 }, { since: now - 7200, before: now - 3600, state: "complete" },
      { idempotency_key: key }, { idempotency_key: key, state: "complete" },
      { uuid_prefix: uuid[0, 1] }, { uuid_prefix: uuid[0, 4] }, { uuid_prefix: uuid[0, 13] }, { uuid_prefix: uuid },
      { uuid_prefix: uuid[0, 2], state: "error" }, { uuid_prefix: uuid[0, 3], namespace: "history_shipping" },
      # (the steps side of a step state: spec/admin/dynamic_detail_spec.rb, which has steps)
      { step_state: "waiting" }, { step_state: "skipped" }, { step_state: "skipped", state: "error", cursor: deep },
      { step_state: "waiting", template: "template_2" }
    ]
    filters.each do |filter|
      types = tasks_scans(plan_of(filter))
      expect(types).not_to include("Seq Scan"), "#{filter}: #{types}"
      expect(types & ["Index Scan", "Index Only Scan", "Bitmap Index Scan"]).not_to be_empty, "#{filter}: #{types}"
    end
  end

  it "keeps pages exact while tasks arrive between them" do
    expected = uuids_in_listing_order(@conn, "t.state = 'error'")
    expect(expected.size).to be > 1500
    seen = []
    cursor = nil
    arrived = 0
    loop do
      page = isolated_admin.tasks(state: "error", limit: 500, cursor: cursor)
      seen.concat(page["tasks"].map { |task| task["uuid"] })
      # newer tasks, half of them in error, and one in error created at the very time of the
      # page's last row (a tie: its higher id puts it before that row, on no later page)
      @conn.exec_params(<<~SQL, [page["tasks"].last["uuid"]])
        INSERT INTO tasker_tasks (uuid, named_task_id, state, created_at)
        SELECT gen_random_uuid(), (SELECT min(id) FROM tasker_named_tasks), (ARRAY['error', 'complete'])[1 + i % 2], now()
          FROM generate_series(1, 20) i
        UNION ALL
        SELECT gen_random_uuid(), named_task_id, 'error', created_at FROM tasker_tasks WHERE uuid = $1
      SQL
      arrived += 11
      break unless (cursor = page["next_cursor"])
    end
    expect(seen).to eq(expected)
    now_listed = all_pages("tasks") { |c| isolated_admin.tasks(state: "error", limit: 500, cursor: c) }.map { |t| t["uuid"] }
    expect((now_listed - expected).size).to eq(arrived) # every arrival listed now, once
    expect(now_listed & expected).to eq(expected)
    expect(now_listed.uniq.size).to eq(now_listed.size)
  end
end
