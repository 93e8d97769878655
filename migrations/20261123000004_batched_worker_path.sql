-- A worker's hot path in two round trips per batch: read-and-claim, then post results.

-- Reads up to p_qty step messages in priority order (tasker_read) and claims each one's
-- step (tasker_claim_step) in the same transaction. A body that does not name a step uuid
-- and an attempt comes back unclaimed (claimed NULL): the worker sets it aside.
CREATE FUNCTION tasker_read_claim(p_queue TEXT, p_vt INT, p_qty INT, p_worker TEXT)
RETURNS TABLE (msg_id BIGINT, read_ct INT, enqueued_at TIMESTAMPTZ, vt TIMESTAMPTZ, message JSONB,
               claimed BOOLEAN, step_state TEXT, task_context JSONB, parent_results JSONB)
LANGUAGE plpgsql AS $$
DECLARE
    m RECORD;
    c RECORD;
BEGIN
    FOR m IN SELECT * FROM tasker_read(p_queue, p_vt, p_qty) LOOP
        msg_id := m.msg_id; read_ct := m.read_ct; enqueued_at := m.enqueued_at; vt := m.vt; message := m.message;
        claimed := NULL; step_state := NULL; task_context := NULL; parent_results := NULL;
        IF jsonb_typeof(m.message) = 'object' AND m.message ->> 'kind' = 'step'
           AND m.message ->> 'step_uuid' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
           AND jsonb_typeof(m.message -> 'attempt') = 'number'
           AND m.message ->> 'attempt' ~ '^[0-9]{1,9}$' THEN
            SELECT * INTO c FROM tasker_claim_step((m.message ->> 'step_uuid')::uuid, (m.message ->> 'attempt')::int, p_worker);
            claimed := c.claimed; step_state := c.step_state; task_context := c.task_context; parent_results := c.parent_results;
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- Posts the results of step messages of p_queue in one statement: a result is sent to
-- step_results only if its step message is deleted here, i.e. was not redelivered since
-- it was read (read_ct unchanged; pgmq has no receipt handle). Returns the msg_ids whose
-- results were posted.
CREATE FUNCTION tasker_post_results(p_queue TEXT, p_msg_ids BIGINT[], p_read_cts INT[], p_results JSONB[])
RETURNS SETOF BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    held BIGINT[];
BEGIN
    IF p_queue !~ '^[a-z][a-z0-9_]{0,46}$' THEN
        RAISE EXCEPTION 'invalid queue name %', p_queue USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cardinality(p_msg_ids) IS DISTINCT FROM cardinality(p_read_cts)
       OR cardinality(p_msg_ids) IS DISTINCT FROM cardinality(p_results) THEN
        RAISE EXCEPTION 'tasker_post_results: arrays of different lengths' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format($q$
        WITH gone AS (
            DELETE FROM pgmq.%I q
             USING unnest($1::bigint[], $2::int[]) AS h(msg_id, read_ct)
             WHERE q.msg_id = h.msg_id AND q.read_ct = h.read_ct
            RETURNING q.msg_id)
        SELECT coalesce(array_agg(msg_id), '{}') FROM gone$q$, 'q_' || p_queue)
       INTO held
      USING p_msg_ids, p_read_cts;
    IF cardinality(held) > 0 THEN
        PERFORM pgmq.send_batch('step_results',
                                ARRAY(SELECT r.result
                                        FROM unnest(p_msg_ids, p_results) WITH ORDINALITY AS r(msg_id, result, n)
                                       WHERE r.msg_id = ANY(held)
                                       ORDER BY r.n));
    END IF;
    RETURN QUERY SELECT unnest(held);
END;
$$;
