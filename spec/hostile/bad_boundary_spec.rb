# frozen_string_literal: true

require_relative "hostile_helper"

# Invalid and oversized JSON across the native boundary: a Ruby exception naming the
# problem, never a crash; the embedded orchestrator keeps running.
RSpec.describe "hostile input: the native boundary" do
  include HostileHelpers

  let(:orchestrator) { TaskerSpec::Runtime.ensure_started }
  let(:handle) { orchestrator.instance_variable_get(:@handle) }
  let(:seventeen_mib) { 17 * 1024 * 1024 }

  after do
    expect(orchestrator.status).to include("running" => true)
    expect(orchestrator.status["stats"]).to include("loop_restarts" => 0)
    expect_loops_running
  end

  it "[22] refuses malformed configuration JSON with ConfigurationError" do
    expect { TaskerCore::Native::OrchestratorHandle._start_private("{") }
      .to raise_error(TaskerCore::ConfigurationError, "invalid configuration JSON: EOF while parsing an object at line 1 column 1")
    expect { TaskerCore::Native::OrchestratorHandle._start_private('"x"') }
      .to raise_error(TaskerCore::ConfigurationError, /\Ainvalid configuration JSON: invalid type: string "x", expected struct CoreConfig/)
  end

  it "[22] refuses 17 MiB of configuration JSON before parsing it" do
    expect { TaskerCore::Native::OrchestratorHandle._start_private("x" * seventeen_mib) }
      .to raise_error(TaskerCore::ValidationError, "config JSON of #{seventeen_mib} bytes exceeds 16777216 bytes")
  end

  it "[22] refuses a malformed request at enqueue with ValidationError" do
    expect { handle._enqueue_private("{") }
      .to raise_error(TaskerCore::ValidationError, "malformed task_request: EOF while parsing an object at line 1 column 1")
    expect { handle._enqueue_private('"{not json"') }
      .to raise_error(TaskerCore::ValidationError, 'malformed task_request: expected an object with "kind": "task_request"')
  end

  it "[22] refuses a 17 MiB request and a 2 MiB context at enqueue, sending nothing" do
    sent_before = TaskerSpec::Database.query("SELECT last_value FROM pgmq.q_task_requests_msg_id_seq").first["last_value"]
    expect { handle._enqueue_private("x" * seventeen_mib) }
      .to raise_error(TaskerCore::ValidationError, "message of #{seventeen_mib} bytes exceeds the limit of 1114112 bytes")
    big = JSON.generate(task_request("context" => { "pad" => "x" * (2 * 1024 * 1024) }))
    expect { handle._enqueue_private(big) }.to raise_error(TaskerCore::ValidationError, /exceeds the limit/)
    expect(TaskerSpec::Database.query("SELECT last_value FROM pgmq.q_task_requests_msg_id_seq").first["last_value"])
      .to eq(sent_before)
  end

  it "[22] refuses strings that are not UTF-8 and arguments that are not strings with Ruby's own errors" do
    expect { handle._enqueue_private("\xff\xfe".b) }.to raise_error(EncodingError, /expected utf-8/)
    expect { handle._enqueue_private("\xff\xfe".dup.force_encoding("UTF-8")) }.to raise_error(EncodingError, /invalid byte sequence/)
    expect { handle._enqueue_private(nil) }.to raise_error(TypeError, /no implicit conversion of nil into String/)
  end

  it "[22] refuses a resolution result over orchestrator.max_message_bytes before parsing it" do
    uuid = SecureRandom.uuid
    big = { "pad" => "x" * (1024 * 1024) }
    size = JSON.generate(big).bytesize
    expect { TaskerCore.resolve_step(uuid, "any", big) }
      .to raise_error(TaskerCore::ValidationError, "result JSON of #{size} bytes exceeds 1048576 bytes")
  end

  it "[22] refuses a 5 MiB template before parsing it" do
    expect { TaskerCore.validate_template("x" * (5 * 1024 * 1024)) }
      .to raise_error(TaskerCore::TemplateError, "template of #{5 * 1024 * 1024} bytes exceeds 4194304 bytes")
  end
end
