# frozen_string_literal: true

require "spec_helper"

module SpecHandlers
  class Square < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context["even_number"]**2
    end
  end

  # Reads a parent and a grandparent (the latter through tasker_step_ancestor_results).
  class SumAncestors < TaskerCore::StepHandler::Base
    def call(task, sequence, step)
      { "sum" => sequence["parent"] + sequence["grandparent"], "big" => task.context["big"] + 1,
        "attempt" => step.attempt, "task" => [task.namespace, task.name, task.version] }
    end
  end

  class Retry < TaskerCore::StepHandler::Base
    def call(*)
      raise TaskerCore::RetryableError.new("rate limited", retry_after: 7)
    end
  end

  class Permanent < TaskerCore::StepHandler::Base
    def call(*)
      raise TaskerCore::PermanentError, "card declined"
    end
  end

  class Crash < TaskerCore::StepHandler::Base
    def call(*)
      raise "lost connection to postgres://svc:topsecret@api/x"
    end
  end

  class NotJson < TaskerCore::StepHandler::Base
    def call(*)
      { "x" => Float::NAN }
    end
  end

  class Unimplemented < TaskerCore::StepHandler::Base; end

  # Answers #call but is not a StepHandler: a template naming it is wrong on every worker.
  class NotAHandler
    def call(*)
      "never run"
    end
  end

  # Blocks until released (or `seconds` pass), counting how many run at once.
  class Slow < TaskerCore::StepHandler::Base
    @running = Concurrent::AtomicFixnum.new(0)
    @max_running = Concurrent::AtomicFixnum.new(0)
    @release = Concurrent::Event.new
    class << self
      attr_reader :running, :max_running, :release

      def reset!
        @running = Concurrent::AtomicFixnum.new(0)
        @max_running = Concurrent::AtomicFixnum.new(0)
        @release = Concurrent::Event.new
      end
    end

    def call(task, _sequence, _step)
      now = self.class.running.increment
      self.class.max_running.update { |max| [max, now].max }
      self.class.release.wait(task.context.fetch("seconds", 10))
      "done"
    ensure
      self.class.running.decrement
    end
  end
end

