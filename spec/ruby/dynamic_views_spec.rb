# frozen_string_literal: true

require "spec_helper"

# What a handler of a dynamic workflow sees: StepView's type, item, index and map, and
# await_task; Sequence#skipped?.
RSpec.describe "dynamic step views" do
  describe TaskerCore::Handlers::StepView do
    let(:uuid) { SecureRandom.uuid }

    it "is a plain task step by default, with no item" do
      view = described_class.new(name: "a", uuid: uuid, attempt: 1)
      expect([view.type, view.item, view.index, view.map, view.item?]).to eq(["task", nil, nil, nil, false])
      expect(view.to_h).to eq("name" => "a", "uuid" => uuid, "attempt" => 1, "type" => "task")
    end

    it "carries an item of a map step" do
      view = described_class.new(name: "price[2]", uuid: uuid, attempt: 1, type: "map_item", item: { "sku" => 1 },
                                 index: 2, map: "price")
      expect([view.type, view.item, view.index, view.map, view.item?]).to eq(["map_item", { "sku" => 1 }, 2, "price", true])
      expect(view.to_h).to include("item" => { "sku" => 1 }, "index" => 2, "map" => "price")
    end

    it "ends the run with a throw that no rescue in the handler catches" do
      view = described_class.new(name: "a", uuid: uuid, attempt: 1)
      thrown = catch(described_class::AWAIT_TASK) do
        begin
          view.await_task(namespace: "ns", name: "child", version: "1.0.0", context: { n: 1, "deep" => [:x] })
        rescue Exception # rubocop:disable Lint/RescueException
          raise "swallowed"
        end
        raise "returned"
      end
      expect(thrown).to be_a(TaskerCore::Types::ChildTask)
      expect(thrown.to_h).to eq("namespace" => "ns", "name" => "child", "version" => "1.0.0",
                                "context" => { "n" => 1, "deep" => ["x"] })
      expect(thrown.context).to be_frozen
    end

    it "refuses a bad child task, saying what is wrong, and in a decision step" do
      view = described_class.new(name: "a", uuid: uuid, attempt: 1)
      {
        { namespace: "Bad-NS" } => /step.await_task: namespace must match/,
        { name: "x y" } => /step.await_task: name must match/,
        { version: "1.0" } => /step.await_task: version must be a semantic version/,
        { context: [1] } => /step.await_task: context must be a Hash/,
        { context: { "f" => Float::NAN } } => /context/
      }.each do |change, message|
        args = { namespace: "ns", name: "child", version: "1.0.0", context: {} }.merge(change)
        expect { view.await_task(**args) }.to raise_error(TaskerCore::PermanentError, message), change.inspect
      end
      decision = described_class.new(name: "route", uuid: uuid, attempt: 1, type: "decision")
      expect { decision.await_task(namespace: "ns", name: "child", version: "1.0.0") }
        .to raise_error(TaskerCore::PermanentError, /a decision step cannot wait for a child task/)
    end
  end

  describe TaskerCore::Handlers::Sequence do
    it "names skipped parents, which have no results" do
      sequence = described_class.new({ "a" => 1 }, skipped: ["b"])
      expect(sequence.skipped?("b")).to be(true)
      expect(sequence.skipped?(:b)).to be(true)
      expect(sequence.skipped?("a")).to be(false)
      expect(sequence["b"]).to be_nil
      expect(sequence.key?("b")).to be(false)
      expect(sequence.skipped).to eq(["b"])
      expect(sequence.inspect).to include('skipped=["b"]')
      expect(described_class.new({}).skipped?("a")).to be(false)
    end
  end

  describe TaskerCore::Identifiers do
    it "takes step names and names of items of a map step" do
      ["a", "price_item[0]", "price_item[3]", "a[999999]", "#{'a' * 63}[1]"].each do |good|
        expect(described_class.step_name?(good)).to be(true), good
        expect(TaskerCore::Types::Primitives::StepName.valid?(good)).to be(true), good
      end
      ["", "A", "a[]", "a[-1]", "a[01]", "a[1000000]", "a[1]x", "a[1][2]", "[1]", "a [1]", "a[1", "a]", "a[+1]",
       "a[1]\n", "#{'a' * 64}[1]", nil, :a].each do |bad|
        expect(described_class.step_name?(bad)).to be(false), bad.inspect
      end
    end

    it "is the step_name rule of step messages and results" do
      step = TaskerCore::Types::StepMessage.new(task_uuid: SecureRandom.uuid, step_uuid: SecureRandom.uuid,
                                                step_name: "price[3]", handler: "A", attempt: 1, namespace: "ns",
                                                task_name: "t", task_version: "1.0.0")
      expect(step.step_name).to eq("price[3]")
      expect { step.with(step_name: "price[x]") }.to raise_error(TaskerCore::ValidationError, /step_name .*name\[3\]/)
      result = TaskerCore::Types::StepResult.success(step, results: 1, worker_id: "w", started_at: Time.now)
      expect(result.step_name).to eq("price[3]")
    end
  end
end
