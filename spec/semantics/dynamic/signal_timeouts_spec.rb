# frozen_string_literal: true

require "spec_helper"

# A signal that does not come within timeout_s (spec/fixtures/templates/dynamic/timeouts.yml
# and timeout_fail.yml, 1 s each): on_timeout skip, continue (null result) and fail.
RSpec.describe "signal timeouts" do
  it "skips or continues with null, as on_timeout says, and the dependent converges" do
    task = run_task("dynamic_workflows", "timeouts", {})
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["wait_skip"]["state"]).to eq("skipped")
    expect(task["steps"]["wait_continue"]).to include("state" => "complete", "results" => nil)
    expect(task["steps"]["after_waits"]["results"]).to eq("parents" => { "wait_continue" => nil }, "skip_skipped" => true,
                                                          "continue_skipped" => false)
  end

  it "fails the step for good by default" do
    task = run_task("dynamic_workflows", "timeout_fail", {})
    expect(task["state"]).to eq("error")
    expect(task["steps"]["wait_fail"]["state"]).to eq("error")
    expect(task["steps"]["wait_fail"]["error"]).to include("class" => "TaskerCore::SignalTimeout", "retryable" => false)
  end
end
