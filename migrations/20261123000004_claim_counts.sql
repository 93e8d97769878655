-- Crash visibility: how many times each step was claimed. A claim beyond the first for the
-- same attempt means its message was redelivered (a worker died or its visibility timeout
-- passed while it held the message).
ALTER TABLE tasker_workflow_steps ADD COLUMN claims INT NOT NULL DEFAULT 0;

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
                       FROM tasker_step_edges e
                       JOIN tasker_workflow_steps p ON p.id = e.from_step_id
                      WHERE e.to_step_id = s.id), '{}'::jsonb);
END;
$$;
