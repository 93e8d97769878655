# frozen_string_literal: true

require "spec_helper"

# TaskerCore.enqueue's other arguments, checked the way the core checks them (idempotency
# key in bytes, times as chrono's RFC 3339), or refused with a ValidationError naming them
# instead of a TypeError. Refused requests leave task_requests untouched.
RSpec.describe "TaskerCore.enqueue arguments" do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:request) { { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0" } }

  before { TaskerCore::Messaging::PgmqClient.new(conn).create("task_requests") }
  after { conn.close }

  def sent(uuid)
    row = conn.exec_params("SELECT message FROM pgmq.q_task_requests WHERE message->>'task_uuid' = $1", [uuid]).first
    row && JSON.parse(row["message"])
  end

  def queued
    Integer(conn.exec("SELECT count(*) FROM pgmq.q_task_requests")[0]["count"])
  end

  def refused_field(**arguments)
    before = queued
    TaskerCore.enqueue(**request, **arguments)
    raise "#{arguments.inspect[0, 80]} was accepted"
  rescue TaskerCore::ValidationError => e
    expect(queued).to eq(before)
    e.field
  end

  describe "idempotency_key" do
    it "is measured in bytes like the core: 255 bytes pass, 255 two-byte characters do not" do
      expect(TaskerCore::Types::Limits::MAX_IDEMPOTENCY_KEY_BYTES).to eq(255)
      key = "#{'é' * 127}k"
      expect(key.bytesize).to eq(255)
      uuid = TaskerCore.enqueue(**request, idempotency_key: key)
      expect(sent(uuid)["idempotency_key"]).to eq(key)
      expect(uuid).to eq(TaskerCore::Types::TaskRequest.uuid_for_key(key))
      expect(TaskerCore.enqueue(**request, idempotency_key: "k" * 255)).to be_a(String)

      expect(refused_field(idempotency_key: "é" * 255)).to eq("idempotency_key")
      expect(refused_field(idempotency_key: "k" * 256)).to eq("idempotency_key")
    end

    it "refuses a NUL or bytes that are not UTF-8 (the core stores the key as text)" do
      expect(refused_field(idempotency_key: "a\u0000b")).to eq("idempotency_key")
      expect(refused_field(idempotency_key: "\xff\xfe".b)).to eq("idempotency_key")
    end
  end

  describe "delay" do
    it "must be nil or a finite number of seconds >= 0" do
      ["10", -1, Float::NAN, Float::INFINITY, Complex(1, 1), Object.new].each do |delay|
        expect(refused_field(delay: delay)).to eq("delay"), "delay #{delay.inspect} was not refused as delay"
      end
      expect { TaskerCore.enqueue(**request, delay: "10") }
        .to raise_error(TaskerCore::ValidationError, /\ATaskRequest\.delay must be nil or a finite number of seconds >= 0, got "10"/)
    end

    it "refuses a delay that ends past year 9999, naming delay" do
      expect(refused_field(delay: 1e12)).to eq("delay")
    end

    it "turns 0, fractions and Rationals into run_at" do
      [0, 1.5, Rational(1, 2), 60].each do |delay|
        message = sent(TaskerCore.enqueue(**request, delay: delay))
        expect(Time.iso8601(message["run_at"]) - Time.iso8601(message["requested_at"])).to be_within(0.01).of(delay)
      end
    end
  end

  describe "run_at" do
    it "refuses a Time outside years 0 to 9999 and a string chrono's RFC 3339 parser refuses" do
      [Time.utc(10_000), Time.utc(-1), "tomorrow", "yesterday", "2026-01-01", "2026-01-01T00:00:00",
       "2026-01-01T00:00Z", "10000-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z",
       "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00Z\n", 1_767_225_600].each do |run_at|
        expect(refused_field(run_at: run_at)).to eq("run_at"), "run_at #{run_at.inspect} was not refused"
      end
      expect { TaskerCore.enqueue(**request, run_at: "tomorrow") }
        .to raise_error(TaskerCore::ValidationError, /\ATaskRequest\.run_at must be nil or an RFC 3339 time.*got "tomorrow"/)
    end

    it "sends the forms chrono accepts as they are, and a Time in UTC with microseconds" do
      ["9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2026-01-01T12:00:00.123456789123Z",
       "2026-01-01t12:00:00z", "2026-01-01 12:00:00+05:30", "2026-01-01T12:00:00-23:59"].each do |run_at|
        expect(sent(TaskerCore.enqueue(**request, run_at: run_at))["run_at"]).to eq(run_at)
      end
      expect(sent(TaskerCore.enqueue(**request, run_at: Time.utc(9999, 12, 31, 23, 59, 59)))["run_at"])
        .to eq("9999-12-31T23:59:59.000000Z")
    end
  end

  describe "requested_at (TaskRequest built by hand)" do
    it "is held to the same rule (Ruby's Time.iso8601 accepts these; the core drops them)" do
      ["2026-01-01T00:00:00", "10000-01-01T00:00:00Z", "2026-01-01"].each do |requested_at|
        expect do
          TaskerCore::Types::TaskRequest.new(**request, task_uuid: SecureRandom.uuid, context: {}, requested_at: requested_at)
        end.to raise_error(TaskerCore::ValidationError) { |e| expect(e.field).to eq("requested_at") }
      end
    end
  end
end
