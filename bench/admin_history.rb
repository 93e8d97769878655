# frozen_string_literal: true

require "pg"

module Bench
  # History for the read model, generated in SQL (generate_series): tasks of 24 templates
  # (4 namespaces x 3 names x 2 versions; 60% of the tasks are of the first, the others
  # share the rest, so some templates are rare), in the states of a long-running system
  # (95% complete, 2% error, 1% cancelled, 1% in progress, 0.5% pending, 0.5% resolved),
  # created evenly over `span_s` up to now (two by two with the same created_at, so ties
  # are broken by id), every tenth with an idempotency key. With steps: each task's steps
  # form a binary tree (step_j after step_(j-1)/2), in states and counters that agree with
  # the task's (tasker_counter_drift stays empty), and with the transitions the engine
  # would have recorded. Used by bench/admin_read_model.rb (1M steps) and
  # spec/admin/listing_plans_spec.rb (100k tasks, no steps).
  module AdminHistory
    NAMESPACES = %w[history_billing history_shipping history_reports history_search].freeze
    PREFIX = "history\\_%"
    TABLES = %w[tasker_tasks tasker_workflow_steps tasker_step_edges tasker_task_transitions tasker_step_transitions].freeze

    module_function

    # Returns the seconds each part took. The database must hold no other history_* rows.
    def generate(conn, tasks:, steps: 0, span_s: 86_400, transitions: steps.positive?)
      timings = {}
      time = ->(name, &block) { timings[name] = measure(&block) }
      conn.transaction do
        replica(conn) # no FK or event triggers: the rows are consistent by construction
        time.call("templates") { templates(conn, steps) }
        time.call("tasks") { conn.exec_params(TASKS, [tasks, steps, span_s.to_f / tasks]) }
        if steps.positive?
          time.call("steps") { conn.exec_params(STEPS, [steps]) }
          time.call("edges") { conn.exec(EDGES) }
        end
        if transitions
          time.call("task_transitions") { conn.exec(TASK_TRANSITIONS) }
          time.call("step_transitions") { conn.exec(STEP_TRANSITIONS) } if steps.positive?
        end
      end
      time.call("vacuum_analyze") { conn.exec("VACUUM (ANALYZE) #{TABLES.join(', ')}") }
      timings
    end

    def templates(conn, steps)
      conn.exec_params(<<~SQL, [NAMESPACES.join(","), steps])
        WITH ns AS (INSERT INTO tasker_namespaces (name) SELECT unnest(string_to_array($1, ',')) RETURNING id, name),
        nt AS (INSERT INTO tasker_named_tasks (namespace_id, name, version, template, digest)
               SELECT ns.id, 'template_' || k, v || '.0.0', '{}'::jsonb, 'history'
                 FROM ns, generate_series(1, 3) k, generate_series(1, 2) v
               RETURNING id)
        INSERT INTO tasker_named_steps (named_task_id, name, handler, position, max_attempts, backoff_base_ms, backoff_max_ms)
        SELECT nt.id, 'step_' || j, 'History::Step', j, 3, 100, 1000 FROM nt, generate_series(0, $2::int - 1) j
      SQL
    end

    # $1 tasks, $2 steps per task, $3 seconds between two tasks.
    TASKS = <<~SQL.freeze
      WITH nts AS (SELECT array_agg(nt.id ORDER BY nt.id) AS ids
                     FROM tasker_named_tasks nt JOIN tasker_namespaces n ON n.id = nt.namespace_id
                    WHERE n.name LIKE '#{PREFIX}'),
      shaped AS (
          SELECT i, nts.ids[1 + CASE WHEN i % 10 < 6 THEN 0 ELSE i % array_length(nts.ids, 1) END] AS named_task_id,
                 CASE WHEN h < 950 THEN 'complete' WHEN h < 970 THEN 'error' WHEN h < 980 THEN 'cancelled'
                      WHEN h < 990 THEN 'in_progress' WHEN h < 995 THEN 'pending' ELSE 'resolved_manually' END AS state,
                 now() - (($1::int - i) / 2) * 2 * $3::float8 * interval '1 second' AS at
            FROM nts, generate_series(1, $1::int) i
           CROSS JOIN LATERAL (SELECT abs(hashint4(i) % 1000) AS h) hashed)
      INSERT INTO tasker_tasks (uuid, named_task_id, state, context, idempotency_key, steps_total, steps_done,
                                steps_failed, steps_active, created_at, updated_at, completed_at)
      SELECT md5('history-task-' || i)::uuid, named_task_id, state, jsonb_build_object('n', i),
             CASE WHEN i % 10 = 0 THEN 'history-key-' || i END, $2::int,
             CASE state WHEN 'complete' THEN $2::int WHEN 'error' THEN $2::int - 1 WHEN 'resolved_manually' THEN $2::int
                        WHEN 'pending' THEN 0 ELSE $2::int / 2 END,
             CASE WHEN state = 'error' THEN least($2::int, 1) ELSE 0 END,
             CASE WHEN state = 'in_progress' THEN least($2::int, 1) ELSE 0 END,
             at, at + interval '1 second', CASE WHEN state NOT IN ('pending', 'in_progress') THEN at + interval '1 second' END
        FROM shaped
       ORDER BY i
    SQL

    # Step j of a task at position j; finished 100 ms after the previous one.
    STEPS = <<~SQL
      INSERT INTO tasker_workflow_steps (uuid, task_id, named_step_id, name, handler, state, attempts, max_attempts,
                                         backoff_base_ms, backoff_max_ms, remaining_parents, results, created_at,
                                         updated_at, completed_at)
      SELECT md5('history-step-' || x.task_id || '-' || x.j)::uuid, x.task_id, x.named_step_id, 'step_' || x.j,
             'History::Step', x.state, CASE WHEN x.state IN ('pending', 'cancelled', 'resolved_manually') THEN 0 ELSE 1 END,
             3, 100, 1000, CASE WHEN x.j = 0 OR x.state <> 'pending' THEN 0 ELSE 1 END,
             CASE WHEN x.state IN ('complete', 'resolved_manually') THEN jsonb_build_object('j', x.j) END, x.created_at,
             x.created_at + (x.j + 1) * interval '100 ms',
             CASE WHEN x.state IN ('complete', 'resolved_manually') THEN x.created_at + (x.j + 1) * interval '100 ms' END
        FROM (SELECT t.id AS task_id, ns.id AS named_step_id, ns.position AS j, t.created_at,
                     CASE WHEN t.state = 'complete' THEN 'complete'
                          WHEN t.state = 'pending' THEN 'pending'
                          WHEN t.state = 'error' THEN CASE WHEN ns.position = $1::int - 1 THEN 'error' ELSE 'complete' END
                          WHEN t.state = 'resolved_manually'
                            THEN CASE WHEN ns.position = $1::int - 1 THEN 'resolved_manually' ELSE 'complete' END
                          WHEN ns.position < $1::int / 2 THEN 'complete'
                          WHEN t.state = 'cancelled' THEN 'cancelled'
                          WHEN ns.position = $1::int / 2 THEN 'in_progress' ELSE 'pending' END AS state
                FROM tasker_tasks t JOIN tasker_named_steps ns ON ns.named_task_id = t.named_task_id
               ORDER BY t.id, ns.position) x
    SQL

    EDGES = <<~SQL
      INSERT INTO tasker_step_edges (from_step_id, to_step_id)
      SELECT p.id, c.id FROM tasker_workflow_steps c
        JOIN tasker_workflow_steps p ON p.task_id = c.task_id AND p.name = 'step_' || ((substr(c.name, 6)::int - 1) / 2)
       WHERE c.name <> 'step_0'
    SQL

    TASK_TRANSITIONS = <<~SQL
      INSERT INTO tasker_task_transitions (task_id, from_state, to_state, reason, created_at)
      SELECT t.id, v.from_state, v.to_state, 'history', v.at
        FROM tasker_tasks t
       CROSS JOIN LATERAL (VALUES (NULL, 'pending', true, t.created_at),
                                  ('pending', 'in_progress', t.state <> 'pending', t.created_at + interval '1 ms'),
                                  ('in_progress', t.state, t.completed_at IS NOT NULL, t.completed_at)
                          ) v(from_state, to_state, applies, at)
       WHERE v.applies
    SQL

    # Created, enqueued, claimed, finished: as many of them as the step's state has had.
    STEP_TRANSITIONS = <<~SQL
      INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata, created_at)
      SELECT s.id, v.from_state, v.to_state, CASE WHEN v.n = 1 THEN 0 ELSE 1 END, 'history',
             CASE WHEN v.n = 4 THEN '{"worker_id": "history:1"}'::jsonb ELSE '{}'::jsonb END,
             s.updated_at - (4 - v.n) * interval '25 ms'
        FROM tasker_workflow_steps s
       CROSS JOIN LATERAL (VALUES
             (1, NULL, 'pending', true),
             (2, 'pending', CASE WHEN s.state IN ('cancelled', 'resolved_manually') THEN s.state ELSE 'enqueued' END,
              s.state <> 'pending'),
             (3, 'enqueued', 'in_progress', s.state IN ('in_progress', 'complete', 'error')),
             (4, 'in_progress', s.state, s.state IN ('complete', 'error'))) v(n, from_state, to_state, applies)
       WHERE v.applies
       ORDER BY s.id, v.n
    SQL

    # Superusers only; others insert with the triggers (slower, same rows).
    def replica(conn)
      conn.exec("SAVEPOINT replica")
      conn.exec("SET LOCAL session_replication_role = replica")
      conn.exec("RELEASE SAVEPOINT replica")
    rescue PG::InsufficientPrivilege
      conn.exec("ROLLBACK TO SAVEPOINT replica")
    end

    def measure
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      yield
      Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    end
  end
end
