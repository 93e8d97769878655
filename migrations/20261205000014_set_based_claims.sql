-- Set-based hot path (issue 14): a worker's batch of step messages is judged and claimed by
-- ONE call that runs one set-based statement, instead of a PL/pgSQL call per message
-- running five. (The step metrics trigger stays per row: a statement-level trigger fires for
-- every insert of transitions, and most of them, claims and dispatches, have no metric.)

-- Judges and claims a batch of step messages (msg_ids and bodies, in the same order): one
-- row per message with its verdict, as tasker_claim_message documents. Every message is
-- judged on its own: a malformed one (`invalid`), one naming no step (`ignored`), one that
-- disagrees with its step (`mismatch`) or finds it not claimable (`ignored`) changes nothing
-- and cannot fail the others. Two messages for one step's attempt in a batch: one claims
-- it, the other is told the attempt already runs under it.
CREATE FUNCTION tasker_claim_messages(p_msg_ids BIGINT[], p_messages JSONB[], p_queue TEXT, p_worker TEXT,
                                      p_max_bytes INT)
RETURNS TABLE (msg_id BIGINT, verdict TEXT, reason TEXT, step_state TEXT, task_context JSONB, parent_results JSONB,
               traceparent TEXT, step_details JSONB)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH checked AS MATERIALIZED (
        SELECT i.msg_id AS m_id, i.message, tasker_step_message_problem(i.message, p_max_bytes) AS problem
          FROM unnest(p_msg_ids, p_messages) AS i(msg_id, message)),
    -- Casts only where the shape was checked (CASE is evaluated in order; AND is not).
    input AS MATERIALIZED (
        SELECT c.m_id, c.message, c.problem,
               CASE WHEN c.problem IS NULL THEN (c.message ->> 'step_uuid')::uuid END AS step_uuid,
               CASE WHEN c.problem IS NULL THEN (c.message ->> 'task_uuid')::uuid END AS task_uuid,
               CASE WHEN c.problem IS NULL THEN (c.message ->> 'attempt')::int END AS attempt
          FROM checked c),
    -- The named steps, locked; tasks are read, not locked (as before).
    steps AS (
        SELECT st.id, st.uuid, st.name, st.handler, st.state, st.attempts, st.claimed_msg_id, st.step_type,
               st.map_step_id, st.item_index, st.item, st.settings, t.uuid AS t_uuid, t.state AS task_state,
               t.traceparent AS t_traceparent, t.context, ns.name AS namespace, nt.name AS task_name,
               nt.version AS task_version
          FROM tasker_workflow_steps st
          JOIN tasker_tasks t ON t.id = st.task_id
          JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
          JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
         WHERE st.uuid = ANY (ARRAY(SELECT i.step_uuid FROM input i WHERE i.step_uuid IS NOT NULL))
           FOR UPDATE OF st),
    judged AS (
        SELECT i.m_id, i.message, i.problem, i.attempt, s.*,
               CASE WHEN s.id IS NOT NULL THEN array_remove(ARRAY[
                   CASE WHEN i.task_uuid <> s.t_uuid
                        THEN format('task_uuid %s (the step belongs to task %s)', i.message ->> 'task_uuid', s.t_uuid) END,
                   CASE WHEN i.message ->> 'step_name' <> s.name
                        THEN format('step_name %s (the step is %s)', left(i.message ->> 'step_name', 80), s.name) END,
                   CASE WHEN i.message ->> 'handler' <> s.handler
                        THEN format('handler %s (the step runs %s)', left(i.message ->> 'handler', 200), s.handler) END,
                   CASE WHEN i.message ->> 'namespace' <> s.namespace OR i.message ->> 'task_name' <> s.task_name
                             OR i.message ->> 'task_version' <> s.task_version
                        THEN format('template %s/%s@%s (the task is %s/%s@%s)', left(i.message ->> 'namespace', 80),
                                    left(i.message ->> 'task_name', 80), left(i.message ->> 'task_version', 80),
                                    s.namespace, s.task_name, s.task_version) END,
                   CASE WHEN p_queue <> s.namespace || '_queue'
                        THEN format('read from queue %s (the task''s queue is %s_queue)', p_queue, s.namespace) END
               ], NULL) END AS wrong
          FROM input i LEFT JOIN steps s ON s.uuid = i.step_uuid),
    classified AS MATERIALIZED (
        SELECT j.*,
               CASE WHEN j.problem IS NOT NULL THEN 'invalid'
                    WHEN j.id IS NULL THEN 'unknown'
                    WHEN cardinality(j.wrong) > 0 THEN 'mismatch'
                    -- A copy under another msg_id (a forged twin, a producer's duplicate).
                    WHEN j.state = 'in_progress' AND j.claimed_msg_id <> j.m_id AND j.attempt = j.attempts THEN 'running'
                    WHEN j.attempts <> j.attempt OR j.state NOT IN ('enqueued', 'in_progress', 'waiting_for_retry')
                         OR j.task_state <> 'in_progress'
                         OR (j.state = 'in_progress' AND j.claimed_msg_id IS DISTINCT FROM j.m_id AND j.m_id IS NOT NULL
                             AND j.claimed_msg_id IS NOT NULL) THEN 'unclaimable'
                    ELSE 'claimable' END AS kind
          FROM judged j),
    -- One claim per step: of two claimable messages for one step, the UPDATE takes one (its
    -- msg_id is returned); the other is told the attempt already runs under it.
    claimed AS (
        UPDATE tasker_workflow_steps w
           SET state = 'in_progress', claims = w.claims + 1, claimed_msg_id = c.m_id, updated_at = now()
          FROM classified c WHERE c.kind = 'claimable' AND w.id = c.id
        RETURNING w.id, c.m_id, c.state AS from_state, c.attempts),
    -- A delayed retry's message became visible: the retry is enqueued, then claimed. A
    -- redelivered in_progress step is claimed again with no state change (claims counts it).
    recorded AS (
        INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata)
        SELECT m.step_id, m.from_state, m.to_state, m.attempt, m.reason, m.metadata
          FROM claimed c CROSS JOIN LATERAL (VALUES
                 (1, c.id, 'waiting_for_retry', 'enqueued', c.attempts, 'retry_due', '{}'::jsonb),
                 (2, c.id, 'enqueued', 'in_progress', c.attempts, 'claimed', jsonb_build_object('worker', p_worker))
               ) AS m(seq, step_id, from_state, to_state, attempt, reason, metadata)
         WHERE (m.seq = 1 AND c.from_state = 'waiting_for_retry') OR (m.seq = 2 AND c.from_state IN ('enqueued', 'waiting_for_retry'))
         ORDER BY m.seq),
    claims AS (
        SELECT c.*, w.id IS NOT NULL AND w.m_id IS NOT DISTINCT FROM c.m_id AS won, w.m_id AS winner
          FROM classified c LEFT JOIN claimed w ON w.id = c.id)
    SELECT c.m_id,
           CASE WHEN c.won THEN 'claimed' WHEN c.kind = 'invalid' THEN 'invalid' WHEN c.kind = 'mismatch' THEN 'mismatch'
                ELSE 'ignored' END,
           CASE c.kind
               WHEN 'invalid' THEN c.problem
               WHEN 'unknown' THEN format('unknown step %s', c.message ->> 'step_uuid')
               WHEN 'mismatch' THEN 'step message disagrees with the database: ' || array_to_string(c.wrong, '; ')
               WHEN 'running' THEN format('attempt %s of step %s is already running under message %s', c.attempts, c.name,
                                          c.claimed_msg_id)
               WHEN 'unclaimable' THEN format('attempt %s of step %s is not claimable: the step is %s at attempt %s, the task is %s',
                                              c.message ->> 'attempt', c.name, c.state, c.attempts, c.task_state)
               ELSE CASE WHEN NOT c.won THEN format('attempt %s of step %s is already running under message %s',
                                                    c.attempts, c.name, c.winner) END
           END,
           CASE WHEN c.won THEN 'in_progress' ELSE c.state END,
           CASE WHEN c.won THEN c.context END,
           p.results,
           CASE WHEN c.won THEN c.t_traceparent END,
           CASE WHEN c.won AND (c.step_type <> 'task' OR p.skipped IS NOT NULL) THEN
               jsonb_build_object('type', c.step_type, 'skipped', to_jsonb(COALESCE(p.skipped, '{}'::TEXT[])))
               || CASE WHEN c.map_step_id IS NOT NULL THEN
                      jsonb_build_object('index', c.item_index, 'item', c.item,
                                         'map', (SELECT m.name FROM tasker_workflow_steps m WHERE m.id = c.map_step_id))
                  ELSE '{}'::jsonb END
               || CASE WHEN c.step_type = 'decision' THEN jsonb_build_object('branches', c.settings -> 'branches')
                  ELSE '{}'::jsonb END
           END
      FROM claims c
      -- Parents' results leave out skipped parents; an item sees its map step's parents but
      -- the one it maps over (its element is `item`: the whole array would cost every item
      -- the size of the map).
      LEFT JOIN LATERAL (
          SELECT COALESCE(jsonb_object_agg(p.name, p.results) FILTER (WHERE p.state <> 'skipped'), '{}'::jsonb) AS results,
                 array_agg(p.name ORDER BY p.name) FILTER (WHERE p.state = 'skipped') AS skipped
            FROM tasker_workflow_steps p
           WHERE c.won
             AND p.id = ANY (ARRAY(SELECT e.from_step_id FROM tasker_step_edges e
                                    WHERE e.to_step_id = COALESCE(c.map_step_id, c.id)))
             AND (c.map_step_id IS NULL
                  OR p.name IS DISTINCT FROM (SELECT m.settings ->> 'over' FROM tasker_workflow_steps m
                                               WHERE m.id = c.map_step_id))
      ) p ON c.won;
