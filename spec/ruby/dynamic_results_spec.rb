# frozen_string_literal: true

require "spec_helper"

module SpecDynamicRunner
  class Decide < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context["value"] == "none" ? TaskerCore::Decision.none : TaskerCore::Decision.run(*task.context["value"])
    end
  end

  class ReturnContext < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context["value"]
    end
  end

  class Await < TaskerCore::StepHandler::Base
    def call(task, sequence, step)
      step.await_task(namespace: "ns", name: "child", version: "1.0.0",
                      context: { "blob" => task.context["blob"], "skipped" => sequence.skipped?("b") })
    ensure
      Thread.current[:spec_dynamic_ensure_ran] = true
    end
  end

  class Item < TaskerCore::StepHandler::Base
    def call(_task, _sequence, step)
      step.to_h.except("uuid")
    end
  end
end

# The results a worker makes of dynamic steps (StepResult's await_task status, a decision's
# Decision), straight from Worker::HandlerRunner with claims as the database gives them.
RSpec.describe "dynamic step results" do
  let(:step) do
    TaskerCore::Types::StepMessage.new(task_uuid: SecureRandom.uuid, step_uuid: SecureRandom.uuid, step_name: "s",
                                       handler: "SpecDynamicRunner::Decide", attempt: 1, namespace: "ns",
                                       task_name: "t", task_version: "1.0.0")
  end
  let(:runner) do
    TaskerCore::Worker::HandlerRunner.new(worker_id: "w", max_message_bytes: 1000, fetch_ancestors: ->(_) { {} })
  end

  def claim(context, details = nil)
    TaskerCore::Worker::Claim.new(verdict: "claimed", task_context: context, parent_results: {}, step_details: details)
  end

  def run(handler, context, details = nil)
    runner.run(step.with(handler: "SpecDynamicRunner::#{handler}"), claim(context, details))
  end

  let(:decision) { { "type" => "decision", "skipped" => [], "branches" => %w[a b] } }

  describe TaskerCore::Types::StepResult do
    it "carries a child task with status await_task, nothing else" do
      result = described_class.await_task(step, child: { "namespace" => "ns", "name" => "c", "version" => "1.0.0",
                                                         "context" => { k: 1 } },
                                                worker_id: "w", started_at: Time.now)
      expect(result).to be_await_task
      expect(result.to_h).to include("status" => "await_task", "results" => nil, "error" => nil,
                                     "await_task" => { "namespace" => "ns", "name" => "c", "version" => "1.0.0",
                                                       "context" => { "k" => 1 } })
      again = described_class.from_json_hash(JSON.parse(JSON.generate(result.to_h)))
      expect(again).to eq(result)
      expect(described_class.success(step, results: 1, worker_id: "w", started_at: Time.now).to_h).not_to have_key("await_task")
    end

    it "refuses an await_task without its child, or a child on another status" do
      base = described_class.success(step, results: nil, worker_id: "w", started_at: Time.now)
      expect { base.with(status: "await_task") }.to raise_error(TaskerCore::ValidationError, /await_task is required/)
      child = { "namespace" => "ns", "name" => "c", "version" => "1.0.0", "context" => {} }
      expect { base.with(await_task: child) }.to raise_error(TaskerCore::ValidationError, /must be null unless/)
      expect { base.with(status: "await_task", await_task: child.merge("version" => "x")) }
        .to raise_error(TaskerCore::ValidationError, /StepResult.await_task: ChildTask.version/)
    end
  end

  describe TaskerCore::Worker::HandlerRunner do
    it "turns a decision step's Decision into results {branches}" do
      expect(run("Decide", { "value" => %w[b a] }, decision).to_h).to include("status" => "success",
                                                                              "results" => { "branches" => %w[b a] })
      expect(run("Decide", { "value" => "none" }, decision).results).to eq("branches" => [])
    end

    it "fails a decision step for good for an undeclared branch or another value, naming the declared branches" do
      result = run("Decide", { "value" => %w[a zed] }, decision)
      expect(result.error.to_h).to include("retryable" => false, "class" => "TaskerCore::PermanentError")
      expect(result.error.message).to eq("decision step s chose zed, not among its declared branches (a, b)")
      result = run("ReturnContext", { "value" => { "branches" => ["a"] } }, decision)
      expect(result.error.retryable).to be(false)
      expect(result.error.message).to match(/decision step s must return TaskerCore::Decision.run\(...\) or /)
      expect(result.error.message).to end_with('(declared branches: a, b), got {"branches"=>["a"]}')
    end

    it "fails any other step that returns a Decision for good" do
      result = run("Decide", { "value" => ["a"] })
      expect(result.error.retryable).to be(false)
      expect(result.error.message).to match(/returned #<TaskerCore::Decision a>, but it is not a decision step \(type task\)/)
    end

    it "posts await_task when the handler awaits a child, after its ensure ran, and checks the context's size" do
      Thread.current[:spec_dynamic_ensure_ran] = nil
      result = run("Await", { "blob" => "x" }, { "type" => "task", "skipped" => ["b"] })
      expect(Thread.current[:spec_dynamic_ensure_ran]).to be(true)
      expect(result.to_h).to include("status" => "await_task", "results" => nil,
                                     "await_task" => { "namespace" => "ns", "name" => "child", "version" => "1.0.0",
                                                       "context" => { "blob" => "x", "skipped" => true } })
      big = run("Await", { "blob" => "x" * 2000 })
      expect(big.error.message).to match(/child task context is \d+ bytes, more than orchestrator.max_message_bytes \(1000\)/)
      expect(big.error.retryable).to be(false)
    end

    it "shows an item of a map step its element, index and map step" do
      details = { "type" => "map_item", "skipped" => [], "index" => 4, "item" => { "sku" => [1] }, "map" => "price" }
      result = runner.run(step.with(step_name: "price[4]", handler: "SpecDynamicRunner::Item"), claim({}, details))
      expect(result.results).to eq("name" => "price[4]", "attempt" => 1, "type" => "map_item", "item" => { "sku" => [1] },
                                   "index" => 4, "map" => "price")
    end
  end
end
