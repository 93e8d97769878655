# frozen_string_literal: true

require "spec_helper"

# TaskerCore.signal against the schema's tasker_signal (isolated database, tasks inserted
# by hand: a task whose step waits for signal "approval").
RSpec.describe "TaskerCore.signal" do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }

  before { TaskerSpec::Database.truncate_tasker_tables(conn) }
  after { conn.close }

  def task(state: "in_progress")
    TaskerSpec::WorkflowFixture.create(conn, task_state: state, steps: [
                                         { name: "prepare", handler: "Spec::Prepare", state: "complete", results: 1 },
                                         { name: "approval", handler: "none", step_type: "wait_for_signal",
                                           settings: { "signal" => "approval" }, parents: ["prepare"] }
                                       ]).task_uuid
  end

  def wakes(task_uuid)
    conn.exec_params("SELECT message FROM pgmq.q_step_results WHERE message->>'task_uuid' = $1", [task_uuid])
        .map { |row| JSON.parse(row["message"]) }
  end

  it "stores the signal with its payload, wakes the orchestrator and returns the signal's id" do
    uuid = task
    id = TaskerCore.signal(uuid.upcase, :approval, { by: "ops", "n" => [1, 2**70] })
    expect(id).to be_a(Integer)
    row = conn.exec_params("SELECT name, payload FROM tasker_signals WHERE id = $1", [id]).first
    expect([row["name"], JSON.parse(row["payload"])]).to eq(["approval", { "by" => "ops", "n" => [1, 2**70] }])
    expect(wakes(uuid)).to contain_exactly(include("kind" => "wake", "task_uuid" => uuid, "reason" => "signal"))
  end

  it "raises SignalError for a second signal of the same name, a signal no step waits for and a finished task" do
    uuid = task
    TaskerCore.signal(uuid, "approval")
    expect { TaskerCore.signal(uuid, "approval", 1) }
      .to raise_error(TaskerCore::SignalError, "task #{uuid} was already sent signal approval: a signal is sent once")
    expect { TaskerCore.signal(uuid, "shipment") }
      .to raise_error(TaskerCore::SignalError, /task #{uuid} has no step waiting for signal shipment \(it waits for approval\)/)
    done = task(state: "complete")
    expect { TaskerCore.signal(done, "approval") }.to raise_error(TaskerCore::SignalError, /is complete: a finished task takes no signals/)
    expect(TaskerCore::SignalError.ancestors).to include(TaskerCore::Error)
  end

  it "raises TaskNotFound for an unknown task" do
    missing = SecureRandom.uuid
    expect { TaskerCore.signal(missing, "approval") }.to raise_error(TaskerCore::TaskNotFound, "task #{missing} not found")
  end

  it "checks its arguments before the database sees them" do
    {
      -> { TaskerCore.signal("nope", "approval") } => "task_uuid",
      -> { TaskerCore.signal(SecureRandom.uuid, "Approval") } => "name",
      -> { TaskerCore.signal(SecureRandom.uuid, nil) } => "name",
      -> { TaskerCore.signal(SecureRandom.uuid, "approval", { "f" => Float::INFINITY }) } => "payload",
      -> { TaskerCore.signal(SecureRandom.uuid, "approval", Object.new) } => "payload",
      -> { TaskerCore.signal(SecureRandom.uuid, "approval", "x" * (TaskerCore.config.orchestrator[:max_message_bytes] + 1)) } => "payload",
      -> { TaskerCore.signal(SecureRandom.uuid, "approval", connection: "not a connection") } => "connection"
    }.each do |call, field|
      expect(&call).to raise_error(TaskerCore::ValidationError) { |e| expect(e.field).to eq(field) }
    end
  end

  it "sends inside the caller's transaction on connection:, committed or rolled back with it" do
    uuid = task
    conn.exec("BEGIN")
    TaskerCore.signal(uuid, "approval", "dropped", connection: conn)
    conn.exec("ROLLBACK")
    expect(conn.exec("SELECT count(*) FROM tasker_signals").getvalue(0, 0)).to eq("0")
    expect(wakes(uuid)).to eq([])
    conn.exec("BEGIN")
    TaskerCore.signal(uuid, "approval", "kept", connection: conn)
    conn.exec("COMMIT")
    expect(conn.exec("SELECT payload FROM tasker_signals").getvalue(0, 0)).to eq('"kept"')
    expect(wakes(uuid).size).to eq(1)
  end
end
