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

  it "sleeps until the time at a context path" do
    at = (Time.now + 1).utc.iso8601(3)
    task = run_task("dynamic_workflows", "nap_until", { "ship" => { "at" => at } })
    expect(task["state"]).to eq("complete")
    expect(Time.iso8601(task["steps"]["after_nap"]["results"]["got"]["nap"]["slept_until"])).to be_within(0.5).of(Time.iso8601(at))
  end

  it "fails the task when the time at the context path cannot be read (a sleep after another step)" do
    task = run_task("dynamic_workflows", "nap_until_later", { "ship" => { "at" => "tomorrow" } })
    expect(task["state"]).to eq("error")
    expect(task["steps"]["nap"]["error"]).to include("class" => "TaskerCore::SleepError", "retryable" => false)
    expect(task["steps"]["nap"]["error"]["message"]).to match(/context path ship.at must hold an ISO-8601 time/)
  end

  it "fails the task when the time at the context path cannot be read (a root sleep)" do
    task = run_task("dynamic_workflows", "nap_until", { "ship" => { "at" => "tomorrow" } }, timeout: 5)
    expect(task["state"]).to eq("error")
    expect(task["steps"]["nap"]["error"]["message"]).to match(/context path ship.at must hold an ISO-8601 time/)
  end

  it "sleeps until no earlier than the time at the context path (slept_until >= until)" do
    at = (Time.now + 0.5).utc.iso8601(3)
    task = run_task("dynamic_workflows", "nap_until", { "ship" => { "at" => at } })
    expect(Time.iso8601(task["steps"]["nap"]["results"]["slept_until"])).to be >= Time.iso8601(at)
  end
end
