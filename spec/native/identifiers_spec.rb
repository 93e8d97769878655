# frozen_string_literal: true

require "spec_helper"
require "yaml"

# Ruby's identifier rules (TaskerCore::Identifiers) are a copy of the core's
# (domain/identifiers.rs). The core judges each case through template validation, which
# applies its rules to the namespace, the task and step names, the handler and the version;
# queue names, which no native call judges alone, are compared by the Rust file's constants.
RSpec.describe TaskerCore::Identifiers do
  rust = File.read(File.expand_path("../../ext/tasker_orchestration/src/domain/identifiers.rs", __dir__))

  def rust_const(source, name)
    source[/pub const #{name}: [^=]+ = ([^;]+);/, 1] or raise "#{name} not found in identifiers.rs"
  end

  it "has the core's limits" do
    expect(described_class::MAX_QUEUE_NAME).to eq(Integer(rust_const(rust, "MAX_QUEUE_NAME")))
    expect(described_class::QUEUE_SUFFIX).to eq(rust_const(rust, "QUEUE_SUFFIX").delete('"'))
    expect(rust_const(rust, "MAX_NAMESPACE")).to eq("MAX_QUEUE_NAME - QUEUE_SUFFIX.len()")
    expect(described_class::MAX_NAMESPACE).to eq(described_class::MAX_QUEUE_NAME - described_class::QUEUE_SUFFIX.length)
    expect(described_class::MAX_NAME).to eq(Integer(rust_const(rust, "MAX_NAME")))
    expect(rust[/fn is_handler_class.*?s\.len\(\) <= (\d+)/m, 1]).to eq(described_class::MAX_HANDLER_CLASS.to_s)
    expect(rust[/fn is_version.*?s\.len\(\) > (\d+)/m, 1]).to eq(described_class::MAX_VERSION.to_s)
    expect(rust[/fn is_queue_name.*?is_snake_identifier\(s, (\w+)\)/m, 1]).to eq("MAX_QUEUE_NAME")
  end

  it "judges queue names as the core's own tests do" do
    expect(described_class.queue_name?("#{'a' * 41}_queue")).to be(true)
    expect(described_class.queue_name?("#{'a' * 42}_queue")).to be(false)
    expect(TaskerCore::Messaging::QueueNames.valid?("#{'a' * 41}_queue")).to be(true)
    ["", "Linear", "1abc", "a-b", "x'; drop table tasks; --", "a b", "é", "a\n"].each do |bad|
      expect(described_class.queue_name?(bad)).to be(false), bad.inspect
    end
  end

  # Item step names (`name[3]`) appear in no template, so no native call judges them: the
  # rule is compared with the Rust function's own unit test, case by case, and its limit.
  it "judges step names as the core's own tests do" do
    expect(described_class::MAX_ITEM_INDEX).to eq(Integer(rust_const(rust, "MAX_ITEM_INDEX").delete("_")))
    test = rust[/fn step_names_are_names_or_map_items\(\) \{(.*?)\n    \}/m, 1] or raise "is_step_name's test not found"
    lists = test.scan(/for \w+ in \[(.*?)\] \{/m).map { |(list)| list.scan(/"((?:[^"\\]|\\.)*)"/).flatten }
    expect(lists.size).to eq(2)
    good, bad = lists
    expect(good).to include("price_item[3]")
    good.each { |name| expect(described_class.step_name?(name)).to be(true), "Ruby: step_name #{name.inspect}" }
    bad.each { |name| expect(described_class.step_name?(name)).to be(false), "Ruby: step_name #{name.inspect}" }
    # Every name is a step name, and the same limit applies to the name before the index.
    expect(described_class.step_name?("a" * 63)).to be(true)
    expect(described_class.step_name?("#{'a' * 64}[0]")).to be(false)
    expect(rust[/fn is_step_name.*?else \{ return (\w+)\(s\) \}/m, 1]).to eq("is_name")
  end

  cases = {
    namespace: {
      good: ["linear_workflow", "a", "a1_", "a" * 41],
      bad: ["", "Linear", "1abc", "a-b", "x'; drop table tasks; --", "a b", "é", "_a", "a\n", "a" * 42]
    },
    name: {
      good: ["a", "step_1", "a" * 63],
      bad: ["", "A", "a-b", "ß", "a\n", "9a", "a" * 64]
    },
    handler_class: {
      good: ["LinearWorkflow::StepOne", "A", "A_b9", "A#{'b' * 199}", "A#{'::B' * 66}c"],
      bad: ["", "lower", "A::", "::A", "A::b", "A;B", "Kernel.system", "A B", "A\n", "Ä", "A#{'b' * 200}"]
    },
    version: {
      good: ["1.0.0", "10.20.30", "01.0.0", "1.0.0-beta.1", "1.0.0+build5", "1.0.0-#{'a' * 58}"],
      bad: ["1.0", "1.0.0.0", "v1.0.0", "1..0", "1.0.0-", "1.0.0-x'", "1.0.0+a+b", "1.0.0\n", "١.0.0",
            "1.0.0-#{'a' * 59}"]
    }
  }

  # The template each rule is judged in; a one-step template, valid but for the case.
  templates = {
    namespace: ->(v) { { "namespace" => v } },
    name: ->(v) { { "name" => v, "steps" => [{ "name" => v, "handler" => "A" }] } },
    handler_class: ->(v) { { "steps" => [{ "name" => "a", "handler" => v }] } },
    version: ->(v) { { "version" => v } }
  }

  def core_accepts?(template)
    base = { "name" => "t", "namespace" => "ns", "version" => "1.0.0",
             "steps" => [{ "name" => "a", "handler" => "A" }] }
    TaskerCore.validate_template(base.merge(template).to_yaml)
    true
  rescue TaskerCore::TemplateError
    false
  end

  cases.each do |rule, table|
    it "agrees with the core on #{rule}" do
      table.each do |verdict, values|
        values.each do |value|
          expected = verdict == :good
          expect(described_class.public_send(:"#{rule}?", value)).to be(expected), "Ruby: #{rule} #{value.inspect}"
          expect(core_accepts?(templates.fetch(rule).call(value))).to be(expected), "core: #{rule} #{value.inspect}"
        end
      end
    end
  end

  it "is the rule of the message types, the queue names and the handler registry" do
    step = { task_uuid: SecureRandom.uuid, step_uuid: SecureRandom.uuid, step_name: "a", handler: "A" * 201,
             attempt: 1, namespace: "ns", task_name: "t", task_version: "1.0.0" }
    expect { TaskerCore::Types::StepMessage.new(**step) }.to raise_error(TaskerCore::ValidationError, /handler/)
    expect { TaskerCore::Types::StepMessage.new(**step, handler: "A", task_version: "1.0.0-#{'a' * 59}") }
      .to raise_error(TaskerCore::ValidationError, /task_version/)
    expect { TaskerCore::Messaging::QueueNames.namespace_queue("a" * 42) }.to raise_error(TaskerCore::QueueNameError)
    expect { TaskerCore::Handlers::Registry.handler_class("A" * 201) }
      .to raise_error(TaskerCore::TemplateError, /not a Ruby class name/)
  end
end
