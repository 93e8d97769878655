-- A worker's plain success applied where it is posted (issue 14). Completing a plain step
-- and starting the children it releases, or completing its task when it was the last step,
-- needs no decision of the orchestrator's, only the rows. The worker's post runs this in
-- its own transaction, beside the delete of the step message, so the state change, the
-- history and the children's messages commit with it; a hop is then worker -> database ->
-- worker, and the result never travels through step_results. Every other result (a
-- failure, a decision, a map item, an await_task, a stale or foreign one, one whose task
-- would end any other way, or holds a released child that skips, maps or waits) is posted
-- to step_results as before, and the orchestrator judges it.
--
-- The moves are the orchestrator's own (transitions::complete_steps,
-- dispatch::release_and_start_across, finalization::finalize_many): in_progress -> complete
-- "succeeded" with the worker's metadata, the children pending -> enqueued "ready" with
-- attempts + 1, one message per child as dispatch::step_message builds it, the task's
-- counters, and a task whose every step is done in_progress -> complete
-- "all_steps_complete" (a child task, which must wake its parent step, is left to the
-- orchestrator). ext/tasker_orchestration/tests/applied_successes.rs drives the same
-- workflows both ways and fails when the rows, histories or messages differ.
--
-- p_queue: the namespace queue the results' step messages came from (every result must be
-- of a task of its namespace); p_msg_ids / p_results: the step messages deleted by the post
-- and their results, in the same order; p_max_bytes: orchestrator.max_message_bytes.
-- p_take: how many of the children released the posting worker takes for its own threads
-- (p_vt: their visibility timeout, p_worker / p_max_step_bytes: as tasker_claim_messages').
-- Returns `applied` (the msg_ids whose results were applied; the caller posts the others) on
-- every row, and a row per child taken with its message and claim as a claiming read returns
-- them (one row of NULLs but `applied` when none was taken).
CREATE OR REPLACE FUNCTION tasker_apply_successes(p_queue TEXT, p_msg_ids BIGINT[], p_results JSONB[], p_max_bytes INT,
                                                  p_take INT DEFAULT 0, p_vt INT DEFAULT 0, p_worker TEXT DEFAULT NULL,
                                                  p_max_step_bytes INT DEFAULT NULL)
RETURNS TABLE (applied BIGINT[], msg_id BIGINT, read_ct INT, enqueued_at TIMESTAMPTZ, vt TIMESTAMPTZ, message JSONB,
               verdict TEXT, reason TEXT, step_state TEXT, task_context JSONB, parent_results JSONB, traceparent TEXT,
               step_details JSONB)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_uuids UUID[];
    v_applied BIGINT[];
    v_messages JSONB[];
    v_taken BIGINT[];
    v_bodies JSONB[];
BEGIN
    -- Plain successes only, their uuids checked before any cast.
    SELECT array_agg((r.result ->> 'step_uuid')::uuid) INTO v_uuids
      FROM unnest(p_results) AS r(result)
     WHERE r.result ->> 'kind' = 'step_result' AND r.result ->> 'status' = 'success'
       AND jsonb_typeof(r.result -> 'await_task') IS DISTINCT FROM 'object'
       AND r.result ->> 'step_uuid' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
       AND tasker_message_task_uuid(r.result) IS NOT NULL
       AND jsonb_typeof(r.result -> 'attempt') = 'number';
    IF v_uuids IS NULL THEN
        RETURN QUERY SELECT '{}'::BIGINT[], NULL::BIGINT, NULL::INT, NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL::JSONB,
                            NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::JSONB, NULL::JSONB, NULL::TEXT, NULL::JSONB;
        RETURN;
    END IF;
    -- The orchestrator's lock order (acceptance::lock_rows): tasks in id order, each followed
    -- by its steps. The statements below take their snapshots after these locks, so they see
    -- every change committed before them.
    PERFORM 1
       FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
      WHERE s.uuid = ANY (v_uuids)
        AND t.id = ANY (ARRAY(SELECT k.task_id FROM tasker_workflow_steps k WHERE k.uuid = ANY (v_uuids)))
      ORDER BY t.id, s.id
        FOR UPDATE OF t, s;

    -- Every result naming one of those steps (a failure for one too), matched as text so
    -- that only a checked uuid is cast.
    WITH input AS (
        SELECT r.msg_id, r.result, (r.result ->> 'step_uuid')::uuid AS step_uuid
          FROM unnest(p_msg_ids, p_results) AS r(msg_id, result)
         WHERE r.result ->> 'step_uuid' = ANY (v_uuids::text[])),
    -- A success of the running attempt of a plain step, claimed under the message posted,
    -- of a running task of this queue's namespace, within the size limit; alone in the batch.
    candidates AS (
        SELECT i.msg_id, i.result, s.id, s.task_id
          FROM input i
          JOIN tasker_workflow_steps s ON s.uuid = i.step_uuid
          JOIN tasker_tasks t ON t.id = s.task_id
          JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
          JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
         WHERE s.uuid = ANY (v_uuids)
           AND t.id = ANY (ARRAY(SELECT k.task_id FROM tasker_workflow_steps k WHERE k.uuid = ANY (v_uuids)))
           AND t.uuid::text = i.result ->> 'task_uuid'
           -- Not an index condition: the tasks are found by id, not among every running one.
           AND (t.state = 'in_progress') IS TRUE
           AND s.state = 'in_progress' AND s.attempts::text = i.result ->> 'attempt' AND s.claimed_msg_id = i.msg_id
           AND s.step_type = 'task' AND s.map_step_id IS NULL
           AND ns.name || '_queue' = p_queue
           AND octet_length(COALESCE(i.result -> 'results', 'null'::jsonb)::text) <= p_max_bytes
           AND (SELECT count(*) FROM input j WHERE j.step_uuid = i.step_uuid) = 1),
    counts AS (
        SELECT e.to_step_id AS id, count(*)::int AS n
          FROM candidates c JOIN tasker_step_edges e ON e.from_step_id = c.id
         WHERE e.from_step_id = ANY (ARRAY(SELECT id FROM candidates))
         GROUP BY e.to_step_id),
    children AS (
        SELECT k.id, k.n, ch.task_id, ch.remaining_parents = k.n AS released,
               ch.state = 'pending' AND ch.step_type = 'task' AS startable
          FROM counts k JOIN tasker_workflow_steps ch ON ch.id = k.id
         WHERE ch.id = ANY (ARRAY(SELECT id FROM counts))),
    -- A task's results apply here only when every child they release starts on a worker,
    -- and the task then either keeps an active step (a later result will end it) or has
    -- every step done and no parent step to wake (it completes here).
    tasks AS (
        SELECT g.*, g.active = 0 AS finishes
          FROM (SELECT c.task_id, count(*)::int AS done, r.started, t.steps_active - count(*)::int + r.started AS active,
                       t.steps_total, t.steps_done + count(*)::int AS steps_done, t.steps_failed, t.parent_step_id
                  FROM candidates c JOIN tasker_tasks t ON t.id = c.task_id
                 CROSS JOIN LATERAL (SELECT count(*)::int AS started FROM children k WHERE k.task_id = t.id AND k.released) r
                 WHERE t.id = ANY (ARRAY(SELECT task_id FROM candidates))
                 GROUP BY c.task_id, t.id, r.started) g
         WHERE NOT EXISTS (SELECT 1 FROM children k WHERE k.task_id = g.task_id AND k.released AND NOT k.startable)
           AND (g.active > 0 OR (g.active = 0 AND g.steps_done = g.steps_total AND g.steps_failed = 0 AND g.parent_step_id IS NULL))),
    completed AS (
        UPDATE tasker_workflow_steps s
           SET state = 'complete', updated_at = now(), results = COALESCE(c.result -> 'results', 'null'::jsonb),
               completed_at = now()
          FROM candidates c
         WHERE s.id = ANY (ARRAY(SELECT id FROM candidates)) AND s.id = c.id
           AND c.task_id IN (SELECT task_id FROM tasks)
        RETURNING s.id, s.attempts, c.msg_id,
                  jsonb_build_object('worker_id', c.result -> 'worker_id', 'started_at', c.result -> 'started_at',
                                     'finished_at', c.result -> 'finished_at') AS metadata),
    released AS (
        UPDATE tasker_workflow_steps ch
           SET remaining_parents = ch.remaining_parents - k.n, live_parents = ch.live_parents + k.n, updated_at = now(),
               state = CASE WHEN k.released THEN 'enqueued' ELSE ch.state END,
               attempts = CASE WHEN k.released THEN ch.attempts + 1 ELSE ch.attempts END,
               next_attempt_at = CASE WHEN k.released THEN NULL ELSE ch.next_attempt_at END
          FROM children k
         WHERE ch.id = ANY (ARRAY(SELECT id FROM counts)) AND ch.id = k.id
           AND k.task_id IN (SELECT task_id FROM tasks)
        RETURNING ch.id, ch.task_id, ch.uuid, ch.name, ch.handler, ch.attempts, k.released),
    -- The parents' moves before their children's, as the orchestrator records them.
    recorded AS (
        INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata)
        SELECT m.step_id, m.from_state, m.to_state, m.attempts, m.reason, m.metadata
          FROM (SELECT 1 AS seq, id AS step_id, 'in_progress' AS from_state, 'complete' AS to_state, attempts,
                       'succeeded' AS reason, metadata FROM completed
                UNION ALL
                SELECT 2, id, 'pending', 'enqueued', attempts, 'ready', '{}'::jsonb FROM released WHERE released) m
         ORDER BY m.seq, m.step_id),
    counted AS (
        UPDATE tasker_tasks t
           SET updated_at = now(), steps_done = t.steps_done + k.done, steps_active = t.steps_active - k.done + k.started,
               state = CASE WHEN k.finishes THEN 'complete' ELSE t.state END,
               completed_at = CASE WHEN k.finishes THEN now() ELSE t.completed_at END
          FROM tasks k
         WHERE t.id = ANY (ARRAY(SELECT task_id FROM tasks)) AND t.id = k.task_id),
    finished AS (
        INSERT INTO tasker_task_transitions (task_id, from_state, to_state, reason, metadata)
        SELECT task_id, 'in_progress', 'complete', 'all_steps_complete',
               jsonb_build_object('steps', steps_total, 'done', steps_done, 'failed', steps_failed)
          FROM tasks WHERE finishes ORDER BY task_id)
    SELECT (SELECT array_agg(msg_id ORDER BY msg_id) FROM completed),
           (SELECT array_agg(jsonb_build_object(
                       'kind', 'step', 'task_uuid', t.uuid, 'step_uuid', r.uuid, 'step_name', r.name, 'handler', r.handler,
                       'attempt', r.attempts, 'namespace', ns.name, 'task_name', nt.name, 'task_version', nt.version,
                       'priority', t.priority) ORDER BY r.id)
              FROM released r
              JOIN tasker_tasks t ON t.id = r.task_id
              JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
              JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
             WHERE r.released AND t.id = ANY (ARRAY(SELECT task_id FROM released)))
      INTO v_applied, v_messages;
    v_applied := COALESCE(v_applied, '{}');
    -- The first p_take children go to the posting worker itself: sent as already read by it
    -- (as a read of p_vt seconds would leave them) and claimed for it at once, so its threads
    -- run them with no wake-up and no read. The rest are sent as queues::send_batch sends.
    IF p_take > 0 AND cardinality(v_messages) > 0 THEN
        EXECUTE format('WITH sent AS (
                            INSERT INTO pgmq.%I (vt, read_ct, message)
                            SELECT clock_timestamp() + make_interval(secs => $2), 1, m FROM unnest($1::jsonb[]) AS m
                            RETURNING msg_id, message)
                        SELECT array_agg(msg_id ORDER BY msg_id), array_agg(message ORDER BY msg_id) FROM sent', 'q_' || p_queue)
          INTO v_taken, v_bodies
          USING v_messages[1:p_take], p_vt;
        v_messages := v_messages[p_take + 1:];
    END IF;
    IF cardinality(v_messages) > 0 THEN
        EXECUTE format('INSERT INTO pgmq.%I (vt, message) SELECT clock_timestamp(), unnest($1::jsonb[])', 'q_' || p_queue)
          USING v_messages;
    END IF;
    IF v_taken IS NULL THEN
        RETURN QUERY SELECT v_applied, NULL::BIGINT, NULL::INT, NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL::JSONB,
                            NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::JSONB, NULL::JSONB, NULL::TEXT, NULL::JSONB;
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT $1, q.msg_id, q.read_ct, q.enqueued_at, q.vt, q.message, c.verdict, c.reason, c.step_state, c.task_context,
                c.parent_results, c.traceparent, c.step_details
           FROM pgmq.%I q JOIN tasker_claim_messages($2, $3, $4, $5, $6) c ON c.msg_id = q.msg_id
          WHERE q.msg_id = ANY ($2) ORDER BY q.msg_id', 'q_' || p_queue)
      USING v_applied, v_taken, v_bodies, p_queue, p_worker, p_max_step_bytes;
END;
$$;
