# frozen_string_literal: true

require_relative "hostile_helper"

# Bad task requests, end to end through PostgreSQL and the shared embedded orchestrator:
# each is rejected with a reason naming the problem, kept (dead letter + pgmq archive), and
# followed by a normal task that still completes.
RSpec.describe "hostile input: task_requests" do
  include HostileHelpers

  before { TaskerSpec::Runtime.ensure_started }
  after { expect_loops_running }

  it "[1] rejects a JSON string instead of an object, keeping it as a rejected_request" do
    msg_id = send_raw("task_requests", JSON.generate("{not json"))
    letter = expect_kept("task_requests", msg_id, kind: "rejected_request",
                                                  reason: 'malformed task_request: expected an object with "kind": "task_request"')
    expect(letter).to include("message" => "{not json", "task_uuid" => nil)
  end

  it "[1] rejects the other JSON values that are not objects (array, number, null, empty object)" do
    ["[1,2]", "42", "null", "{}"].each do |json|
      msg_id = send_raw("task_requests", json)
      letter = expect_kept("task_requests", msg_id, kind: "rejected_request",
                                                    reason: 'malformed task_request: expected an object with "kind": "task_request"')
      expect(letter["message"]).to eq(JSON.parse(json))
    end
  end

  it "[2] rejects valid JSON of the wrong shape, naming the missing field" do
    request = task_request.reject { |key, _| key == "name" }
    msg_id = send_raw("task_requests", JSON.generate(request))
    letter = expect_kept("task_requests", msg_id, kind: "rejected_request", reason: "malformed task_request: missing field `name`")
    expect(letter).to include("task_uuid" => request["task_uuid"], "message" => request)
    expect(rejection(request["task_uuid"]).reason).to eq("malformed task_request: missing field `name`")
    expect(TaskerCore.task(request["task_uuid"])).to include("state" => "rejected", "kind" => "rejected_request",
                                                             "reason" => "malformed task_request: missing field `name`")
  end

  it "[3] rejects a priority of the wrong type (and the Ruby client refuses it before sending)" do
    request = task_request("priority" => "high")
    msg_id = send_raw("task_requests", JSON.generate(request))
    expect_kept("task_requests", msg_id, kind: "rejected_request", reason: /invalid type: string "high", expected i32/)
    expect(TaskerCore.task(request["task_uuid"])).to include("state" => "rejected", "kind" => "rejected_request")
    expect { TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0", priority: "high") }
      .to raise_error(TaskerCore::ValidationError, /priority/)
  end

  it "[3] names the field of a wrong type in the reason (priority)" do
    msg_id = send_raw("task_requests", JSON.generate(task_request("priority" => "high")))
    expect(dead_letter("task_requests", msg_id)["reason"]).to include("priority")
  end

  it "[3] rejects a context that is an array, and a task_uuid that is not a UUID" do
    request = task_request("context" => [1, 2])
    msg_id = send_raw("task_requests", JSON.generate(request))
    expect_kept("task_requests", msg_id, kind: "rejected_request", reason: "malformed task_request: context must be a JSON object")
    expect(rejection(request["task_uuid"]).reason).to eq("malformed task_request: context must be a JSON object")
    msg_id = send_raw("task_requests", JSON.generate(task_request("task_uuid" => "not-a-uuid")))
    expect_kept("task_requests", msg_id, kind: "rejected_request",
                                         reason: "malformed task_request: task_uuid: UUID parsing failed: invalid character: found `n` at 0")
  end

  it "[3] rejects a run_at that is not a time and an empty idempotency key" do
    msg_id = send_raw("task_requests", JSON.generate(task_request("run_at" => "tomorrow")))
    expect_kept("task_requests", msg_id, kind: "rejected_request",
                                         reason: 'malformed task_request: run_at "tomorrow" is not an RFC 3339 time')
    msg_id = send_raw("task_requests", JSON.generate(task_request("idempotency_key" => "")))
    expect_kept("task_requests", msg_id, kind: "rejected_request",
                                         reason: "malformed task_request: idempotency_key must be 1 to 255 bytes")
  end

  it "[4] rejects an unknown namespace; TaskerCore.wait raises TaskRejected naming it" do
    uuid = TaskerCore.enqueue(namespace: "nowhere_at_all", name: "mathematical_sequence", version: "1.0.0")
    expect(rejection(uuid).reason).to eq("unknown template nowhere_at_all/mathematical_sequence@1.0.0")
    letter = TaskerCore.dead_letters.find { |d| d["task_uuid"] == uuid }
    expect(letter).to include("kind" => "rejected_request", "queue_name" => "task_requests")
    expect(letter["message"]).to include("task_uuid" => uuid, "namespace" => "nowhere_at_all")
    archived("task_requests", letter["msg_id"])
  end

  it "[5] rejects an unknown template name in a known namespace" do
    uuid = TaskerCore.enqueue(namespace: "linear_workflow", name: "no_such_sequence", version: "1.0.0")
    error = rejection(uuid)
    expect(error.reason).to eq("unknown template linear_workflow/no_such_sequence@1.0.0")
    expect(error.message).to eq("task #{uuid} was rejected: unknown template linear_workflow/no_such_sequence@1.0.0")
    archived("task_requests", TaskerCore.dead_letters.find { |d| d["task_uuid"] == uuid }["msg_id"])
  end

  it "[6] rejects an unknown version, listing the registered versions" do
    uuid = TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "9.9.9",
                              context: { "even_number" => 2 })
    expect(rejection(uuid).reason)
      .to eq("unknown template linear_workflow/mathematical_sequence@9.9.9 (registered versions: 1.0.0)")
    expect(TaskerCore.task(uuid)).to include("state" => "rejected", "kind" => "rejected_request")
  end

  it "[7] rejects a context failing input_schema, naming the nested field" do
    {
      { "order" => { "quantity" => "two" } } => "context.order.quantity: expected integer, got string",
      { "order" => {} } => "context.order.quantity: is required",
      { "order" => { "quantity" => 0 } } => "context.order.quantity: 0 is less than the minimum 1",
      {} => "context.order: is required"
    }.each do |context, problem|
      uuid = TaskerCore.enqueue(namespace: "hostile_workflows", name: "hostile_echo", version: "1.0.0", context: context)
      expect(rejection(uuid).reason).to eq("invalid context: #{problem}")
      letter = TaskerCore.dead_letters.find { |d| d["task_uuid"] == uuid }
      expect(letter["message"]["context"]).to eq(context)
      archived("task_requests", letter["msg_id"])
    end
    expect_hostile_queue_running
  end

  it "[8] rejects an SQL-injection namespace sent raw (bypassing the client); the tables are intact" do
    tasks_before = TaskerSpec::Database.query("SELECT count(*) FROM tasker_tasks").first["count"].to_i
    injection = "x'; drop table tasker_tasks; --"
    msg_id = send_raw("task_requests", JSON.generate(task_request("namespace" => injection)))
    letter = expect_kept("task_requests", msg_id, kind: "rejected_request",
                                                  reason: "malformed task_request: namespace #{injection.inspect} is not a valid namespace")
    expect(letter["message"]["namespace"]).to eq(injection)
    injection = "t'); delete from tasker_tasks; --"
    msg_id = send_raw("task_requests", JSON.generate(task_request("name" => injection)))
    expect_kept("task_requests", msg_id, kind: "rejected_request",
                                         reason: "malformed task_request: name #{injection.inspect} is not a valid task name")
    intact = TaskerSpec::Database.query(<<~SQL).first
      SELECT to_regclass('public.tasker_tasks') IS NOT NULL AS tasks, (SELECT count(*) FROM tasker_tasks) AS count,
             (SELECT count(*) FROM tasker_namespaces WHERE name LIKE '%drop%') AS injected
    SQL
    expect(intact).to include("tasks" => "t", "injected" => "0")
    expect(intact["count"].to_i).to be >= tasks_before
  end

  it "[9] rejects an oversized request (> 1 MiB + 64 KiB) sent raw, with a size reason, and archives it whole" do
    request = task_request("context" => { "even_number" => 2, "pad" => "x" * (1024 * 1024 + 80 * 1024) })
    msg_id = send_raw("task_requests", JSON.generate(request))
    letter = expect_kept("task_requests", msg_id, kind: "rejected_request",
                                                  reason: /\Amessage of \d+ bytes exceeds the limit of #{HostileHelpers::READ_LIMIT} bytes\z/)
    size = letter["reason"][/\d+/].to_i
    expect(size).to be > HostileHelpers::READ_LIMIT
    expect(letter["message"]).to be_nil # never transferred out of the database
    message, archived_size = archived("task_requests", msg_id)
    expect(archived_size).to eq(size)
    expect(JSON.parse(message)["task_uuid"]).to eq(request["task_uuid"])
    expect(TaskerCore.task(request["task_uuid"])).to include("state" => "rejected", "kind" => "rejected_request")
  end

  it "[9] refuses an oversized context in the client, before anything is sent" do
    expect do
      TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                         context: { "even_number" => 2, "pad" => "x" * (1200 * 1024) })
    end.to raise_error(TaskerCore::ValidationError, /context of \d+ bytes exceeds orchestrator.max_message_bytes/)
  end

  it "[9] traces an oversized raw request to its task, so TaskerCore.wait raises TaskRejected" do
    request = task_request("context" => { "even_number" => 2, "pad" => "x" * (1200 * 1024) })
    send_raw("task_requests", JSON.generate(request))
    expect { TaskerCore.wait(request["task_uuid"], timeout: 10) }
      .to raise_error(TaskerCore::TaskRejected, /exceeds the limit/)
  end

  it "[9] rejects a context over max_message_bytes even when the message fits the envelope allowance" do
    request = task_request("context" => { "even_number" => 2, "pad" => "x" * (1024 * 1024) })
    send_raw("task_requests", JSON.generate(request))
    expect { TaskerCore.wait(request["task_uuid"], timeout: 10) }
      .to raise_error(TaskerCore::TaskRejected, /context of \d+ bytes exceeds orchestrator.max_message_bytes \(1048576\)/)
  end

  it "[9] gives an SQL NULL body a reason that is not about size" do
    msg_id = send_raw("task_requests", nil)
    letter = expect_kept("task_requests", msg_id, kind: "rejected_request", reason: /./)
    expect(letter["reason"]).to eq("message has no body (null)")
  end

  it "[23] sets aside a request read more than max_reads (5) times as a poison_message, creating no task" do
    request = task_request
    msg_id = send_raw_read("task_requests", JSON.generate(request), read_ct: 6)
    letter = expect_kept("task_requests", msg_id, kind: "poison_message",
                                                  reason: "read 7 times without being processed (limit 5)")
    expect(letter).to include("task_uuid" => request["task_uuid"], "read_ct" => 7, "message" => request)
    expect(TaskerCore.task(request["task_uuid"])).to include("state" => "rejected", "kind" => "poison_message")
  end
end
