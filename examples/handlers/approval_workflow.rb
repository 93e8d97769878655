# frozen_string_literal: true

require "digest"

# An order approval that takes shape while it runs: a map step prices each line, a decision
# sends large orders to a person (a signal) and approves the rest at once, a sleep pauses,
# and the ship step awaits a child task (shipping_workflow.yml). Money is integer cents.
module ApprovalWorkflow
  # Orders above this total wait for a person's approval.
  REVIEW_ABOVE_CENTS = 100_000

  # The elements the map step maps over: the order's lines.
  class LineItems < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context.fetch("lines")
    end
  end

  # One line (step.item) at its position (step.index).
  class PriceLine < TaskerCore::StepHandler::Base
    def call(_task, _sequence, step)
      line = step.item
      { "index" => step.index, "sku" => line.fetch("sku"),
        "line_total_cents" => line.fetch("quantity") * line.fetch("unit_price_cents") }
    end
  end

  # Large orders need a person; the others are approved at once.
  class Route < TaskerCore::StepHandler::Base
    def call(_task, sequence, _step)
      total = sequence["price_lines"].sum { |line| line["line_total_cents"] }
      total > REVIEW_ABOVE_CENTS ? TaskerCore::Decision.run(:manual_review) : TaskerCore::Decision.run(:auto_approve)
    end
  end

  class AutoApprove < TaskerCore::StepHandler::Base
    def call(_task, _sequence, _step)
      { "approved_by" => "auto" }
    end
  end

  # Ships through a child task; the child's result becomes this step's result.
  class Ship < TaskerCore::StepHandler::Base
    def call(task, sequence, step)
      approval = sequence.skipped?("manual_review") ? sequence["auto_approve"] : sequence["manual_review"]
      total = sequence["price_lines"].sum { |line| line["line_total_cents"] }
      step.await_task(namespace: "approval_workflow", name: "ship_parcel", version: "1.0.0",
                      context: { "order_id" => task.context.fetch("order_id"), "total_cents" => total,
                                 "approved_by" => approval.fetch("approved_by") })
    end
  end

  class Confirm < TaskerCore::StepHandler::Base
    def call(task, sequence, _step)
      shipment = sequence["ship"]
      { "order_id" => task.context.fetch("order_id"), "tracking" => shipment.fetch("tracking"),
        "total_cents" => shipment.fetch("total_cents"), "approved_by" => shipment.fetch("approved_by") }
    end
  end

  class BookCarrier < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      { "carrier" => "ParcelPost Ground", "booking" => "bk_#{Digest::SHA256.hexdigest(task.context.fetch('order_id'))[0, 10]}" }
    end
  end

  class PrintLabel < TaskerCore::StepHandler::Base
    def call(task, sequence, _step)
      { "tracking" => "PP#{sequence['book_carrier']['booking'].delete_prefix('bk_').upcase}",
        "total_cents" => task.context.fetch("total_cents"), "approved_by" => task.context.fetch("approved_by") }
    end
  end
end
