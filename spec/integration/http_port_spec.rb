# frozen_string_literal: true

require "spec_helper"
require "open3"
require "socket"

# `tasker orchestrator --http-port` and `tasker worker --http-port` as separate processes:
# the probes answer over real HTTP (curl) while they run, and go away when they stop.
RSpec.describe "--http-port of tasker orchestrator and tasker worker" do
  let(:root) { TaskerSpec::Database::ROOT }
  let!(:url) { create_process_database("http_port") }
  let(:env) { { "DATABASE_URL" => url, "TASKER_ENV" => "test", "RUBYLIB" => File.join(root, "lib") } }

  after { kill_spawned_processes }

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  # [HTTP status (0: no answer), body] through curl.
  def curl(port, path)
    out, _, status = Open3.capture3("curl", "-s", "-m", "5", "-w", "\n%{http_code}", "http://127.0.0.1:#{port}#{path}")
    body, _, code = out.rpartition("\n")
    [status.success? ? Integer(code) : 0, body]
  end

  it "serves /health, /ready and /metrics from each process, and stops listening when it stops" do
    orchestrator_port = free_port
    orchestrator, orchestrator_log = spawn_process(env, "tasker", "orchestrator", "--http-port", orchestrator_port.to_s,
                                                   "--http-host", "127.0.0.1")
    wait_for(describe: -> { File.read(orchestrator_log.path) }) { curl(orchestrator_port, "/ready").first == 200 }
    expect(curl(orchestrator_port, "/health")).to eq([200, '{"status":"ok"}'])

    worker_port = free_port
    worker, worker_log = spawn_process(env, "tasker", "worker", "--namespaces", "linear_workflow",
                                       "--require", File.join(root, "examples", "handlers"),
                                       "--http-port", worker_port.to_s, "--http-host", "127.0.0.1")
    wait_for(describe: -> { File.read(worker_log.path) }) { curl(worker_port, "/health").first == 200 }
    expect(curl(worker_port, "/ready")).to eq([200, '{"status":"ready"}'])
    status, metrics = curl(worker_port, "/metrics")
    expect(status).to eq(200)
    expect(TaskerSpec::PrometheusParser.parse(metrics)).to include("tasker_queue_depth", "tasker_processes")
    wait_for(describe: -> { curl(worker_port, "/metrics").last }) do
      curl(worker_port, "/metrics").last.include?('tasker_processes{kind="worker"} 1')
    end

    expect(stop_process(worker)&.exitstatus).to eq(0)
    expect(curl(worker_port, "/health").first).to eq(0)
    expect(stop_process(orchestrator)&.exitstatus).to eq(0)
    expect(curl(orchestrator_port, "/health").first).to eq(0)
  end

  it "refuses a port it cannot bind, naming it, with a failure exit status" do
    busy = TCPServer.new("127.0.0.1", 0)
    out, err, status = Open3.capture3(env, RbConfig.ruby, File.join(root, "exe", "tasker"), "worker",
                                      "--namespaces", "linear_workflow", "--http-port", busy.addr[1].to_s,
                                      "--http-host", "127.0.0.1", chdir: root)
    expect(status.success?).to be(false)
    expect(out + err).to include("--http-port #{busy.addr[1]}: cannot listen")
  ensure
    busy&.close
  end
end
