# frozen_string_literal: true

require "open3"
require "rbconfig"
require_relative "admin_helper"

# TaskerCore::Admin itself: pure Ruby (no native extension), its copy of the task states,
# the counts by state, and what close means.
RSpec.describe "TaskerCore::Admin" do
  include AdminHelpers

  it "works in a process without the native extension (tasker_core/pure)" do
    script = <<~RUBY
      require "json"
      require "tasker_core/pure"
      abort "the native extension was loaded" if defined?(TaskerCore::Native)
      admin = TaskerCore::Admin.new(config: TaskerCore::Config.new(env: "test", database_url: ARGV[0]))
      puts JSON.generate("counts" => admin.counts_by_state, "tasks" => admin.tasks(limit: 1)["tasks"].size,
                         "queues" => admin.queues.map { |q| q["name"] })
      admin.close
    RUBY
    TaskerSpec::Runtime.ensure_started
    run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 })
    env = { "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil }
    out, err, status = Open3.capture3(env, RbConfig.ruby, "-I", File.join(TaskerSpec::Database::ROOT, "lib"), "-e", script,
                                      TaskerSpec::Database.url)
    expect(status).to be_success, err
    report = JSON.parse(out.lines.last)
    expect(report["counts"].keys).to eq(TaskerCore::Admin::TASK_STATES)
    expect(report["counts"]["complete"]).to be >= 1
    expect(report["tasks"]).to eq(1)
    expect(report["queues"]).to include("task_requests", "linear_workflow_queue")
  end

  it "knows the task states the schema allows" do
    check = TaskerSpec::Database.query(<<~SQL).first["definition"]
      SELECT pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c
       WHERE c.conrelid = 'tasker_tasks'::regclass AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%state%'
    SQL
    expect(check.scan(/'([a-z_]+)'::text/).flatten).to eq(TaskerCore::Admin::TASK_STATES)
  end

  it "counts tasks by state, every state present" do
    TaskerSpec::Runtime.ensure_started
    run_task("spec_workflows", "failing_chain", {})
    counts = admin.counts_by_state
    expect(counts.keys).to eq(TaskerCore::Admin::TASK_STATES)
    stored = TaskerSpec::Database.query("SELECT state, count(*) AS n FROM tasker_tasks GROUP BY state")
                                 .to_h { |row| [row["state"], Integer(row["n"])] }
    expect(counts).to eq(TaskerCore::Admin::TASK_STATES.to_h { |state| [state, stored.fetch(state, 0)] })
    expect(counts["error"]).to be >= 1
    expect(counts["resolved_manually"]).to eq(stored.fetch("resolved_manually", 0))
  end

  it "reports a database it cannot reach as a DatabaseError without the password, and is unusable once closed" do
    unreachable = TaskerCore::Admin.new(config: TaskerCore::Config.new(
      env: "test", database_url: "postgres://admin:s3cret@127.0.0.1:1/nowhere?connect_timeout=1"
    ))
    expect { unreachable.queues }.to raise_error(TaskerCore::DatabaseError) { |error|
      expect(error.message).not_to include("s3cret")
    }
    admin.counts_by_state
    admin.close
    expect { admin.counts_by_state }.to raise_error(TaskerCore::DatabaseError, /shut down/)
  end
end
