# frozen_string_literal: true

require_relative "support/instrumentation_helper"

# task_completed / task_failed / task_cancelled and step_retry (.tasker_core): state changes
# the orchestrator (Rust) makes, carried through the database by an EventRelay to the
# subscribers of every process that runs one.
RSpec.describe TaskerCore::Instrumentation::EventRelay do
  before(:all) do
    TaskerSpec::Runtime.ensure_started
    @relay = described_class.new(fallback_poll_s: 5).start
  end

  after(:all) { @relay&.stop(timeout: 5) }

  let!(:recorder) { SpecInstrumentation::Recorder.new }

  after { recorder.close }

  def relayed(name, uuid)
    recorder.wait_for { |events| events.find { |e| e[0] == name && e[2][:task_uuid] == uuid } }
  end

  # The transition an event reports: its time (clock_timestamp, so a little after the task's
  # completed_at, the time its transaction began) and its target state.
  def transition(id)
    TaskerSpec::Database.query("SELECT created_at, to_state FROM tasker_task_transitions WHERE id = $1", [id]).first
  end

  # An event's span: from the task's creation (as TaskerCore.task says) to its transition.
  def expect_span(duration, payload, task)
    finished = TaskerCore::Client::TIMESTAMP.decode(transition(payload[:transition_id])["created_at"]).getutc
    expect(payload.values_at(:created_at, :finished_at)).to eq([task["created_at"], finished.iso8601(3)])
    expect(finished).to be >= Time.iso8601(task["completed_at"])
    expect(duration).to be > 0
    expect(duration).to be_within(0.01).of(payload[:duration_ms])
    expect(duration).to be_within(1).of((finished - Time.iso8601(task["created_at"])) * 1000.0)
  end

  it "publishes a completed task, with the duration from its creation to its completion" do
    uuid = enqueue("mathematical_sequence", { "even_number" => 2 }, namespace: "linear_workflow")
    task = finish(uuid)
    _, duration, payload = relayed("task_completed.tasker_core", uuid)

    expect(payload).to include(task_uuid: uuid, namespace: "linear_workflow", name: "mathematical_sequence",
                               version: "1.0.0", state: "complete", from_state: "in_progress",
                               reason: "all_steps_complete", trace_context: nil)
    expect(transition(payload[:transition_id])["to_state"]).to eq("complete")
    expect_span(duration, payload, task)
  end

  it "publishes each retry of a failing step with its error and delay, then the completion" do
    uuid = enqueue("flaky")
    finish(uuid)
    relayed("task_completed.tasker_core", uuid)
    retries = recorder.wait_for do |events|
      found = events.select { |e| e[0] == "step_retry.tasker_core" && e[2][:task_uuid] == uuid }
      found.size == 2 && found
    end
    payloads = retries.map(&:last).sort_by { |p| p[:attempt] }
    expect(payloads.map { |p| p.values_at(:step_name, :attempt, :next_attempt, :error_class, :error_message) })
      .to eq([["flaky_step", 1, 2, "RuntimeError", "flaky failure on attempt 1"],
              ["flaky_step", 2, 3, "RuntimeError", "flaky failure on attempt 2"]])
    retries.each do |_, duration, payload|
      expect(payload[:delay_ms]).to be_between(0, 50) # backoff_base_ms 10, backoff_max_ms 50, jittered
      expect(duration).to be_within(0.01).of(payload[:delay_ms])
      expect(Time.iso8601(payload[:next_attempt_at]) - Time.iso8601(payload[:scheduled_at]))
        .to be_within(0.002).of(payload[:delay_ms] / 1000.0)
      expect(payload).to include(namespace: "spec_workflows", task_name: "flaky", task_version: "1.0.0")
    end
  end

  it "publishes a failed task and a cancelled one" do
    failed = enqueue("failing_chain")
    expect(finish(failed)["state"]).to eq("error")
    _, duration, payload = relayed("task_failed.tasker_core", failed)
    expect(payload).to include(state: "error", from_state: "in_progress", reason: "step_failed", name: "failing_chain")
    expect_span(duration, payload, TaskerCore.task(failed))

    cancelled = enqueue("slow_chain", { "sleep" => 0.5 })
    wait_for { TaskerCore.task(cancelled)&.dig("steps", "slow", "state") == "in_progress" }
    TaskerCore.cancel(cancelled)
    _, duration, payload = relayed("task_cancelled.tasker_core", cancelled)
    expect(payload).to include(state: "cancelled", from_state: "in_progress", reason: "cancelled_by_operator")
    expect_span(duration, payload, TaskerCore.task(cancelled))
  end

  it "delivers to a separate process that runs only a relay" do
    process = SpecInstrumentation::RelayProcess.new
    done = enqueue("mathematical_sequence", { "even_number" => 2 }, namespace: "linear_workflow")
    failed = enqueue("failing_chain")
    flaky = enqueue("flaky")
    [done, failed, flaky].each { |uuid| finish(uuid) }
    events = process.wait_for do |seen|
      mine = seen.select { |e| [done, failed, flaky].include?(e.dig("payload", "task_uuid")) }
      mine.size == 5 && mine
    end
    names = events.map { |e| [e["name"], e.dig("payload", "task_uuid")] }
    expect(names).to contain_exactly(["task_completed.tasker_core", done], ["task_failed.tasker_core", failed],
                                     ["step_retry.tasker_core", flaky], ["step_retry.tasker_core", flaky],
                                     ["task_completed.tasker_core", flaky])
    completed = events.find { |e| e.dig("payload", "task_uuid") == done }
    expect(completed["payload"]).to include("state" => "complete", "name" => "mathematical_sequence")
    expect(completed["duration"]).to be > 0
    expect(completed["duration"]).to be_within(0.01).of(completed.dig("payload", "duration_ms"))
  ensure
    process&.stop
  end

  it "does not replay what was committed before its start" do
    before = enqueue("flaky", { "n" => 1 })
    finish(before)
    relayed("task_completed.tasker_core", before) # committed, and seen by this process's relay
    process = SpecInstrumentation::RelayProcess.new
    after = enqueue("flaky", { "n" => 2 })
    finish(after)
    # A replay would come first: the start snapshot's events are read before any later one.
    process.wait_for { |seen| seen.find { |e| e.dig("payload", "task_uuid") == after && e["name"] =~ /task_completed/ } }
    seen = process.events.map { |e| e.dig("payload", "task_uuid") }
    expect(seen).to include(after)
    expect(seen).not_to include(before)
  ensure
    process&.stop
  end

  it "delivers through its fallback poll alone, with no LISTEN" do
    process = SpecInstrumentation::RelayProcess.new("TASKER_RELAY_LISTEN" => "false", "TASKER_RELAY_FALLBACK_S" => "0.3")
    uuid = enqueue("failing_chain")
    finish(uuid)
    event = process.wait_for { |seen| seen.find { |e| e.dig("payload", "task_uuid") == uuid } }
    expect(event["name"]).to eq("task_failed.tasker_core")
    expect(event.dig("stats", "notifications")).to eq(0)
  ensure
    process&.stop
  end

  it "reconnects after its connection is killed and loses nothing committed meanwhile" do
    process = SpecInstrumentation::RelayProcess.new
    killed = process.backend_pid
    TaskerSpec::Database.query("SELECT pg_terminate_backend($1)", [killed])
    uuids = Array.new(3) { |i| enqueue("flaky", { "i" => i }) } # some finish while it reconnects
    uuids.each { |uuid| finish(uuid) }
    events = process.wait_for do |seen|
      done = seen.select { |e| e["name"] == "task_completed.tasker_core" && uuids.include?(e.dig("payload", "task_uuid")) }
      done.size == 3 && done
    end
    expect(events.map { |e| e.dig("payload", "task_uuid") }).to match_array(uuids)
    expect(events.last["backend_pid"]).not_to eq(killed)
    expect(events.last.dig("stats", "reconnects")).to be >= 1
  ensure
    process&.stop
  end

  it "starts and stops idempotently, within the timeout, and refuses an unreachable database" do
    relay = described_class.new(fallback_poll_s: 60)
    expect(relay.start).to be(relay)
    pid = relay.backend_pid
    expect(relay.start.backend_pid).to eq(pid)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(relay.stop(timeout: 2)).to be(true)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 1.0
    expect(relay.running?).to be(false)
    expect(relay.stop).to be(true)
    expect(TaskerSpec::Database.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid]).first["count"]).to eq("0")

    unreachable = described_class.new(database_url: "postgres://postgres@127.0.0.1:1/none")
    expect { unreachable.start }.to raise_error(TaskerCore::DatabaseError, /event relay could not start/)
    expect(unreachable.running?).to be(false)
  end

  # (ActiveSupport 6.1 stops at a subscriber that raises: later subscribers of that event
  # miss it. The relay logs it and goes on with the next events.)
  it "keeps delivering when a subscriber raises" do
    angry = ActiveSupport::Notifications.subscribe("task_completed.tasker_core") { |*| raise "subscriber bug" }
    previous = TaskerCore::Logging.output
    TaskerCore::Logging.output = StringIO.new # the relay logs each raise; keep the run's output clean
    finish(enqueue("mathematical_sequence", { "even_number" => 2 }, namespace: "linear_workflow"))
    later = enqueue("failing_chain")
    finish(later)
    relayed("task_failed.tasker_core", later)
    expect(@relay.running?).to be(true)
    expect(TaskerCore::Logging.output.string).to include("event subscriber raised", "subscriber bug")
  ensure
    ActiveSupport::Notifications.unsubscribe(angry)
    TaskerCore::Logging.output = previous if previous
  end
end
