# frozen_string_literal: true

require "json"
require "securerandom"

# FIXTURE DATA for the read model's specs (a read-only view): the rows a dynamic workflow
# leaves in the database, inserted by plain SQL where the Ruby workers of this branch cannot
# yet produce them (items of map steps `name[i]`, a step awaiting a child task). The shapes
# are the orchestrator's (ext/tasker_orchestration/src/orchestration/maps.rs, children.rs,
# decisions.rs, waits.rs; migration 13), the counters as transitions::move_steps keeps them
# (tasker_counter_drift stays empty). Nothing here mocks the database: Admin reads it.
#
#   ReadModelFixture.insert(conn, items: 100, finished: 37, failed: [3, 17])
#   # => {"parent" => uuid, "child" => uuid}
#
# The parent task (in_progress), as the template read_model_fixture/fanout_fixture@1.0.0:
#   list (complete, an Array of `items`) -> each (map over list, waiting: `finished` of the
#     items finished, `failed` of them in error, the next two in_progress, the rest pending)
#   route (decision, chose express) -> express (complete), gift_wrap (skipped: not chosen)
#   approve (wait_for_signal approve, timeout 3600s), nap (sleep, 600s)
#   call_child (waiting: awaits a child task whose one step waits for signal go)
#   finish (pending) after express, gift_wrap, each, approve, nap, call_child
module ReadModelFixture
  NAMESPACE = "read_model_fixture"
  TEMPLATE = "fanout_fixture"
  STEPS = %w[list route express gift_wrap each approve nap call_child finish gate].freeze
  EDGES = [%w[list each], %w[route express], %w[route gift_wrap], %w[express finish], %w[gift_wrap finish],
           %w[each finish], %w[approve finish], %w[nap finish], %w[call_child finish]].freeze

  # The items of map step $1 in ONE statement, as maps.rs creates them: the first $2
  # finished (those in $3 in error), the next two running, the rest pending.
  ITEMS = <<~SQL
    WITH made AS (
      INSERT INTO tasker_workflow_steps
          (task_id, uuid, named_step_id, name, handler, max_attempts, backoff_base_ms, backoff_max_ms, remaining_parents,
           step_type, map_step_id, item_index, item, state, attempts, claims, results, last_error, completed_at)
      SELECT m.task_id, gen_random_uuid(), m.named_step_id, m.name || '[' || (e.n - 1) || ']', m.handler, 3, 100, 1000, 0,
             'map_item', m.id, e.n - 1, e.item,
             CASE WHEN e.n - 1 = ANY($3::int[]) THEN 'error' WHEN e.n - 1 < $2 THEN 'complete'
                  WHEN e.n - 1 < $2 + 2 THEN 'in_progress' ELSE 'pending' END,
             CASE WHEN e.n - 1 = ANY($3::int[]) THEN 3 WHEN e.n - 1 < $2 + 2 THEN 1 ELSE 0 END,
             CASE WHEN e.n - 1 = ANY($3::int[]) THEN 3 WHEN e.n - 1 < $2 + 2 THEN 1 ELSE 0 END,
             CASE WHEN e.n - 1 < $2 AND NOT e.n - 1 = ANY($3::int[]) THEN jsonb_build_object('price', e.n) END,
             CASE WHEN e.n - 1 = ANY($3::int[]) THEN jsonb_build_object('class', 'TaskerCore::PermanentError',
                                                                        'message', 'bad sku ' || (e.n - 1),
                                                                        'retryable', false) END,
             CASE WHEN e.n - 1 < $2 THEN now() END
        FROM tasker_workflow_steps m
        JOIN tasker_workflow_steps o ON o.task_id = m.task_id AND o.name = m.settings ->> 'over'
       CROSS JOIN LATERAL jsonb_array_elements(o.results) WITH ORDINALITY AS e(item, n)
       WHERE m.id = $1
      RETURNING id, state)
    INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason)
    SELECT id, NULL, 'pending', 0, 'created' FROM made
  SQL

  module_function

  def insert(conn, items: 100, finished: 37, failed: [3, 17])
    conn.transaction do
      named = named_task(conn)
      parent = parent_task(conn, named, items, finished, failed)
      child = child_task(conn, named, parent)
      { "parent" => parent[:uuid], "child" => child }
    end
  end

  def named_task(conn)
    ns = conn.exec_params("INSERT INTO tasker_namespaces (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = " \
                          "EXCLUDED.name RETURNING id", [NAMESPACE]).getvalue(0, 0)
    nt = conn.exec_params(<<~SQL, [ns, TEMPLATE]).getvalue(0, 0)
      INSERT INTO tasker_named_tasks (namespace_id, name, version, template, digest) VALUES ($1, $2, '1.0.0', '{}', 'fixture')
      ON CONFLICT (namespace_id, name, version) DO UPDATE SET updated_at = now() RETURNING id
    SQL
    steps = STEPS.each_with_index.to_h do |name, position|
      id = conn.exec_params(<<~SQL, [nt, name, "Fixture::#{name.capitalize}", position]).getvalue(0, 0)
        INSERT INTO tasker_named_steps (named_task_id, name, handler, position, max_attempts, backoff_base_ms, backoff_max_ms)
        VALUES ($1, $2, $3, $4, 3, 100, 1000)
        ON CONFLICT (named_task_id, name) DO UPDATE SET handler = EXCLUDED.handler RETURNING id
      SQL
      [name, id]
    end
    { id: nt, steps: steps }
  end

  def task(conn, named, state:, counters:, parent: nil)
    uuid = SecureRandom.uuid
    total, done, active = counters
    id = conn.exec_params(<<~SQL, [uuid, named[:id], state, total, done, active, parent&.fetch(:id), parent&.fetch(:step)]).getvalue(0, 0)
      INSERT INTO tasker_tasks (uuid, named_task_id, state, steps_total, steps_done, steps_active, parent_task_id, parent_step_id)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
    SQL
    conn.exec_params("INSERT INTO tasker_task_transitions (task_id, from_state, to_state, reason) VALUES " \
                     "($1, NULL, 'pending', 'created'), ($1, 'pending', 'in_progress', 'started')", [id])
    { id: id, uuid: uuid }
  end

  # fields: state, step_type, settings, results, wake_in_s, attempts.
  def step(conn, task_id, named, name, state:, type: "task", settings: nil, results: nil, wake_in_s: nil, attempts: 0,
           reason: nil, metadata: {})
    handler = %w[wait_for_signal sleep].include?(type) ? "" : "Fixture::#{name.capitalize}"
    params = [SecureRandom.uuid, task_id, named[:steps].fetch(name), name, handler, state, attempts, type,
              settings && JSON.generate(settings), results.nil? ? nil : JSON.generate(results), wake_in_s]
    id = conn.exec_params(<<~SQL, params).getvalue(0, 0)
      INSERT INTO tasker_workflow_steps (uuid, task_id, named_step_id, name, handler, state, attempts, claims, max_attempts,
                                         backoff_base_ms, backoff_max_ms, remaining_parents, step_type, settings, results,
                                         wake_at, completed_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 3, 100, 1000, 0, $8, $9::jsonb, $10::jsonb,
              now() + $11::float8 * interval '1 second', CASE WHEN $6 IN ('complete', 'skipped') THEN now() END)
      RETURNING id
    SQL
    conn.exec_params("INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason) " \
                     "VALUES ($1, NULL, 'pending', 0, 'created')", [id])
    if state != "pending"
      conn.exec_params("INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata) " \
                       "VALUES ($1, 'pending', $2, $3, $4, $5::jsonb)", [id, state, attempts, reason, JSON.generate(metadata)])
    end
    id
  end

  def parent_task(conn, named, items, finished, failed)
    # 9 steps: done list, route, express, gift_wrap (skipped); active each, approve, nap, call_child.
    parent = task(conn, named, state: "in_progress", counters: [9, 4, 4])
    ids = parent_steps(conn, parent[:id], named, items)
    EDGES.each do |from, to|
      conn.exec_params("INSERT INTO tasker_step_edges (from_step_id, to_step_id) VALUES ($1, $2)", [ids[from], ids[to]])
    end
    items(conn, ids["each"], items, finished, failed)
    parent.merge(steps: ids)
  end

  def parent_steps(conn, tid, named, items)
    ids = {}
    ids["list"] = step(conn, tid, named, "list", state: "complete", results: (0...items).to_a, attempts: 1, reason: "completed")
    ids["route"] = step(conn, tid, named, "route", state: "complete", type: "decision", attempts: 1, reason: "completed",
                                                   settings: { "branches" => %w[express gift_wrap] },
                                                   results: { "branches" => ["express"] })
    ids["express"] = step(conn, tid, named, "express", state: "complete", results: { "shipped" => true }, attempts: 1,
                                                       reason: "completed")
    ids["gift_wrap"] = step(conn, tid, named, "gift_wrap", state: "skipped", reason: "not_chosen",
                                                           metadata: { "decided_by" => "route" })
    ids["each"] = step(conn, tid, named, "each", state: "waiting", type: "map", reason: "mapped",
                                                 settings: { "over" => "list", "failure_policy" => "collect" },
                                                 metadata: { "items" => items, "max_parallel" => 2 })
    ids["approve"] = step(conn, tid, named, "approve", state: "waiting", type: "wait_for_signal", wake_in_s: 3600,
                                                       settings: { "signal" => "approve", "timeout_s" => 3600,
                                                                   "on_timeout" => "fail" },
                                                       reason: "waiting_for_signal",
                                                       metadata: { "signal" => "approve", "timeout_s" => 3600 })
    ids["nap"] = step(conn, tid, named, "nap", state: "waiting", type: "sleep", wake_in_s: 600,
                                               settings: { "duration_s" => 600 }, reason: "sleeping",
                                               metadata: { "sleep_s" => 600 })
    ids["call_child"] = step(conn, tid, named, "call_child", state: "waiting", attempts: 1, reason: "awaiting_child")
    ids["finish"] = step(conn, tid, named, "finish", state: "pending")
    ids
  end

  # The items of map step `map_id` in ONE statement, as maps.rs creates them, then their
  # states: the first `finished` finished (those in `failed` in error), two running.
  def items(conn, map_id, total, finished, failed)
    conn.exec_params(ITEMS, [map_id, finished, "{#{failed.join(',')}}"])
    conn.exec_params("INSERT INTO tasker_map_progress (step_id, items_total, items_finished, items_failed) " \
                     "VALUES ($1, $2, $3, $4)", [map_id, total, finished, failed.size])
  end

  def child_task(conn, named, parent)
    child = task(conn, named, state: "in_progress", counters: [1, 0, 1],
                              parent: { id: parent[:id], step: parent[:steps]["call_child"] })
    step(conn, child[:id], named, "gate", state: "waiting", type: "wait_for_signal", settings: { "signal" => "go" },
                                          reason: "waiting_for_signal", metadata: { "signal" => "go", "timeout_s" => nil })
    conn.exec_params(<<~SQL, [parent[:steps]["call_child"], JSON.generate("child_task_uuid" => child[:uuid])])
      UPDATE tasker_step_transitions SET metadata = $2::jsonb WHERE step_id = $1 AND reason = 'awaiting_child'
    SQL
    child[:uuid]
  end
end
