# frozen_string_literal: true

require "spec_helper"
require_relative "support/rails_app"

# The app's tasks run by the processes a Rails team deploys, started the documented way in
# the app's root: `bin/tasker worker -C 10` (over an ActiveRecord pool of 5, config/database.yml)
# and `bundle exec tasker-orchestrator`. No --namespaces, no --require: they load the app.
RSpec.describe "A Rails app with bin/tasker worker and tasker-orchestrator" do
  app = nil
  events_dir = nil
  running = {}

  before(:context) do
    app = TaskerSpec::RailsApp.instance
    events_dir = Dir.mktmpdir("tasker_rails_events")
  end

  after(:context) do
    running.each_value(&:kill)
    FileUtils.rm_rf(events_dir) if events_dir
  end

  # What the processes said, when an example failed.
  after do |example|
    next unless example.exception

    running.each { |name, process| warn "--- #{name} (last lines)\n#{process.output.lines.last(30).join}" }
  end

  # The orchestrator, then (once it has registered the app's templates, which creates the
  # namespaces' queues a worker needs) the worker, started by the first example that needs
  # them; the step events they receive go to workers.jsonl.
  define_method(:processes) do
    env = { "TASKER_EVENTS_LOG" => File.join(events_dir, "workers.jsonl") }
    running[:orchestrator] ||= app.spawn("bundle", "exec", "tasker-orchestrator", env: env).tap do |orchestrator|
      orchestrator.wait_for_output("orchestrator started", timeout: 60)
    end
    running[:worker] ||= app.spawn("bin/tasker", "worker", "-C", "10", env: env)
    running
  end

  def events(file)
    File.exist?(file) ? File.readlines(file).map { |line| JSON.parse(line) } : []
  end

  it "has its schema from db:migrate" do
    expect(app.steps.fetch(:db_setup)).to match(/InstallTaskerCore: migrated/)
    # schema.rb is the app's: our objects are the gem's to install.
    schema = File.read(app.path("db/schema.rb"))
    expect(schema).to include(%(create_table "orders"))
    expect(schema).not_to include("tasker_")
    tables = app.query("dev", "SELECT tablename FROM pg_tables WHERE tablename IN ('orders', 'tasker_tasks')")
    expect(tables.map { |row| row["tablename"] }.sort).to eq(%w[orders tasker_tasks])
  end

  it "writes the core's log lines, like the gem's Ruby lines, to Rails.logger and to the terminal" do
    orchestrator = processes.fetch(:orchestrator).wait_for_output("orchestrator running", timeout: 30)
    log = File.readlines(app.path("log/development.log")).filter_map do |line|
      JSON.parse(line) if line.start_with?("{")
    end
    started = log.find { |l| l["msg"] == "orchestrator started" && l["component"] == "runtime" }
    expect(started).to include("level" => "INFO") # from the Rust core, through its pipe
    expect(log.map { |l| l["component"] }).to include("cli.orchestrator") # from Ruby
    expect(orchestrator.output).to include(%("component":"cli.orchestrator"), "orchestrator started")
  end

  it "never creates the task of an enqueue whose transaction rolled back; a committed one sees its rows" do
    processes
    report = app.runner("transactional_enqueue")

    # (b) the handler ran after the late commit and read the order through ActiveRecord.
    task = report.fetch("committed")
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["load_order"]["results"]).to include("total_cents" => 1234, "state" => "new")
    expect(report["committed_order"]).to eq("recorded")

    # (a) the rolled-back request was never sent: no task, no queued or archived message,
    # although the orchestrator has taken every request sent after it.
    uuid = report.fetch("rolled_back")
    expect(report["rolled_back_order"]).to be(false)
    expect(report["rolled_back_task"]).to be_nil
    expect(app.query("dev", "SELECT 1 FROM tasker_tasks WHERE uuid = $1", [uuid])).to be_empty
    %w[q_task_requests a_task_requests].each do |table|
      expect(app.query("dev", "SELECT 1 FROM pgmq.#{table} WHERE message->>'task_uuid' = $1", [uuid])).to be_empty
    end
    expect(app.query("dev", "SELECT 1 FROM tasker_dead_letters WHERE task_uuid = $1", [uuid])).to be_empty
  end

  it "completes 50 tasks whose handlers use ActiveRecord, at a concurrency of 10 over a pool of 5" do
    worker = processes.fetch(:worker)
    report = app.runner("many_tasks", args: ["50"])
    expect(report["states"]).to eq("complete" => 50)
    expect(report["orders"]).to eq("recorded" => 50)
    expect(report["totals"]).to eq((0...50).to_a)
    expect(worker.output).not_to include("could not obtain a connection")
  end

  it "runs an ActiveJob perform_later on the same workers" do
    processes
    report = app.runner("active_job")
    expect(report["adapter"]).to match(/TaskerCore/)
    expect(report["state"]).to eq("shipped by ParcelPost")
    # The job ran as a task (its uuid is the job's provider_job_id) in the namespace of its queue.
    expect(report["task"]).to eq("state" => "complete", "namespace" => "default")
  end

  it "delivers step and task events with durations to ActiveSupport::Notifications subscribers" do
    processes
    runner_log = File.join(events_dir, "runner.jsonl")
    report = app.runner("events", env: { "TASKER_EVENTS_LOG" => runner_log, "SHOP_RELAY_EVENTS" => "1" })
    expect(report["state"]).to eq("complete")
    uuid = report["uuid"]

    # step.tasker_core: in the worker's process, around each handler run.
    steps = events(File.join(events_dir, "workers.jsonl")).select do |e|
      e["name"] == "step.tasker_core" && e["payload"]["task_uuid"] == uuid
    end
    expect(steps.map { |e| [e["payload"]["step_name"], e["payload"]["outcome"]] })
      .to contain_exactly(%w[load_order success], %w[mark_recorded success])
    # load_order's query alone takes 20 ms.
    expect(steps.find { |e| e["payload"]["step_name"] == "load_order" }["duration"]).to be >= 20

    # task_completed.tasker_core: in the process that asked for it (relay_events), from the database.
    completed = events(runner_log).select { |e| e["name"] == "task_completed.tasker_core" && e["payload"]["task_uuid"] == uuid }
    expect(completed.size).to eq(1)
    expect(completed.first["payload"]).to include("state" => "complete", "name" => "record_order")
    expect(completed.first["duration"]).to be > 0

    # enqueue.tasker_core: in the enqueuing process, sent on the app's own connection.
    enqueued = events(runner_log).select { |e| e["name"] == "enqueue.tasker_core" && e["payload"]["task_uuid"] == uuid }
    expect(enqueued.map { |e| e["payload"].values_at("namespace", "name", "transactional") })
      .to eq([["shop", "record_order", true]])
    expect(enqueued.first["duration"]).to be_a(Numeric)
  end

  it "stops both processes cleanly on TERM" do
    stopped = processes.values_at(:worker, :orchestrator).map(&:stop)
    expect(stopped.map(&:exitstatus)).to eq([0, 0]), processes.values.map(&:output).join("\n")
  end
end
