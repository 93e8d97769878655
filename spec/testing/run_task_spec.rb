# frozen_string_literal: true

require_relative "testing_helper"

# run_task runs a task to completion in this process and returns its task hash.
RSpec.describe "TaskerCore::Testing.run_task" do
  before(:all) { TestingKitSpec.start }

  let(:testing) { TaskerCore::Testing }

  it "runs the example templates to completion and returns the task hash" do
    linear = testing.run_task(namespace: "linear_workflow", name: "mathematical_sequence", context: { even_number: 2 })
    expect(linear).to include("state" => "complete", "namespace" => "linear_workflow", "version" => "1.0.0")
    expect(linear["steps"]["linear_step_4"]["results"]).to eq(2**16)
    expect(linear).to eq(TaskerCore.task(linear["uuid"]))

    order = testing.run_task(namespace: "fulfillment", name: "process_order", context: TestingKitSpec::ORDER)
    expect(order["steps"].transform_values { |s| s["state"] }.values.uniq).to eq(["complete"])
    expect(order["steps"]["ship_order"]["results"]).to include("items_shipped" => 3)

    declined = testing.run_task(namespace: "fulfillment", name: "process_order", context: TestingKitSpec::DECLINED)
    expect(declined["state"]).to eq("error")
    expect(declined["steps"]["process_payment"]["error"]["message"]).to match(/declined/)
  end

  it "runs fixture templates, and a refused request raises TaskRejected naming the reason" do
    chain = testing.run_task(namespace: "spec_workflows", name: "failing_chain", context: {})
    expect(chain["steps"].transform_values { |s| s["state"] })
      .to eq("validate" => "complete", "charge" => "error", "ship" => "pending", "notify" => "complete")

    expect { testing.run_task(namespace: "fulfillment", name: "process_order", context: { "customer" => 1 }) }
      .to raise_error(TaskerCore::TaskRejected, /invalid context: context.items: is required/)
    expect { testing.run_task(namespace: "testing_kit", name: "no_such_template", context: {}) }
      .to raise_error(TaskerCore::TaskRejected, /no_such_template/)
    expect { testing.run_task(namespace: "Bad-Namespace", name: "x", context: {}) }
      .to raise_error(TaskerCore::ValidationError, /namespace/)
  end

  it "finishes a step that fails twice with a 60 s backoff in about a second, through the usual transitions" do
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    task = testing.run_task(namespace: "testing_kit", name: "slow_retry", context: { order: 7 })
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started

    expect(task["state"]).to eq("complete")
    expect(task["steps"]["flaky"]).to include("attempts" => 3, "results" => { "succeeded_on" => 3 })
    expect(task["steps"]["ship"]["results"]).to eq("shipped" => 7, "after_attempts" => 3)
    warn "slow_retry took #{elapsed.round(2)} s" if ENV["TASKER_TESTING_TIMES"]
    expect(elapsed).to be < 5 # two backoffs of 30-60 s each, had they been waited for
    flaky = TestingKitSpec.transitions(task["uuid"]).select { |step, *| step == "flaky" }.map { |_, *rest| rest }
    retry_cycle = [%w[in_progress error], %w[error waiting_for_retry], %w[waiting_for_retry enqueued]]
    expect(flaky.map { |from, to, _| [from, to] })
      .to eq([[nil, "pending"], %w[pending enqueued], %w[enqueued in_progress], *retry_cycle, %w[enqueued in_progress],
              *retry_cycle, %w[enqueued in_progress], %w[in_progress complete]])
    expect(flaky.map(&:last)).to include("retry_scheduled", "retry_due")
    # The backoff the orchestrator chose is recorded as it was: only its message came due early.
    delays = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).map { |r| Integer(r["delay"]) }
      SELECT (tr.metadata ->> 'delay_ms') AS delay FROM tasker_step_transitions tr
        JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND tr.reason = 'retry_scheduled'
    SQL
    expect(delays).to all(be_between(30_000, 60_000))
  end

  it "advance_time! makes the scheduled retries of a real enqueue due, and of no other task" do
    uuid = TaskerCore.enqueue(namespace: "testing_kit", name: "slow_retry", version: "1.0.0", context: { order: 1 })
    other = TaskerCore.enqueue(namespace: "testing_kit", name: "slow_retry", version: "1.0.0", context: { order: 2 })
    TaskerCore::Testing::Runtime.ensure_workers(["testing_kit"])
    waiting = lambda do |id|
      TaskerCore.task(id)&.dig("steps", "flaky", "state") == "waiting_for_retry"
    end
    wait_for { waiting.call(uuid) && waiting.call(other) }

    expect(testing.advance_time!(uuid)).to eq(1)
    # Attempt 2 ran (its error is the step's last) and attempt 3 waits its backoff. (The
    # state alone would also match the instant before attempt 2 is claimed.)
    wait_for(describe: -> { TaskerCore.task(uuid)["steps"]["flaky"].inspect }) do
      TaskerCore.task(uuid)["steps"]["flaky"].dig("error", "attempt") == 2 && waiting.call(uuid)
    end
    expect(TaskerCore.task(other)["steps"]["flaky"]).to include("state" => "waiting_for_retry", "attempts" => 2)

    wait_for { testing.advance_time! && TaskerCore.task(uuid)["state"] == "complete" && TaskerCore.task(other)["state"] == "complete" }
    expect(testing.advance_time!).to eq(0)
    expect { testing.advance_time!(uuid, "not-a-uuid") }.to raise_error(TaskerCore::ValidationError, /not-a-uuid/)
  end

  it "reuses the running orchestrator and its own workers instead of starting more per call" do
    orchestrators = TaskerCore::Orchestrator.running
    workers = TaskerCore::Testing::Runtime.instance_variable_get(:@workers).dup
    3.times { testing.run_task(namespace: "linear_workflow", name: "mathematical_sequence", context: { even_number: 4 }) }
    expect(TaskerCore::Orchestrator.running).to eq(orchestrators)
    expect(TaskerCore::Testing::Runtime.instance_variable_get(:@workers)).to eq(workers)
  end
end
