# frozen_string_literal: true

require_relative "hostile_helper"

# Handlers that misbehave (spec/fixtures/hostile_handlers.rb, templates under
# spec/fixtures/templates/hostile). Each step has max_attempts 3 with a 10 ms backoff, so a
# failure reported as retryable would show 3 attempts; a permanent one shows 1.
RSpec.describe "hostile input: handlers" do
  include HostileHelpers

  before { TaskerSpec::Runtime.ensure_started }
  after { expect_hostile_queue_running }

  # A task whose handler raised Exception stays in_progress and its message comes back after
  # the visibility timeout; cancelling it makes that redelivery a no-op for later specs.
  after { @exploded&.each { |uuid| TaskerCore.cancel(uuid) } }

  def explode
    uuid = TaskerCore.enqueue(namespace: "hostile_workflows", name: "raise_exception", version: "1.0.0")
    (@exploded ||= []) << uuid
    uuid
  end

  def run_hostile(name)
    run_task("hostile_workflows", name, {}, timeout: 15)
  end

  def expect_permanent_failure(task, step_name, error_class:, message:)
    expect(task["state"]).to eq("error")
    step = task["steps"][step_name]
    expect(step).to include("state" => "error", "attempts" => 1, "results" => nil)
    expect(step["error"]).to include("class" => error_class, "message" => message, "retryable" => false)
    expect(step_transitions(task["uuid"], step_name).map(&:last)).not_to include("waiting_for_retry")
  end

  # concurrent-ruby logs an Exception that kills one of its pool threads; keep that out of
  # the spec output while these examples provoke it.
  def quietly
    logger = Concurrent.global_logger
    Concurrent.global_logger = ->(*) {}
    yield
  ensure
    Concurrent.global_logger = logger
  end

  # A worker without the class (a rolling deploy) must not end the task for good: the step is
  # retried with its backoff, and fails only once its attempts are spent.
  it "[19] retries a step whose handler class does not exist, naming the class and the worker, until its budget is spent" do
    task = run_hostile("missing_handler")
    expect(task["state"]).to eq("error")
    step = task["steps"]["summon"]
    expect(step).to include("state" => "error", "attempts" => 3, "results" => nil)
    expect(step["error"]).to include("class" => "TaskerCore::HandlerNotFound", "retryable" => true)
    expect(step["error"]["message"]).to eq(
      "handler class HostileWorkflows::NoSuchHandler is not defined on worker #{Socket.gethostname}:#{Process.pid} " \
      "(is the file that defines it loaded?); retried while attempts remain, as a deploy may not have reached " \
      "every worker yet"
    )
    expect(step_transitions(task["uuid"], "summon").map(&:last).count("waiting_for_retry")).to eq(2)
  end

  it "[20] fails a step whose handler returns NaN, permanently, saying the result is not JSON" do
    expect_permanent_failure(run_hostile("nan_result"), "compute",
                             error_class: "TaskerCore::PermanentError",
                             message: "handler output cannot be stored: results.ratio is NaN, which JSON cannot " \
                                      "represent; return Hashes with String keys, Arrays, Strings, Integers, finite Floats, " \
                                      "true, false or nil")
  end

  it "[20] fails a step whose handler returns an object whose to_json raises, permanently" do
    expect_permanent_failure(run_hostile("unserializable_result"), "compute",
                             error_class: "TaskerCore::PermanentError",
                             message: "handler output cannot be stored: results is a HostileWorkflows::Opaque, " \
                                      "not a JSON value (Hash, Array, String, number, true, false, nil); return Hashes " \
                                      "with String keys, Arrays, Strings, Integers, finite Floats, true, false or nil")
  end

  it "[21] fails a step whose handler raises NotImplementedError (not a StandardError), permanently" do
    expect_permanent_failure(run_hostile("not_implemented"), "unfinished",
                             error_class: "NotImplementedError",
                             message: "HostileWorkflows::NotImplemented#call is not written yet")
  end

  it "[21] reports a handler's bare Exception as a failed step" do
    quietly do
      uuid = explode
      task = TaskerCore.wait(uuid, timeout: 10)
      expect(task["state"]).to eq("error")
      expect(task["steps"]["explode"]).to include("state" => "error", "attempts" => 1)
      expect(task["steps"]["explode"]["error"]).to include("class" => "Exception", "message" => "boom",
                                                           "retryable" => false)
      expect_loops_running
      expect_hostile_queue_running
    end
  end
end
