# frozen_string_literal: true

require "spec_helper"

# The Rust core owns the limits and the JSON rules; Ruby keeps copies so the pure-Ruby
# client needs no native extension. These examples fail as soon as the two drift.
RSpec.describe "the core's limits and JSON rules, mirrored in Ruby" do
  let(:native) { JSON.parse(TaskerCore::Native._limits_private) }

  it "has every Ruby constant equal to the core's value" do
    expect(native).to include("max_json_depth", "max_message_depth", "max_integer_digits", "envelope_bytes",
                              "max_idempotency_key_bytes", "max_actor_bytes", "max_message_bytes")
    limits = TaskerCore::Types::Limits
    expect(limits::MAX_JSON_DEPTH).to eq(native["max_json_depth"])
    expect(TaskerCore::Types::JsonValue::MAX_DEPTH).to eq(native["max_json_depth"])
    expect(limits::MAX_MESSAGE_DEPTH).to eq(native["max_message_depth"])
    expect(TaskerCore::Types::JsonValue::MAX_MESSAGE_DEPTH).to eq(native["max_message_depth"])
    expect(limits::MAX_INTEGER_DIGITS).to eq(native["max_integer_digits"])
    expect(limits::ENVELOPE_BYTES).to eq(native["envelope_bytes"])
    expect(limits::MAX_IDEMPOTENCY_KEY_BYTES).to eq(native["max_idempotency_key_bytes"])
    expect(limits::MAX_ACTOR_BYTES).to eq(native["max_actor_bytes"])
    copy = JSON.parse(TaskerCore::Config::ORCHESTRATOR_SETTINGS_COPY)
    expect(copy["max_message_bytes"]["default"]).to eq(native["max_message_bytes"])
  end

  # Values both sides can hold (Ruby has no number beyond a double's range to compare).
  def cases
    depth = ->(n, inner = []) { (n - 1).times.reduce(inner) { |v, _| [v] } }
    {
      "64 levels" => depth.call(64), "65 levels" => depth.call(65), "1000 levels" => depth.call(1000),
      "deep under a key" => { "a" => [1, depth.call(64)] },
      "NUL in a nested string" => { "a" => [1, { "b" => "x\u0000y" }] },
      "NUL in a key" => { "k\u0000" => 1 }, "NUL in a nested key" => { "x" => [{ "k\u0000" => 1 }] },
      "the first of two problems" => { "a" => "\u0000", "b\u0000" => 1 },
      "the longest integer" => { "n" => [10**131_072 - 1] }, "an integer one digit longer" => { "n" => [-10**131_072] },
      "acceptable" => { "big" => 2**70, "f" => 1.5e300, "s" => "ok", "n" => nil, "t" => [true, false] }
    }
  end

  def ruby_violation(value, path)
    TaskerCore::Types::JsonValue.normalize(value, path)
    nil
  rescue TaskerCore::Types::JsonValue::Invalid => e
    e.message
  end

  it "refuses the same values as json_rules::check, in the same words" do
    cases.each do |label, value|
      json = JSON.generate(value, max_nesting: false)
      rust = TaskerCore::Native._json_violation_private(json, "context")
      expect(ruby_violation(value, "context")).to eq(rust), "#{label}: Ruby and the core disagree"
    end
    expect(TaskerCore::Native._json_violation_private(JSON.generate(cases["65 levels"]), "results"))
      .to eq("results is nested deeper than 64 levels")
  end

  it "measures a 100,000-level text in the core without parsing it" do
    text = "#{'[' * 100_000}#{']' * 100_000}"
    expect(TaskerCore::Native._json_violation_private(text, "context")).to eq("context is nested deeper than 64 levels")
    expect { TaskerCore::Native._json_violation_private("{not json", "context") }
      .to raise_error(TaskerCore::ValidationError, /invalid JSON/)
  end
end
