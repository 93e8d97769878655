# frozen_string_literal: true

require "spec_helper"

RSpec.describe "message types" do
  def expect_invalid(field, pattern = nil, &block)
    expect(&block).to raise_error(TaskerCore::ValidationError) { |e|
      expect(e.field).to eq(field)
      expect(e.message).to include(field.split(".").first)
      expect(e.message).to match(pattern) if pattern
    }
  end

  describe TaskerCore::Types::TaskRequest do
    let(:valid) do
      { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0", context: { "even_number" => 6 } }
    end

    it "builds a request with a fresh uuid and the time of the request" do
      request = described_class.build(**valid)
      expect(request.task_uuid).to match(/\A\h{8}-\h{4}-4\h{3}-\h{4}-\h{12}\z/)
      expect(described_class.build(**valid).task_uuid).not_to eq(request.task_uuid)
      expect(Time.iso8601(request.requested_at)).to be_within(5).of(Time.now)
      expect(request.priority).to eq(0)
      expect(request.idempotency_key).to be_nil
    end

    it "serializes with exactly the keys of ARCHITECTURE.md" do
      hash = described_class.build(**valid).to_h
      expect(hash.keys).to eq(%w[kind task_uuid namespace name version context priority idempotency_key requested_at
                                 run_at traceparent])
      expect(hash["kind"]).to eq("task_request")
      expect(hash["context"]).to eq("even_number" => 6)
    end

    it "derives the task uuid from an idempotency key (UUIDv5, the same as the Rust core)" do
      first = described_class.build(**valid, idempotency_key: "order-42")
      again = described_class.build(**valid, idempotency_key: "order-42")
      expect(first.task_uuid).to eq("55989b08-cac5-52d6-96e1-1a0eab7e9a86") # pinned in messages.rs too
      expect(again.task_uuid).to eq(first.task_uuid)
      expect(described_class.build(**valid).task_uuid).not_to eq(described_class.build(**valid).task_uuid)
    end

    it "turns a delay into run_at" do
      request = described_class.build(**valid, delay: 60)
      expect(Time.iso8601(request.run_at) - Time.iso8601(request.requested_at)).to be_within(0.01).of(60)
      expect(described_class.build(**valid).run_at).to be_nil
    end

    it "round-trips through JSON" do
      request = described_class.build(**valid, priority: 5, idempotency_key: "order-42")
      parsed = described_class.from_json_hash(JSON.parse(JSON.generate(request.to_h)))
      expect(parsed).to eq(request)
      expect(parsed.priority).to eq(5)
    end

    it "deep-stringifies symbol keys of the context and freezes everything" do
      request = described_class.build(**valid, context: { a: { b: [{ c: 1 }, :sym] }, "big" => 2**64 })
      expect(request.context).to eq("a" => { "b" => [{ "c" => 1 }, "sym"] }, "big" => 2**64)
      expect(request).to be_frozen
      expect(request.context).to be_frozen
      expect(request.context["a"]["b"].first).to be_frozen
      expect(request.namespace).to be_frozen
    end

    it "does not share the caller's mutable context" do
      context = { "list" => [1] }
      request = described_class.build(**valid, context: context)
      context["list"] << 2
      expect(request.context).to eq("list" => [1])
    end

    it "offers #with for a modified copy" do
      request = described_class.build(**valid)
      changed = request.with(priority: 3)
      expect(changed.priority).to eq(3)
      expect(changed.task_uuid).to eq(request.task_uuid)
      expect(request.priority).to eq(0)
    end

    it "ignores unknown keys from the wire but refuses unknown attributes in Ruby" do
      hash = described_class.build(**valid).to_h.merge("added_later" => 1)
      expect(described_class.from_json_hash(hash).to_h).not_to have_key("added_later")
      expect_invalid("bogus", /no attribute/) { described_class.new(bogus: 1) }
    end

    it "names each invalid field" do
      expect_invalid("namespace", /Bad-NS/) { described_class.build(**valid, namespace: "Bad-NS") }
      expect_invalid("namespace") { described_class.build(**valid, namespace: "n" * 42) }
      expect_invalid("name") { described_class.build(**valid, name: "Has Spaces") }
      expect_invalid("name") { described_class.build(**valid, name: "n" * 64) }
      expect_invalid("version", /semantic version/) { described_class.build(**valid, version: "1.0") }
      expect_invalid("version") { described_class.build(**valid, version: "v1.0.0") }
      expect_invalid("context", /Hash/) { described_class.build(**valid, context: [1]) }
      expect_invalid("context", /context\.when is a Time/) { described_class.build(**valid, context: { when: Time.now }) }
      expect_invalid("context", /context\.x is NaN/) { described_class.build(**valid, context: { x: Float::NAN }) }
      expect_invalid("priority") { described_class.build(**valid, priority: "1") }
      expect_invalid("priority") { described_class.build(**valid, priority: 2**31) }
      expect_invalid("idempotency_key") { described_class.build(**valid, idempotency_key: "k" * 256) }
      expect_invalid("idempotency_key") { described_class.build(**valid, idempotency_key: "") }
      expect_invalid("task_uuid") { described_class.new(**valid, task_uuid: "nope", requested_at: "2026-11-23T12:00:00Z") }
      expect_invalid("requested_at", /ISO8601/) do
        described_class.new(**valid, task_uuid: SecureRandom.uuid, requested_at: "yesterday")
      end
    end

    it "accepts semver pre-release and build suffixes" do
      expect(described_class.build(**valid, version: "2.0.0-rc.1").version).to eq("2.0.0-rc.1")
      expect(described_class.build(**valid, version: "2.0.0+build.5").version).to eq("2.0.0+build.5")
    end

    it "reports missing fields and a wrong kind" do
      expect_invalid("requested_at", /is missing/) do
        described_class.from_json_hash(described_class.build(**valid).to_h.tap { |h| h.delete("requested_at") })
      end
      expect_invalid("kind", /"task_request"/) { described_class.from_json_hash("kind" => "step") }
      expect { described_class.from_json_hash("not a hash") }.to raise_error(TaskerCore::ValidationError, /Hash/)
    end

    it "normalizes an upper-case uuid" do
      uuid = SecureRandom.uuid
      request = described_class.new(**valid, task_uuid: uuid.upcase, requested_at: "2026-11-23T12:00:00Z")
      expect(request.task_uuid).to eq(uuid)
    end
  end

  describe TaskerCore::Types::StepMessage do
    let(:hash) do
      { "kind" => "step", "task_uuid" => SecureRandom.uuid, "step_uuid" => SecureRandom.uuid,
        "step_name" => "linear_step_1", "handler" => "LinearWorkflow::StepOne", "attempt" => 1,
        "namespace" => "linear_workflow", "task_name" => "mathematical_sequence", "task_version" => "1.0.0",
        "priority" => 0 }
    end

    it "parses and serializes the documented shape" do
      message = described_class.from_json_hash(hash)
      expect(message.to_h).to eq(hash)
      expect(message.handler).to eq("LinearWorkflow::StepOne")
    end

    it "names invalid fields" do
      expect_invalid("attempt", />= 1/) { described_class.from_json_hash(hash.merge("attempt" => 0)) }
      expect_invalid("handler") { described_class.from_json_hash(hash.merge("handler" => "::Kernel")) }
      expect_invalid("handler") { described_class.from_json_hash(hash.merge("handler" => "system('x')")) }
      expect_invalid("step_uuid") { described_class.from_json_hash(hash.merge("step_uuid" => 5)) }
      expect_invalid("task_version") { described_class.from_json_hash(hash.merge("task_version" => "x")) }
      expect_invalid("namespace", /is missing/) { described_class.from_json_hash(hash.reject { |k, _| k == "namespace" }) }
    end
  end

  describe TaskerCore::Types::StepResult do
    let(:step) do
      TaskerCore::Types::StepMessage.new(
        task_uuid: SecureRandom.uuid, step_uuid: SecureRandom.uuid, step_name: "linear_step_1",
        handler: "LinearWorkflow::StepOne", attempt: 2, namespace: "linear_workflow",
        task_name: "mathematical_sequence", task_version: "1.0.0"
      )
    end

    it "builds a success with the documented keys" do
      result = described_class.success(step, results: { total: 2**64 }, worker_id: "host:1", started_at: Time.now)
      hash = result.to_h
      expect(hash.keys).to eq(%w[kind task_uuid step_uuid step_name attempt status results error worker_id
                                 started_at finished_at])
      expect(hash).to include("kind" => "step_result", "status" => "success", "attempt" => 2,
                              "results" => { "total" => 2**64 }, "error" => nil, "worker_id" => "host:1")
      expect(Time.iso8601(hash["started_at"])).to be_a(Time)
      expect(described_class.from_json_hash(JSON.parse(JSON.generate(hash)))).to eq(result)
      expect([result.success?, result.failure?]).to eq([true, false])
    end

    it "builds a failure with an error object" do
      error = begin
        raise TaskerCore::RetryableError.new("try later", retry_after: 2.5)
      rescue TaskerCore::RetryableError => e
        TaskerCore::Types::StepError.from_exception(e, retryable: true, retry_after: e.retry_after)
      end
      result = described_class.failure(step, error: error, worker_id: "host:1", started_at: Time.now)
      hash = JSON.parse(JSON.generate(result.to_h))
      expect(hash["results"]).to be_nil
      expect(hash["error"]).to include("class" => "TaskerCore::RetryableError", "message" => "try later",
                                       "retryable" => true, "retry_after" => 2.5)
      expect(hash["error"]["backtrace"]).to all(be_a(String))
      expect(described_class.from_json_hash(hash)).to eq(result)
      expect([result.failure?, result.success?]).to eq([true, false])
    end

    it "keeps at most 20 backtrace lines" do
      error = TaskerCore::Types::StepError.new(error_class: "X", message: "m", retryable: false,
                                               backtrace: Array.new(50) { |i| "line #{i}" })
      expect(error.backtrace.size).to eq(20)
      expect(error.backtrace.first).to eq("line 0")
    end

    it "enforces the status rules" do
      base = JSON.parse(JSON.generate(
                          described_class.success(step, results: 1, worker_id: "h:1", started_at: Time.now).to_h
                        ))
      expect_invalid("status") { described_class.from_json_hash(base.merge("status" => "ok")) }
      expect_invalid("error", /required/) { described_class.from_json_hash(base.merge("status" => "failure", "results" => nil)) }
      expect_invalid("error", /must be null/) do
        described_class.from_json_hash(base.merge("error" => { "class" => "X", "message" => "m", "retryable" => true }))
      end
      expect_invalid("results", /must be null/) do
        described_class.from_json_hash(base.merge("status" => "failure",
                                                  "error" => { "class" => "X", "message" => "m", "retryable" => true }))
      end
    end

    it "names the nested field of an invalid error" do
      bad = { "class" => "X", "message" => "m", "retryable" => "yes" }
      expect { described_class.failure(step, error: bad, worker_id: "h:1", started_at: Time.now) }
        .to raise_error(TaskerCore::ValidationError, /StepResult\.error: StepError\.retryable must be true or false/) { |e|
          expect(e.field).to eq("error.retryable")
        }
      expect_invalid("error.retry_after") do
        described_class.failure(step, error: bad.merge("retryable" => true, "retry_after" => -1), worker_id: "h:1",
                                      started_at: Time.now)
      end
    end

    it "names other invalid fields" do
      expect_invalid("worker_id") { described_class.success(step, results: 1, worker_id: "", started_at: Time.now) }
      expect_invalid("started_at") { described_class.success(step, results: 1, worker_id: "h", started_at: "now") }
      expect_invalid("results", /results\.t is a Time/) do
        described_class.success(step, results: { t: Time.now }, worker_id: "h", started_at: Time.now)
      end
    end
  end
end
