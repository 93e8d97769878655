# frozen_string_literal: true

require_relative "hostile_helper"

# A repeated idempotency key that asks for another template or context. With
# on_conflict: :raise the client refuses it before sending; by default (:record) it is
# sent and left to the orchestrator. Through the shared embedded orchestrator.
RSpec.describe "TaskerCore.enqueue(idempotency_key:, on_conflict:)" do
  include HostileHelpers

  let(:template) { { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0" } }
  let(:key) { "order-#{SecureRandom.hex(6)}" }

  before { TaskerSpec::Runtime.ensure_started }

  # Every message ever sent to task_requests (pgmq's counter, not the live rows).
  def requests_sent
    Integer(TaskerSpec::Database.query("SELECT total_messages FROM pgmq.metrics('task_requests')").first["total_messages"])
  end

  # sha256 of a context's jsonb text, computed independently in PostgreSQL.
  def digest_of(context)
    row = TaskerSpec::Database.query("SELECT encode(sha256(convert_to($1::jsonb::text, 'UTF8')), 'hex') AS hex",
                                     [JSON.generate(context)]).first
    "sha256:#{row['hex']}"
  end

  def first_task(context)
    uuid = TaskerCore.enqueue(**template, context: context, idempotency_key: key)
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")
    uuid
  end

  def conflict_on(**request)
    sent_before = requests_sent
    TaskerCore.enqueue(**request, idempotency_key: key, on_conflict: :raise)
    raise "the conflicting request was sent"
  rescue TaskerCore::IdempotencyConflict => e
    expect(requests_sent).to eq(sent_before)
    e
  end

  it "raises IdempotencyConflict for another context, naming key, task and both digests; sends nothing" do
    uuid = first_task({ "even_number" => 2 })
    expect(uuid).to eq(TaskerCore::Types::TaskRequest.uuid_for_key(key))

    error = conflict_on(**template, context: { "even_number" => 4 })
    expect(error).to be_a(TaskerCore::Error)
    expect(error).to have_attributes(idempotency_key: key, task_uuid: uuid,
                                     existing_digest: digest_of({ "even_number" => 2 }),
                                     requested_digest: digest_of({ "even_number" => 4 }))
    expect(error.message).to include(key.inspect, uuid, error.existing_digest, error.requested_digest,
                                     "linear_workflow/mathematical_sequence@1.0.0", "nothing was sent")
    expect(error.existing_digest).to match(/\Asha256:\h{64}\z/)
    expect(TaskerCore.task(uuid)["context"]).to eq("even_number" => 2)
  end

  it "raises for another namespace, name or version with the same context" do
    uuid = first_task({ "even_number" => 2 })
    [{ namespace: "diamond_workflow", name: "diamond_pattern", version: "1.0.0" },
     { **template, version: "2.0.0" }].each do |other|
      error = conflict_on(**other, context: { "even_number" => 2 })
      expect(error.task_uuid).to eq(uuid)
      expect(error.existing_digest).to eq(error.requested_digest)
      expect(error.message).to include("#{other[:namespace]}/#{other[:name]}@#{other[:version]}")
    end
  end

  it "returns the uuid of an identical repeat without sending it (key order does not matter)" do
    uuid = first_task({ "even_number" => 2, "note" => { "a" => 1, "b" => [1, 2] } })
    sent_before = requests_sent
    again = TaskerCore.enqueue(**template, context: { "note" => { "b" => [1, 2], "a" => 1 }, "even_number" => 2 },
                                           idempotency_key: key, on_conflict: :raise)
    expect(again).to eq(uuid)
    expect(requests_sent).to eq(sent_before)
  end

  it "sends a first request with on_conflict: :raise as usual" do
    uuid = TaskerCore.enqueue(**template, context: { "even_number" => 2 }, idempotency_key: key, on_conflict: :raise)
    expect(TaskerCore.wait(uuid, timeout: 15)["state"]).to eq("complete")
  end

  it "by default (:record) sends the repeat; the orchestrator's dead letter names the digests :raise names" do
    uuid = first_task({ "even_number" => 2 })
    raised = conflict_on(**template, context: { "even_number" => 4 })
    sent_before = requests_sent
    expect(TaskerCore.enqueue(**template, context: { "even_number" => 4 }, idempotency_key: key)).to eq(uuid)
    expect(requests_sent).to eq(sent_before + 1)
    letter = wait_for { TaskerCore.dead_letters.find { |l| l["kind"] == "idempotency_conflict" && l["task_uuid"] == uuid } }
    expect(letter["reason"]).to include(raised.existing_digest, raised.requested_digest, key)
    expect(raised.message).to start_with(letter["reason"])
    expect(TaskerCore.task(uuid)["context"]).to eq("even_number" => 2)
  end

  it "refuses an on_conflict other than :record or :raise" do
    expect { TaskerCore.enqueue(**template, idempotency_key: key, on_conflict: :ignore) }
      .to raise_error(TaskerCore::ValidationError) { |e| expect(e.field).to eq("on_conflict") }
  end
end
