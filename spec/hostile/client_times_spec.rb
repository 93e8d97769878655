# frozen_string_literal: true

require_relative "hostile_helper"

# What the client accepts, the core accepts; what the client refuses, the core would refuse
# (or silently lose). Requests are built by the client (Types::TaskRequest) and sent
# through its own pgmq client to the shared embedded orchestrator.
RSpec.describe "client-built times and keys, end to end through the orchestrator" do
  include HostileHelpers

  let(:template) { { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0" } }

  before { TaskerSpec::Runtime.ensure_started }

  def send_request(request)
    TaskerSpec::Database.with_connection do |conn|
      TaskerCore::Messaging::PgmqClient.new(conn).send("task_requests", request.to_h)
    end
    request.task_uuid
  end

  # The task the core created, with its stored times as epoch seconds; fails if rejected.
  def created(uuid)
    wait_for(timeout: 15) do
      letter = TaskerSpec::Database.query("SELECT reason FROM tasker_dead_letters WHERE task_uuid = $1", [uuid]).first
      raise "the core rejected #{uuid}: #{letter['reason']}" if letter

      TaskerSpec::Database.query(<<~SQL, [uuid]).first
        SELECT extract(epoch FROM run_at)::float8 AS run_at, extract(epoch FROM requested_at)::float8 AS requested_at
          FROM tasker_tasks WHERE uuid = $1
      SQL
    end
  end

  def build(**fields)
    TaskerCore::Types::TaskRequest.build(**template, context: { "even_number" => 2 }, **fields)
  end

  # The edge forms chrono accepts, with their instants (within a second: PostgreSQL keeps
  # microseconds, and chrono reads the leap second 23:59:60 as the end of 23:59:59).
  let(:edges) do
    {
      "9999-12-31T23:59:59Z" => Time.utc(9999, 12, 31, 23, 59, 59),
      "0000-01-01T00:00:00Z" => Time.utc(0, 1, 1),
      "2030-01-01T12:00:00.123456789123Z" => Time.utc(2030, 1, 1, 12, 0, Rational(123_456, 1_000_000)),
      "2030-01-01t12:00:00z" => Time.utc(2030, 1, 1, 12),
      "2030-01-01 12:00:00+05:30" => Time.utc(2030, 1, 1, 6, 30),
      "2030-01-01T12:00:00-23:59" => Time.utc(2030, 1, 2, 11, 59),
      "2030-06-30T23:59:60Z" => Time.utc(2030, 6, 30, 23, 59, 59)
    }
  end

  it "the core accepts every edge form of run_at the client accepts, at the same instant" do
    edges.each do |text, instant|
      uuid = send_request(build(run_at: text))
      stored = created(uuid)
      expect(stored["run_at"].to_f).to be_within(1.001).of(instant.to_f), "run_at #{text} stored as #{stored['run_at']}"
      TaskerCore.cancel(uuid) if instant > Time.now # steps waiting for run_at: leave nothing behind
    end
    year9999 = send_request(build(run_at: Time.utc(9999, 12, 31, 23, 59, 59)))
    expect(created(year9999)["run_at"].to_f).to eq(Time.utc(9999, 12, 31, 23, 59, 59).to_f)
    TaskerCore.cancel(year9999)
  end

  it "the core keeps every edge form of requested_at the client accepts" do
    edges.each do |text, instant|
      request = TaskerCore::Types::TaskRequest.new(**template, task_uuid: SecureRandom.uuid, context: { "even_number" => 2 },
                                                               requested_at: text)
      stored = created(send_request(request))
      expect(stored["requested_at"]).not_to be_nil, "requested_at #{text} was dropped by the core"
      expect(stored["requested_at"].to_f).to be_within(1.001).of(instant.to_f)
    end
  end

  it "the core refuses the run_at and requested_at forms the client refuses" do
    ["tomorrow", "2026-01-01", "10000-01-01T00:00:00Z", "2026-01-01T00:00:00", "-0001-01-01T00:00:00Z"].each do |text|
      expect { build(run_at: text) }.to raise_error(TaskerCore::ValidationError) { |e| expect(e.field).to eq("run_at") }
      %w[run_at requested_at].each do |field|
        raw = task_request(field => text)
        send_raw("task_requests", JSON.generate(raw))
        expect(rejection(raw["task_uuid"]).reason)
          .to eq("malformed task_request: #{field} #{text.inspect} is not an RFC 3339 time")
      end
    end
  end

  it "the core accepts an idempotency key of 255 bytes in 129 characters" do
    key = "#{'é' * 126}#{SecureRandom.hex(1)}k"
    expect([key.length, key.bytesize]).to eq([129, 255])
    uuid = TaskerCore.enqueue(**template, context: { "even_number" => 2 }, idempotency_key: key)
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")
    stored = TaskerSpec::Database.query("SELECT idempotency_key FROM tasker_tasks WHERE uuid = $1", [uuid]).first
    expect(stored["idempotency_key"]).to eq(key)
  end
end
