# frozen_string_literal: true

require "spec_helper"
require "open3"

# Orchestrators and workers as separate OS processes, the way production runs them.
RSpec.describe "standalone processes" do
  let(:root) { TaskerSpec::Database::ROOT }
  let!(:url) { create_process_database("processes") }
  let(:env) { { "DATABASE_URL" => url, "TASKER_ENV" => "test", "RUBYLIB" => File.join(root, "lib") } }

  after { kill_spawned_processes }

  it "lets two orchestrators bootstrap an empty database at the same moment" do
    script = 'require "tasker_core"; o = TaskerCore::Orchestrator.start; o.stop(timeout: 5); print "ok"'
    threads = Array.new(2) { Thread.new { Open3.capture3(env, RbConfig.ruby, "-e", script, chdir: root) } }
    results = threads.map(&:value)
    results.each { |out, err, status| expect([out, status.success?]).to eq(["ok", true]), err }
    migrations = PG.connect(url).exec("SELECT count(*) FROM _sqlx_migrations").getvalue(0, 0).to_i
    expect(migrations).to eq(Dir[File.join(root, "migrations", "*.sql")].size)
  end

  it "runs tasks through tasker-orchestrator and tasker-worker processes, and stops both on TERM" do
    orchestrators = Array.new(2) { spawn_process(env, "tasker-orchestrator") }
    client = PG.connect(url)
    # A worker refuses to start before its namespaces are registered (worker_start_spec.rb).
    wait_for { client.exec("SELECT to_regclass('pgmq.q_linear_workflow_queue') AS q").getvalue(0, 0) }
    wait_for { client.exec("SELECT to_regclass('pgmq.q_diamond_workflow_queue') AS q").getvalue(0, 0) }
    worker = spawn_process(env, "tasker-worker", "--namespaces", "linear_workflow,diamond_workflow",
                           "--require", File.join(root, "examples", "handlers"), "--concurrency", "2")

    script = <<~RUBY
      require "tasker_core"
      uuids = [2, 6].map { |n| TaskerCore.enqueue(namespace: "diamond_workflow", name: "diamond_pattern",
                                                  version: "1.0.0", context: { "even_number" => n }) }
      puts uuids.map { |u| TaskerCore.wait(u, timeout: 30)["steps"]["diamond_end"]["results"] }
    RUBY
    out, err, status = Open3.capture3(env, RbConfig.ruby, "-e", script, chdir: root)
    expect(status).to be_success, err
    expect(out.split.map(&:to_i)).to eq([2**16, 6**16])

    [*orchestrators, worker].each { |pid, _log| Process.kill("TERM", pid) }
    # Every process is signalled before any is waited for: they stop together.
    [*orchestrators, worker].each do |pid, log| # rubocop:disable Style/CombinableLoops
      expect(wait_process(pid)).to be_success, File.read(log.path)
    end
  ensure
    client&.close
  end
end
