# frozen_string_literal: true

require "spec_helper"

# A worker that cannot reach its database, or is given a namespace that has no queue (no
# template of it registered), fails at start instead of logging "worker started" and
# polling nothing forever. (Connections lost later are retried: queue_worker_spec.rb.)
RSpec.describe "QueueWorker.start checks" do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:pgmq) { TaskerCore::Messaging::PgmqClient.new(conn) }
  let(:log) { StringIO.new.tap { |io| TaskerCore::Logging.output = io } }
  let(:workers) { [] }

  after do
    workers.each { |w| w.stop(timeout: 5) }
    conn.close
  end

  def start(namespaces, config: TaskerCore.config)
    log
    TaskerCore::QueueWorker.start(namespaces: namespaces, concurrency: 1, config: config).tap { |w| workers << w }
  end

  def log_lines(msg)
    log.string.lines.map { |line| JSON.parse(line) }.select { |line| line["msg"] == msg }
  end

  # Worker connections opened since `since` (a database time): earlier examples' workers
  # may still be closing theirs.
  def worker_connections(since)
    conn.exec_params("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tasker_core_worker' " \
                     "AND datname = current_database() AND backend_start >= $1", [since]).getvalue(0, 0).to_i
  end

  it "raises DatabaseError, masking the password, when the database cannot be reached" do
    refused = TaskerCore::Config.new(env: "test", database_url: "postgres://svc:Pa55word@127.0.0.1:1/nowhere")
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect { start(["linear_workflow"], config: refused) }
      .to raise_error(TaskerCore::DatabaseError,
                      %r{\Aworker cannot start: could not connect to postgres://svc:\*\*\*@127\.0\.0\.1:1/nowhere: })
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5
    expect(log_lines("worker started")).to eq([])
    expect(log_lines("worker cannot start").first["error"]).not_to include("Pa55word")
  end

  it "raises ConfigurationError naming each namespace that has no queue, and leaves no connection open" do
    registered = TaskerSpec::WorkflowFixture.unique_namespace
    pgmq.create("#{registered}_queue")
    missing = TaskerSpec::WorkflowFixture.unique_namespace
    # A namespace row without its queue (the queue dropped by hand) is not enough either.
    row_only = TaskerSpec::WorkflowFixture.create(conn, steps: []).namespace
    since = conn.exec("SELECT clock_timestamp()").getvalue(0, 0)
    expect { start([registered, missing, row_only]) }.to raise_error(
      TaskerCore::ConfigurationError,
      "namespaces #{missing}, #{row_only} not registered in #{TaskerCore.config.masked_database_url}: no template " \
      "of them has been registered (no queue #{missing}_queue, #{row_only}_queue); start an orchestrator with " \
      "the templates first, or correct the namespaces"
    )
    expect(log_lines("worker started")).to eq([])
    expect(log_lines("worker cannot start").first).to include("namespaces" => [registered, missing, row_only])
    wait_for(timeout: 5) { worker_connections(since).zero? }
  end

  it "starts for namespaces whose queue exists, with or without a tasker_namespaces row" do
    with_row = TaskerSpec::WorkflowFixture.create(conn, steps: []).namespace
    pgmq.create("#{with_row}_queue")
    queue_only = TaskerSpec::WorkflowFixture.unique_namespace
    pgmq.create("#{queue_only}_queue")
    worker = start([with_row, queue_only])
    expect(worker).to be_running
    expect(log_lines("worker started").first).to include("namespaces" => [with_row, queue_only])
  end
end
