# frozen_string_literal: true

require "spec_helper"

module SpecRegistry
  class Good < TaskerCore::StepHandler::Base
    def call(_task, _sequence, _step)
      :ok
    end
  end

  class NoCall; end
  NOT_A_CLASS = 1
end

RSpec.describe TaskerCore::Handlers::Registry do
  it "resolves a handler class by name and instantiates it per call" do
    first = described_class.resolve("SpecRegistry::Good")
    expect(first).to be_a(SpecRegistry::Good)
    expect(described_class.resolve("SpecRegistry::Good")).not_to be(first)
  end

  it "raises TemplateError for a class that is not defined" do
    expect { described_class.resolve("SpecRegistry::Missing") }
      .to raise_error(TaskerCore::TemplateError, /handler class SpecRegistry::Missing is not defined/)
    expect { described_class.resolve("NoSuchModule::Step") }.to raise_error(TaskerCore::TemplateError, /not defined/)
  end

  it "validates the name before any constant lookup" do
    ["::Kernel", "Kernel.exit", "lower::Case", "A::", "", nil, "A B"].each do |name|
      expect { described_class.resolve(name) }.to raise_error(TaskerCore::TemplateError, /not a Ruby class name/)
    end
  end

  it "refuses constants that are not usable handler classes" do
    expect { described_class.resolve("SpecRegistry::NOT_A_CLASS") }.to raise_error(TaskerCore::TemplateError, /not a class/)
    expect { described_class.resolve("SpecRegistry::NoCall") }.to raise_error(TaskerCore::TemplateError, /#call/)
  end
end

RSpec.describe TaskerCore::StepHandler::Base do
  it "raises NotImplementedError until call is defined" do
    expect { described_class.new.call(nil, nil, nil) }.to raise_error(NotImplementedError, /must implement #call/)
  end
end

RSpec.describe TaskerCore::Handlers::Sequence do
  it "answers parents without a lookup" do
    fetch = -> { raise "must not be called" }
    sequence = described_class.new({ "a" => 1, "b" => { "x" => 2 } }, fetch_ancestors: fetch)
    expect(sequence["a"]).to eq(1)
    expect(sequence[:b]).to eq("x" => 2)
    expect(sequence.parents).to eq("a" => 1, "b" => { "x" => 2 })
  end

  it "fetches other ancestors once, then caches" do
    calls = 0
    fetch = lambda {
      calls += 1
      { "root" => 0, "a" => 1 }
    }
    sequence = described_class.new({ "a" => 1 }, fetch_ancestors: fetch)
    expect(sequence["root"]).to eq(0)
    expect(sequence["unknown"]).to be_nil
    expect(sequence.key?("root")).to be(true)
    expect(sequence.to_h).to eq("a" => 1, "root" => 0)
    expect(sequence.map { |name, _| name }).to contain_exactly("a", "root")
    expect(calls).to eq(1)
  end

  it "fetch raises KeyError naming the known steps" do
    sequence = described_class.new({ "a" => 1 })
    expect(sequence.fetch("a")).to eq(1)
    expect(sequence.fetch("z", :default)).to eq(:default)
    expect { sequence.fetch("z") }.to raise_error(KeyError, /"z".*known: a/)
  end
end

RSpec.describe "handler views" do
  it "exposes the task and the step" do
    task = TaskerCore::Handlers::TaskView.new(uuid: "u", context: { "n" => 1 }.freeze, namespace: "ns", name: "t",
                                              version: "1.0.0")
    step = TaskerCore::Handlers::StepView.new(name: "s", uuid: "v", attempt: 2)
    expect([task.uuid, task.context, task.namespace, task.name, task.version]).to eq(["u", { "n" => 1 }, "ns", "t", "1.0.0"])
    expect([step.name, step.uuid, step.attempt]).to eq(["s", "v", 2])
    expect(step.to_h).to eq("name" => "s", "uuid" => "v", "attempt" => 2, "type" => "task")
    expect(task).to be_frozen
    expect(step).to be_frozen
  end
end
