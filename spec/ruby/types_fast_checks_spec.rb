# frozen_string_literal: true

require "spec_helper"
require "securerandom"

# The plain-Ruby checks that stand in for dry-types on the worker's hot path must never
# accept what their type refuses, nor return anything else than the type would.
RSpec.describe TaskerCore::Types::Primitives::FAST_CHECKS do
  primitives = TaskerCore::Types::Primitives
  slow = primitives::SLOW
  uuid = SecureRandom.uuid
  samples = [
    uuid, uuid.upcase, "#{uuid}x", "not-a-uuid", "", "a", "linear_workflow", "A", "a" * 63, "a" * 64, "9abc",
    "step_1", "price[4]", "price[04]", "price[999999]", "price[1000000]", "Foo::Bar2", "::Kernel", "foo",
    "F#{'o' * 200}", "1.0.0", "1.0.0-rc.1+build.5", "1.0", "1.0.0-", "1.0.0\n", "#{uuid}\n",
    0, 1, -1, 2**31 - 1, 2**31, -2**31, -2**31 - 1, 1.0, nil, true, :sym, [], {},
    Time.utc(2026, 1, 1, 12, 0, 0, 123_456.789r), Time.new(2026, 6, 1, 3, 4, 5, "+05:30"), Time.utc(10_000),
    Time.utc(-1), Time.utc(0), "2026-01-01T12:00:00Z", "2026-13-01T12:00:00Z"
  ]

  described_class.each do |type, fast|
    it "agrees with its type (#{type.name})" do
      samples.each do |value|
        checked = fast.call(value)
        next if checked.equal?(slow)

        expect { type[value] }.not_to raise_error, "the fast check accepted #{value.inspect}, the type refuses it"
        expect(checked).to eq(type[value]), "for #{value.inspect}"
      end
    end
  end

  it "covers the step message's and the step result's attributes" do
    [TaskerCore::Types::StepMessage, TaskerCore::Types::StepResult].each do |klass|
      expect(klass.attributes.values.reject(&:fast).map(&:name)).to be_empty
    end
  end

  it "keeps the step result's own checks to their types" do
    step_error = TaskerCore::Types::StepError.new(error_class: "E", message: "m", retryable: true)
    values = ["success", "failure", "await_task", "other", "", "w" * 255, "w" * 256, nil, step_error, {}, 1]
    TaskerCore::Types::StepResult.attributes.each_value do |attr|
      values.each do |value|
        checked = attr.fast.call(value)
        next if checked.equal?(slow)

        expect(checked).to eq(attr.type[value]), "#{attr.name}: #{value.inspect}"
      end
    end
  end

  it "writes a Time as the type does" do
    times = [Time.now, Time.utc(1999, 12, 31, 23, 59, 59, 999_999), Time.new(2026, 6, 1, 3, 4, 5, "-09:00"), Time.utc(5)]
    times.each { |time| expect(described_class[primitives::Timestamp].call(time)).to eq(primitives.rfc3339(time)) }
  end
end
