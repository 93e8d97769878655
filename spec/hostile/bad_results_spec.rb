# frozen_string_literal: true

require_relative "hostile_helper"

# Bad step results (orchestrator side) and bad step messages (worker side), sent raw into
# their queues. Each is kept with a clear reason; a normal task completes afterwards.
RSpec.describe "hostile input: step_results and namespace queues" do
  include HostileHelpers

  before { TaskerSpec::Runtime.ensure_started }
  after { expect_loops_running }

  describe "step_results" do
    it "[10] sets aside a JSON string or array as malformed_result" do
      { JSON.generate("oops") => "oops", "[1,2,3]" => [1, 2, 3] }.each do |json, body|
        msg_id = send_raw("step_results", json)
        letter = expect_kept("step_results", msg_id, kind: "malformed_result",
                                                     reason: 'malformed step_result: expected an object with "kind": "step_result"')
        expect(letter).to include("message" => body, "task_uuid" => nil)
      end
    end

    it "[11] sets aside an attempt of the wrong type as malformed_result" do
      result = step_result("attempt" => "one")
      msg_id = send_raw("step_results", JSON.generate(result))
      letter = expect_kept("step_results", msg_id, kind: "malformed_result", reason: /invalid type: string "one", expected i32/)
      expect(letter).to include("task_uuid" => result["task_uuid"], "message" => result)
    end

    it "[11] names the field of a wrong type in the reason (attempt)" do
      msg_id = send_raw("step_results", JSON.generate(step_result("attempt" => "one")))
      expect(dead_letter("step_results", msg_id)["reason"]).to include("attempt")
    end

    it "[11] sets aside the other shape errors of a result, naming each" do
      {
        step_result.reject { |key, _| key == "step_uuid" } => "malformed step_result: missing field `step_uuid`",
        step_result("status" => "maybe") =>
          "malformed step_result: status: unknown variant `maybe`, expected one of `success`, `failure`, `await_task`",
        step_result("status" => "failure", "results" => nil) => "malformed step_result: a failure needs an error object",
        step_result("attempt" => 0) => "malformed step_result: attempt must be >= 1"
      }.each do |result, reason|
        msg_id = send_raw("step_results", JSON.generate(result))
        expect(expect_kept("step_results", msg_id, kind: "malformed_result", reason: reason)["message"]).to eq(result)
      end
    end

    it "[12] ignores a well-formed result for an unknown step, keeping it as ignored_result" do
      result = step_result
      msg_id = send_raw("step_results", JSON.generate(result))
      letter = expect_kept("step_results", msg_id, kind: "ignored_result",
                                                   reason: "unknown step #{result['step_uuid']} of task #{result['task_uuid']}")
      expect(letter).to include("task_uuid" => result["task_uuid"], "message" => result)
    end

    it "[12] ignores a duplicate result for a step that already completed, changing nothing" do
      task = run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 })
      step_uuid = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).first["uuid"]
        SELECT s.uuid FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
         WHERE t.uuid = $1 AND s.name = 'linear_step_1'
      SQL
      forged = step_result("task_uuid" => task["uuid"], "step_uuid" => step_uuid, "results" => -1)
      msg_id = send_raw("step_results", JSON.generate(forged))
      expect_kept("step_results", msg_id, kind: "ignored_result",
                                          reason: 'result for attempt 1 of step "linear_step_1" ignored: the step is complete at attempt 1')
      expect(TaskerCore.task(task["uuid"])["steps"]["linear_step_1"]["results"]).to eq(4)
    end

    it "[13] sets aside an oversized result message (> 1 MiB + 64 KiB) as malformed_result with a size reason" do
      result = step_result("results" => "x" * (1100 * 1024))
      msg_id = send_raw("step_results", JSON.generate(result))
      letter = expect_kept("step_results", msg_id, kind: "malformed_result",
                                                   reason: /\Amessage of \d+ bytes exceeds the limit of #{HostileHelpers::READ_LIMIT} bytes\z/)
      expect(letter["message"]).to be_nil
      expect(archived("step_results", msg_id).last).to eq(letter["reason"][/\d+/].to_i)
    end

    it "[23] sets aside a result read more than max_reads (5) times as a poison_message" do
      result = step_result
      msg_id = send_raw_read("step_results", JSON.generate(result), read_ct: 5)
      letter = expect_kept("step_results", msg_id, kind: "poison_message", reason: "read 6 times without being processed (limit 5)")
      expect(letter).to include("task_uuid" => result["task_uuid"], "read_ct" => 6)
    end
  end

  describe "a namespace queue (linear_workflow_queue)" do
    let(:step) do
      { "kind" => "step", "task_uuid" => SecureRandom.uuid, "step_uuid" => SecureRandom.uuid, "step_name" => "linear_step_1",
        "handler" => "LinearWorkflow::StepOne", "attempt" => 1, "namespace" => "linear_workflow",
        "task_name" => "mathematical_sequence", "task_version" => "1.0.0", "priority" => 0 }
    end

    it "[14] keeps a step message that is a JSON string as invalid_step_message and archives it" do
      msg_id = send_raw("linear_workflow_queue", JSON.generate("not a step"))
      letter = expect_kept("linear_workflow_queue", msg_id, kind: "invalid_step_message",
                                                            reason: 'malformed step: expected an object with "kind": "step"')
      expect(letter).to include("message" => "not a step", "task_uuid" => nil)
    end

    it "[14] keeps step messages with a missing field or a wrong type, naming the field" do
      {
        step.reject { |key, _| key == "step_uuid" } => "malformed step: missing field `step_uuid` (a string)",
        step.merge("attempt" => "one") => "malformed step: attempt must be an integer from 1 to 999999999",
        step.merge("kind" => "task_request") => 'malformed step: expected an object with "kind": "step"'
      }.each do |message, reason|
        msg_id = send_raw("linear_workflow_queue", JSON.generate(message))
        letter = expect_kept("linear_workflow_queue", msg_id, kind: "invalid_step_message", reason: reason)
        expect(letter).to include("task_uuid" => step["task_uuid"], "message" => message)
      end
    end

    it "[14] runs nothing for unsafe identifiers: the step they name is not in the database" do
      [step.merge("handler" => "Kernel.exit"), step.merge("step_name" => "../../etc/passwd")].each do |message|
        msg_id = send_raw("linear_workflow_queue", JSON.generate(message))
        letter = expect_kept("linear_workflow_queue", msg_id, kind: "ignored_step_message",
                                                              reason: "unknown step #{step['step_uuid']}")
        expect(letter).to include("task_uuid" => step["task_uuid"], "message" => message)
      end
    end
  end
end
