# frozen_string_literal: true

require_relative "hostile_helper"

# The client and the core judge a context alike, in the same words: what TaskerCore.enqueue
# sends, the orchestrator turns into a task; what it refuses, the core refuses too.
RSpec.describe "contexts judged alike by the client and the core" do
  include HostileHelpers

  let(:template) { { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0" } }

  before { TaskerSpec::Runtime.ensure_started }

  def nested_hashes(depth)
    (depth - 1).times.reduce({}) { |inner, _| { "a" => inner } }
  end

  def client_refusal(context)
    TaskerCore.enqueue(**template, context: context)
    raise "the client sent it"
  rescue TaskerCore::ValidationError => e
    expect(e.field).to eq("context")
    e.message.delete_prefix("TaskRequest.")
  end

  it "a context nested 64 levels becomes a task; 65 levels is refused by both, in the same words" do
    uuid = TaskerCore.enqueue(**template, context: { "even_number" => 2, "deep" => nested_hashes(63) })
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")

    too_deep = { "even_number" => 2, "deep" => nested_hashes(64) }
    expect(client_refusal(too_deep)).to eq("context is nested deeper than 64 levels")
    raw = task_request("context" => too_deep)
    send_raw("task_requests", JSON.generate(raw))
    expect(rejection(raw["task_uuid"]).reason).to eq("malformed task_request: context is nested deeper than 64 levels")
  end

  it "a NUL in a value or a key is refused by both, naming the same place" do
    # jsonb cannot even queue a NUL, so the core's verdict is taken at the native boundary.
    orchestrator = TaskerSpec::Runtime.ensure_started
    [{ "even_number" => 2, "a" => [1, { "b" => "x\u0000" }] }, { "even_number" => 2, "k\u0000" => 1 }].each do |context|
      words = client_refusal(context)
      expect(words).to eq(context.key?("a") ? "context.a[1].b contains a NUL character" : "context has a key with a NUL character")
      expect { orchestrator.enqueue(**template, context: context) }
        .to raise_error(TaskerCore::ValidationError, "malformed task_request: #{words}")
    end
  end
end
