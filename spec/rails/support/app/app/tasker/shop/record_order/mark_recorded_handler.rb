# frozen_string_literal: true

module Shop
  module RecordOrder
    class MarkRecordedHandler < TaskerCore::StepHandler::Base
      def call(_task, sequence, _step)
        order = Order.find(sequence["load_order"].fetch("order_id"))
        order.update!(state: "recorded")
        { "state" => order.reload.state }
      end
    end
  end
end
