# frozen_string_literal: true

require "spec_helper"
require "open3"

RSpec.describe "task requests" do
  before { TaskerSpec::Runtime.ensure_started }

  def rejection_of(**request)
    uuid = TaskerCore.enqueue(**{ version: "1.0.0", context: {} }.merge(request))
    TaskerCore.wait(uuid, timeout: 15)
    raise "expected a rejection"
  rescue TaskerCore::TaskRejected => e
    [uuid, e]
  end

  it "rejects an unknown template version, naming what is registered, and keeps the request" do
    uuid, error = rejection_of(namespace: "linear_workflow", name: "mathematical_sequence", version: "2.0.0")
    expect(error.reason).to eq("unknown template linear_workflow/mathematical_sequence@2.0.0 (registered versions: 1.0.0)")
    expect(TaskerCore.task(uuid)).to eq("uuid" => uuid, "state" => "rejected", "reason" => error.reason,
                                        "kind" => "rejected_request")
    letter = TaskerCore.dead_letters.find { |d| d["task_uuid"] == uuid }
    expect(letter).to include("kind" => "rejected_request", "queue_name" => "task_requests")
    expect(letter["message"]).to include("task_uuid" => uuid, "version" => "2.0.0")
    archived = TaskerSpec::Database.query("SELECT count(*) FROM pgmq.a_task_requests WHERE message->>'task_uuid' = $1", [uuid])
    expect(archived.first["count"].to_i).to eq(1)
  end

  it "rejects an unknown namespace or name" do
    _, error = rejection_of(namespace: "nowhere", name: "nothing")
    expect(error.reason).to eq("unknown template nowhere/nothing@1.0.0")
  end

  it "rejects a context that fails the template's input_schema, naming the field" do
    _, error = rejection_of(namespace: "linear_workflow", name: "mathematical_sequence", context: { "even_number" => "six" })
    expect(error.reason).to eq("invalid context: context.even_number: expected integer, got string")
    _, missing = rejection_of(namespace: "linear_workflow", name: "mathematical_sequence", context: { "odd" => 1 })
    expect(missing.reason).to eq("invalid context: context.even_number: is required")
  end

  it "refuses unsafe identifiers before anything is sent" do
    marker = SecureRandom.hex(8)
    expect do
      TaskerCore.enqueue(namespace: "x'; drop table tasker_tasks; -- #{marker}", name: "t", version: "1.0.0")
    end.to raise_error(TaskerCore::ValidationError, /namespace/)
    expect { TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "one") }
      .to raise_error(TaskerCore::ValidationError, /version/)
    sent = TaskerSpec::Database.query(<<~SQL, ["%#{marker}%"]).first["count"].to_i
      SELECT count(*) FROM (SELECT message FROM pgmq.q_task_requests UNION ALL SELECT message FROM pgmq.a_task_requests) m
       WHERE m.message::text LIKE $1
    SQL
    expect(sent).to eq(0)
  end

  it "keeps a hand-written request of the wrong shape as a dead letter instead of dropping it" do
    uuid = SecureRandom.uuid
    TaskerSpec::Database.with_connection do |conn|
      conn.exec_params("SELECT pgmq.send('task_requests', $1::jsonb)",
                       [JSON.generate("kind" => "task_request", "task_uuid" => uuid, "namespace" => 7)])
    end
    expect { TaskerCore.wait(uuid, timeout: 10) }.to raise_error(TaskerCore::TaskRejected, /invalid type/)
  end

  it "enqueues through the native boundary with the same validation" do
    orchestrator = TaskerSpec::Runtime.ensure_started
    uuid = orchestrator.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                                context: { "even_number" => 2 })
    expect(TaskerCore.wait(uuid, timeout: 15)["steps"]["linear_step_4"]["results"]).to eq(65_536)
    expect { orchestrator.enqueue(namespace: "Bad-NS", name: "x", version: "1.0.0") }
      .to raise_error(TaskerCore::ValidationError, /namespace/)
  end

  it "accepts tasks enqueued by a process that runs no orchestrator" do
    script = <<~RUBY
      require "tasker_core"
      print TaskerCore.enqueue(namespace: "diamond_workflow", name: "diamond_pattern", version: "1.0.0",
                               context: { "even_number" => 2 })
    RUBY
    env = { "DATABASE_URL" => TaskerSpec::Database.url, "TASKER_ENV" => "test" }
    uuid, err, status = Open3.capture3(env, RbConfig.ruby, "-I", File.join(TaskerSpec::Database::ROOT, "lib"), "-e", script)
    expect(status).to be_success, err
    expect(TaskerCore.wait(uuid, timeout: 15)["steps"]["diamond_end"]["results"]).to eq(65_536)
  end
end
