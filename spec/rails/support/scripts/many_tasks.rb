# frozen_string_literal: true

# bin/rails runner: ARGV[0] orders, each committed with its task; waits for every task.
count = Integer(ARGV.fetch(0, "50"))
uuids = Array.new(count) do |i|
  ActiveRecord::Base.transaction do
    order = Order.create!(number: "bulk-#{i}", total_cents: i)
    TaskerCore.enqueue(namespace: "shop", name: "record_order", version: "1.0.0",
                       context: { "order_number" => order.number })
  end
end
tasks = uuids.map { |uuid| TaskerCore.wait(uuid, timeout: 120) }
puts JSON.generate(
  "states" => tasks.map { |t| t["state"] }.tally,
  "orders" => Order.where("number LIKE 'bulk-%'").group(:state).count,
  "totals" => tasks.map { |t| t["steps"]["load_order"]["results"]["total_cents"] }.sort
)
