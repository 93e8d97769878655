# frozen_string_literal: true

require_relative "support/instrumentation_helper"
require_relative "../hostile/hostile_helper"

# A W3C traceparent given to enqueue (or by Instrumentation.traceparent_provider) reaches
# every step's handler as task.trace_context, the task hash and the events, so an app's
# tracer can link a step's work to the request that enqueued it. An invalid one is refused
# by the client, and by the orchestrator when sent raw.
RSpec.describe "trace context" do
  include HostileHelpers

  before(:all) do
    TaskerSpec::Runtime.ensure_started
    TaskerCore::Instrumentation.install!
    @relay = TaskerCore::Instrumentation::EventRelay.new.start
  end

  after(:all) do
    @relay&.stop
    TaskerCore::Instrumentation.uninstall!
  end

  after { TaskerCore::Instrumentation.traceparent_provider = nil }

  let!(:recorder) { SpecInstrumentation::Recorder.new }
  let(:traceparent) { "00-#{SecureRandom.hex(16)}-#{SecureRandom.hex(8)}-01" }

  after { recorder.close }

  def seen_by_handlers(task)
    task["steps"].transform_values { |step| step.dig("results", "trace_context") }
  end

  it "reaches every step's handler, the task hash and every event of the task" do
    uuid = enqueue("traced", {}, traceparent: traceparent)
    task = finish(uuid)
    context = { "traceparent" => traceparent }

    expect(task["state"]).to eq("complete")
    expect(seen_by_handlers(task)).to eq("start" => context, "left" => context, "right" => context, "join" => context)
    expect(task["trace_context"]).to eq(context)
    recorder.wait_for { |events| events.find { |e| e[0] == "task_completed.tasker_core" && e[2][:task_uuid] == uuid } }
    mine = recorder.events.select { |e| e[2][:task_uuid] == uuid }
    expect(mine.map(&:first).tally).to eq("enqueue.tasker_core" => 1, "step.tasker_core" => 4, "task_completed.tasker_core" => 1)
    expect(mine.map { |e| e[2][:trace_context] }.uniq).to eq([context])
  end

  it "takes the provider's traceparent when none is given, and none when the provider has none" do
    TaskerCore::Instrumentation.traceparent_provider = -> { traceparent }
    provided = enqueue("traced")
    expect(seen_by_handlers(finish(provided)).values.uniq).to eq([{ "traceparent" => traceparent }])

    given = "00-#{SecureRandom.hex(16)}-#{SecureRandom.hex(8)}-00"
    expect(finish(enqueue("traced", {}, traceparent: given))["trace_context"]).to eq("traceparent" => given)

    # A tracer with no current span formats zeros; one may raise: the task is just untraced.
    ["00-#{'0' * 32}-#{'0' * 16}-00", nil, -> { raise "no tracer" }].each do |answer|
      TaskerCore::Instrumentation.traceparent_provider = answer.is_a?(Proc) ? answer : -> { answer }
      task = finish(enqueue("traced"))
      expect([task["trace_context"], seen_by_handlers(task).values.uniq]).to eq([nil, [nil]])
    end
    expect { TaskerCore::Instrumentation.traceparent_provider = "nope" }.to raise_error(ArgumentError)
  end

  invalid = {
    "all-zero trace id" => "00-#{'0' * 32}-00f067aa0ba902b7-01",
    "all-zero span id" => "00-4bf92f3577b34da6a3ce929d0e0e4736-#{'0' * 16}-01",
    "uppercase" => "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    "another version" => "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "version ff" => "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "short trace id" => "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    "trailing field" => "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
    "trailing newline" => "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n",
    "empty" => ""
  }.freeze

  it "is refused by the client when invalid, naming the field, and nothing is sent" do
    invalid.merge("not a string" => 42, "a hash" => { "traceparent" => "x" }).each do |label, bad|
      before = TaskerSpec::Database.query("SELECT max(msg_id) AS id FROM pgmq.q_task_requests").first["id"]
      expect { enqueue("traced", {}, traceparent: bad) }
        .to raise_error(TaskerCore::ValidationError) { |e|
          expect([label, e.field]).to eq([label, "traceparent"])
          expect(e.message).to include("W3C traceparent")
        }
      after = TaskerSpec::Database.query("SELECT max(msg_id) AS id FROM pgmq.q_task_requests").first["id"]
      expect([label, after]).to eq([label, before])
    end
  end

  it "is rejected by the orchestrator when sent raw, each alone, while a valid request in the same batch completes" do
    good = SecureRandom.uuid
    bad = invalid.keys.to_h { |label| [label, SecureRandom.uuid] }
    request = lambda do |uuid, tp|
      { "kind" => "task_request", "task_uuid" => uuid, "namespace" => "spec_workflows", "name" => "traced",
        "version" => "1.0.0", "context" => {}, "traceparent" => tp }
    end
    texts = invalid.map { |label, tp| JSON.generate(request.call(bad[label], tp)) }
    texts.insert(texts.size / 2, JSON.generate(request.call(good, traceparent)))
    ids = send_together("task_requests", texts)

    expect(seen_by_handlers(finish(good)).values.uniq).to eq([{ "traceparent" => traceparent }])
    invalid.each_key do |label|
      msg_id = ids[texts.index { |t| t.include?(bad[label]) }]
      letter = dead_letter("task_requests", msg_id)
      expect([label, letter["kind"], letter["task_uuid"]]).to eq([label, "rejected_request", bad[label]])
      expect(letter["reason"]).to include("traceparent").and include("W3C")
      expect { TaskerCore.wait(bad[label], timeout: 10) }.to raise_error(TaskerCore::TaskRejected, /traceparent/)
    end
  end
end
