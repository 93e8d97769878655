# frozen_string_literal: true

require "spec_helper"

# enqueue(connection:) sends the request on the caller's connection, inside its transaction:
# the task exists only if that transaction commits, and not before.
RSpec.describe "TaskerCore.enqueue on the caller's connection" do
  before { TaskerSpec::Runtime.ensure_started }

  let(:request) do
    { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0", context: { "even_number" => 2 } }
  end

  def with_app_connection
    conn = PG.connect(TaskerSpec::Database.url)
    yield conn
  ensure
    conn&.close
  end

  it "creates no task, ever, when the caller's transaction rolls back" do
    rolled_back = with_app_connection do |conn|
      conn.exec("BEGIN")
      uuid = TaskerCore.enqueue(**request, connection: conn)
      conn.exec("ROLLBACK")
      uuid
    end
    # A request sent after the rollback completes: the orchestrator has read past the point
    # where the rolled-back one would have been.
    later = TaskerCore.enqueue(**request)
    expect(TaskerCore.wait(later, timeout: 30)["state"]).to eq("complete")
    expect(TaskerCore.task(rolled_back)).to be_nil
    expect(TaskerCore.dead_letters.map { |d| d["task_uuid"] }).not_to include(rolled_back)
  end

  it "runs nothing before the commit, and the whole task after it" do
    with_app_connection do |conn|
      conn.exec("BEGIN")
      conn.exec("CREATE TEMP TABLE app_writes (id int) ON COMMIT DROP")
      uuid = TaskerCore.enqueue(**request, connection: conn)
      other = TaskerCore.enqueue(**request)
      TaskerCore.wait(other, timeout: 30) # the orchestrator was busy and saw nothing of ours
      expect(TaskerCore.task(uuid)).to be_nil
      conn.exec("COMMIT")
      task = TaskerCore.wait(uuid, timeout: 30)
      expect(task["state"]).to eq("complete")
      expect(task["steps"].values.map { |s| s["state"] }.uniq).to eq(["complete"])
    end
  end

  it "uses the connection provider when no connection is given, and refuses what is no PG::Connection" do
    rolled_back = with_app_connection do |conn|
      TaskerCore::Client.connection_provider = -> { conn }
      conn.exec("BEGIN")
      uuid = TaskerCore.enqueue(**request)
      conn.exec("ROLLBACK")
      uuid
    ensure
      TaskerCore::Client.connection_provider = nil
    end
    expect(TaskerCore.wait(TaskerCore.enqueue(**request), timeout: 30)["state"]).to eq("complete")
    expect(TaskerCore.task(rolled_back)).to be_nil
    expect { TaskerCore.enqueue(**request, connection: "postgres://x") }
      .to raise_error(TaskerCore::ValidationError, /connection must be a PG::Connection, got String/)
  end
end
