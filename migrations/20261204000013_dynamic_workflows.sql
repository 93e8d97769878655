-- Workflows that take shape while they run: decision steps with skipped branches, map steps
-- that fan out over a result, child tasks, signals and durable sleeps (docs/ARCHITECTURE.md,
-- Dynamic workflows). Same state machines, same transactions: every new state change is
-- made by the orchestrator under the task's row lock and recorded.

-- Two new step states: `skipped` (final: a decision did not choose it, or every parent was
-- skipped) and `waiting` (no worker holds it: a map step waiting for its items, a step
-- waiting for a signal, a timer or a child task).
ALTER TABLE tasker_workflow_steps DROP CONSTRAINT tasker_workflow_steps_state_check;
ALTER TABLE tasker_workflow_steps ADD CONSTRAINT tasker_workflow_steps_state_check CHECK (state IN
    ('pending', 'enqueued', 'in_progress', 'complete', 'error', 'waiting_for_retry', 'cancelled', 'resolved_manually',
     'skipped', 'waiting'));

-- step_type: how the step runs (the template's `type`; map_item for an item of a map step).
-- settings: its type's template fields, copied like the handler so a running task never
-- changes behaviour when its template is re-registered. live_parents: parents finished and
-- not skipped (a step whose parents are all finished and none live is skipped).
-- map_step_id, item_index, item: an item of a map step. wake_at: when a sleep ends or a
-- signal wait times out.
ALTER TABLE tasker_workflow_steps
    ADD COLUMN step_type TEXT NOT NULL DEFAULT 'task'
        CHECK (step_type IN ('task', 'decision', 'map', 'map_item', 'wait_for_signal', 'sleep')),
    ADD COLUMN settings JSONB,
    ADD COLUMN live_parents INT NOT NULL DEFAULT 0,
    ADD COLUMN map_step_id BIGINT REFERENCES tasker_workflow_steps (id) ON DELETE CASCADE,
    ADD COLUMN item_index INT,
    ADD COLUMN item JSONB,
    ADD COLUMN wake_at TIMESTAMPTZ;
-- Items by index, and the next pending item of a map step (max_parallel releases one per
-- finished item: an index lookup, never a scan of the items already done).
CREATE UNIQUE INDEX tasker_workflow_steps_map_item_idx ON tasker_workflow_steps (map_step_id, item_index)
    WHERE map_step_id IS NOT NULL;
CREATE INDEX tasker_workflow_steps_map_pending_idx ON tasker_workflow_steps (map_step_id, item_index)
    WHERE map_step_id IS NOT NULL AND state = 'pending';

-- A map step's items, counted as they finish (the step's own row stays narrow). The task's
-- step counters count the map step, not its items.
CREATE TABLE tasker_map_progress (
    step_id         BIGINT PRIMARY KEY REFERENCES tasker_workflow_steps (id) ON DELETE CASCADE,
    items_total     INT NOT NULL CHECK (items_total >= 0),
    items_finished  INT NOT NULL DEFAULT 0,  -- complete, or failed for good
    items_failed    INT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A child task records the step that awaits it.
ALTER TABLE tasker_tasks
    ADD COLUMN parent_task_id BIGINT REFERENCES tasker_tasks (id) ON DELETE SET NULL,
    ADD COLUMN parent_step_id BIGINT REFERENCES tasker_workflow_steps (id) ON DELETE SET NULL;
CREATE INDEX tasker_tasks_parent_task_idx ON tasker_tasks (parent_task_id) WHERE parent_task_id IS NOT NULL;
CREATE INDEX tasker_tasks_parent_step_idx ON tasker_tasks (parent_step_id) WHERE parent_step_id IS NOT NULL;

-- Signals sent to a task, one per name, kept whether or not a step waits for it yet: a
-- signal sent before its step waits is consumed when the step does.
CREATE TABLE tasker_signals (
    id                   BIGSERIAL PRIMARY KEY,
    task_id              BIGINT NOT NULL REFERENCES tasker_tasks (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    payload              JSONB,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    consumed_by_step_id  BIGINT REFERENCES tasker_workflow_steps (id) ON DELETE SET NULL,
    consumed_at          TIMESTAMPTZ,
    UNIQUE (task_id, name)
);

-- Sends signal p_name with p_payload to a task, from any process (TaskerCore.signal, the HTTP
-- API): the signal is stored and a wake message goes to step_results in the same transaction;
-- the orchestrator completes the waiting step (now or when it starts waiting). Refused with
-- SQLSTATE TKNF1 for an unknown task and TKSG1 (with the reason) for a finished task, a
-- signal no step of the task waits for, or a second signal of the same name.
CREATE FUNCTION tasker_signal(p_task_uuid UUID, p_name TEXT, p_payload JSONB)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    t RECORD;
    known TEXT[];
    signal_id BIGINT;
    waiter UUID;
BEGIN
    SELECT id, state INTO t FROM tasker_tasks WHERE uuid = p_task_uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % not found', p_task_uuid USING ERRCODE = 'TKNF1';
    END IF;
    IF t.state IN ('complete', 'cancelled', 'resolved_manually') THEN
        RAISE EXCEPTION 'task % is %: a finished task takes no signals', p_task_uuid, t.state USING ERRCODE = 'TKSG1';
    END IF;
    SELECT array_agg(DISTINCT s.settings ->> 'signal' ORDER BY s.settings ->> 'signal') INTO known
      FROM tasker_workflow_steps s WHERE s.task_id = t.id AND s.step_type = 'wait_for_signal';
    IF known IS NULL OR NOT p_name = ANY (known) THEN
        RAISE EXCEPTION 'task % has no step waiting for signal % (%)', p_task_uuid, left(p_name, 80),
            CASE WHEN known IS NULL THEN 'it waits for no signal' ELSE 'it waits for ' || array_to_string(known, ', ') END
            USING ERRCODE = 'TKSG1';
    END IF;
    INSERT INTO tasker_signals (task_id, name, payload) VALUES (t.id, p_name, p_payload)
        ON CONFLICT (task_id, name) DO NOTHING RETURNING id INTO signal_id;
    IF signal_id IS NULL THEN
        RAISE EXCEPTION 'task % was already sent signal %: a signal is sent once', p_task_uuid, p_name
            USING ERRCODE = 'TKSG1';
    END IF;
    -- Template validation keeps signal names unique within a task: one step waits for it.
    SELECT s.uuid INTO waiter FROM tasker_workflow_steps s
     WHERE s.task_id = t.id AND s.step_type = 'wait_for_signal' AND s.settings ->> 'signal' = p_name LIMIT 1;
    PERFORM pgmq.send('step_results',
                      jsonb_build_object('kind', 'wake', 'task_uuid', p_task_uuid, 'step_uuid', waiter, 'reason', 'signal'));
    RETURN signal_id;
END;
$$;

-- The claim, for every step type. Parents' results leave out skipped parents (a handler
-- sees only results that exist), and step_details (NULL for a plain step none of whose
-- parents was skipped) tells the worker the rest: {"type", "skipped": [parent names],
-- "index", "item", "map" (an item's map step), "branches" (a decision's)}. An item of a map
-- step sees its map step's parents but the one it maps over.
DROP FUNCTION tasker_claim_message(JSONB, TEXT, TEXT, INT, BIGINT);
DROP FUNCTION tasker_claim_step(UUID, INT, TEXT, BIGINT);
CREATE FUNCTION tasker_claim_step(p_step_uuid UUID, p_attempt INT, p_worker TEXT, p_msg_id BIGINT DEFAULT NULL)
RETURNS TABLE (claimed BOOLEAN, step_state TEXT, task_uuid UUID, task_context JSONB, parent_results JSONB,
               step_details JSONB)
LANGUAGE plpgsql AS $$
DECLARE
    s tasker_workflow_steps%ROWTYPE;
    t tasker_tasks%ROWTYPE;
    results JSONB;
    skipped TEXT[];
    details JSONB;
BEGIN
    SELECT * INTO s FROM tasker_workflow_steps WHERE uuid = p_step_uuid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::TEXT, NULL::UUID, NULL::JSONB, NULL::JSONB, NULL::JSONB;
        RETURN;
    END IF;
    SELECT * INTO t FROM tasker_tasks WHERE id = s.task_id;
    IF s.attempts <> p_attempt
       OR s.state NOT IN ('enqueued', 'in_progress', 'waiting_for_retry')
       OR t.state <> 'in_progress'
       OR (s.state = 'in_progress' AND s.claimed_msg_id IS DISTINCT FROM p_msg_id AND p_msg_id IS NOT NULL
           AND s.claimed_msg_id IS NOT NULL) THEN
        RETURN QUERY SELECT false, s.state, t.uuid, NULL::JSONB, NULL::JSONB, NULL::JSONB;
        RETURN;
    END IF;

    IF s.state = 'waiting_for_retry' THEN
        -- The delayed message became visible: the retry is now enqueued.
        INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata)
        VALUES (s.id, 'waiting_for_retry', 'enqueued', s.attempts, 'retry_due', '{}'::jsonb);
        s.state := 'enqueued';
    END IF;
    IF s.state = 'enqueued' THEN
        INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata)
        VALUES (s.id, 'enqueued', 'in_progress', s.attempts, 'claimed', jsonb_build_object('worker', p_worker));
    END IF;
    -- An in_progress step is claimed again when its message is redelivered after a worker
    -- died: no state change, but the claim is counted.
    UPDATE tasker_workflow_steps SET state = 'in_progress', claims = claims + 1, claimed_msg_id = p_msg_id,
                                     updated_at = now()
     WHERE id = s.id;

    -- An item has its element (`item`): the whole result it was taken from would cost every
    -- item the size of the map, so the map step's `over` parent is left out (the handler can
    -- still ask for it as an ancestor).
    SELECT COALESCE(jsonb_object_agg(p.name, p.results) FILTER (WHERE p.state <> 'skipped'), '{}'::jsonb),
           array_agg(p.name ORDER BY p.name) FILTER (WHERE p.state = 'skipped')
      INTO results, skipped
      FROM tasker_workflow_steps p
     WHERE p.id = ANY (ARRAY(SELECT e.from_step_id FROM tasker_step_edges e
                              WHERE e.to_step_id = COALESCE(s.map_step_id, s.id)))
       AND (s.map_step_id IS NULL
            OR p.name IS DISTINCT FROM (SELECT m.settings ->> 'over' FROM tasker_workflow_steps m WHERE m.id = s.map_step_id));
    IF s.step_type <> 'task' OR skipped IS NOT NULL THEN
        details := jsonb_build_object('type', s.step_type, 'skipped', to_jsonb(COALESCE(skipped, '{}'::TEXT[])));
        IF s.map_step_id IS NOT NULL THEN
            details := details || jsonb_build_object('index', s.item_index, 'item', s.item,
                                                     'map', (SELECT m.name FROM tasker_workflow_steps m
                                                              WHERE m.id = s.map_step_id));
        END IF;
        IF s.step_type = 'decision' THEN
            details := details || jsonb_build_object('branches', s.settings -> 'branches');
        END IF;
    END IF;
    RETURN QUERY SELECT true, 'in_progress'::TEXT, t.uuid, t.context, results, details;
