# frozen_string_literal: true

require "digest"

# Order fulfillment over an in-memory catalog: validate the order, reserve the stock, charge
# the payment, ship. Money is integer cents.
module Fulfillment
  # sku => product. WIDGET-BACKORDER is short for a moment (a restock is on its way):
  # reserving it fails on the first attempt and succeeds when the step is retried.
  CATALOG = {
    "WIDGET-001" => { "name" => "Standard widget", "unit_price_cents" => 1_299, "stock" => 250 },
    "GADGET-002" => { "name" => "Deluxe gadget", "unit_price_cents" => 4_999, "stock" => 40 },
    "GIZMO-003" => { "name" => "Pocket gizmo", "unit_price_cents" => 350, "stock" => 1_000 },
    "WIDGET-BACKORDER" => { "name" => "Backordered widget", "unit_price_cents" => 899, "stock" => 12,
                            "restocking" => true }
  }.transform_values(&:freeze).freeze

  CURRENCY = "USD"
  CARRIER = "ParcelPost Ground"
  # The payment gateway refuses these card tokens.
  DECLINED_TOKENS = %w[tok_declined].freeze

  # A stable reference for this task ("res_…", "pay_…"): a retried or redelivered step
  # produces the same one, so the steps are idempotent.
  def self.reference(prefix, task)
    "#{prefix}_#{Digest::SHA256.hexdigest("#{prefix}:#{task.uuid}")[0, 16]}"
  end

  # Prices every line from the catalog; an unknown product or a non-positive quantity
  # fails the order for good.
  class ValidateOrder < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      items = task.context.fetch("items")
      raise TaskerCore::PermanentError, "order has no items" if items.empty?

      line_items = items.each_with_index.map { |item, index| line_item(item, index) }
      {
        "customer_id" => task.context.fetch("customer").fetch("id"),
        "line_items" => line_items,
        "item_count" => line_items.sum { |line| line["quantity"] },
        "total_cents" => line_items.sum { |line| line["line_total_cents"] },
        "currency" => CURRENCY
      }
    end

    private

    def line_item(item, index)
      sku = item.fetch("product_id")
      product = CATALOG[sku] or raise TaskerCore::PermanentError, "unknown product #{sku} (items[#{index}])"
      quantity = item.fetch("quantity")
      raise TaskerCore::PermanentError, "quantity of #{sku} must be positive, got #{quantity} (items[#{index}])" unless quantity.positive?

      { "product_id" => sku, "name" => product["name"], "quantity" => quantity,
        "unit_price_cents" => product["unit_price_cents"], "line_total_cents" => quantity * product["unit_price_cents"] }
    end
  end

  # Reserves the validated quantities. More than the stock fails for good; a product being
  # restocked fails the first attempt with a retryable error (retry in a second).
  class ReserveInventory < TaskerCore::StepHandler::Base
    def call(task, sequence, step)
      reserved = Hash.new(0)
      sequence["validate_order"].fetch("line_items").each { |line| reserved[line["product_id"]] += line["quantity"] }
      reserved.each do |sku, quantity|
        product = CATALOG.fetch(sku)
        if quantity > product["stock"]
          raise TaskerCore::PermanentError,
                "insufficient stock for #{sku}: #{quantity} requested, #{product['stock']} available"
        end
        if product["restocking"] && step.attempt == 1
          raise TaskerCore::RetryableError.new("#{sku} is temporarily short while it is restocked", retry_after: 1)
        end
      end
      { "reservation_id" => Fulfillment.reference("res", task), "reserved" => reserved.to_h,
        "reserved_on_attempt" => step.attempt }
    end
  end

  # Charges the order total computed by validate_order; a declined card fails for good.
  class ProcessPayment < TaskerCore::StepHandler::Base
    def call(task, sequence, _step)
      order = sequence["validate_order"]
      payment = task.context.fetch("payment")
      if DECLINED_TOKENS.include?(payment.fetch("token"))
        raise TaskerCore::PermanentError,
              "payment of #{order['total_cents']} cents declined (#{payment['method']} token #{payment['token']})"
      end

      { "payment_id" => Fulfillment.reference("pay", task), "status" => "captured",
        "amount_cents" => order["total_cents"], "currency" => order["currency"], "method" => payment["method"],
        "reservation_id" => sequence["reserve_inventory"]["reservation_id"] }
    end
  end

  # Prints the shipping label for the paid order.
  class ShipOrder < TaskerCore::StepHandler::Base
    def call(task, sequence, _step)
      payment = sequence["process_payment"]
      order = sequence["validate_order"] # an ancestor, not a parent
      tracking = Digest::SHA256.hexdigest("tracking:#{task.uuid}")[0, 16].upcase
      {
        "label" => { "tracking_number" => "PP#{tracking}", "carrier" => CARRIER,
                     "address" => task.context["shipping_address"] },
        "items_shipped" => order["item_count"],
        "payment_id" => payment["payment_id"]
      }
    end
  end
end