END;
$$;

-- One message: the batch function with a batch of one.
DROP FUNCTION tasker_claim_message(JSONB, TEXT, TEXT, INT, BIGINT);
CREATE FUNCTION tasker_claim_message(p_message JSONB, p_queue TEXT, p_worker TEXT, p_max_bytes INT, p_msg_id BIGINT)
RETURNS TABLE (verdict TEXT, reason TEXT, step_state TEXT, task_context JSONB, parent_results JSONB, traceparent TEXT,
               step_details JSONB)
LANGUAGE sql AS $$
    SELECT c.verdict, c.reason, c.step_state, c.task_context, c.parent_results, c.traceparent, c.step_details
      FROM tasker_claim_messages(ARRAY[p_msg_id], ARRAY[p_message], p_queue, p_worker, p_max_bytes) c
$$;

-- Claims a step's attempt by its uuid (tests, tools): the message its step would be sent.
DROP FUNCTION tasker_claim_step(UUID, INT, TEXT, BIGINT);
CREATE FUNCTION tasker_claim_step(p_step_uuid UUID, p_attempt INT, p_worker TEXT, p_msg_id BIGINT DEFAULT NULL)
RETURNS TABLE (claimed BOOLEAN, step_state TEXT, task_uuid UUID, task_context JSONB, parent_results JSONB,
               step_details JSONB)
