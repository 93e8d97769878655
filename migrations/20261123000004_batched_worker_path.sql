-- The worker's claim, callable per message from the worker's read statement (see
-- TaskerCore::Worker::ClaimingReader): a body that names a step and an attempt claims that
-- step (tasker_claim_step); anything else comes back with no claim (claimed NULL) for the
-- worker to set aside. Static SQL only, so its plans are cached per connection.
CREATE FUNCTION tasker_claim_message(p_message JSONB, p_worker TEXT)
RETURNS TABLE (claimed BOOLEAN, step_state TEXT, task_context JSONB, parent_results JSONB)
LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_typeof(p_message) = 'object' AND p_message ->> 'kind' = 'step'
       AND p_message ->> 'step_uuid' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
       AND jsonb_typeof(p_message -> 'attempt') = 'number'
       AND p_message ->> 'attempt' ~ '^[0-9]{1,9}$' THEN
        RETURN QUERY
        SELECT c.claimed, c.step_state, c.task_context, c.parent_results
          FROM tasker_claim_step((p_message ->> 'step_uuid')::uuid, (p_message ->> 'attempt')::int, p_worker) c;
    ELSE
        RETURN QUERY SELECT NULL::BOOLEAN, NULL::TEXT, NULL::JSONB, NULL::JSONB;
    END IF;
END;
$$;

-- Parent lookups by primary key. Joining edges to steps let the planner, misled by the
-- skew of fan-ins (one child with thousands of parents), hash-join against a sequential
-- scan of every step ever created: each claim then cost O(all steps) and throughput fell
-- as history grew. `id = ANY(ARRAY(...))` is an index lookup whatever the estimate.
CREATE OR REPLACE FUNCTION tasker_claim_step(p_step_uuid UUID, p_attempt INT, p_worker TEXT)
RETURNS TABLE (claimed BOOLEAN, step_state TEXT, task_uuid UUID, task_context JSONB, parent_results JSONB)
LANGUAGE plpgsql AS $$
DECLARE
    s tasker_workflow_steps%ROWTYPE;
    t tasker_tasks%ROWTYPE;
BEGIN
    SELECT * INTO s FROM tasker_workflow_steps WHERE uuid = p_step_uuid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::TEXT, NULL::UUID, NULL::JSONB, NULL::JSONB;
        RETURN;
    END IF;
    SELECT * INTO t FROM tasker_tasks WHERE id = s.task_id;
    IF s.attempts <> p_attempt
       OR s.state NOT IN ('enqueued', 'in_progress', 'waiting_for_retry')
       OR t.state <> 'in_progress' THEN
        RETURN QUERY SELECT false, s.state, t.uuid, NULL::JSONB, NULL::JSONB;
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
    UPDATE tasker_workflow_steps SET state = 'in_progress', claims = claims + 1, updated_at = now() WHERE id = s.id;

    RETURN QUERY
    SELECT true, 'in_progress'::TEXT, t.uuid, t.context,
           COALESCE((SELECT jsonb_object_agg(p.name, p.results)
                       FROM tasker_workflow_steps p
                      WHERE p.id = ANY (ARRAY(SELECT e.from_step_id FROM tasker_step_edges e WHERE e.to_step_id = s.id))),
                    '{}'::jsonb);
END;
$$;

CREATE OR REPLACE FUNCTION tasker_step_ancestor_results(p_step_uuid UUID)
RETURNS JSONB
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ancestors (id) AS (
        SELECT e.from_step_id
          FROM tasker_step_edges e
         WHERE e.to_step_id = (SELECT s.id FROM tasker_workflow_steps s WHERE s.uuid = p_step_uuid)
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
