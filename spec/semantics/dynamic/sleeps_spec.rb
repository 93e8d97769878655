# frozen_string_literal: true

require "spec_helper"

# Durable sleeps through the embedded orchestrator and a real worker
# (spec/fixtures/templates/dynamic/nap.yml: nap sleeps 1 s between two steps).
RSpec.describe "durable sleeps" do
  it "shows a waiting sleep's wake_at and completes it after the time passes" do
    TaskerSpec::Runtime.ensure_started
    uuid = TaskerCore.enqueue(namespace: "dynamic_workflows", name: "nap", version: "1.0.0", context: {})
    waiting = wait_for { TaskerCore.task(uuid)&.dig("steps", "nap")&.then { |s| s if s["state"] == "waiting" } }
    expect(waiting["type"]).to eq("sleep")
    expect(Time.iso8601(waiting.fetch("wake_at"))).to be_within(5).of(Time.now + 1)
    task = TaskerCore.wait(uuid)
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["after_nap"]["state"]).to eq("complete")
  end
end
