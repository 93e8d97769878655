-- Functions the Ruby workers call. They keep the worker to one round trip per step and
-- keep the one transition a worker performs (enqueued -> in_progress) guarded in the database.

-- Claims a step for one attempt and returns what the handler needs.
-- claimed is false when the message is stale: the step moved on (complete, cancelled,
-- retried under a newer attempt) or its task is no longer running. The worker then drops
-- the message without running the handler.
CREATE FUNCTION tasker_claim_step(p_step_uuid UUID, p_attempt INT, p_worker TEXT)
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
                       FROM tasker_step_edges e
                       JOIN tasker_workflow_steps p ON p.id = e.from_step_id
                      WHERE e.to_step_id = s.id), '{}'::jsonb);
END;
$$;

-- Results of every finished ancestor of a step, by step name (a handler's full `sequence`).
CREATE FUNCTION tasker_step_ancestor_results(p_step_uuid UUID)
RETURNS JSONB
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ancestors (id) AS (
        SELECT e.from_step_id
          FROM tasker_step_edges e
          JOIN tasker_workflow_steps s ON s.id = e.to_step_id
         WHERE s.uuid = p_step_uuid
        UNION
        SELECT e.from_step_id
          FROM tasker_step_edges e
          JOIN ancestors a ON e.to_step_id = a.id
    )
    SELECT COALESCE(jsonb_object_agg(w.name, w.results), '{}'::jsonb)
      FROM ancestors a
      JOIN tasker_workflow_steps w ON w.id = a.id
     WHERE w.state IN ('complete', 'resolved_manually');
$$;
