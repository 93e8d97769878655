# frozen_string_literal: true

# Enqueues a task from a web request and reports its state (the async-mode spec).
class TasksController < ActionController::API
  def create
    order = Order.create!(number: params.require(:number), total_cents: 500)
    uuid = TaskerCore.enqueue(namespace: "shop", name: "record_order", version: "1.0.0",
                              context: { "order_number" => order.number })
    render json: { "uuid" => uuid }
  end

  def show
    task = TaskerCore.task(params[:id])
    render json: { "state" => task && task["state"], "pid" => Process.pid }
  end
end
