# frozen_string_literal: true

require "spec_helper"
require "socket"

# A worker and an orchestrator started for real, on a database of their own (no other
# process consumes its queues, so the counts are exactly theirs), show up in
# tasker_processes with what they are doing, and leave it when they stop.
RSpec.describe "process heartbeats" do
  let!(:url) { create_process_database("beats") }
  let(:config) do
    TaskerCore::Config.new(env: "test", database_url: url, template_paths: TaskerSpec::Runtime::TEMPLATE_PATHS,
                           log_level: "error", orchestrator: { poll_interval_ms: 10 }, worker: { poll_interval_ms: 10 })
  end
  let(:conn) { PG.connect(url) }

  around do |example|
    previous = TaskerCore::Processes.interval_s
    TaskerCore::Processes.interval_s = 0.2
    example.run
  ensure
    TaskerCore::Processes.interval_s = previous
  end

  before { require File.join(TaskerSpec::Database::ROOT, "spec", "fixtures", "handlers") }

  after do
    @worker&.stop(timeout: 5)
    @orchestrator&.stop(timeout: 5)
    conn.close
  end

  def row(kind)
    TaskerCore::Processes.list(conn).find { |r| r["kind"] == kind }
  end

  def enqueue(name, context)
    @orchestrator.enqueue(namespace: "spec_workflows", name: name, version: "1.0.0", context: context)
  end

  def finished_tasks
    conn.exec("SELECT count(*) FROM tasker_tasks WHERE state IN ('complete', 'error')").getvalue(0, 0).to_i
  end

  it "shows a running worker's namespaces, concurrency, busy threads and counts, and an orchestrator's" do
    @orchestrator = TaskerCore::Orchestrator.start(config: config)
    @worker = TaskerCore::QueueWorker.start(namespaces: ["spec_workflows"], concurrency: 2, config: config)
    idle = wait_for(describe: -> { TaskerCore::Processes.list(conn).inspect }) { row("worker") }
    expect(idle).to include("host" => Socket.gethostname, "pid" => Process.pid, "version" => TaskerCore::VERSION,
                            "namespaces" => ["spec_workflows"], "concurrency" => 2, "busy" => 0, "processed" => 0,
                            "failed" => 0, "alive" => true, "beat_interval_s" => 0.2)
    expect(idle["id"]).to match(TaskerCore::Types::Primitives::UUID_FORMAT)
    expect(idle["rss_bytes"]).to be > 10 * 1024 * 1024
    expect(idle["details"]).to include("worker_id" => @worker.worker_id, "skipped" => 0)
    expect(idle["started_at"]).to match(/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z/)

    enqueue("slow_chain", { "sleep" => 1.5 })
    busy = wait_for(describe: -> { row("worker").inspect }) { row("worker").then { |r| r if r["busy"] == 1 } }
    expect(busy["last_seen_at"]).to be > idle["last_seen_at"]
    expect(busy["started_at"]).to eq(idle["started_at"])

    enqueue("failing_chain", {})
    wait_for(timeout: 15) { finished_tasks == 2 }
    # slow, after_slow, validate and notify succeeded; charge failed for good (ship never ran).
    worker_row = wait_for(describe: -> { row("worker").inspect }) do
      row("worker").then { |r| r if r["processed"] == 4 && r["busy"].zero? }
    end
    expect(worker_row).to include("processed" => @worker.stats[:processed], "failed" => 1)

    # Results still being applied show at a later beat: wait until the row has caught up.
    counted = -> { @orchestrator.status["stats"].values_at("requests_created", "results_applied").sum }
    orchestrator_row = wait_for(describe: -> { [row("orchestrator"), counted.call].inspect }) do
      row("orchestrator").then { |r| r if r["processed"] == counted.call }
    end
    expect(orchestrator_row).to include("pid" => Process.pid, "concurrency" => config.orchestrator[:request_concurrency],
                                        "busy" => nil, "failed" => 0, "alive" => true)
    expect(orchestrator_row["namespaces"]).to include("linear_workflow", "spec_workflows")
    # 2 requests, and of the 5 results (ship never ran) those not applied in the workers' posts:
    # charge's failure always, the successes only when posted under a backlog or after it.
    applied = orchestrator_row["details"]["stats"]["results_applied"]
    expect(applied).to be_between(1, 5)
    expect(orchestrator_row["processed"]).to eq(2 + applied)
    expect(orchestrator_row["details"]["stats"]).to include("requests_created" => 2)
  end

  it "deletes each row when its process stops, and a stopped process beats no more" do
    @orchestrator = TaskerCore::Orchestrator.start(config: config)
    @worker = TaskerCore::QueueWorker.start(namespaces: ["spec_workflows"], concurrency: 1, config: config)
    wait_for { TaskerCore::Processes.list(conn).size == 2 }

    @worker.stop(timeout: 5)
    expect(TaskerCore::Processes.list(conn).map { |r| r["kind"] }).to eq(["orchestrator"])
    @orchestrator.stop(timeout: 5)
    expect(TaskerCore::Processes.list(conn)).to eq([])
    sleep 0.5 # several intervals: nothing comes back
    expect(TaskerCore::Processes.list(conn)).to eq([])
    expect(@worker.stop).to be(true) # idempotent
  end

  it "lists the processes of the client's database when no connection is given" do
    TaskerSpec::Runtime.ensure_started
    listed = wait_for { TaskerCore::Processes.list.select { |r| r["pid"] == Process.pid }.then { |r| r if r.size >= 2 } }
    expect(listed.map { |r| r["kind"] }).to include("orchestrator", "worker")
    expect(listed.map { |r| r["namespaces"] }).to include(TaskerSpec::Runtime::NAMESPACES)
  end
end
