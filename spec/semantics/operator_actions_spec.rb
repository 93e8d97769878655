# frozen_string_literal: true

require "spec_helper"
require "open3"

RSpec.describe "operator actions" do
  before { TaskerSpec::Runtime.ensure_started }

  def enqueue(name, context = {})
    TaskerCore.enqueue(namespace: "spec_workflows", name: name, version: "1.0.0", context: context)
  end

  def wait_until(timeout: 15)
    deadline = Time.now + timeout
    sleep 0.02 until yield || Time.now > deadline
    expect(yield).to be_truthy
  end

  def step_state(uuid, name)
    TaskerCore.task(uuid)&.dig("steps", name, "state")
  end

  def task_transitions(uuid)
    TaskerSpec::Database.query(<<~SQL, [uuid]).map { |r| [r["from_state"], r["to_state"], r["reason"]] }
      SELECT tr.from_state, tr.to_state, tr.reason FROM tasker_task_transitions tr
        JOIN tasker_tasks t ON t.id = tr.task_id WHERE t.uuid = $1 ORDER BY tr.id
    SQL
  end

  describe "TaskerCore.cancel" do
    it "cancels unstarted steps and records, then ignores, the late result of a running step" do
      uuid = enqueue("slow_chain", { "sleep" => 0.6 })
      wait_until { step_state(uuid, "slow") == "in_progress" }
      expect(TaskerCore.cancel(uuid)).to include("state" => "cancelled", "cancelled_steps" => 2)

      task = TaskerCore.wait(uuid, timeout: 5)
      expect(task["state"]).to eq("cancelled")
      expect(task["steps"].transform_values { |s| s["state"] }).to eq("slow" => "cancelled", "after_slow" => "cancelled")
      expect(step_transitions(uuid, "after_slow").last).to eq(%w[pending cancelled])
      expect(task_transitions(uuid).last).to eq(%w[in_progress cancelled cancelled_by_operator])

      # The running handler finishes after the cancel: its result is kept as a dead letter, not applied.
      wait_until { TaskerCore.dead_letters.any? { |d| d["task_uuid"] == uuid && d["kind"] == "ignored_result" } }
      letter = TaskerCore.dead_letters.find { |d| d["task_uuid"] == uuid }
      expect(letter["reason"]).to include("the step is cancelled")
      expect(TaskerCore.task(uuid)["steps"]["slow"]).to include("state" => "cancelled", "results" => nil)
    end

    it "refuses to cancel a finished task, naming the transition" do
      task = run_task("spec_workflows", "failing_chain", {})
      expect { TaskerCore.cancel(task["uuid"]) }.not_to raise_error # error -> cancelled is allowed
      done = run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 })
      expect { TaskerCore.cancel(done["uuid"]) }
        .to raise_error(TaskerCore::InvalidTransition, "illegal task transition complete -> cancelled")
      expect { TaskerCore.cancel(SecureRandom.uuid) }.to raise_error(TaskerCore::TaskNotFound, /not found/)
    end
  end

  describe "TaskerCore.retry" do
    after { SpecWorkflows::Switch.broken = true }

    it "resumes a task in error from its failed steps, keeping completed ones, with a fresh retry budget" do
      SpecWorkflows::Switch.broken = true
      uuid = enqueue("switchable")
      failed = TaskerCore.wait(uuid, timeout: 15)
      expect(failed["state"]).to eq("error")
      expect(failed["steps"]["switch"]).to include("state" => "error", "attempts" => 1)

      SpecWorkflows::Switch.broken = false
      expect(TaskerCore.retry(uuid)).to include("state" => "in_progress", "retried_steps" => 1, "dispatched" => 1)
      task = TaskerCore.wait(uuid, timeout: 15)
      expect(task["state"]).to eq("complete")
      # Attempt numbers keep counting (a result of attempt 1 stays stale); first ran once.
      expect(task["steps"]["switch"]).to include("results" => { "fixed_on_attempt" => 2 }, "attempts" => 2)
      expect(task["steps"]["first"]["attempts"]).to eq(1)
      expect(step_transitions(uuid, "first").size).to eq(4)
      expect(step_transitions(uuid, "switch")).to include(%w[error pending])
      expect(task_transitions(uuid).map(&:last)).to eq(%w[created started step_failed retried_by_operator
                                                          all_steps_complete])
    end

    it "refuses to retry a task that is not in error" do
      done = run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 })
      expect { TaskerCore.retry(done["uuid"]) }
        .to raise_error(TaskerCore::InvalidTransition, "illegal task transition complete -> in_progress")
    end
  end

  it "lets a process that used operator actions exit promptly (the native handle never blocks when freed)" do
    script = <<~RUBY
      require "tasker_core"
      TaskerCore.cancel(#{SecureRandom.uuid.inspect}) rescue TaskerCore::TaskNotFound
      TaskerCore.resolve_step(#{SecureRandom.uuid.inspect}, "x", 1) rescue TaskerCore::TaskNotFound
      GC.start
    RUBY
    env = { "DATABASE_URL" => TaskerSpec::Database.url, "TASKER_ENV" => "test" }
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    _out, err, status = Open3.capture3(env, "timeout", "20", RbConfig.ruby, "-I", File.join(TaskerSpec::Database::ROOT, "lib"),
                                       "-e", script)
    expect(status).to be_success, err
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 10
  end

  describe "TaskerCore.resolve_step" do
    it "marks a failed step resolved_manually; its dependents receive the given result and the task completes" do
      uuid = enqueue("failing_chain", { "order" => 9 })
      expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("error")

      outcome = TaskerCore.resolve_step(uuid, "charge", { "charged_by" => "operator", "amount" => 2**70 })
      expect(outcome).to include("step" => "charge", "dispatched" => 1)
      task = TaskerCore.wait(uuid, timeout: 15)
      expect(task["state"]).to eq("complete")
      expect(task["steps"]["charge"]).to include("state" => "resolved_manually",
                                                 "results" => { "charged_by" => "operator", "amount" => 2**70 })
      expect(task["steps"]["ship"]["results"]["saw"]).to eq(%w[charge validate])
      expect(step_transitions(uuid, "charge").last).to eq(%w[error resolved_manually])
    end

    it "can resolve a step before it runs" do
      uuid = enqueue("slow_chain", { "sleep" => 0.5 })
      wait_until { step_state(uuid, "slow") == "in_progress" }
      TaskerCore.resolve_step(uuid, "slow", { "slept" => "skipped" })
      task = TaskerCore.wait(uuid, timeout: 15)
      expect(task["state"]).to eq("complete")
      expect(task["steps"]["slow"]).to include("state" => "resolved_manually", "results" => { "slept" => "skipped" })
    end

    it "names an unknown step" do
      task = run_task("spec_workflows", "failing_chain", {})
      expect { TaskerCore.resolve_step(task["uuid"], "nope", 1) }
        .to raise_error(TaskerCore::TaskNotFound, /has no step "nope"/)
    end
  end
end
