# frozen_string_literal: true

require "spec_helper"
require "tmpdir"

# Workers as real processes, really killed: visibility timeouts bring their messages back,
# and a heartbeat keeps a long handler's message from being run twice.
RSpec.describe "crash recovery of workers" do
  let(:root) { TaskerSpec::Database::ROOT }
  let(:url) { URI(TaskerSpec::Database.url).tap { |u| u.path = "/tasker_crash_spec" }.to_s }
  let(:dir) { Dir.mktmpdir("tasker_crash") }
  let(:config_path) do
    File.join(dir, "tasker_core.yml").tap do |path|
      File.write(path, { "crash" => {
        "database_url" => url, "log_level" => "warn", "template_paths" => [File.join(root, "spec", "fixtures", "templates")],
        "orchestrator" => { "visibility_timeout_s" => 2, "poll_interval_ms" => 20 },
        "worker" => { "visibility_timeout_s" => 2, "poll_interval_ms" => 20, "concurrency" => 2, "shutdown_timeout_s" => 2 }
      } }.to_yaml)
    end
  end

  before do
    admin = PG.connect(TaskerSpec::Database.admin_url)
    admin.exec("SET client_min_messages TO warning")
    admin.exec("DROP DATABASE IF EXISTS tasker_crash_spec WITH (FORCE)")
    admin.exec("CREATE DATABASE tasker_crash_spec")
    admin.close
    @pids = []
    @orchestrator = spawn_exe("tasker-orchestrator")
    @db = PG.connect(url)
    wait_for { @db.exec("SELECT to_regclass('pgmq.q_spec_workflows_queue') AS q").getvalue(0, 0) }
  end

  after do
    @pids.each do |pid|
      Process.kill("KILL", pid)
      Process.wait(pid)
    rescue Errno::ESRCH, Errno::ECHILD
      nil
    end
    @db&.close
  end

  def spawn_exe(name, *args)
    pid = Process.spawn({ "RUBYLIB" => File.join(root, "lib"), "DATABASE_URL" => url }, RbConfig.ruby, File.join(root, "exe", name), *args,
                        "--config", config_path, "--env", "crash", chdir: root, %i[out err] => File.join(dir, "#{name}.log"))
    @pids << pid
    pid
  end

  def spawn_worker
    spawn_exe("tasker-worker", "--namespaces", "spec_workflows", "--require", File.join(root, "spec", "fixtures", "handlers.rb"))
  end

  def enqueue_slow(seconds)
    uuid = SecureRandom.uuid
    request = { "kind" => "task_request", "task_uuid" => uuid, "namespace" => "spec_workflows", "name" => "slow_chain",
                "version" => "1.0.0", "context" => { "sleep" => seconds } }
    @db.exec_params("SELECT pgmq.send('task_requests', $1::jsonb)", [JSON.generate(request)])
    uuid
  end

  def step(uuid, name)
    @db.exec_params(<<~SQL, [uuid, name]).first
      SELECT s.state, s.claims, s.attempts, t.state AS task_state FROM tasker_workflow_steps s
        JOIN tasker_tasks t ON t.id = s.task_id WHERE t.uuid = $1 AND s.name = $2
    SQL
  end

  def completed_by(uuid, name)
    @db.exec_params(<<~SQL, [uuid, name]).getvalue(0, 0)
      SELECT tr.metadata->>'worker_id' FROM tasker_step_transitions tr JOIN tasker_workflow_steps s ON s.id = tr.step_id
        JOIN tasker_tasks t ON t.id = s.task_id WHERE t.uuid = $1 AND s.name = $2 AND tr.to_state = 'complete'
    SQL
  end

  it "redelivers the message of a worker killed mid-handler; another worker completes the step" do
    first = spawn_worker
    uuid = enqueue_slow(1.5)
    wait_for { step(uuid, "slow")&.fetch("state") == "in_progress" }
    Process.kill("KILL", first)
    Process.wait(first)
    second = spawn_worker
    wait_for(timeout: 30) { step(uuid, "after_slow")&.fetch("task_state") == "complete" }
    expect(step(uuid, "slow")).to include("state" => "complete", "claims" => "2", "attempts" => "1")
    expect(completed_by(uuid, "slow")).to end_with(":#{second}")
  end

  it "keeps a handler longer than the visibility timeout from running twice (heartbeat)" do
    2.times { spawn_worker }
    uuid = enqueue_slow(5) # the visibility timeout is 2 s
    wait_for(timeout: 30) { step(uuid, "after_slow")&.fetch("task_state") == "complete" }
    expect(step(uuid, "slow")).to include("state" => "complete", "claims" => "1")
    expect(@db.exec("SELECT count(*) FROM tasker_dead_letters").getvalue(0, 0)).to eq("0")
  end
end
