# frozen_string_literal: true

# bin/rails runner: ShipOrderJob.perform_later for a committed order; waits for its effect.
order = Order.create!(number: "job-1", total_cents: 700)
job = ShipOrderJob.perform_later(order.id, "ParcelPost")
deadline = Time.now + 60
sleep 0.05 while order.reload.state == "new" && Time.now < deadline
task = TaskerCore.wait(job.provider_job_id, timeout: 30)
puts JSON.generate("adapter" => ActiveJob::Base.queue_adapter.class.name, "state" => order.state,
                   "task" => task.slice("state", "namespace"))