END;
$$;

-- As in migration 8, with step_details.
CREATE FUNCTION tasker_claim_message(p_message JSONB, p_queue TEXT, p_worker TEXT, p_max_bytes INT, p_msg_id BIGINT)
RETURNS TABLE (verdict TEXT, reason TEXT, step_state TEXT, task_context JSONB, parent_results JSONB, traceparent TEXT,
               step_details JSONB)
LANGUAGE plpgsql AS $$
DECLARE
    problem TEXT := tasker_step_message_problem(p_message, p_max_bytes);
    s RECORD;
    c RECORD;
    wrong TEXT[] := '{}';
BEGIN
    IF problem IS NOT NULL THEN
        RETURN QUERY SELECT 'invalid'::TEXT, problem, NULL::TEXT, NULL::JSONB, NULL::JSONB, NULL::TEXT, NULL::JSONB;
        RETURN;
    END IF;
    SELECT st.name, st.handler, st.state, st.attempts, st.claimed_msg_id, t.uuid AS task_uuid, t.state AS task_state,
           t.traceparent, ns.name AS namespace, nt.name AS task_name, nt.version AS task_version
      INTO s
      FROM tasker_workflow_steps st
      JOIN tasker_tasks t ON t.id = st.task_id
      JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
      JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
     WHERE st.uuid = (p_message ->> 'step_uuid')::uuid
       FOR UPDATE OF st;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'ignored'::TEXT, format('unknown step %s', p_message ->> 'step_uuid'),
                            NULL::TEXT, NULL::JSONB, NULL::JSONB, NULL::TEXT, NULL::JSONB;
        RETURN;
    END IF;
    IF (p_message ->> 'task_uuid')::uuid <> s.task_uuid THEN
        wrong := wrong || format('task_uuid %s (the step belongs to task %s)', p_message ->> 'task_uuid', s.task_uuid);
    END IF;
    IF p_message ->> 'step_name' <> s.name THEN
        wrong := wrong || format('step_name %s (the step is %s)', left(p_message ->> 'step_name', 80), s.name);
    END IF;
    IF p_message ->> 'handler' <> s.handler THEN
        wrong := wrong || format('handler %s (the step runs %s)', left(p_message ->> 'handler', 200), s.handler);
    END IF;
    IF p_message ->> 'namespace' <> s.namespace OR p_message ->> 'task_name' <> s.task_name
       OR p_message ->> 'task_version' <> s.task_version THEN
        wrong := wrong || format('template %s/%s@%s (the task is %s/%s@%s)', left(p_message ->> 'namespace', 80),
                                 left(p_message ->> 'task_name', 80), left(p_message ->> 'task_version', 80),
                                 s.namespace, s.task_name, s.task_version);
    END IF;
    IF p_queue <> s.namespace || '_queue' THEN
        wrong := wrong || format('read from queue %s (the task''s queue is %s_queue)', p_queue, s.namespace);
    END IF;
    IF cardinality(wrong) > 0 THEN
        RETURN QUERY SELECT 'mismatch'::TEXT, 'step message disagrees with the database: ' || array_to_string(wrong, '; '),
                            s.state, NULL::JSONB, NULL::JSONB, NULL::TEXT, NULL::JSONB;
        RETURN;
    END IF;
    IF s.state = 'in_progress' AND s.claimed_msg_id <> p_msg_id AND (p_message ->> 'attempt')::int = s.attempts THEN
        RETURN QUERY SELECT 'ignored'::TEXT,
                            format('attempt %s of step %s is already running under message %s', s.attempts, s.name,
                                   s.claimed_msg_id),
                            s.state, NULL::JSONB, NULL::JSONB, NULL::TEXT, NULL::JSONB;
        RETURN;
    END IF;
    SELECT * INTO c FROM tasker_claim_step((p_message ->> 'step_uuid')::uuid, (p_message ->> 'attempt')::int, p_worker,
                                           p_msg_id);
    IF NOT c.claimed THEN
        RETURN QUERY SELECT 'ignored'::TEXT,
                            format('attempt %s of step %s is not claimable: the step is %s at attempt %s, the task is %s',
                                   p_message ->> 'attempt', s.name, s.state, s.attempts, s.task_state),
                            c.step_state, NULL::JSONB, NULL::JSONB, NULL::TEXT, NULL::JSONB;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'claimed'::TEXT, NULL::TEXT, c.step_state, c.task_context, c.parent_results, s.traceparent,
                        c.step_details;
