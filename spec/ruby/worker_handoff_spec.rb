# frozen_string_literal: true

require "spec_helper"

# A result's post that also claims the next message (Worker::Handoff): one statement posts
# the result and reads and claims, against PostgreSQL.
RSpec.describe TaskerCore::Worker::Handoff do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:pgmq) { TaskerCore::Messaging::PgmqClient.new(conn) }
  let(:db) { TaskerCore::Messaging::ConnectionPool.new(TaskerSpec::Database.isolated_url, size: 2) }
  let(:poster) { TaskerCore::Worker::ResultPoster.new(db: db, max_message_bytes: TaskerCore.config.orchestrator[:max_message_bytes]) }

  before { pgmq.create("step_results") }

  after do
    db.shutdown
    conn.close
  end

  def fixture(count)
    steps = Array.new(count) { |i| { name: "step_#{i}", handler: "SpecHandlers::Square", state: "enqueued", attempts: 1 } }
    TaskerSpec::WorkflowFixture.create(conn, context: { "n" => 3 }, steps: steps).tap { |f| pgmq.create(queue(f)) }
  end

  def queue(fixture)
    "#{fixture.namespace}_queue"
  end

  def handoff(fixture)
    described_class.new(TaskerCore::Worker::ClaimingReader.new(queue: queue(fixture), worker_id: "w2"), 30)
  end

  def result(message, value)
    step = TaskerCore::Types::StepMessage.from_json_hash(message.message)
    TaskerCore::Types::StepResult.success(step, results: value, worker_id: "w1", started_at: Time.now, finished_at: Time.now)
  end

  def posted_results(fixture)
    conn.exec_params("SELECT message FROM pgmq.q_step_results WHERE message->>'task_uuid' = $1 ORDER BY msg_id",
                     [fixture.task_uuid]).map { |row| JSON.parse(row["message"])["results"] }
  end

  def step_state(fixture, name)
    TaskerSpec::WorkflowFixture.step_row(conn, fixture.steps[name][:uuid])["state"]
  end

  it "posts a result and claims the next message in the same statement" do
    f = fixture(2)
    f.steps.each_key { |name| pgmq.send(queue(f), f.step_message(name)) }
    first = pgmq.read(queue(f), vt: 30, qty: 1).first
    next_up = handoff(f)

    expect(poster.post(queue(f), first, result(first, "done"), handoff: next_up)).to be(true)
    expect(poster.batches).to eq(1)
    expect(posted_results(f)).to eq(["done"])
    expect(next_up.pairs.size).to eq(1)
    message, claim = next_up.pairs.first
    expect([message.message["step_name"], message.read_ct, claim.verdict, claim.task_context]).to eq(["step_1", 1, "claimed", { "n" => 3 }])
    expect(step_state(f, "step_1")).to eq("in_progress")
  end

  # With no backlog the post takes, instead of reading the queue, a child its own success
  # releases (tasker_apply_successes): sent as already read by this worker and claimed for it.
  it "takes the child its applied success releases, claimed for its worker, in the same statement" do
    steps = [{ name: "first", handler: "SpecHandlers::Square", state: "enqueued", attempts: 1 },
             { name: "second", handler: "SpecHandlers::Square", state: "pending", parents: ["first"] },
             { name: "other", handler: "SpecHandlers::Square", state: "enqueued", attempts: 1 }]
    f = TaskerSpec::WorkflowFixture.create(conn, context: { "n" => 3 }, steps: steps).tap { |x| pgmq.create(queue(x)) }
    conn.exec_params("UPDATE tasker_tasks SET steps_total = 3, steps_active = 2 WHERE id = $1", [f.task_id])
    pgmq.send(queue(f), f.step_message("first"))
    reader = TaskerCore::Worker::ClaimingReader.new(queue: queue(f), worker_id: "w1")
    first, = db.with { |c| reader.read(c, vt: 30, qty: 1) }.first
    next_up = described_class.new(reader, 30, released_only: true)
    pgmq.send(queue(f), f.step_message("other")) # visible, but a take does not read the queue

    expect(poster.post(queue(f), first, result(first, 9), handoff: next_up)).to be(true)
    expect(posted_results(f)).to eq([]) # applied in place
    message, claim = next_up.pairs.first
    expect(next_up.pairs.size).to eq(1)
    expect([message.message["step_name"], message.read_ct, claim.verdict, claim.parent_results]).to eq(["second", 1, "claimed", { "first" => 9 }])
    expect(message.vt).to be > Time.now + 20
    expect(%w[first second other].map { |name| step_state(f, name) }).to eq(%w[complete in_progress enqueued])
    history = conn.exec_params(<<~SQL, [f.steps["second"][:id]]).map(&:values)
      SELECT from_state, to_state, reason, metadata::text FROM tasker_step_transitions WHERE step_id = $1 ORDER BY id
    SQL
    expect(history).to eq([%w[pending enqueued ready {}], ["enqueued", "in_progress", "claimed", '{"worker": "w1"}']])
    expect(pgmq.metrics(queue(f))["queue_visible_length"]).to eq(1) # "other" only
  end

  it "posts two results and claims a malformed and a valid message in ONE statement, each judged on its own" do
    f = fixture(3)
    pgmq.send(queue(f), f.step_message("step_0"))
    pgmq.send(queue(f), f.step_message("step_1"))
    pgmq.send(queue(f), { "kind" => "step", "step_uuid" => "not-a-uuid" })
    pgmq.send(queue(f), f.step_message("step_2"))
    running = pgmq.read(queue(f), vt: 30, qty: 2)
    handoffs = [handoff(f), handoff(f)]
    # One batch, as when two handler threads finish together (the poster combines them).
    entries = running.zip(handoffs).map do |message, handoff|
      r = result(message, message.message["step_name"])
      TaskerCore::Worker::ResultPoster::Entry.new(queue(f), message, r, JSON.generate(r.to_h), nil, handoff)
    end
    poster.send(:post_batch, entries)

    expect(entries.map(&:outcome)).to eq([true, true])
    expect(poster.batches).to eq(1)
    expect(posted_results(f)).to eq(%w[step_0 step_1])
    expect(handoffs.map { |h| h.pairs.size }).to eq([1, 1])
    claims = handoffs.map { |h| h.pairs.first.last }
    expect(claims.map(&:verdict)).to eq(%w[invalid claimed])
    expect(claims.first.reason).to eq("malformed step: missing field `task_uuid` (a string)")
    expect(step_state(f, "step_2")).to eq("in_progress")
  end

  it "posts the result without claiming when the claim cannot be made" do
    f = fixture(2)
    f.steps.each_key { |name| pgmq.send(queue(f), f.step_message(name)) }
    first = pgmq.read(queue(f), vt: 30, qty: 1).first
    conn.exec(<<~SQL)
      CREATE FUNCTION spec_refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'claims are refused here';
      END $$;
      CREATE TRIGGER spec_refuse_claim BEFORE INSERT ON tasker_step_transitions FOR EACH ROW
        WHEN (NEW.reason = 'claimed') EXECUTE FUNCTION spec_refuse_claim();
    SQL
    next_up = handoff(f)

    expect(poster.post(queue(f), first, result(first, "done"), handoff: next_up)).to be(true)
    expect(posted_results(f)).to eq(["done"])
    expect(next_up.pairs).to be_empty
    expect(step_state(f, "step_1")).to eq("enqueued")
    left = conn.exec("SELECT read_ct FROM #{TaskerCore::Messaging::QueueNames.table(queue(f))}").map { |r| r["read_ct"] }
    expect(left).to eq(["0"]) # the claim was rolled back with its statement: still there, never read
  ensure
    conn.exec("DROP TRIGGER IF EXISTS spec_refuse_claim ON tasker_step_transitions; DROP FUNCTION IF EXISTS spec_refuse_claim()")
  end
end
