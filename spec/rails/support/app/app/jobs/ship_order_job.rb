# frozen_string_literal: true

# Run by perform_later on tasker_core's workers (config.active_job.queue_adapter).
class ShipOrderJob < ApplicationJob
  queue_as :default

  def perform(order_id, carrier)
    Order.find(order_id).update!(state: "shipped by #{carrier}")
  end
end