END;
$$;

-- Finished ancestors' results, skipped ones left out; an item of a map step has its map
-- step's ancestors.
CREATE OR REPLACE FUNCTION tasker_step_ancestor_results(p_step_uuid UUID)
RETURNS JSONB
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ancestors (id) AS (
        SELECT e.from_step_id
          FROM tasker_step_edges e
         WHERE e.to_step_id = (SELECT COALESCE(s.map_step_id, s.id) FROM tasker_workflow_steps s WHERE s.uuid = p_step_uuid)
        UNION
        SELECT e.from_step_id
          FROM tasker_step_edges e
          JOIN ancestors a ON e.to_step_id = a.id
    )
    SELECT COALESCE(jsonb_object_agg(w.name, w.results), '{}'::jsonb)
      FROM tasker_workflow_steps w
     WHERE w.id = ANY (ARRAY(SELECT id FROM ancestors))
       AND w.state IN ('complete', 'resolved_manually');
$$;

-- The task's step counters count the steps of its template (a map step counts once, its
-- items not at all); skipped steps count as done, waiting ones as active.
CREATE OR REPLACE VIEW tasker_counter_drift AS
SELECT t.id AS task_id, t.uuid AS task_uuid,
       t.steps_total, t.steps_done, t.steps_failed, t.steps_active,
       actual.total AS actual_total, actual.done AS actual_done,
       actual.failed AS actual_failed, actual.active AS actual_active
  FROM tasker_tasks t
  CROSS JOIN LATERAL (
      SELECT count(*)::int AS total,
             count(*) FILTER (WHERE s.state IN ('complete', 'resolved_manually', 'skipped'))::int AS done,
             count(*) FILTER (WHERE s.state = 'error')::int AS failed,
             count(*) FILTER (WHERE s.state IN ('enqueued', 'in_progress', 'waiting_for_retry', 'waiting'))::int AS active
        FROM tasker_workflow_steps s WHERE s.task_id = t.id AND s.map_step_id IS NULL) actual
 WHERE (t.steps_total, t.steps_done, t.steps_failed, t.steps_active)
       <> (actual.total, actual.done, actual.failed, actual.active);

