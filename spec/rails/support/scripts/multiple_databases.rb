# frozen_string_literal: true

# bin/rails runner in RAILS_ENV=multidb with SHOP_ASYNC=1: tasker_core's schema is in the
# tasker database (TaskerRecord), the orders in primary. An enqueue joins TaskerRecord's
# transaction; the task runs (async mode) and its handlers read primary. Prints JSON.
def enqueue(number)
  TaskerCore.enqueue(namespace: "shop", name: "record_order", version: "1.0.0", context: { "order_number" => number })
end

def requests_of(connection, uuid)
  %w[q a].sum do |kind|
    connection.exec_params("SELECT count(*) FROM pgmq.#{kind}_task_requests WHERE message->>'task_uuid' = $1", [uuid])
              .getvalue(0, 0).to_i
  end
end

tables = lambda do |record|
  record.connection.select_values("SELECT tablename FROM pg_tables WHERE tablename IN ('orders', 'tasker_tasks')").sort
end
# Another session on the tasker database: what it sees is what the orchestrator sees.
observer = PG.connect(TaskerCore.config.database_url)

rolled_back = nil
TaskerRecord.transaction do
  rolled_back = enqueue("multi-rolled-back")
  raise ActiveRecord::Rollback
end

Order.create!(number: "multi-committed", total_cents: 4321)
committed = nil
inside = nil
TaskerRecord.transaction do
  committed = enqueue("multi-committed")
  inside = { "own_session" => requests_of(TaskerRecord.connection.raw_connection, committed),
             "other_session" => requests_of(observer, committed) }
end
task = TaskerCore.wait(committed, timeout: 60)

puts JSON.generate(
  "schema_database" => TaskerRecord.connection_db_config.name,
  "tables" => { "primary" => tables.call(ActiveRecord::Base), "tasker" => tables.call(TaskerRecord) },
  "rolled_back" => { "task" => TaskerCore.task(rolled_back), "requests" => requests_of(observer, rolled_back) },
  "inside_transaction" => inside,
  "committed" => { "state" => task["state"], "order" => Order.find_by!(number: "multi-committed").state,
                   "tasker_row" => TaskerRecord.connection.select_value(
                     "SELECT state FROM tasker_tasks WHERE uuid = #{TaskerRecord.connection.quote(committed)}"
                   ) }
)
