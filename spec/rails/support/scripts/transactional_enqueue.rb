# frozen_string_literal: true

# bin/rails runner: (a) an enqueue in a transaction that rolls back, (b) one in a transaction
# that commits late, each with the order row it is about. Prints what happened as JSON.
def enqueue(number)
  TaskerCore.enqueue(namespace: "shop", name: "record_order", version: "1.0.0", context: { "order_number" => number })
end

rolled_back = nil
ActiveRecord::Base.transaction do
  Order.create!(number: "rolled-back", total_cents: 100)
  rolled_back = enqueue("rolled-back")
  raise ActiveRecord::Rollback
end

committed = nil
ActiveRecord::Base.transaction do
  Order.create!(number: "committed", total_cents: 1234)
  committed = enqueue("committed")
  # The commit comes late: a step that ran before it would not find the order.
  sleep 1.5
end
task = TaskerCore.wait(committed, timeout: 60)

puts JSON.generate(
  "rolled_back" => rolled_back, "rolled_back_task" => TaskerCore.task(rolled_back),
  "rolled_back_order" => Order.exists?(number: "rolled-back"),
  "committed" => task, "committed_order" => Order.find_by!(number: "committed").state
)
