# frozen_string_literal: true

require "spec_helper"

# Hooks wrap every enqueue and every handler call, outermost first; a wrapper may replace
# what it wraps, and removing it restores the plain call.
RSpec.describe TaskerCore::Hooks do
  before { TaskerSpec::Runtime.ensure_started }

  let(:request) do
    { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0", context: { "even_number" => 2 } }
  end

  it "wraps enqueues and handler calls in order and sees what they return" do
    seen = Queue.new
    outer = described_class.around_enqueue do |req, &send|
      seen << [:outer, req[:name]]
      send.call.tap { |uuid| seen << [:sent, uuid] }
    end
    inner = described_class.around_enqueue { |_req, &send| seen << [:inner] && send.call }
    handler = described_class.around_handler do |step, &run|
      run.call.tap { |outcome| seen << [:handler, step.step_name, outcome.first] }
    end
    uuid = TaskerCore.enqueue(**request)
    TaskerCore.wait(uuid, timeout: 30)
    events = Array.new(seen.size) { seen.pop }
    expect(events.first(3)).to eq([[:outer, "mathematical_sequence"], [:inner], [:sent, uuid]])
    expect(events.drop(3).map { |e| e.values_at(0, 2) }.uniq).to eq([%i[handler success]])
    expect(events.drop(3).size).to eq(TaskerCore.task(uuid)["steps"].size)
  ensure
    [outer, inner, handler].each { |w| described_class.remove(w) }
  end

  it "lets an enqueue wrapper answer without sending, and removal restores sending" do
    fake = described_class.around_enqueue { |_req, &_send| "00000000-0000-4000-8000-000000000000" }
    expect(TaskerCore.enqueue(**request)).to eq("00000000-0000-4000-8000-000000000000")
    expect(described_class.remove(fake)).to be(true)
    expect(described_class.remove(fake)).to be(false)
    expect(TaskerCore.wait(TaskerCore.enqueue(**request), timeout: 30)["state"]).to eq("complete")
    expect { described_class.around_handler }.to raise_error(ArgumentError, /needs a block/)
  end
end
