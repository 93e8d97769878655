# frozen_string_literal: true

require "spec_helper"
require "open3"

# Separate OS processes (exe/tasker-orchestrator, exe/tasker-worker) over one database,
# through chaos/run.rb: it prints a report and exits non-zero on any loss or duplicate.
RSpec.describe "many processes, SIGKILLs and a PostgreSQL restart (chaos/run.rb)" do
  def chaos(*args)
    url = URI(TaskerSpec::Database.url).tap { |u| u.path = "/tasker_chaos_spec" }.to_s
    out, err, status = Open3.capture3(RbConfig.ruby, "-I", File.join(TaskerSpec::Database::ROOT, "lib"),
                                      File.join(TaskerSpec::Database::ROOT, "chaos", "run.rb"),
                                      "--database-url", url, "--seed", "7", *args)
    report = out.lines.to_h { |line| line.split(/\s+/, 2).map(&:strip) }
    [report, status, out + err]
  end

  # Every run holds order approvals (chaos/approvals.rb: 20 by default): a decision, a
  # 100-item map with max_parallel 10, a signal for half of them, a sleep and a child task.
  def expect_clean(report, tasks, approvals: 20)
    expect(report).to include("tasks_enqueued" => tasks.to_s, "tasks_completed" => tasks.to_s, "tasks_lost" => "0",
                              "wrong_results" => "0", "results_accepted_twice" => "0", "steps_enqueued_twice" => "0",
                              "counter_drift" => "0", "items_created_twice" => "0", "maps_missing_items" => "0",
                              "children_started_twice" => "0", "signals_lost" => "0", "signals_owed" => "0",
                              "approvals" => approvals.to_s, "child_tasks" => approvals.to_s,
                              "map_items" => (approvals * 100).to_s, "signals_sent" => (approvals / 2).to_s)
  end

  it "runs 200 diamond, tree and order-approval tasks on 3 orchestrators and 3 workers with exact results, nothing twice" do
    report, status, output = chaos("--tasks", "200", "--kills", "0")
    expect(status).to be_success, output
    expect_clean(report, 200)
    expect(report["dead_letters"]).to eq("{}")
  end

  it "loses nothing and accepts nothing twice while orchestrators and workers are SIGKILLed (20 kills)" do
    report, status, output = chaos("--tasks", "200", "--kills", "20")
    expect(status).to be_success, output
    expect_clean(report, 200)
    expect(report).to include("kills" => "20", "orchestrator_kills" => "10", "worker_kills" => "10")
  end

  it "finishes every task when PostgreSQL restarts mid-run (processes reconnect with backoff)" do
    report, status, output = chaos("--tasks", "80", "--kills", "4", "--restart-postgres")
    expect(status).to be_success, output
    expect_clean(report, 80)
    expect(report["postgres_restarts"]).to eq("1")
  end
end