RSpec.describe TaskerCore::QueueWorker do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:pgmq) { TaskerCore::Messaging::PgmqClient.new(conn) }
  let(:config) { TaskerCore.config }
  let(:workers) { [] }

  before do
    pgmq.create("step_results")
    SpecHandlers::Slow.reset!
  end

  after do
    SpecHandlers::Slow.release.set
    workers.each { |w| w.stop(timeout: 5) }
    conn.close
  end

  def start_worker(fixture, concurrency: 2, **settings)
    config.worker = settings unless settings.empty?
    described_class.start(namespaces: [fixture.namespace], concurrency: concurrency, config: config)
                   .tap { |w| workers << w }
  end

  def fixture_with(handler, context: { "even_number" => 6 }, **step)
    TaskerSpec::WorkflowFixture.create(conn, context: context,
                                             steps: [{ name: "only_step", handler: handler, state: "enqueued", attempts: 1 }.merge(step)])
                               .tap { |f| pgmq.create("#{f.namespace}_queue") }
  end

  def send_step(fixture, name = "only_step", **opts)
    pgmq.send("#{fixture.namespace}_queue", fixture.step_message(name, **opts))
  end

  def result_for(step_uuid)
    row = conn.exec_params("SELECT message FROM pgmq.q_step_results WHERE message->>'step_uuid' = $1", [step_uuid]).first
    row && JSON.parse(row["message"])
  end

  def wait_for_result(fixture, name = "only_step")
    wait_for(timeout: 5) { result_for(fixture.steps.fetch(name)[:uuid]) }
  end

  def queue_rows(fixture)
    conn.exec("SELECT msg_id, read_ct FROM pgmq.#{PG::Connection.quote_ident("q_#{fixture.namespace}_queue")}").to_a
  end

  it "claims the step, runs the handler and sends a success result, deleting the message" do
    fixture = fixture_with("SpecHandlers::Square")
    worker = start_worker(fixture)
    send_step(fixture)

    result = wait_for_result(fixture)
    step = fixture.steps["only_step"]
    expect(result).to include("kind" => "step_result", "task_uuid" => fixture.task_uuid, "step_uuid" => step[:uuid],
                              "step_name" => "only_step", "attempt" => 1, "status" => "success", "results" => 36,
                              "error" => nil, "worker_id" => "#{Socket.gethostname}:#{Process.pid}")
    expect(Time.iso8601(result["finished_at"])).to be >= Time.iso8601(result["started_at"])
    expect(TaskerCore::Types::StepResult.from_json_hash(result)).to be_success

    expect(TaskerSpec::WorkflowFixture.step_row(conn, step[:uuid])["state"]).to eq("in_progress")
    transition = conn.exec_params(<<~SQL, [step[:id]]).first
      SELECT from_state, to_state, attempt, metadata FROM tasker_step_transitions WHERE step_id = $1
    SQL
    expect(transition).to include("from_state" => "enqueued", "to_state" => "in_progress", "attempt" => "1")
    expect(JSON.parse(transition["metadata"])).to eq("worker" => worker.worker_id)
    wait_for(timeout: 5) { queue_rows(fixture).empty? }
    wait_for(timeout: 5) { worker.stats[:processed] == 1 }
  end

  it "gives the handler its parents' and other ancestors' results, keeping big integers" do
    fixture = TaskerSpec::WorkflowFixture.create(conn, context: { "big" => 2**64 }, steps: [
                                                   { name: "grandparent", handler: "X", state: "complete", results: 2**64 },
                                                   { name: "parent", handler: "X", state: "complete", results: 1, parents: ["grandparent"] },
                                                   { name: "child", handler: "SpecHandlers::SumAncestors", state: "enqueued", attempts: 2,
                                                     parents: ["parent"] }
                                                 ])
    pgmq.create("#{fixture.namespace}_queue")
    start_worker(fixture)
    send_step(fixture, "child")

    result = wait_for_result(fixture, "child")
    expect(result["status"]).to eq("success")
    expect(result["results"]).to eq("sum" => 2**64 + 1, "big" => 2**64 + 1, "attempt" => 2,
                                    "task" => [fixture.namespace, "spec_task", "1.0.0"])
  end

  {
    "SpecHandlers::Retry" => ["TaskerCore::RetryableError", true, 7, "rate limited"],
    "SpecHandlers::Permanent" => ["TaskerCore::PermanentError", false, nil, "card declined"],
    "SpecHandlers::Crash" => ["RuntimeError", true, nil, "lost connection to postgres://svc:***@api/x"],
    "SpecHandlers::Missing" => ["TaskerCore::HandlerNotFound", true, nil, /SpecHandlers::Missing is not defined on worker/],
    "SpecHandlers::NotAHandler" => ["TaskerCore::TemplateError", false, nil,
                                    /SpecHandlers::NotAHandler is not a subclass of TaskerCore::StepHandler::Base/],
    "SpecHandlers::NotJson" => ["TaskerCore::PermanentError", false, nil, /cannot be stored: results.x is NaN/],
    "SpecHandlers::Unimplemented" => ["NotImplementedError", false, nil, /must implement #call/]
  }.each do |handler, (error_class, retryable, retry_after, message)|
    it "reports #{handler} as a failure (#{error_class}, retryable: #{retryable})" do
      fixture = fixture_with(handler)
      worker = start_worker(fixture)
      send_step(fixture)

      result = wait_for_result(fixture)
      expect(result).to include("status" => "failure", "results" => nil)
      expect(result["error"]).to include("class" => error_class, "retryable" => retryable, "retry_after" => retry_after)
      expect(result["error"]["message"]).to match(message)
      expect(result["error"]["backtrace"].size).to be <= 20
      wait_for(timeout: 5) { queue_rows(fixture).empty? }
      wait_for(timeout: 5) { worker.stats[:failed] == 1 }
    end
  end

  it "fails the step when the result is larger than max_message_bytes" do
    config.orchestrator = { max_message_bytes: 600 }
    fixture = fixture_with("SpecHandlers::Square", context: { "even_number" => 10**400 })
    start_worker(fixture)
    send_step(fixture)
    result = wait_for_result(fixture)
    expect(result["error"]).to include("class" => "TaskerCore::PermanentError", "retryable" => false)
    expect(result["error"]["message"]).to match(/more than orchestrator.max_message_bytes \(600\)/)
  end

  it "keeps a stale message as a dead letter without running the handler" do
    fixture = fixture_with("SpecHandlers::Square", attempts: 2)
    worker = start_worker(fixture)
    msg_id = send_step(fixture, attempt: 1)

    wait_for(timeout: 5) { worker.stats[:skipped] == 1 }
    expect(queue_rows(fixture)).to be_empty
    letter = conn.exec_params("SELECT kind, reason FROM tasker_dead_letters WHERE msg_id = $1 AND queue_name = $2",
                              [msg_id, "#{fixture.namespace}_queue"]).first
    expect(letter).to eq("kind" => "ignored_step_message",
                         "reason" => "attempt 1 of step only_step is not claimable: the step is enqueued at attempt 2, " \
                                     "the task is in_progress")
    expect(result_for(fixture.steps["only_step"][:uuid])).to be_nil
    expect(TaskerSpec::WorkflowFixture.step_row(conn, fixture.steps["only_step"][:uuid])["state"]).to eq("enqueued")
  end

  it "keeps the message as a dead letter when the task is no longer running" do
    fixture = TaskerSpec::WorkflowFixture.create(conn, task_state: "cancelled",
                                                       steps: [{ name: "only_step", handler: "SpecHandlers::Square", state: "enqueued" }])
    pgmq.create("#{fixture.namespace}_queue")
    worker = start_worker(fixture)
    send_step(fixture)
    wait_for(timeout: 5) { worker.stats[:skipped] == 1 }
    expect(result_for(fixture.steps["only_step"][:uuid])).to be_nil
  end

  it "archives a malformed step message and records a dead letter" do
    fixture = fixture_with("SpecHandlers::Square")
    worker = start_worker(fixture)
    bad = fixture.step_message("only_step").merge("attempt" => 0)
    msg_id = pgmq.send("#{fixture.namespace}_queue", bad)

    wait_for(timeout: 5) { worker.stats[:invalid] == 1 }
    expect(queue_rows(fixture)).to be_empty
    letter = conn.exec_params("SELECT * FROM tasker_dead_letters WHERE msg_id = $1 AND queue_name = $2",
                              [msg_id, "#{fixture.namespace}_queue"]).first
    expect(letter).to include("kind" => "invalid_step_message", "task_uuid" => fixture.task_uuid)
    expect(letter["reason"]).to eq("malformed step: attempt must be an integer from 1 to 999999999")
    archived = conn.exec("SELECT count(*) FROM pgmq.#{PG::Connection.quote_ident("a_#{fixture.namespace}_queue")}")
    expect(archived.getvalue(0, 0)).to eq("1")
  end

  it "reads only as many messages as it has free threads" do
    fixture = TaskerSpec::WorkflowFixture.create(conn, context: { "seconds" => 10 }, steps: Array.new(4) do |i|
      { name: "s#{i}", handler: "SpecHandlers::Slow", state: "enqueued" }
    end)
    pgmq.create("#{fixture.namespace}_queue")
    worker = start_worker(fixture, concurrency: 2)
    4.times { |i| send_step(fixture, "s#{i}") }

    wait_for(timeout: 5) { SpecHandlers::Slow.running.value == 2 }
    sleep 0.2 # several poll intervals
    read_counts = queue_rows(fixture).map { |r| Integer(r["read_ct"]) }
    expect(read_counts.sort).to eq([0, 0, 1, 1]) # two untouched, still visible to other workers
    expect(worker.stats[:in_flight]).to eq(2)

    SpecHandlers::Slow.release.set
    wait_for(timeout: 5) { worker.stats[:processed] == 4 }
    expect(SpecHandlers::Slow.max_running.value).to eq(2)
  end

  it "works through a backlog by claiming the next message with each result it posts, each step once" do
    fixture = TaskerSpec::WorkflowFixture.create(conn, context: { "even_number" => 4 }, steps: Array.new(40) do |i|
      { name: "s#{i}", handler: "SpecHandlers::Square", state: "enqueued" }
    end)
    pgmq.create("#{fixture.namespace}_queue")
    40.times { |i| send_step(fixture, "s#{i}") }
    worker = start_worker(fixture, concurrency: 2)

    wait_for(timeout: 10) { worker.stats[:processed] == 40 }
    expect(worker.stats[:handed_off]).to be_positive
    expect(queue_rows(fixture)).to be_empty
    results = fixture.steps.values.map { |step| result_for(step[:uuid]) }
    expect(results.map { |r| [r["status"], r["results"]] }).to all(eq(["success", 16]))
    posted = conn.exec_params("SELECT count(*) FROM pgmq.q_step_results WHERE message->>'task_uuid' = $1",
                              [fixture.task_uuid]).getvalue(0, 0)
    expect(Integer(posted)).to eq(40) # one result per step: no step ran twice
  end

  it "does not delete a message that was redelivered while its handler ran, nor send the result" do
    fixture = fixture_with("SpecHandlers::Slow", context: { "seconds" => 10 })
    worker = start_worker(fixture)
    send_step(fixture)
    wait_for(timeout: 5) { SpecHandlers::Slow.running.value == 1 }

    # What a redelivery to another worker does to the row.
    conn.exec("UPDATE pgmq.#{PG::Connection.quote_ident("q_#{fixture.namespace}_queue")} SET read_ct = read_ct + 1")
    SpecHandlers::Slow.release.set

    wait_for(timeout: 5) { worker.stats[:redelivered] == 1 }
    expect(queue_rows(fixture).size).to eq(1)
    expect(result_for(fixture.steps["only_step"][:uuid])).to be_nil
  end

  # A queue missing at start fails the start (spec/ruby/worker_start_check_spec.rb); one
  # that disappears later is waited for.
  it "keeps polling through errors while its queue is gone, until it is back" do
    fixture = fixture_with("SpecHandlers::Square", context: { "even_number" => 2 })
    log = StringIO.new
    TaskerCore::Logging.output = log
    start_worker(fixture)
    pgmq.drop("#{fixture.namespace}_queue")
    wait_for(timeout: 5) { log.string.include?("queue #{fixture.namespace}_queue does not exist") }

    pgmq.create("#{fixture.namespace}_queue")
    send_step(fixture)
    expect(wait_for_result(fixture)["results"]).to eq(4)
  ensure
    TaskerCore::Logging.output = StringIO.new
  end

  it "reconnects after its database connections are killed" do
    fixture = TaskerSpec::WorkflowFixture.create(conn, context: { "even_number" => 3 }, steps: [
                                                   { name: "first", handler: "SpecHandlers::Square", state: "enqueued" },
                                                   { name: "second", handler: "SpecHandlers::Square", state: "enqueued" }
                                                 ])
    pgmq.create("#{fixture.namespace}_queue")
    start_worker(fixture)
    send_step(fixture, "first")
    wait_for_result(fixture, "first")

    killed = conn.exec(<<~SQL).ntuples
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'tasker_core_worker' AND datname = current_database()
    SQL
    expect(killed).to be >= 1
    send_step(fixture, "second")
    expect(wait_for_result(fixture, "second")["results"]).to eq(9)
  end

  describe "#stop" do
    it "lets running handlers finish and is idempotent" do
      fixture = fixture_with("SpecHandlers::Slow", context: { "seconds" => 0.3 })
      worker = start_worker(fixture)
      send_step(fixture)
      wait_for(timeout: 5) { SpecHandlers::Slow.running.value == 1 }

      expect(worker.stop(timeout: 5)).to be(true)
      expect(worker).not_to be_running
      expect(result_for(fixture.steps["only_step"][:uuid])["status"]).to eq("success")
      expect(worker.stop).to be(true)
    end

    it "kills handlers still running at the deadline, leaving their message for redelivery" do
      fixture = fixture_with("SpecHandlers::Slow", context: { "seconds" => 30 })
      worker = start_worker(fixture)
      send_step(fixture)
      wait_for(timeout: 5) { SpecHandlers::Slow.running.value == 1 }

      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect(worker.stop(timeout: 0.3)).to be(false)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 3
      expect(result_for(fixture.steps["only_step"][:uuid])).to be_nil
      expect(queue_rows(fixture).size).to eq(1)
      expect(worker.stop).to be(false)
    end

    it "stops promptly when idle" do
      fixture = fixture_with("SpecHandlers::Square")
      worker = start_worker(fixture)
      expect(worker).to be_running
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect(worker.stop).to be(true)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 1
    end
  end

  it "validates namespaces and concurrency up front" do
    expect { described_class.new(namespaces: ["Bad NS"]) }.to raise_error(TaskerCore::QueueNameError)
    expect { described_class.new(namespaces: []) }.to raise_error(TaskerCore::ConfigurationError)
    expect { described_class.new(namespaces: ["ok"], concurrency: 0) }.to raise_error(TaskerCore::ConfigurationError)
  end
end