-- Per step, items of map steps included (with their index and map step).
DROP FUNCTION tasker_task_execution_context(UUID);
DROP FUNCTION tasker_step_readiness_status(UUID);
CREATE FUNCTION tasker_step_readiness_status(p_task_uuid UUID)
RETURNS TABLE (step_uuid UUID, name TEXT, state TEXT, attempts INT, max_attempts INT,
               remaining_parents INT, dependencies_satisfied BOOLEAN, retry_eligible BOOLEAN,
               next_retry_at TIMESTAMPTZ, ready_for_execution BOOLEAN, step_type TEXT, map_step TEXT,
               item_index INT, wake_at TIMESTAMPTZ)
LANGUAGE sql STABLE AS $$
    SELECT s.uuid, s.name, s.state, s.attempts, s.max_attempts, s.remaining_parents,
           s.remaining_parents = 0,
           s.state = 'waiting_for_retry'
             OR (s.state = 'error' AND COALESCE((s.last_error ->> 'retryable')::boolean, true)
                 AND s.attempts - s.attempts_offset < s.max_attempts),
           CASE WHEN s.state = 'waiting_for_retry' THEN s.next_attempt_at END,
           (s.state = 'pending' AND s.remaining_parents = 0 AND s.map_step_id IS NULL)
             OR (s.state = 'waiting_for_retry' AND s.next_attempt_at <= now()),
           s.step_type, m.name, s.item_index, s.wake_at
      FROM tasker_workflow_steps s
      JOIN tasker_tasks t ON t.id = s.task_id
      LEFT JOIN tasker_workflow_steps m ON m.id = s.map_step_id
     WHERE t.uuid = p_task_uuid
     ORDER BY s.id;
