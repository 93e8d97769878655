# frozen_string_literal: true

# bin/rails runner (TASKER_EVENTS_LOG set: config/initializers/tasker_spec_events.rb
# subscribes): enqueues a task and waits until this process has received its completion.
order = Order.create!(number: "events-1", total_cents: 900)
uuid = TaskerCore.enqueue(namespace: "shop", name: "record_order", version: "1.0.0",
                          context: { "order_number" => order.number })
task = TaskerCore.wait(uuid, timeout: 60)
log = ENV.fetch("TASKER_EVENTS_LOG")
deadline = Time.now + 30
received = -> { File.exist?(log) && File.read(log).include?(%("task_completed.tasker_core")) }
sleep 0.05 until received.call || Time.now > deadline
puts JSON.generate("uuid" => uuid, "state" => task["state"])
