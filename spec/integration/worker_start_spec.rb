# frozen_string_literal: true

require "spec_helper"
require "tempfile"
require "yaml"

# A `tasker-worker` process that cannot work exits 1 at start with a clear error, instead of
# logging "worker started" and retrying forever: a supervisor or deploy sees it at once.
RSpec.describe "a tasker-worker process that cannot start" do
  let(:root) { TaskerSpec::Database::ROOT }
  let(:handlers) { File.join(root, "examples", "handlers") }

  after { kill_spawned_processes }

  def env_for(url)
    { "DATABASE_URL" => url, "TASKER_ENV" => "test", "RUBYLIB" => File.join(root, "lib") }
  end

  def run_worker(url, namespaces)
    pid, log = spawn_process(env_for(url), "tasker-worker", "--namespaces", namespaces, "--require", handlers)
    status = wait_process(pid, timeout: 30)
    [status, File.read(log.path)]
  end

  it "exits 1 when the database refuses connections, naming the masked URL" do
    url = URI(TaskerSpec::Database.url).tap { |u| u.host = "127.0.0.1" }.tap { |u| u.port = 1 }
    url.user = "svc"
    url.password = "Pa55word"
    status, output = run_worker(url.to_s, "linear_workflow")
    expect(status).not_to be_nil, "still running: #{output}"
    expect(status.exitstatus).to eq(1), output
    expect(output.lines.last).to start_with("tasker-worker: worker cannot start: could not connect to " \
                                            "postgres://svc:***@127.0.0.1:1#{url.path}: ")
    expect(output).not_to include("Pa55word")
    expect(output).not_to include("worker started")
  end

  it "exits 1 when a namespace has no queue (no template of it registered), naming it" do
    TaskerSpec::Runtime.ensure_started # the database is bootstrapped and linear_workflow registered
    status, output = run_worker(TaskerSpec::Database.url, "linear_workflow,nobody_registered_this")
    expect(status).not_to be_nil, "still running: #{output}"
    expect(status.exitstatus).to eq(1), output
    expect(output.lines.last).to start_with("tasker-worker: namespace nobody_registered_this not registered in ")
    expect(output.lines.last).to include("(no queue nobody_registered_this_queue)")
    expect(output).not_to include("worker started")
  end

  it "waits for an orchestrator to register its templates' namespaces when none are named, then runs" do
    TaskerSpec::Runtime.ensure_started
    base = URI(TaskerSpec::Database.url)
    name = "#{base.path.delete_prefix('/')}_wait"
    TaskerSpec::Database.with_connection do |admin|
      admin.exec("DROP DATABASE IF EXISTS #{PG::Connection.quote_ident(name)} WITH (FORCE)")
      admin.exec("CREATE DATABASE #{PG::Connection.quote_ident(name)}")
    end
    url = base.tap { |u| u.path = "/#{name}" }.to_s
    config = Tempfile.new(["tasker_core", ".yml"])
    config.write({ "test" => { "template_paths" => [File.join(root, "examples", "templates")], "log_level" => "info" } }.to_yaml)
    config.flush
    pid, log = spawn_process(env_for(url), "tasker-worker", "--require", handlers, "--config", config.path)
    wait_for(timeout: 20) { File.read(log.path).include?("waiting for an orchestrator to register the namespaces") }
    expect(Process.wait2(pid, Process::WNOHANG)).to be_nil, "the worker gave up: #{File.read(log.path)}"
    orchestrator = TaskerCore::Orchestrator.start(config: TaskerCore::Config.load(config.path, env: "test",
                                                                                               environ: { "DATABASE_URL" => url }))
    wait_for(timeout: 30) { File.read(log.path).include?("worker started") }
    conn = PG.connect(url)
    uuid = TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                              context: { "even_number" => 2 }, connection: conn)
    state = wait_for(timeout: 30) do
      conn.exec_params("SELECT state FROM tasker_tasks WHERE uuid = $1 AND state = 'complete'", [uuid]).first
    end
    expect(state["state"]).to eq("complete")
  ensure
    conn&.close
    orchestrator&.stop(timeout: 5)
    config&.close!
  end
end