LANGUAGE sql AS $$
    SELECT c.verdict = 'claimed', c.step_state, m.task_uuid, c.task_context, c.parent_results, c.step_details
      FROM (SELECT t.uuid AS task_uuid, ns.name AS namespace,
                   jsonb_build_object('kind', 'step', 'task_uuid', t.uuid, 'step_uuid', st.uuid, 'step_name', st.name,
                                      'handler', COALESCE(st.handler, ''), 'attempt', p_attempt, 'namespace', ns.name,
                                      'task_name', nt.name, 'task_version', nt.version) AS message
              FROM tasker_workflow_steps st
              JOIN tasker_tasks t ON t.id = st.task_id
              JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
              JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
             WHERE st.uuid = p_step_uuid) m
      CROSS JOIN LATERAL tasker_claim_messages(ARRAY[p_msg_id], ARRAY[m.message], m.namespace || '_queue', p_worker,
                                               2147483647) c
    UNION ALL
    SELECT false, NULL, NULL, NULL, NULL, NULL
     WHERE NOT EXISTS (SELECT 1 FROM tasker_workflow_steps WHERE uuid = p_step_uuid)
$$;

-- Queue tables are never truncated by vacuum: truncating takes an ACCESS EXCLUSIVE lock,
-- which on a busy queue a vacuum waits for (up to 5 s, retrying) and, once it has it,
-- stalls every reader and writer. The pages are reused instead. As migration 3's, with
-- vacuum_truncate off; applied to the queues that exist.
CREATE OR REPLACE FUNCTION tasker_prepare_queue(p_queue TEXT)
RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    q TEXT := 'q_' || p_queue;
BEGIN
    IF p_queue !~ '^[a-z][a-z0-9_]{0,46}$' THEN
        RAISE EXCEPTION 'invalid queue name %', p_queue USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (tasker_virtual_time(enqueued_at, message), msg_id)',
                   q || '_tasker_vt_idx', q);
    EXECUTE format('CREATE OR REPLACE TRIGGER tasker_notify AFTER INSERT ON pgmq.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION tasker_notify_queue(%L)', q, p_queue);
    -- Vacuum after 1% of the rows changed (not 20%), without cost-based throttling.
    EXECUTE format('ALTER TABLE pgmq.%I SET (autovacuum_vacuum_scale_factor = 0.01,
                    autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0,
                    autovacuum_analyze_scale_factor = 0.02, vacuum_truncate = false)', q);
END;
$$;

-- The same values as migration 7's, from immutable parts only: extract(epoch FROM a
-- timestamptz) is STABLE, which kept PostgreSQL from inlining the function, so every read's
-- ORDER BY and every index entry of every queue insert and read ran it as a SQL function
-- call (planned anew for each statement). An interval's epoch is immutable.
CREATE OR REPLACE FUNCTION tasker_virtual_time(p_enqueued_at TIMESTAMPTZ, p_message JSONB)
RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT extract(epoch FROM p_enqueued_at - to_timestamp(0))::double precision
         - CASE WHEN jsonb_typeof(p_message -> 'priority') = 'number'
                THEN greatest(-1000000, least(1000000, (p_message -> 'priority')::numeric))::double precision
                ELSE 0 END;
$$;

-- Every existing queue: prepared again (vacuum_truncate), its virtual-time index rebuilt
-- with the function above (same values; rebuilt so no index ever mixes two definitions).
DO $$
DECLARE
    queue TEXT;
BEGIN
    FOR queue IN SELECT queue_name FROM pgmq.meta WHERE to_regclass(format('pgmq.%I', 'q_' || queue_name)) IS NOT NULL LOOP
        PERFORM tasker_prepare_queue(queue);
        EXECUTE format('REINDEX INDEX pgmq.%I', 'q_' || queue || '_tasker_vt_idx');
    END LOOP;
END;
$$;
