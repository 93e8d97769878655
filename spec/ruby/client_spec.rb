# frozen_string_literal: true

require "spec_helper"

RSpec.describe TaskerCore::Client do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:pgmq) { TaskerCore::Messaging::PgmqClient.new(conn) }

  after { conn.close }

  def request_message(task_uuid)
    row = conn.exec_params("SELECT message FROM pgmq.q_task_requests WHERE message->>'task_uuid' = $1", [task_uuid]).first
    row && JSON.parse(row["message"])
  end

  describe ".enqueue" do
    before { pgmq.create("task_requests") }

    it "sends a TaskRequest and returns its uuid" do
      uuid = described_class.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                                     context: { even_number: 6, big: 2**64 }, priority: 2, idempotency_key: "k-#{SecureRandom.hex(4)}")
      message = request_message(uuid)
      expect(message).to include("kind" => "task_request", "task_uuid" => uuid, "namespace" => "linear_workflow",
                                 "name" => "mathematical_sequence", "version" => "1.0.0", "priority" => 2,
                                 "context" => { "even_number" => 6, "big" => 2**64 })
      expect(TaskerCore::Types::TaskRequest.from_json_hash(message).task_uuid).to eq(uuid)
    end

    it "validates before sending" do
      expect { described_class.enqueue(namespace: "Bad", name: "x", version: "1.0.0") }
        .to raise_error(TaskerCore::ValidationError, /namespace/)
    end

    it "works from many threads at once" do
      uuids = Array.new(8) do
        Thread.new { described_class.enqueue(namespace: "ns", name: "t", version: "1.0.0") }
      end.map(&:value)
      expect(uuids.uniq.size).to eq(8)
      expect(uuids.map { |u| request_message(u) }).to all(be_a(Hash))
    end
  end

  describe ".enqueue without the task_requests queue" do
    it "explains that the orchestrator never started against this database" do
      pgmq.drop("task_requests") if pgmq.exists?("task_requests")
      expect { described_class.enqueue(namespace: "ns", name: "t", version: "1.0.0") }
        .to raise_error(TaskerCore::DatabaseError, /task_requests does not exist.*orchestrator has never started/)
    ensure
      pgmq.create("task_requests")
    end
  end

  describe ".task" do
    it "returns nil for an unknown uuid" do
      expect(described_class.task(SecureRandom.uuid)).to be_nil
    end

    it "refuses something that is not a uuid" do
      expect { described_class.task("1; DROP") }.to raise_error(TaskerCore::ValidationError, /uuid/)
    end

    it "returns the task with its steps" do
      fixture = TaskerSpec::WorkflowFixture.create(conn, context: { "n" => 2**64 }, steps: [
                                                     { name: "first", handler: "A", state: "complete", results: { "v" => 1 } },
                                                     { name: "second", handler: "B", state: "enqueued", attempts: 2, parents: ["first"] }
                                                   ])
      conn.exec_params("UPDATE tasker_workflow_steps SET last_error = $1::jsonb WHERE uuid = $2",
                       [JSON.generate("class" => "RuntimeError", "message" => "x"), fixture.steps["second"][:uuid]])

      task = described_class.task(fixture.task_uuid.upcase)
      expect(task.keys).to eq(%w[uuid state namespace name version context created_at completed_at trace_context
                                 steps parent])
      expect(task).to include("uuid" => fixture.task_uuid, "state" => "in_progress", "namespace" => fixture.namespace,
                              "name" => "spec_task", "version" => "1.0.0", "context" => { "n" => 2**64 },
                              "completed_at" => nil)
      expect(Time.iso8601(task["created_at"])).to be_within(60).of(Time.now)
      expect(task["steps"]).to eq(
        "first" => { "state" => "complete", "results" => { "v" => 1 }, "attempts" => 1, "error" => nil, "type" => "task" },
        "second" => { "state" => "enqueued", "results" => nil, "attempts" => 2,
                      "error" => { "class" => "RuntimeError", "message" => "x" }, "type" => "task" }
      )
      expect(task["parent"]).to be_nil
    end
  end

  describe ".wait" do
    it "returns the task once it reaches a final state" do
      fixture = TaskerSpec::WorkflowFixture.create(conn, steps: [{ name: "a", handler: "A", state: "complete", results: 1 }])
      finisher = Thread.new do
        sleep 0.2
        other = TaskerSpec::Database.connect_isolated
        other.exec_params("UPDATE tasker_tasks SET state = 'complete', completed_at = now() WHERE uuid = $1",
                          [fixture.task_uuid])
        other.close
      end
      task = described_class.wait(fixture.task_uuid, timeout: 5)
      finisher.join
      expect(task["state"]).to eq("complete")
      expect(task["completed_at"]).not_to be_nil
    end

    it "treats error, cancelled and resolved_manually as final" do
      %w[error cancelled resolved_manually].each do |state|
        fixture = TaskerSpec::WorkflowFixture.create(conn, task_state: state, steps: [{ name: "a", handler: "A" }])
        expect(described_class.wait(fixture.task_uuid, timeout: 1)["state"]).to eq(state)
      end
    end

    it "raises TaskRejected with the reason as soon as the request was rejected" do
      uuid = SecureRandom.uuid
      conn.exec_params(<<~SQL, [uuid])
        INSERT INTO tasker_dead_letters (queue_name, msg_id, read_ct, task_uuid, kind, reason, message)
        VALUES ('task_requests', 1, 1, $1, 'rejected_request', 'unknown template linear_workflow/nope@1.0.0', '{}')
      SQL
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect { described_class.wait(uuid, timeout: 10) }
        .to raise_error(TaskerCore::TaskRejected) { |e|
          expect(e.reason).to eq("unknown template linear_workflow/nope@1.0.0")
          expect(e.task_uuid).to eq(uuid)
          expect(e.message).to include(uuid, "unknown template")
        }
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 1
    end

    it "raises TimeoutError when the task does not finish in time" do
      fixture = TaskerSpec::WorkflowFixture.create(conn, steps: [{ name: "a", handler: "A", state: "enqueued" }])
      expect { described_class.wait(fixture.task_uuid, timeout: 0.2) }
        .to raise_error(TaskerCore::TimeoutError, /did not finish within 0.2s \(state in_progress\)/)
      expect { described_class.wait(SecureRandom.uuid, timeout: 0.1) }
        .to raise_error(TaskerCore::TimeoutError, /no task created yet/)
    end
  end

  describe ".dead_letters" do
    it "lists the newest rows first as Hashes" do
      uuid = SecureRandom.uuid
      2.times do |i|
        conn.exec_params(<<~SQL, [uuid, "reason #{i}", JSON.generate("n" => 2**64)])
          INSERT INTO tasker_dead_letters (queue_name, msg_id, read_ct, task_uuid, kind, reason, message)
          VALUES ('step_results', 9, 2, $1, 'ignored_result', $2, $3::jsonb)
        SQL
      end
      letters = described_class.dead_letters(limit: 2)
      expect(letters.size).to eq(2)
      expect(letters.first).to include("queue_name" => "step_results", "msg_id" => 9, "read_ct" => 2, "task_uuid" => uuid,
                                       "kind" => "ignored_result", "reason" => "reason 1", "message" => { "n" => 2**64 })
      expect(letters.first["id"]).to be > letters.last["id"]
      expect(letters.first["created_at"]).to match(/Z\z/)
    end

    it "validates the limit" do
      expect { described_class.dead_letters(limit: 0) }.to raise_error(TaskerCore::ValidationError, /limit/)
    end
  end
end