$$;

-- Per task, over the steps of its template (a map step stands for its items, as in the
-- task's counters): skipped steps count toward completion, waiting ones are processing.
CREATE FUNCTION tasker_task_execution_context(p_task_uuid UUID)
RETURNS TABLE (task_uuid UUID, task_state TEXT, total_steps INT, pending_steps INT, enqueued_steps INT,
               in_progress_steps INT, completed_steps INT, failed_steps INT, waiting_for_retry_steps INT,
               cancelled_steps INT, ready_steps INT, execution_status TEXT, recommended_action TEXT,
               completion_percentage NUMERIC, skipped_steps INT, waiting_steps INT, dynamic_steps INT)
LANGUAGE sql STABLE AS $$
    WITH counts AS (
        SELECT t.uuid, t.state AS task_state,
               count(r.step_uuid) FILTER (WHERE r.map_step IS NULL)::int AS total,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state = 'pending')::int AS pending,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state = 'enqueued')::int AS enqueued,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state = 'in_progress')::int AS in_progress,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state IN ('complete', 'resolved_manually'))::int AS completed,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state = 'error' AND NOT r.retry_eligible)::int AS failed,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state = 'waiting_for_retry')::int AS waiting_retry,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state = 'cancelled')::int AS cancelled,
               count(*) FILTER (WHERE r.ready_for_execution)::int AS ready,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state = 'skipped')::int AS skipped,
               count(*) FILTER (WHERE r.map_step IS NULL AND r.state = 'waiting')::int AS waiting,
               count(*) FILTER (WHERE r.map_step IS NOT NULL)::int AS dynamic
          FROM tasker_tasks t
          LEFT JOIN LATERAL tasker_step_readiness_status(t.uuid) r ON true
         WHERE t.uuid = p_task_uuid
         GROUP BY t.uuid, t.state
    ), classified AS (
        SELECT c.*,
               CASE WHEN c.total > 0 AND c.completed + c.skipped = c.total THEN 'all_complete'
                    WHEN c.failed > 0 THEN 'blocked_by_failures'
                    WHEN c.ready > 0 THEN 'has_ready_steps'
                    WHEN c.enqueued + c.in_progress + c.waiting_retry + c.waiting > 0 THEN 'processing'
                    ELSE 'waiting_for_dependencies' END AS status
          FROM counts c
    )
    SELECT uuid, task_state, total, pending, enqueued, in_progress, completed, failed, waiting_retry, cancelled, ready,
           status,
           CASE status WHEN 'all_complete' THEN 'finalize_task'
                       WHEN 'blocked_by_failures' THEN 'handle_failures'
                       WHEN 'has_ready_steps' THEN 'execute_ready_steps'
                       WHEN 'processing' THEN 'wait_for_completion'
                       ELSE 'wait_for_dependencies' END,
           CASE WHEN total = 0 THEN 0 ELSE round(100.0 * (completed + skipped) / total, 2) END,
           skipped, waiting, dynamic
      FROM classified;
$$;
