# frozen_string_literal: true

# bin/rails runner with SHOP_ASYNC=1 (config.tasker_core.execution_mode = :async): no other
# process runs tasks, so this one must.
order = Order.create!(number: "async-runner", total_cents: 300)
uuid = TaskerCore.enqueue(namespace: "shop", name: "record_order", version: "1.0.0",
                          context: { "order_number" => order.number })
task = TaskerCore.wait(uuid, timeout: 60)
puts JSON.generate("state" => task["state"], "order" => order.reload.state)
