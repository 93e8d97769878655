# frozen_string_literal: true

require "spec_helper"

# The core's rules for an acceptable JSON value (domain/json_rules.rs), as the Ruby client
# applies them: in the core's words, before anything reaches PostgreSQL.
RSpec.describe TaskerCore::Types::JsonValue do
  def nested_arrays(depth)
    (depth - 1).times.reduce([]) { |inner, _| [inner] }
  end

  def nested_hashes(depth)
    (depth - 1).times.reduce({}) { |inner, _| { "a" => inner } }
  end

  def invalid(value, path = "context")
    described_class.normalize(value, path)
    raise "#{value.inspect[0, 60]} was accepted"
  rescue described_class::Invalid => e
    e.message
  end

  it "allows a payload nested 64 levels ({} is 1) and refuses 65, in the core's words" do
    expect(described_class::MAX_DEPTH).to eq(64)
    expect(described_class::MAX_MESSAGE_DEPTH).to eq(72)
    expect(described_class.normalize(nested_arrays(64), "context")).to eq(nested_arrays(64))
    expect(described_class.normalize(nested_hashes(64), "context")).to eq(nested_hashes(64))
    expect(invalid(nested_arrays(65))).to eq("context is nested deeper than 64 levels")
    expect(invalid(nested_hashes(65), "results")).to eq("results is nested deeper than 64 levels")
    expect(described_class.normalize(nested_arrays(65), "value", max_depth: 72)).to eq(nested_arrays(65))
  end

  it "measures depth without deep recursion: 100,000 levels, and a value that contains itself" do
    expect(invalid(nested_arrays(100_000))).to eq("context is nested deeper than 64 levels")
    expect(invalid(nested_hashes(100_000))).to eq("context is nested deeper than 64 levels")
    looped = { "a" => [1, 2] }
    looped["self"] = looped
    expect(invalid(looped)).to eq("context is nested deeper than 64 levels")
  end

  it "refuses a NUL in a string, a symbol or a key, naming the place" do
    expect(invalid({ "a" => [1, { "b" => "x\u0000y" }] })).to eq("context.a[1].b contains a NUL character")
    expect(invalid({ a: :"n\u0000" })).to eq("context.a contains a NUL character")
    expect(invalid({ "k\u0000" => 1 })).to eq("context has a key with a NUL character")
    expect(invalid({ "x" => { "k\u0000": 1 } })).to eq("context.x has a key with a NUL character")
  end

  it "keeps its other rules (finite floats, JSON classes, UTF-8)" do
    expect(invalid({ "x" => Float::INFINITY })).to eq("context.x is Infinity, which JSON cannot represent")
    expect(invalid({ "t" => Time.now })).to match(/\Acontext\.t is a Time, not a JSON value/)
    expect(invalid({ "s" => "\xff".b })).to eq("context.s is not valid UTF-8 text")
    expect(described_class.normalize({ big: 2**70, f: 1.5e300, s: :sym })).to eq("big" => 2**70, "f" => 1.5e300, "s" => "sym")
  end

  it "allows integers of up to 131072 digits (PostgreSQL's numeric) and refuses longer ones" do
    expect(described_class.normalize([10**131_072 - 1], "results")).to eq([10**131_072 - 1])
    expect(invalid({ "n" => [1, -10**131_072] })).to eq("context.n[1] is an integer of more than 131072 digits")
  end
end

RSpec.describe "TaskerCore.enqueue refuses a context the core would refuse" do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:request) { { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0" } }

  before { TaskerCore::Messaging::PgmqClient.new(conn).create("task_requests") }
  after { conn.close }

  def queued
    Integer(conn.exec("SELECT count(*) FROM pgmq.q_task_requests")[0]["count"])
  end

  def refusal(context)
    before = queued
    TaskerCore::Client.enqueue(**request, context: context)
    raise "context was accepted"
  rescue TaskerCore::ValidationError => e
    expect(queued).to eq(before)
    [e.field, e.message]
  end

  it "names the field and the place: too deep, NUL in a value or a key" do
    deep = 64.times.reduce({}) { |inner, _| { "a" => inner } }
    expect(refusal(deep)).to eq(["context", "TaskRequest.context is nested deeper than 64 levels"])
    past_ruby_json = { "list" => [1, 150.times.reduce([]) { |inner, _| [inner] }] } # JSON::NestingError before
    expect(refusal(past_ruby_json)).to eq(["context", "TaskRequest.context is nested deeper than 64 levels"])
    expect(refusal({ "a" => { "b" => "x\u0000" } })).to eq(["context", "TaskRequest.context.a.b contains a NUL character"])
    expect(refusal({ "a\u0000" => 1 })).to eq(["context", "TaskRequest.context has a key with a NUL character"])
  end

  it "still sends a context nested exactly 64 levels" do
    deep = 63.times.reduce({}) { |inner, _| { "a" => inner } }
    uuid = TaskerCore::Client.enqueue(**request, context: deep)
    row = conn.exec_params("SELECT message->'context' AS context FROM pgmq.q_task_requests " \
                           "WHERE message->>'task_uuid' = $1", [uuid]).first
    expect(JSON.parse(row["context"])).to eq(deep)
  end
end
