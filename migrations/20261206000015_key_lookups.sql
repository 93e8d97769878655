-- Rows found by key in every hot statement (issue 14). The sessions run generic plans
-- (plan_cache_mode), and a join of the claim's steps with their tasks let the generic plan
-- hash-join a scan of every task, whose cost grows with the table: the tasks are now looked
-- up by key as well. As migration 14's function otherwise.
CREATE OR REPLACE FUNCTION tasker_claim_messages(p_msg_ids BIGINT[], p_messages JSONB[], p_queue TEXT, p_worker TEXT,
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
           AND t.id = ANY (ARRAY(SELECT k.task_id FROM tasker_workflow_steps k
                                  WHERE k.uuid = ANY (ARRAY(SELECT i.step_uuid FROM input i WHERE i.step_uuid IS NOT NULL))))
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
