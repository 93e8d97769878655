# frozen_string_literal: true

# bin/rails runner (TASKER_EVENTS_LOG set: config/initializers/tasker_spec_events.rb
# subscribes): asks for the orchestrator's events (an EventRelay), enqueues a task and waits
# until this process has received its completion.
relay = TaskerCore::Instrumentation::EventRelay.new.start
order = Order.create!(number: "events-1", total_cents: 900)
uuid = TaskerCore.enqueue(namespace: "shop", name: "record_order", version: "1.0.0",
                          context: { "order_number" => order.number })
task = TaskerCore.wait(uuid, timeout: 60)
log = ENV.fetch("TASKER_EVENTS_LOG")
deadline = Time.now + 30
received = -> { File.exist?(log) && File.read(log).include?(%("task_completed.tasker_core")) }
sleep 0.05 until received.call || Time.now > deadline
relay.stop(timeout: 5)
puts JSON.generate("uuid" => uuid, "state" => task["state"])
