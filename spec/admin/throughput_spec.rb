# frozen_string_literal: true

require_relative "admin_helper"

# Admin#throughput: finishing transitions of tasks and steps per minute, oldest first, zeros
# included. Exact buckets from transitions inserted at known times (isolated database), and
# the tasks the real runtime runs counted where they finished.
RSpec.describe "TaskerCore::Admin#throughput" do
  include AdminHelpers

  it "counts each minute's finished tasks and step attempts, the current minute last" do
    conn = TaskerSpec::Database.connect_isolated
    conn.exec("SET client_min_messages TO warning")
    TaskerSpec::Database.truncate_tasker_tables(conn)
    fixture = TaskerSpec::WorkflowFixture.create(conn, steps: [{ name: "a", handler: "Spec::A", state: "complete" }])
    base = Time.parse(conn.exec("SELECT date_trunc('minute', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m")[0]["m"])
    task = lambda do |to_state, at|
      conn.exec_params("INSERT INTO tasker_task_transitions (task_id, to_state, created_at) VALUES ($1, $2, $3)",
                       [fixture.task_id, to_state, at.iso8601(6)])
    end
    step = lambda do |to_state, at|
      conn.exec_params("INSERT INTO tasker_step_transitions (step_id, to_state, attempt, created_at) VALUES ($1, $2, 1, $3)",
                       [fixture.steps["a"][:id], to_state, at.iso8601(6)])
    end
    [5, 20].each { |s| task.call("complete", base - 180 + s) }
    task.call("error", base - 180 + 50)
    task.call("in_progress", base - 180 + 1) # not a finish
    task.call("complete", base - (90 * 60)) # before the window
    (1..5).each { |s| step.call("complete", base - 60 + s) }
    2.times { step.call("error", base - 60 + 30) }
    %w[enqueued waiting_for_retry in_progress].each { |state| step.call(state, base - 60) }
    step.call("complete", base)

    minutes = isolated_admin.throughput(minutes: 60)
    expect(minutes.size).to eq(60)
    minutes.each { |entry| expect(entry.keys).to eq(["minute", *AdminHelpers::THROUGHPUT_COUNTS]) }
    starts = minutes.map { |entry| Time.iso8601(entry["minute"]) }
    expect(starts.each_cons(2).map { |a, b| b - a }.uniq).to eq([60.0])
    expect(starts.last).to be >= base
    at = ->(time) { minutes.find { |entry| entry["minute"] == time.utc.iso8601(3) }&.slice(*AdminHelpers::THROUGHPUT_COUNTS) }
    expect(at.call(base - 180)).to eq(AdminHelpers::THROUGHPUT_COUNTS.zip([2, 1, 0, 0]).to_h)
    expect(at.call(base - 60)).to eq(AdminHelpers::THROUGHPUT_COUNTS.zip([0, 0, 5, 2]).to_h)
    expect(at.call(base)).to eq(AdminHelpers::THROUGHPUT_COUNTS.zip([0, 0, 1, 0]).to_h)
    expect(AdminHelpers::THROUGHPUT_COUNTS.map { |key| minutes.sum { |entry| entry[key] } }).to eq([2, 1, 6, 2]) # zeros everywhere else
    expect(isolated_admin.throughput(minutes: 1).size).to eq(1)
  ensure
    close_isolated_admin
    conn&.close
  end

  it "counts the tasks and steps the runtime finishes" do
    TaskerSpec::Runtime.ensure_started
    sums = -> { admin.throughput(minutes: 5).to_h { |entry| [entry["minute"], entry] } }
    before = sums.call
    uuids = Array.new(2) do
      TaskerCore.enqueue(namespace: "diamond_workflow", name: "diamond_pattern", version: "1.0.0", context: { "even_number" => 2 })
    end
    uuids << TaskerCore.enqueue(namespace: "spec_workflows", name: "failing_chain", version: "1.0.0", context: {})
    uuids.each { |uuid| TaskerCore.wait(uuid, timeout: 30) }
    after = sums.call
    # per minute of the later window (a minute may have passed in between)
    delta = AdminHelpers::THROUGHPUT_COUNTS.to_h { |key| [key, after.sum { |minute, entry| entry[key] - (before.dig(minute, key) || 0) }] }
    # 2 diamonds (4 steps each) and a failing chain (validate and notify complete, charge fails for good);
    # at least: in a whole suite's run another spec's task may finish meanwhile (exact counts: above)
    expected = { "tasks_completed" => 2, "tasks_failed" => 1, "steps_completed" => 10, "steps_failed" => 1 }
    expected.each { |key, count| expect(delta[key]).to be >= count, "#{key}: #{delta}" }
  end

  it "refuses a window that is not 1 to 1440 minutes" do
    [0, 1441, "60", nil, 1.5].each { |minutes| expect_validation_error("minutes") { admin.throughput(minutes: minutes) } }
  end
end
