# frozen_string_literal: true

require "spec_helper"
require "securerandom"

# Helpers of the hostile-input specs: send what no well-behaved producer would send,
# straight into pgmq, then find where it was kept and why.
module HostileHelpers
  # The size limit of a message the orchestrator reads in full: max_message_bytes (1 MiB)
  # plus the 64 KiB envelope allowance.
  READ_LIMIT = 1_048_576 + 65_536

  # Sends `json` (a JSON text, or nil for an SQL NULL) as is; returns the msg_id.
  def send_raw(queue, json)
    TaskerSpec::Database.with_connection do |conn|
      Integer(conn.exec_params("SELECT pgmq.send($1, $2::jsonb) AS msg_id", [queue, json])[0]["msg_id"])
    end
  end

  # Sends and sets read_ct in one transaction, so no reader sees the message in between.
  def send_raw_read(queue, json, read_ct:)
    TaskerSpec::Database.with_connection do |conn|
      conn.transaction do
        msg_id = Integer(conn.exec_params("SELECT pgmq.send($1, $2::jsonb) AS msg_id", [queue, json])[0]["msg_id"])
        table = PG::Connection.quote_ident("q_#{TaskerCore::Messaging::QueueNames.validate!(queue)}")
        conn.exec_params("UPDATE pgmq.#{table} SET read_ct = $1 WHERE msg_id = $2", [read_ct, msg_id])
        msg_id
      end
    end
  end

  # Sends JSON texts in ONE transaction, so the next read returns them together; returns
  # their msg_ids.
  def send_together(queue, texts)
    TaskerSpec::Database.with_connection do |conn|
      conn.transaction do
        texts.map { |text| Integer(conn.exec_params("SELECT pgmq.send($1, $2::jsonb) AS id", [queue, text])[0]["id"]) }
      end
    end
  end

  # A task of priority_workflow, which no worker of the shared runtime serves, so its step
  # message waits in the queue: [task uuid, the genuine step message].
  def waiting_step(label)
    uuid = TaskerCore.enqueue(namespace: "priority_workflow", name: "priority_probe", version: "1.0.0",
                              context: { "label" => label })
    row = wait_for(timeout: 10) do
      TaskerSpec::Database.query("SELECT message::text AS m FROM pgmq.q_priority_workflow_queue " \
                                 "WHERE message->>'task_uuid' = $1", [uuid]).first
    end
    [uuid, JSON.parse(row["m"])]
  end

  # The claims counted on a task's (only) step.
  def step_claims(task_uuid)
    TaskerSpec::Database.query("SELECT s.claims FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id " \
                               "WHERE t.uuid = $1", [task_uuid]).first["claims"]
  end

  # The dead letter of that message, through the public API (waits for it to appear).
  def dead_letter(queue, msg_id, timeout: 10)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      letter = TaskerCore.dead_letters(limit: 10_000).find { |d| d["queue_name"] == queue && d["msg_id"] == msg_id }
      return letter if letter
      raise "no dead letter for message #{msg_id} of #{queue} within #{timeout}s" if
        Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.02
    end
  end

  # The archived message (pgmq.a_<queue>) as [message text, octet length], after checking
  # that it left the live queue.
  def archived(queue, msg_id)
    queue = TaskerCore::Messaging::QueueNames.validate!(queue)
    live = TaskerSpec::Database.query("SELECT count(*) FROM pgmq.#{PG::Connection.quote_ident("q_#{queue}")} " \
                                      "WHERE msg_id = $1", [msg_id])
    expect(live.first["count"].to_i).to eq(0)
    row = TaskerSpec::Database.query("SELECT message::text AS message, octet_length(message::text) AS size " \
                                     "FROM pgmq.#{PG::Connection.quote_ident("a_#{queue}")} WHERE msg_id = $1",
                                     [msg_id]).first
    expect(row).not_to be_nil, "message #{msg_id} of #{queue} is not in the archive"
    [row["message"], row["size"]&.to_i]
  end

  # Kept: a dead letter of `kind` with exactly `reason` (or matching it), and the message
  # archived. Returns the dead letter.
  def expect_kept(queue, msg_id, kind:, reason:)
    letter = dead_letter(queue, msg_id)
    expect(letter).to include("queue_name" => queue, "msg_id" => msg_id, "kind" => kind)
    reason.is_a?(Regexp) ? expect(letter["reason"]).to(match(reason)) : expect(letter["reason"]).to(eq(reason))
    archived(queue, msg_id)
    letter
  end

  # A request as TaskerCore.enqueue would write it, with a fresh uuid, then `changes`.
  def task_request(changes = {})
    { "kind" => "task_request", "task_uuid" => SecureRandom.uuid, "namespace" => "linear_workflow",
      "name" => "mathematical_sequence", "version" => "1.0.0", "context" => { "even_number" => 2 },
      "priority" => 0, "idempotency_key" => nil, "requested_at" => Time.now.utc.iso8601(3), "run_at" => nil }
      .merge(changes)
  end

  def step_result(changes = {})
    { "kind" => "step_result", "task_uuid" => SecureRandom.uuid, "step_uuid" => SecureRandom.uuid,
      "step_name" => "linear_step_1", "attempt" => 1, "status" => "success", "results" => 4, "error" => nil,
      "worker_id" => "hostile:1", "started_at" => Time.now.utc.iso8601(3), "finished_at" => Time.now.utc.iso8601(3) }
      .merge(changes)
  end

  # The loops keep running: a normal task still goes task_requests -> linear_workflow_queue
  # -> step_results -> complete.
  def expect_loops_running
    result = run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 }, timeout: 15)
    expect(result["state"]).to eq("complete")
    expect(result["steps"]["linear_step_4"]["results"]).to eq(65_536)
  end

  # Same through the hostile_workflows_queue (served by the same worker).
  def expect_hostile_queue_running
    result = run_task("hostile_workflows", "hostile_echo", { "order" => { "quantity" => 3 } }, timeout: 15)
    expect(result["state"]).to eq("complete")
    expect(result["steps"]["echo"]["results"]).to eq("step" => "echo", "order" => { "quantity" => 3 })
  end

  # Waits for a task request to be rejected; returns the TaskRejected.
  def rejection(uuid, timeout: 10)
    TaskerCore.wait(uuid, timeout: timeout)
    raise "task #{uuid} was not rejected"
  rescue TaskerCore::TaskRejected => e
    e
  end
end
