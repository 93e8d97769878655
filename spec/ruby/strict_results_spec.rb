# frozen_string_literal: true

require "bigdecimal"
require "spec_helper"

# A handler's results are stored as it returned them, or its step fails for good: nothing
# is converted on the way (a Symbol used to become a String silently). A request's context
# still takes symbol keys, as a convenience of the client.
module StrictResults
  # Returns whatever the task's context names, built here (a context cannot hold a Symbol).
  class Returns < TaskerCore::StepHandler::Base
    VALUES = {
      "symbol_value" => -> { { "status" => :ok } },
      "symbol_key" => -> { { status: "ok" } },
      "bare_symbol" => -> { :done },
      "time_in_list" => -> { { "items" => [1, "two", Time.now] } },
      "big_decimal" => -> { { "total" => BigDecimal("1.10") } },
      "infinity" => -> { { "ratio" => Float::INFINITY } },
      "json" => -> { { "n" => 2**100, "f" => 1.5, "yes" => true, "no" => false, "none" => nil, "list" => ["a", [1]] } }
    }.freeze

    def call(task, _sequence, _step)
      VALUES.fetch(task.context.fetch("return")).call
    end
  end
end

RSpec.describe "strict handler results" do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:pgmq) { TaskerCore::Messaging::PgmqClient.new(conn) }

  before { pgmq.create("step_results") }

  after do
    @worker&.stop(timeout: 5)
    conn.close
  end

  # The result the worker posted for a step whose handler returned VALUES[name].
  def result_of(name)
    fixture = TaskerSpec::WorkflowFixture.create(conn, context: { "return" => name },
                                                       steps: [{ name: "only_step", handler: "StrictResults::Returns",
                                                                 state: "enqueued", attempts: 1 }])
    pgmq.create("#{fixture.namespace}_queue")
    @worker = TaskerCore::QueueWorker.start(namespaces: [fixture.namespace], concurrency: 1)
    pgmq.send("#{fixture.namespace}_queue", fixture.step_message("only_step"))
    step_uuid = fixture.steps["only_step"][:uuid]
    wait_for(timeout: 5) do
      row = conn.exec_params("SELECT message FROM pgmq.q_step_results WHERE message->>'step_uuid' = $1", [step_uuid]).first
      row && JSON.parse(row["message"])
    end
  end

  {
    "symbol_value" => "results.status is a Symbol, not a JSON value",
    "symbol_key" => "results has a Symbol key :status, not a JSON key (a String)",
    "bare_symbol" => "results is a Symbol, not a JSON value",
    "time_in_list" => "results.items[2] is a Time, not a JSON value",
    "big_decimal" => "results.total is a BigDecimal, not a JSON value",
    "infinity" => "results.ratio is Infinity, which JSON cannot represent"
  }.each do |name, reason|
    it "fails the step permanently when the handler returns #{name.tr('_', ' ')}, naming the path and class" do
      result = result_of(name)
      expect(result).to include("status" => "failure", "results" => nil)
      expect(result["error"]).to include("class" => "TaskerCore::PermanentError", "retryable" => false)
      expect(result["error"]["message"]).to start_with("handler output cannot be stored: #{reason}")
    end
  end

  it "stores strict JSON values exactly as returned" do
    result = result_of("json")
    expect(result).to include("status" => "success", "error" => nil)
    expect(result["results"]).to eq("n" => 2**100, "f" => 1.5, "yes" => true, "no" => false, "none" => nil,
                                    "list" => ["a", [1]])
  end

  it "still accepts symbol keys in a request's context, sent as strings" do
    pgmq.create("task_requests")
    uuid = TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                              context: { even_number: 2, nested: { flag: true } })
    row = conn.exec_params("SELECT message FROM pgmq.q_task_requests WHERE message->>'task_uuid' = $1", [uuid]).first
    expect(JSON.parse(row["message"])["context"]).to eq("even_number" => 2, "nested" => { "flag" => true })
  end
end
