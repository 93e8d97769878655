# frozen_string_literal: true

require "spec_helper"

RSpec.describe "the native boundary (TaskerCore::Orchestrator over TaskerCore::Native)" do
  def config_with(**changes)
    TaskerCore::Config.load(env: "test").tap do |c|
      c.template_paths = [File.join(TaskerSpec::Database::ROOT, "examples", "templates")]
      changes.each { |key, value| c.public_send("#{key}=", value) }
    end
  end

  it "starts, reports status as JSON-backed hashes, and stops idempotently" do
    orchestrator = TaskerCore::Orchestrator.start(config: config_with)
    status = orchestrator.status
    expect(status).to include("running" => true, "pid" => Process.pid)
    expect(status["templates"]).to include("linear_workflow/mathematical_sequence@1.0.0",
                                           "diamond_workflow/diamond_pattern@1.0.0")
    expect(status["stats"]).to include("loop_errors" => 0)
    expect(orchestrator.stop(timeout: 5)).to include("stopped" => true, "drained" => true)
    expect(orchestrator.stop(timeout: 5)).to include("already_stopped" => true)
    expect(orchestrator.status).to eq("running" => false)
    expect { orchestrator.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0") }
      .to raise_error(TaskerCore::OrchestratorError, /not running/)
  end

  it "masks the password in its status" do
    url = URI(TaskerSpec::Database.url).tap { |u| u.userinfo = "postgres:sw0rdfish" }.to_s # trust auth ignores it
    orchestrator = TaskerCore::Orchestrator.start(config: config_with(database_url: url))
    expect(orchestrator.status["database_url"]).to include("postgres:***@")
    expect(orchestrator.status.to_s).not_to include("sw0rdfish")
    expect(TaskerCore::Config.load(env: "test").tap { |c| c.database_url = url }.inspect).not_to include("sw0rdfish")
  ensure
    orchestrator&.stop(timeout: 5)
  end

  it "can start twice in one process (two orchestrators share the work)" do
    first = TaskerCore::Orchestrator.start(config: config_with)
    second = TaskerCore::Orchestrator.start(config: config_with)
    expect([first.running?, second.running?]).to eq([true, true])
  ensure
    first&.stop(timeout: 5)
    second&.stop(timeout: 5)
  end

  it "raises ConfigurationError for a bad config, without leaking the password" do
    expect { TaskerCore::Orchestrator.start(config: config_with(database_url: "mysql://u:hunter2@h/db")) }
      .to raise_error(TaskerCore::ConfigurationError) do |e|
        expect(e.message).to include("u:***@h")
        expect(e.message).not_to include("hunter2")
      end
    expect { TaskerCore::Native::OrchestratorHandle._start_private("{not json") }
      .to raise_error(TaskerCore::ConfigurationError, /invalid configuration JSON/)
    expect { TaskerCore::Native::OrchestratorHandle._start_private('{"database_url":"postgres://x/y","surprise":1}') }
      .to raise_error(TaskerCore::ConfigurationError, /unknown field `surprise`/)
  end

  it "raises DatabaseError for an unreachable database, masking credentials" do
    # A refused connection is retried for connect_timeout_ms; half a second says the same.
    bad = config_with(database_url: "postgres://someone:hunter2@127.0.0.1:1/nowhere", orchestrator: { connect_timeout_ms: 500 })
    expect { TaskerCore::Orchestrator.start(config: bad) }
      .to raise_error(TaskerCore::DatabaseError) do |e|
        expect(e.message).to include("someone:***@")
        expect(e.message).not_to include("hunter2")
      end
  end

  it "refuses oversized or malformed JSON at the boundary without panicking" do
    orchestrator = TaskerCore::Orchestrator.start(config: config_with)
    handle = orchestrator.instance_variable_get(:@handle)
    expect { handle._enqueue_private("{") }.to raise_error(TaskerCore::ValidationError, /malformed task_request/)
    expect { handle._enqueue_private("[]") }.to raise_error(TaskerCore::ValidationError, /kind/)
    big = JSON.generate("namespace" => "linear_workflow", "pad" => "x" * (2 * 1024 * 1024))
    expect { handle._enqueue_private(big) }.to raise_error(TaskerCore::ValidationError, /exceeds the limit/)
    expect { handle._enqueue_private("x" * (17 * 1024 * 1024)) }.to raise_error(TaskerCore::ValidationError, /exceeds/)
    expect(orchestrator.status["running"]).to be(true)
  ensure
    orchestrator&.stop(timeout: 5)
  end

  it "releases the GVL while it blocks, so other Ruby threads keep running" do
    ticks = 0
    ticker = Thread.new do
      loop do
        ticks += 1
        sleep 0.001
      end
    end
    orchestrator = TaskerCore::Orchestrator.start(config: config_with)
    orchestrator.stop(timeout: 5)
    ticker.kill
    # start (connect, bootstrap, register) and stop block for tens of milliseconds at least
    expect(ticks).to be > 5
  end

  it "refuses to be used from a forked child" do
    orchestrator = TaskerCore::Orchestrator.start(config: config_with)
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      begin
        orchestrator.status
        writer.write("no error")
      rescue TaskerCore::OrchestratorError => e
        writer.write(e.message)
      end
      writer.close
      exit!(0)
    end
    writer.close
    Process.wait(pid)
    expect(reader.read).to match(/started in process #{Process.pid}.*forked process/)
    expect(orchestrator.status["running"]).to be(true)
  ensure
    orchestrator&.stop(timeout: 5)
  end
end
