# frozen_string_literal: true

require "pg"
require "tasker_core"
require_relative "admin_history"

module Bench
  # What bench/admin_read_model.rb measures: queues with messages in every condition and
  # dead letters beside the generated history, and the read model calls, by name.
  module AdminWorkload
    KINDS = %w[rejected_request ignored_result invalid_step_message step_mismatch poison_message].freeze
    RARE_TEMPLATE = "history_search/template_3@2.0.0"
    TIMESTAMP = PG::TextDecoder::TimestampWithTimeZone.new

    module_function

    # Through pgmq's functions: in flight, visible and delayed messages in one queue, 10,000
    # archived in another, and 10,000 dead letters over the queues and kinds.
    def queues_and_dead_letters(conn)
      client = TaskerCore::Messaging::PgmqClient.new(conn)
      queues = AdminHistory::NAMESPACES.map { |namespace| "#{namespace}_queue" }
      queues.each { |queue| client.create(queue) }
      send = ->(queue, count, delay = 0) { conn.exec_params(<<~SQL, [queue, count, delay]) }
        SELECT pgmq.send_batch($1, array_fill('{"kind": "history"}'::jsonb, ARRAY[$2::int]), $3::int)
      SQL
      send.call(queues[0], 500)
      conn.exec_params("SELECT count(*) FROM pgmq.read($1, 3600, 500)", [queues[0]]) # in flight for an hour
      send.call(queues[0], 2000)
      send.call(queues[0], 500, 3600)
      send.call(queues[1], 10_000)
      conn.exec("SELECT pgmq.archive('#{queues[1]}', array_agg(msg_id)) FROM pgmq.q_#{queues[1]}")
      arrays = [queues + %w[task_requests step_results], KINDS].map { |list| PG::TextEncoder::Array.new.encode(list) }
      conn.exec_params(<<~SQL, arrays)
        INSERT INTO tasker_dead_letters (queue_name, msg_id, read_ct, kind, reason, message, created_at)
        SELECT ($1::text[])[1 + i % 6], i, 1, ($2::text[])[1 + i % 5], 'history', jsonb_build_object('n', i),
               now() - i * interval '10 seconds'
          FROM generate_series(1, 10000) i
      SQL
      conn.exec("VACUUM (ANALYZE) tasker_dead_letters")
    end

    # name => callable, each a read model call an operator makes.
    def calls(admin, url)
      rows = PG.connect(url) { |conn| probes(conn) }
      now = Time.now
      { "tasks_first_page" => -> { admin.tasks },
        "tasks_deep_page" => -> { admin.tasks(cursor: rows[:deep_cursor]) },
        "tasks_limit_500" => -> { admin.tasks(limit: 500) },
        "tasks_state" => -> { admin.tasks(state: "error") },
        "tasks_states" => -> { admin.tasks(state: %w[error cancelled pending]) },
        "tasks_namespace" => -> { admin.tasks(namespace: "history_billing") },
        "tasks_template_rare" => -> { admin.tasks(template: RARE_TEMPLATE) },
        "tasks_template_state" => -> { admin.tasks(template: "template_1", state: "error") },
        "tasks_since_1h" => -> { admin.tasks(since: now - 3600) },
        "tasks_window" => -> { admin.tasks(since: now - 7200, before: now - 3600, state: "complete") },
        "tasks_idempotency_key" => -> { admin.tasks(idempotency_key: rows[:key]) },
        "tasks_uuid_prefix_1" => -> { admin.tasks(uuid_prefix: "3") },
        "tasks_uuid_prefix_4" => -> { admin.tasks(uuid_prefix: rows[:uuid][0, 4]) },
        "task_detail" => -> { admin.task(rows[:uuid]) },
        "counts_by_state" => -> { admin.counts_by_state },
        "queues" => -> { admin.queues },
        "throughput_60" => -> { admin.throughput },
        "dead_letters" => -> { admin.dead_letters },
        "dead_letters_queue_kind" => -> { admin.dead_letters(queue: "step_results", kind: "ignored_result") },
        "dead_letters_deep_page" => -> { admin.dead_letters(cursor: rows[:letter_cursor]) } }
    end

    # A cursor half-way through the history, an idempotency key, an error task of 10 steps.
    def probes(conn)
      deep = conn.exec("SELECT created_at, id FROM tasker_tasks ORDER BY created_at DESC, id DESC LIMIT 1 " \
                       "OFFSET (SELECT count(*) / 2 FROM tasker_tasks)")[0]
      at = TaskerCore::Admin::TaskFilter.cursor_time(TIMESTAMP.decode(deep["created_at"]))
      { deep_cursor: TaskerCore::Admin::Page.encode(TaskerCore::Admin::TaskFilter::CURSOR_KIND, at, deep["id"]),
        letter_cursor: TaskerCore::Admin::Page.encode(TaskerCore::Admin::DeadLetterListing::CURSOR_KIND, 5000),
        key: middle(conn, "idempotency_key", "idempotency_key IS NOT NULL"), uuid: middle(conn, "uuid", "state = 'error'") }
    end

    def middle(conn, column, condition)
      conn.exec("SELECT #{column} FROM tasker_tasks WHERE #{condition} ORDER BY id LIMIT 1 " \
                "OFFSET (SELECT count(*) / 2 FROM tasker_tasks WHERE #{condition})").getvalue(0, 0)
    end
  end
end
