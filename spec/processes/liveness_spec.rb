# frozen_string_literal: true

require "spec_helper"
require "open3"
require "stringio"

# What tasker_processes says about processes that die, fork, or lose their database.
RSpec.describe "process liveness" do
  let!(:url) { create_process_database("liveness") }
  let(:root) { TaskerSpec::Database::ROOT }
  let(:conn) { PG.connect(url) }

  # The schema, and the worker's queue (an orchestrator registers the templates).
  before do
    config = TaskerCore::Config.new(env: "test", database_url: url, template_paths: TaskerSpec::Runtime::TEMPLATE_PATHS,
                                    log_level: "error")
    TaskerCore::Orchestrator.start(config: config).stop(timeout: 5)
  end

  after do
    kill_spawned_processes
    @beat&.stop
    conn.close
  end

  def beat(interval_s: 0.2, **options)
    TaskerCore::Processes::Beat.new(kind: "worker", database_url: url, interval_s: interval_s,
                                    sample: -> { { namespaces: ["x"], busy: 0 } }, **options).start
  end

  def rows
    TaskerCore::Processes.list(conn)
  end

  it "shows a worker killed with KILL as not alive within 3 of its intervals, then prunes its row" do
    script = <<~RUBY
      require "tasker_core"
      TaskerCore::Processes.interval_s = 0.3
      TaskerCore::QueueWorker.start(namespaces: ["linear_workflow"], concurrency: 1)
      puts "started"
      sleep
    RUBY
    env = { "DATABASE_URL" => url, "TASKER_ENV" => "test", "RUBYLIB" => File.join(root, "lib") }
    pid = Process.spawn(env, RbConfig.ruby, "-e", script, chdir: root, %i[out err] => File::NULL)
    spawned_pids << pid
    child = wait_for(describe: -> { rows.inspect }) { rows.find { |r| r["pid"] == pid && r["alive"] } }
    expect(child).to include("kind" => "worker", "namespaces" => ["linear_workflow"], "beat_interval_s" => 0.3)

    Process.kill("KILL", pid)
    killed_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    wait_for(timeout: 30) { rows.find { |r| r["id"] == child["id"] && !r["alive"] } }
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - killed_at).to be < 3 * 0.3 + 1.5

    # Its row stays (not alive) until it has been silent for the prune age; any beat prunes.
    expect(rows.map { |r| r["id"] }).to include(child["id"])
    @beat = beat(prune_after_s: 1.5)
    wait_for(timeout: 10) { rows.none? { |r| r["id"] == child["id"] } }
    expect(rows.map { |r| r["pid"] }).to eq([Process.pid]) # a live row is never pruned
  end

  it "prunes stale rows on demand, leaving fresh ones" do
    conn.exec(<<~SQL) # no beat runs here: its own prune would race ours
      INSERT INTO tasker_processes (id, kind, host, pid, version, beat_interval_s, started_at, last_seen_at)
      VALUES (gen_random_uuid(), 'orchestrator', 'gone', 1, '0', 5, now() - interval '1 hour', now() - interval '400 s'),
             (gen_random_uuid(), 'worker', 'gone', 2, '0', 5, now() - interval '1 hour', now() - interval '200 s'),
             (gen_random_uuid(), 'worker', 'here', 3, '0', 5, now() - interval '1 hour', now() - interval '1 s')
    SQL
    expect(rows.map { |r| [r["pid"], r["alive"]] }).to eq([[1, false], [2, false], [3, true]])
    expect(TaskerCore::Processes.prune!(conn)).to eq(1) # older than 300 s
    expect(TaskerCore::Processes.prune!(conn, older_than: 100)).to eq(1)
    expect(rows.map { |r| r["pid"] }).to eq([3])
    expect { TaskerCore::Processes.prune!(conn, older_than: 0) }.to raise_error(TaskerCore::ValidationError, /older_than/)
  end

  it "never beats with its parent's row in a forked child" do
    @beat = beat
    parent = wait_for { rows.first }
    reader, writer = IO.pipe
    child = fork do
      reader.close
      report = [@beat.running?, @beat.stop] # the parent's beat: not running here, nothing deleted
      @beat.start # a beat of the child's own: a new row
      wait_for { @beat.beats.positive? }
      report << @beat.id << @beat.stop
      writer.write(JSON.generate(report))
      writer.close
      exit!(0)
    end
    writer.close
    _, status = Process.wait2(child)
    running, stopped, child_id, child_stopped = JSON.parse(reader.read)
    expect([status.success?, running, stopped, child_stopped]).to eq([true, false, true, true])
    expect(child_id).not_to eq(parent["id"])
    after_fork = rows
    expect(after_fork.map { |r| r["id"] }).to eq([parent["id"]]) # the child's row came and went; the parent's stays
    expect(wait_for { rows.first.then { |r| r if r["last_seen_at"] > parent["last_seen_at"] } }["pid"]).to eq(Process.pid)
  end

  it "never raises into the process: a lost database connection is a missed beat, and beats resume" do
    log = StringIO.new
    previous = [TaskerCore::Logging.output, TaskerCore::Logging.level]
    TaskerCore::Logging.output = log
    TaskerCore::Logging.level = "info"
    @beat = beat(interval_s: 0.1)
    wait_for { @beat.beats >= 2 }
    conn.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tasker_core_beat' " \
              "AND datname = current_database()")
    before = @beat.beats
    wait_for { @beat.beats > before + 2 }
    expect(@beat).to be_running
    expect(log.string).to include("process beat failed", "process beats resumed")
    expect(log.string.scan("process beat failed").size).to eq(1)

    unreachable = TaskerCore::Processes::Beat.new(kind: "worker", database_url: url.sub(%r{/[^/]+\z}, "/no_such_db"),
                                                  interval_s: 0.05, sample: -> { raise "sampling broke" }).start
    sleep 0.3
    expect([unreachable.running?, unreachable.beats]).to eq([true, 0])
    expect(unreachable.stop(timeout: 2)).to be(true)
  ensure
    TaskerCore::Logging.output, TaskerCore::Logging.level = previous
  end
end
