# frozen_string_literal: true

require_relative "hostile_helper"

# Per-message isolation (issue 9), through real PostgreSQL, the embedded orchestrator and
# real QueueWorkers: a bad message is kept with its reason on its FIRST read and never
# changes the fate of a valid message read in the same batch; the database, not a message,
# decides what runs; what a handler produces is stored or fails its own step only.
RSpec.describe "hostile input: per-message isolation" do
  include HostileHelpers

  before { TaskerSpec::Runtime.ensure_started }
  after { expect_loops_running }

  def nested(depth)
    "#{'[' * depth}#{']' * depth}"
  end

  def expect_first_read(letter)
    expect(letter["read_ct"]).to eq(1), "set aside on read #{letter['read_ct']}: #{letter['reason']}"
  end

  # A one-thread-per-message worker of priority_workflow (no worker of the shared runtime
  # serves it), so everything queued there is read in one batch.
  def with_probe_worker
    worker = TaskerCore::QueueWorker.start(namespaces: ["priority_workflow"], concurrency: 16)
    yield
  ensure
    worker&.stop(timeout: 5)
  end

  describe "[1] a message nested 10,000 deep" do
    it "is rejected on task_requests without holding back the request sent with it" do
      valid = task_request
      ids = send_together("task_requests", [%({"kind":"task_request","context":#{nested(10_000)}}), JSON.generate(valid)])
      letter = expect_kept("task_requests", ids[0], kind: "rejected_request",
                                                    reason: "message is nested deeper than 72 levels (a payload may nest 64)")
      expect_first_read(letter)
      expect(letter["message"]).to be_nil
      expect(letter["message_error"]).to match(/nested deeper/) if letter.key?("message_error")
      expect(TaskerCore.wait(valid["task_uuid"], timeout: 15)["state"]).to eq("complete")
    end

    it "is set aside on step_results while the valid result read with it is applied" do
      uuid, step = waiting_step("deep-result")
      claim = TaskerSpec::Database.query(<<~SQL, [JSON.generate(step)]).first
        SELECT verdict FROM tasker_claim_message($1::jsonb, 'priority_workflow_queue', 'spec-worker', 65536, 0)
      SQL
      expect(claim["verdict"]).to eq("claimed")
      TaskerSpec::Database.query("DELETE FROM pgmq.q_priority_workflow_queue WHERE message->>'task_uuid' = $1", [uuid])
      result = step_result("task_uuid" => uuid, "step_uuid" => step["step_uuid"], "step_name" => "record",
                           "results" => "posted by hand")
      ids = send_together("step_results", [%({"kind":"step_result","results":#{nested(10_000)}}), JSON.generate(result)])
      expect_first_read(expect_kept("step_results", ids[0], kind: "malformed_result", reason: /nested deeper than 72/))
      task = TaskerCore.wait(uuid, timeout: 15)
      expect(task["steps"]["record"]).to include("state" => "complete", "results" => "posted by hand")
    end

    it "is set aside on a namespace queue while the genuine step read with it runs once" do
      uuid, = waiting_step("deep-step")
      ids = send_together("priority_workflow_queue", [%({"kind":"step","x":#{nested(10_000)}}), nested(300)])
      with_probe_worker do
        expect(TaskerCore.wait(uuid, timeout: 15)["steps"]["record"]["results"]).to eq("deep-step")
        ids.each do |id|
          expect_first_read(expect_kept("priority_workflow_queue", id, kind: "invalid_step_message", reason: /malformed step/))
        end
      end
      expect(step_claims(uuid)).to eq("1")
    end
  end

  it "[2] rejects a context nested past the shared limit, and every reader still works" do
    request = task_request("context" => { "even_number" => 2, "deep" => JSON.parse(nested(110), max_nesting: false) })
    msg_id = send_raw("task_requests", JSON.generate(request, max_nesting: false))
    expect_kept("task_requests", msg_id, kind: "rejected_request",
                                         reason: "message is nested deeper than 72 levels (a payload may nest 64)")
    just_over = task_request("context" => { "even_number" => 2, "deep" => JSON.parse(nested(64)) })
    msg_id = send_raw("task_requests", JSON.generate(just_over))
    expect_kept("task_requests", msg_id, kind: "rejected_request",
                                         reason: "malformed task_request: context is nested deeper than 64 levels")
    expect(rejection(request["task_uuid"]).reason).to match(/nested deeper than/)
    expect(TaskerCore.task(request["task_uuid"])).to include("state" => "rejected", "kind" => "rejected_request")
    expect { TaskerCore.dead_letters(limit: 10_000) }.not_to raise_error
  end

  it "[3] fails only the step whose output cannot be stored; its siblings finishing with it run once" do
    task = run_task("hostile_workflows", "storable_output", {}, timeout: 20)
    expect(task["state"]).to eq("error")
    nul = task["steps"]["nul_result"]
    expect(nul).to include("state" => "error", "attempts" => 1, "results" => nil)
    expect(nul["error"]).to include("retryable" => false)
    expect(nul["error"]["message"]).to include("cannot be stored").and include("NUL")
    (1..5).each { |i| expect(task["steps"]["fine_#{i}"]).to include("state" => "complete", "results" => "fine_#{i}") }
    expect(HostileWorkflows::CountedEcho.runs(task["uuid"]).values).to eq([1] * 5)
    claims = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).map { |r| r["claims"] }
      SELECT s.claims FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id WHERE t.uuid = $1
    SQL
    expect(claims).to all(eq("1"))
  end

  it "[3][4] keeps a failure whose message has a NUL or invalid UTF-8, storably" do
    task = run_task("hostile_workflows", "unstorable_errors", {}, timeout: 15)
    expect(task["state"]).to eq("error")
    expect(task["steps"]["nul_message"]["error"]).to include("message" => "bad\\0news", "retryable" => false)
    expect(task["steps"]["bad_bytes"]["error"]).to include("message" => "caf\uFFFD au lait", "retryable" => false)
  end

  describe "[5][6] step messages the database disagrees with" do
    it "runs nothing for a forged message, keeps each with the mismatch named, and runs the genuine step once" do
      uuid, genuine = waiting_step("genuine")
      forged = {
        genuine.merge("handler" => "HostileWorkflows::Spy") => ["step_mismatch",
                                                                /handler HostileWorkflows::Spy \(the step runs SpecWorkflows::RecordOrder\)/],
        genuine.merge("task_uuid" => SecureRandom.uuid) => ["step_mismatch", /the step belongs to task #{uuid}/],
        genuine.merge("step_name" => "other") => ["step_mismatch", /step_name other \(the step is record\)/],
        genuine.merge("namespace" => "hostile_workflows") => ["step_mismatch", /template hostile_workflows/],
        genuine.merge("attempt" => 2) => ["ignored_step_message", /attempt 2 of step record is not claimable/],
        genuine.merge("step_uuid" => SecureRandom.uuid) => ["ignored_step_message", /\Aunknown step /]
      }
      HostileWorkflows::Spy.calls = 0
      ids = send_together("priority_workflow_queue", forged.keys.map { |m| JSON.generate(m) })
      with_probe_worker do
        expect(TaskerCore.wait(uuid, timeout: 15)["steps"]["record"]["results"]).to eq("genuine")
        forged.values.zip(ids).each do |(kind, reason), id|
          expect_first_read(expect_kept("priority_workflow_queue", id, kind: kind, reason: reason))
        end
      end
      expect(HostileWorkflows::Spy.calls).to eq(0)
      expect(step_claims(uuid)).to eq("1")
    end

    it "keeps a message for a step that is finished, instead of deleting it without a trace" do
      uuid, genuine = waiting_step("finished")
      with_probe_worker { TaskerCore.wait(uuid, timeout: 15) }
      msg_id = send_raw("priority_workflow_queue", JSON.generate(genuine))
      with_probe_worker do
        expect_kept("priority_workflow_queue", msg_id, kind: "ignored_step_message",
                                                       reason: /attempt 1 of step record is not claimable: the step is complete/)
      end
    end
  end

  it "fails a step for good when its message keeps killing the worker, so the task moves on" do
    uuid, = waiting_step("poison")
    TaskerSpec::Database.query("UPDATE pgmq.q_priority_workflow_queue SET read_ct = 5 WHERE message->>'task_uuid' = $1",
                               [uuid])
    with_probe_worker do
      task = TaskerCore.wait(uuid, timeout: 15)
      expect(task["state"]).to eq("error")
      expect(task["steps"]["record"]["error"]).to include(
        "class" => "TaskerCore::PoisonMessage", "retryable" => false,
        "message" => "read 6 times without being processed (limit 5): its handler keeps killing the worker"
      )
      letter = TaskerCore.dead_letters.find { |d| d["task_uuid"] == uuid && d["kind"] == "poison_message" }
      expect(letter).to include("queue_name" => "priority_workflow_queue", "read_ct" => 6)
      archived("priority_workflow_queue", letter["msg_id"])
    end
  end

  it "[7] records a repeated idempotency key with another context as a conflict naming both digests" do
    key = "isolation-#{SecureRandom.hex(4)}"
    args = { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0", idempotency_key: key }
    uuid = TaskerCore.enqueue(**args, context: { "even_number" => 2 })
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")
    again = TaskerCore.enqueue(**args, context: { "even_number" => 4 })
    expect(again).to eq(uuid)
    letter = wait_for(timeout: 10) do
      TaskerCore.dead_letters.find { |d| d["kind"] == "idempotency_conflict" && d["task_uuid"] == uuid }
    end
    digests = TaskerSpec::Database.query(<<~SQL).map { |r| r["d"] }
      SELECT encode(sha256(convert_to(c::jsonb::text, 'UTF8')), 'hex') AS d FROM unnest(ARRAY['{"even_number": 2}', '{"even_number": 4}']) c
    SQL
    expect(letter["reason"]).to include("sha256:#{digests[0]}").and include("sha256:#{digests[1]}")
    expect(TaskerCore.task(uuid)["context"]).to eq("even_number" => 2)
  end

  it "[9] accepts any JSON priority on step_results and keeps the message with its reason" do
    valid = task_request
    ids = send_together("step_results", ['{"kind":"step_result","priority":1e309}'])
    send_raw("task_requests", JSON.generate(valid))
    expect_first_read(expect_kept("step_results", ids[0], kind: "malformed_result", reason: /missing field/))
    expect(TaskerCore.wait(valid["task_uuid"], timeout: 15)["state"]).to eq("complete")
  end

  it "[10] refuses resolve_step on a finished task and records nothing" do
    task = run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 })
    expect { TaskerCore.resolve_step(task["uuid"], "linear_step_1", { "x" => 1 }) }
      .to raise_error(TaskerCore::InvalidTransition, /is complete: resolve_step applies to a task in progress or in error/)
    expect(TaskerCore.task(task["uuid"])["steps"]["linear_step_1"]["state"]).to eq("complete")
  end
end
