# frozen_string_literal: true

module Shop
  module RecordOrder
    # Finds the order named by the task; missing means the task ran before its order was
    # committed, which must never happen (a permanent failure makes it visible at once).
    class LoadOrderHandler < TaskerCore::StepHandler::Base
      def call(task, _sequence, _step)
        order = Order.find_by(number: task.context.fetch("order_number"))
        raise TaskerCore::PermanentError, "order #{task.context['order_number']} not found" unless order

        # A query that takes a moment holds the connection as real work does.
        Order.connection.select_value("SELECT pg_sleep(0.02)")
        { "order_id" => order.id, "total_cents" => order.total_cents, "state" => order.state }
      end
    end
  end
end
