# frozen_string_literal: true

# bin/rails runner with TASKER_EVENTS_LOG (config/initializers/tasker_spec_events.rb
# subscribes) and SHOP_RELAY_EVENTS=1 (config.tasker_core.relay_events: this process asks
# for the orchestrator's events): enqueues a task, waits until this process has received
# its completion.
order = Order.create!(number: "events-1", total_cents: 900)
uuid = TaskerCore.enqueue(namespace: "shop", name: "record_order", version: "1.0.0",
                          context: { "order_number" => order.number })
task = TaskerCore.wait(uuid, timeout: 60)
log = ENV.fetch("TASKER_EVENTS_LOG")
deadline = Time.now + 30
received = -> { File.exist?(log) && File.read(log).include?(%("task_completed.tasker_core")) }
sleep 0.05 until received.call || Time.now > deadline
puts JSON.generate("uuid" => uuid, "state" => task["state"])
