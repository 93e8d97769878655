# frozen_string_literal: true

require "spec_helper"

# The worker's batched hot path against PostgreSQL: read-and-claim in one statement, and
# results of many handler threads posted together, each guarded by its message's read_ct.
RSpec.describe "worker batching" do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:pgmq) { TaskerCore::Messaging::PgmqClient.new(conn) }
  let(:db) { TaskerCore::Messaging::ConnectionPool.new(TaskerSpec::Database.isolated_url, size: 2) }

  before { pgmq.create("step_results") }

  after do
    db.shutdown
    conn.close
  end

  def fixture(count, state: "enqueued")
    steps = Array.new(count) { |i| { name: "step_#{i}", handler: "SpecHandlers::Square", state: state, attempts: 1 } }
    TaskerSpec::WorkflowFixture.create(conn, context: { "n" => 3 }, steps: steps).tap { |f| pgmq.create("#{f.namespace}_queue") }
  end

  def queue(fixture)
    "#{fixture.namespace}_queue"
  end

  def results_for(fixture)
    conn.exec_params("SELECT message FROM pgmq.q_step_results WHERE message->>'task_uuid' = $1 ORDER BY msg_id",
                     [fixture.task_uuid]).map { |row| JSON.parse(row["message"]) }
  end

  def result(step, value)
    step = TaskerCore::Types::StepMessage.from_json_hash(step)
    TaskerCore::Types::StepResult.success(step, results: value, worker_id: "spec", started_at: Time.now, finished_at: Time.now)
  end

  describe TaskerCore::Worker::ClaimingReader do
    it "claims every step it reads in the same statement, with context and parent results" do
      f = fixture(2)
      f.steps.each_key { |name| pgmq.send(queue(f), f.step_message(name)) }
      read = db.with { |c| described_class.new(queue: queue(f), worker_id: "w1").read(c, vt: 30, qty: 10) }
      expect(read.size).to eq(2)
      expect(read.map { |_, claim| [claim.verdict, claim.step_state, claim.task_context, claim.parent_results] })
        .to all(eq(["claimed", "in_progress", { "n" => 3 }, {}]))
      expect(f.steps.values.map { |s| TaskerSpec::WorkflowFixture.step_row(conn, s[:uuid])["state"] }).to all(eq("in_progress"))
      expect(read.map { |message, _| message.read_ct }).to all(eq(1))
    end

    it "claims nothing for a body that names no step, and refuses finished steps, saying why" do
      f = fixture(1, state: "complete")
      pgmq.send(queue(f), f.step_message("step_0"))
      pgmq.send(queue(f), { "kind" => "step", "step_uuid" => "not-a-uuid", "attempt" => 1 })
      pgmq.send(queue(f), f.step_message("step_0").merge("kind" => "task_request"))
      claims = db.with { |c| described_class.new(queue: queue(f), worker_id: "w1").read(c, vt: 30, qty: 10) }.map(&:last)
      expect(claims.map(&:verdict)).to eq(%w[ignored invalid invalid])
      expect(claims.map(&:reason)).to eq(
        ["attempt 1 of step step_0 is not claimable: the step is complete at attempt 1, the task is in_progress",
         "malformed step: missing field `task_uuid` (a string)", 'malformed step: expected an object with "kind": "step"']
      )
      expect(claims.first.step_state).to eq("complete")
      expect(TaskerSpec::WorkflowFixture.step_row(conn, f.steps["step_0"][:uuid])["state"]).to eq("complete")
    end
  end

  describe TaskerCore::Worker::ResultPoster do
    let(:poster) { described_class.new(db: db, max_message_bytes: TaskerCore.config.orchestrator[:max_message_bytes]) }

    it "posts the results of many threads, deleting each step message in the same statement" do
      f = fixture(20)
      f.steps.each_key { |name| pgmq.send(queue(f), f.step_message(name)) }
      read = pgmq.read(queue(f), vt: 30, qty: 20)
      go = Concurrent::CountDownLatch.new(1)
      threads = read.map do |message|
        Thread.new do
          go.wait(5)
          poster.post(queue(f), message, result(message.message, message.message["step_name"]))
        end
      end
      go.count_down # all at once, as when many handlers finish together
      posted = threads.map(&:value)
      expect(posted).to all(be(true))
      expect(results_for(f).map { |r| r["results"] }).to match_array(f.steps.keys)
      expect(pgmq.metrics(queue(f))["queue_length"]).to eq(0)
      expect(poster.batches).to be < 20 # results shared statements
    end

    # tasker_apply_successes: a plain success of the claimed attempt whose task keeps work active
    # is applied in the post itself; a stale result in the same statement goes to step_results.
    it "applies a claimed success in place and sends a stale result of the same statement to step_results" do
      f = fixture(2)
      conn.exec_params("UPDATE tasker_tasks SET steps_total = 2, steps_active = 2 WHERE id = $1", [f.task_id])
      f.steps.each_key { |name| pgmq.send(queue(f), f.step_message(name)) }
      read = db.with { |c| TaskerCore::Worker::ClaimingReader.new(queue: queue(f), worker_id: "w1").read(c, vt: 30, qty: 2) }
      first, second = read.sort_by { |message, _| message.message["step_name"] }.map(&:first)
      stale = result(second.message.merge("attempt" => 2), "stale")
      entries = [[first, result(first.message, "fresh")], [second, stale]]
      array = PG::TextEncoder::Array.new
      params = [array.encode(entries.map { |m, _| m.msg_id }), array.encode(entries.map { |m, _| m.read_ct }),
                array.encode(entries.map { |_, r| JSON.generate(r.to_h) }), TaskerCore.config.orchestrator[:max_message_bytes]]
      posted = conn.exec_params(TaskerCore::Messaging::QueueStatements.post_results(queue(f)), params).map { |r| Integer(r["msg_id"]) }
      expect(posted).to match_array([first.msg_id, second.msg_id])
      expect(results_for(f).map { |r| [r["step_name"], r["attempt"], r["results"]] }).to eq([["step_1", 2, "stale"]])
      expect(TaskerSpec::WorkflowFixture.step_row(conn, f.steps["step_0"][:uuid])).to include("state" => "complete", "results" => '"fresh"')
      expect(TaskerSpec::WorkflowFixture.step_row(conn, f.steps["step_1"][:uuid])["state"]).to eq("in_progress")
      expect(conn.exec_params("SELECT steps_done, steps_active FROM tasker_tasks WHERE id = $1", [f.task_id])[0])
        .to eq("steps_done" => "1", "steps_active" => "1")
      expect(pgmq.metrics(queue(f))["queue_length"]).to eq(0)
    end

    it "does not post for a message redelivered since it was read, and still posts the others" do
      f = fixture(2)
      f.steps.each_key { |name| pgmq.send(queue(f), f.step_message(name)) }
      stale, fresh = pgmq.read(queue(f), vt: 0, qty: 2)
      pgmq.read(queue(f), vt: 30, qty: 1) # the first message goes to another worker (read_ct 2)
      expect(poster.post(queue(f), stale, result(stale.message, "stale"))).to be(false)
      expect(poster.post(queue(f), fresh, result(fresh.message, "fresh"))).to be(true)
      expect(results_for(f).map { |r| r["results"] }).to eq(["fresh"])
      expect(conn.exec("SELECT read_ct FROM #{TaskerCore::Messaging::QueueNames.table(queue(f))}").map { |r| r["read_ct"] })
        .to eq(["2"])
    end

    # PostgreSQL refuses one value of a batch (as jsonb refuses U+0000): a trigger raises a
    # data exception for it, the way the database itself would.
    it "posts the rest of a batch one by one when PostgreSQL refuses one result, failing only that step" do
      conn.exec(<<~SQL)
        CREATE FUNCTION spec_refuse_result() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.message -> 'results' = '"refused"'::jsonb THEN
            RAISE EXCEPTION 'this value cannot be stored' USING ERRCODE = 'data_exception';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER spec_refuse BEFORE INSERT ON pgmq.q_step_results FOR EACH ROW EXECUTE FUNCTION spec_refuse_result();
      SQL
      f = fixture(6)
      f.steps.each_key { |name| pgmq.send(queue(f), f.step_message(name)) }
      read = pgmq.read(queue(f), vt: 30, qty: 6)
      go = Concurrent::CountDownLatch.new(1)
      threads = read.each_with_index.map do |message, i|
        Thread.new do
          go.wait(5)
          poster.post(queue(f), message, result(message.message, i.zero? ? "refused" : "fine"))
        end
      end
      go.count_down
      expect(threads.map(&:value)).to all(be(true))
      posted = results_for(f)
      expect(posted.map { |r| r["status"] }.tally).to eq("success" => 5, "failure" => 1)
      refused = posted.find { |r| r["status"] == "failure" }
      expect(refused["step_name"]).to eq(read.first.message["step_name"])
      expect(refused["error"]).to include("class" => "TaskerCore::UnstorableResult", "retryable" => false,
                                          "message" => "handler output cannot be stored: this value cannot be stored")
      expect(pgmq.metrics(queue(f))["queue_length"]).to eq(0)
    ensure
      conn.exec("DROP TRIGGER IF EXISTS spec_refuse ON pgmq.q_step_results; DROP FUNCTION IF EXISTS spec_refuse_result()")
    end

    it "tells the waiting thread when posting fails, and goes on posting" do
      f = fixture(1)
      pgmq.send(queue(f), f.step_message("step_0"))
      message = pgmq.read(queue(f), vt: 30, qty: 1).first
      expect { poster.post("no_such_queue", message, result(message.message, 1)) }
        .to raise_error(TaskerCore::DatabaseError, /posting results failed.*no_such_queue/)
      expect(poster.post(queue(f), message, result(message.message, 2))).to be(true)
      expect(results_for(f).map { |r| r["results"] }).to eq([2])
    end
  end

  describe TaskerCore::Worker::Slots do
    it "wakes a waiter as soon as a slot is released" do
      slots = described_class.new(1)
      expect(slots.take(5)).to eq(1)
      Thread.new do
        sleep(0.1)
        slots.release
      end
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      slots.wait_for_free(10)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5
      expect(slots.take(5)).to eq(1)
    end
  end
end
