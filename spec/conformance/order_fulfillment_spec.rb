# frozen_string_literal: true

require "spec_helper"

# fulfillment/process_order: validate_order -> reserve_inventory; process_payment depends on
# both; ship_order depends on process_payment. Handlers: examples/handlers/fulfillment.rb.
RSpec.describe "conformance: order fulfillment" do
  let(:customer) { { "id" => "cus_1001", "email" => "ada@example.com" } }
  let(:address) { { "line1" => "12 Analytical Row", "city" => "London", "postal_code" => "N1 7AA", "country" => "GB" } }
  let(:card) { { "method" => "card", "token" => "tok_visa" } }

  def order(items, payment: card, **extra)
    { "customer" => customer, "items" => items, "payment" => payment }.merge(extra.transform_keys(&:to_s))
  end

  def states(task)
    task["steps"].transform_values { |s| s["state"] }
  end

  def transitions_with_times(task_uuid, step_name)
    TaskerSpec::Database.query(<<~SQL, [task_uuid, step_name]).map { |r| [r["to_state"], Float(r["at"])] }
      SELECT tr.to_state, extract(epoch FROM tr.created_at)::float8 AS at FROM tasker_step_transitions tr
        JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND s.name = $2 ORDER BY tr.id
    SQL
  end

  def rejection_reason(context)
    TaskerSpec::Runtime.ensure_started
    uuid = TaskerCore.enqueue(namespace: "fulfillment", name: "process_order", version: "1.0.0", context: context)
    error = nil
    expect { TaskerCore.wait(uuid, timeout: 15) }.to raise_error(TaskerCore::TaskRejected) { |e| error = e }
    expect(TaskerCore.task(uuid)).to include("state" => "rejected", "reason" => error.reason)
    error.reason
  end

  it "fulfills an order: priced lines and total, a reservation, a payment of that total, a shipping label" do
    items = [{ "product_id" => "WIDGET-001", "quantity" => 2 }, { "product_id" => "GADGET-002", "quantity" => 1 },
             { "product_id" => "GIZMO-003", "quantity" => 4 }]
    task = run_task("fulfillment", "process_order", order(items, shipping_address: address))
    expect(task["state"]).to eq("complete")
    expect(task["steps"].keys).to eq(%w[validate_order reserve_inventory process_payment ship_order])
    expect(task["steps"].values.map { |s| [s["state"], s["attempts"], s["error"]] }.uniq).to eq([["complete", 1, nil]])
    results = task["steps"].transform_values { |s| s["results"] }

    expect(results["validate_order"]).to eq(
      "customer_id" => "cus_1001",
      "line_items" => [
        { "product_id" => "WIDGET-001", "name" => "Standard widget", "quantity" => 2, "unit_price_cents" => 1_299,
          "line_total_cents" => 2_598 },
        { "product_id" => "GADGET-002", "name" => "Deluxe gadget", "quantity" => 1, "unit_price_cents" => 4_999,
          "line_total_cents" => 4_999 },
        { "product_id" => "GIZMO-003", "name" => "Pocket gizmo", "quantity" => 4, "unit_price_cents" => 350,
          "line_total_cents" => 1_400 }
      ],
      "item_count" => 7, "total_cents" => 8_997, "currency" => "USD"
    )

    reservation = results["reserve_inventory"]
    expect(reservation["reservation_id"]).to match(/\Ares_\h{16}\z/)
    expect(reservation).to include("reserved" => { "WIDGET-001" => 2, "GADGET-002" => 1, "GIZMO-003" => 4 },
                                   "reserved_on_attempt" => 1)

    payment = results["process_payment"]
    expect(payment["payment_id"]).to match(/\Apay_\h{16}\z/)
    expect(payment).to include("status" => "captured", "amount_cents" => 8_997, "currency" => "USD", "method" => "card",
                               "reservation_id" => reservation["reservation_id"])

    shipment = results["ship_order"]
    expect(shipment["label"]).to include("carrier" => "ParcelPost Ground", "address" => address)
    expect(shipment["label"]["tracking_number"]).to match(/\APP\h{16}\z/)
    expect(shipment).to include("payment_id" => payment["payment_id"], "items_shipped" => 7)
  end

  it "derives its references from the task, so another order gets other ones; a label without an address is nil" do
    first = run_task("fulfillment", "process_order", order([{ "product_id" => "GIZMO-003", "quantity" => 1 }]))
    second = run_task("fulfillment", "process_order", order([{ "product_id" => "GIZMO-003", "quantity" => 1 }]))
    ids = [first, second].map { |t| t["steps"]["process_payment"]["results"]["payment_id"] }
    expect(ids.uniq.size).to eq(2)
    expect(first["steps"]["ship_order"]["results"]["label"]["address"]).to be_nil
  end

  it "fails the order for good on an unknown product: nothing after validate_order runs" do
    items = [{ "product_id" => "WIDGET-001", "quantity" => 1 }, { "product_id" => "NOPE-404", "quantity" => 1 }]
    task = run_task("fulfillment", "process_order", order(items))
    expect(task["state"]).to eq("error")
    expect(states(task)).to eq("validate_order" => "error", "reserve_inventory" => "pending",
                               "process_payment" => "pending", "ship_order" => "pending")
    validate = task["steps"]["validate_order"]
    expect(validate["attempts"]).to eq(1)
    expect(validate["error"]).to include("class" => "TaskerCore::PermanentError", "retryable" => false)
    expect(validate["error"]["message"]).to include("NOPE-404")
    expect(task["steps"].except("validate_order").values.map { |s| s["results"] }).to eq([nil, nil, nil])
  end

  it "fails the order for good on a quantity that is not positive" do
    task = run_task("fulfillment", "process_order", order([{ "product_id" => "GADGET-002", "quantity" => 0 }]))
    expect(task["state"]).to eq("error")
    expect(task["steps"]["validate_order"]["error"]).to include("class" => "TaskerCore::PermanentError")
    expect(task["steps"]["validate_order"]["error"]["message"]).to include("GADGET-002", "positive")
  end

  it "retries a temporary shortage after retry_after and completes on the second attempt" do
    items = [{ "product_id" => "WIDGET-BACKORDER", "quantity" => 3 }, { "product_id" => "WIDGET-001", "quantity" => 1 }]
    task = run_task("fulfillment", "process_order", order(items))
    expect(task["state"]).to eq("complete")
    reserve = task["steps"]["reserve_inventory"]
    expect(reserve).to include("state" => "complete", "attempts" => 2)
    expect(reserve["results"]).to include("reserved" => { "WIDGET-BACKORDER" => 3, "WIDGET-001" => 1 },
                                          "reserved_on_attempt" => 2)
    expect(task["steps"]["process_payment"]["results"]["amount_cents"]).to eq(3 * 899 + 1_299)
    expect(task["steps"].except("reserve_inventory").values.map { |s| s["attempts"] }).to eq([1, 1, 1])

    expect(step_transitions(task["uuid"], "reserve_inventory")).to include(%w[error waiting_for_retry])
    transitions = transitions_with_times(task["uuid"], "reserve_inventory")
    expect(transitions.map(&:first)).to eq(
      %w[pending enqueued in_progress error waiting_for_retry enqueued in_progress complete]
    )
    failed_at = transitions[3].last
    reclaimed_at = transitions[6].last
    expect(reclaimed_at - failed_at).to be >= 0.95 # retry_after: 1 (second), not the 100 ms backoff
  end

  it "fails the order at process_payment when the card is declined; it never ships" do
    items = [{ "product_id" => "WIDGET-001", "quantity" => 1 }]
    task = run_task("fulfillment", "process_order", order(items, payment: { "method" => "card", "token" => "tok_declined" }))
    expect(task["state"]).to eq("error")
    expect(states(task)).to eq("validate_order" => "complete", "reserve_inventory" => "complete",
                               "process_payment" => "error", "ship_order" => "pending")
    payment = task["steps"]["process_payment"]
    expect(payment["attempts"]).to eq(1)
    expect(payment["error"]).to include("class" => "TaskerCore::PermanentError", "retryable" => false)
    expect(payment["error"]["message"]).to include("declined", "1299 cents")
    expect(task["steps"]["ship_order"]["results"]).to be_nil
  end

  describe "a context failing the input_schema is rejected, naming the field" do
    it "without items" do
      context = order([]).except("items")
      expect(rejection_reason(context)).to eq("invalid context: context.items: is required")
    end

    it "with an item whose quantity is not an integer" do
      context = order([{ "product_id" => "WIDGET-001", "quantity" => "two" }])
      expect(rejection_reason(context)).to eq("invalid context: context.items[0].quantity: expected integer, got string")
    end

    it "with a customer without an email" do
      context = order([{ "product_id" => "WIDGET-001", "quantity" => 1 }]).merge("customer" => { "id" => "cus_1" })
      expect(rejection_reason(context)).to eq("invalid context: context.customer.email: is required")
    end

    it "with a payment that is not an object" do
      context = order([{ "product_id" => "WIDGET-001", "quantity" => 1 }], payment: "tok_visa")
      expect(rejection_reason(context)).to eq("invalid context: context.payment: expected object, got string")
    end
  end
end
