-- Per-message isolation: no message can fail the read of its batch, and the database, not a
-- step message, decides what runs.

-- Any JSON priority orders a message; none can make its INSERT fail. jsonb numbers are
-- numerics, so the cast cannot overflow (1e309 used to overflow the cast to double and
-- made the send itself fail). Same results as before for every value that could be sent.
CREATE OR REPLACE FUNCTION tasker_virtual_time(p_enqueued_at TIMESTAMPTZ, p_message JSONB)
RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT extract(epoch FROM p_enqueued_at)::double precision
         - CASE WHEN jsonb_typeof(p_message -> 'priority') = 'number'
                THEN greatest(-1000000, least(1000000, (p_message -> 'priority')::numeric))::double precision
                ELSE 0 END;
$$;

-- The one way a message is set aside, for the orchestrator (Rust) and the workers (Ruby):
-- a dead letter with the reason, copied from the queue row (its read_ct, and its body when
-- within p_max_bytes), and the message moved to the queue's pgmq archive. Returns false when
-- the message is no longer in the queue (another reader dealt with it).
CREATE FUNCTION tasker_dead_letter(p_queue TEXT, p_msg_id BIGINT, p_kind TEXT, p_reason TEXT,
                                   p_task_uuid UUID, p_max_bytes INT)
RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
    m RECORD;
BEGIN
    IF p_queue !~ '^[a-z][a-z0-9_]{0,46}$' THEN
        RAISE EXCEPTION 'invalid queue name %', p_queue USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT read_ct, message, octet_length(message::text) AS size FROM pgmq.%I WHERE msg_id = $1',
                   'q_' || p_queue)
       INTO m USING p_msg_id;
    IF m IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO tasker_dead_letters (queue_name, msg_id, read_ct, task_uuid, kind, reason, message)
    VALUES (p_queue, p_msg_id, m.read_ct, COALESCE(p_task_uuid, tasker_message_task_uuid(m.message)), p_kind,
            p_reason, CASE WHEN m.size <= p_max_bytes THEN m.message END);
    PERFORM pgmq.archive(p_queue, p_msg_id);
    RETURN true;
END;
$$;

-- The task uuid a message names, when it names one, so even a message that cannot be
-- decoded is traced to its task.
CREATE FUNCTION tasker_message_task_uuid(p_message JSONB)
RETURNS UUID
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p_message) = 'object'
                 AND p_message ->> 'task_uuid' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN (p_message ->> 'task_uuid')::uuid END;
$$;

-- What is wrong with the shape of a step message, or NULL. A step message is lean and
-- flat: every field a string or a number, so it has no depth to worry about.
CREATE FUNCTION tasker_step_message_problem(p_message JSONB, p_max_bytes INT)
RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    size INT := octet_length(p_message::text);
    nested TEXT;
    field TEXT;
BEGIN
    IF size > p_max_bytes THEN
        RETURN format('step message of %s bytes exceeds the limit of %s bytes', size, p_max_bytes);
    END IF;
    IF jsonb_typeof(p_message) IS DISTINCT FROM 'object' OR p_message ->> 'kind' IS DISTINCT FROM 'step' THEN
        RETURN 'malformed step: expected an object with "kind": "step"';
    END IF;
    SELECT e.key INTO nested FROM jsonb_each(p_message) e WHERE jsonb_typeof(e.value) IN ('object', 'array') LIMIT 1;
    IF nested IS NOT NULL THEN
        RETURN format('malformed step: %s must be a string or a number, not nested JSON', left(nested, 80));
    END IF;
    FOREACH field IN ARRAY ARRAY['task_uuid', 'step_uuid', 'step_name', 'handler', 'namespace', 'task_name',
                                 'task_version'] LOOP
        IF jsonb_typeof(p_message -> field) IS DISTINCT FROM 'string' THEN
            RETURN format('malformed step: missing field `%s` (a string)', field);
        END IF;
    END LOOP;
    IF p_message ->> 'task_uuid' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
       OR p_message ->> 'step_uuid' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RETURN 'malformed step: task_uuid and step_uuid must be UUIDs';
    END IF;
    IF jsonb_typeof(p_message -> 'attempt') IS DISTINCT FROM 'number' OR p_message ->> 'attempt' !~ '^[1-9][0-9]{0,8}$' THEN
        RETURN 'malformed step: attempt must be an integer from 1 to 999999999';
    END IF;
    IF jsonb_typeof(p_message -> 'priority') NOT IN ('null', 'number')
       OR (jsonb_typeof(p_message -> 'priority') = 'number'
           AND (p_message ->> 'priority' !~ '^-?[0-9]{1,10}$'
                OR (p_message -> 'priority')::numeric NOT BETWEEN -2147483648 AND 2147483647)) THEN
        RETURN 'malformed step: priority must be an integer in the int4 range';
    END IF;
    RETURN NULL;
END;
$$;

-- The message a running step was claimed under: a copy of a step message under another
-- msg_id (a forged twin, a producer's duplicate) must not run the step a second time while
-- it runs. Its own redelivery (same msg_id, after a worker died) still claims it again.
ALTER TABLE tasker_workflow_steps ADD COLUMN claimed_msg_id BIGINT;

DROP FUNCTION tasker_claim_step(UUID, INT, TEXT);
CREATE FUNCTION tasker_claim_step(p_step_uuid UUID, p_attempt INT, p_worker TEXT, p_msg_id BIGINT DEFAULT NULL)
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
       OR t.state <> 'in_progress'
       OR (s.state = 'in_progress' AND s.claimed_msg_id IS DISTINCT FROM p_msg_id AND p_msg_id IS NOT NULL
           AND s.claimed_msg_id IS NOT NULL) THEN
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
    UPDATE tasker_workflow_steps SET state = 'in_progress', claims = claims + 1, claimed_msg_id = p_msg_id,
                                     updated_at = now()
     WHERE id = s.id;

    RETURN QUERY
    SELECT true, 'in_progress'::TEXT, t.uuid, t.context,
           COALESCE((SELECT jsonb_object_agg(p.name, p.results)
                       FROM tasker_workflow_steps p
                      WHERE p.id = ANY (ARRAY(SELECT e.from_step_id FROM tasker_step_edges e WHERE e.to_step_id = s.id))),
                    '{}'::jsonb);
END;
$$;

-- The worker's claim of one step message, called per message by its read statement
-- (TaskerCore::Worker::ClaimingReader). The message only names a step: its identity (task,
-- step name, handler, namespace, template, and the queue it was read from) must agree with
-- the step's row and its task, or nothing runs. verdict:
--   claimed  the step is now in_progress (recorded); task_context and parent_results given
--   invalid  the message is malformed (reason)           -> dead letter invalid_step_message
--   mismatch its identity disagrees with the database   -> dead letter step_mismatch
--   ignored  unknown step, another attempt, finished step, task not running
--                                                       -> dead letter ignored_step_message
DROP FUNCTION tasker_claim_message(JSONB, TEXT);
CREATE FUNCTION tasker_claim_message(p_message JSONB, p_queue TEXT, p_worker TEXT, p_max_bytes INT, p_msg_id BIGINT)
RETURNS TABLE (verdict TEXT, reason TEXT, step_state TEXT, task_context JSONB, parent_results JSONB)
LANGUAGE plpgsql AS $$
DECLARE
    problem TEXT := tasker_step_message_problem(p_message, p_max_bytes);
    s RECORD;
    c RECORD;
    wrong TEXT[] := '{}';
BEGIN
    IF problem IS NOT NULL THEN
        RETURN QUERY SELECT 'invalid'::TEXT, problem, NULL::TEXT, NULL::JSONB, NULL::JSONB;
        RETURN;
    END IF;
    SELECT st.name, st.handler, st.state, st.attempts, st.claimed_msg_id, t.uuid AS task_uuid, t.state AS task_state,
           ns.name AS namespace, nt.name AS task_name, nt.version AS task_version
      INTO s
      FROM tasker_workflow_steps st
      JOIN tasker_tasks t ON t.id = st.task_id
      JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
      JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
     WHERE st.uuid = (p_message ->> 'step_uuid')::uuid
       FOR UPDATE OF st;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'ignored'::TEXT, format('unknown step %s', p_message ->> 'step_uuid'),
                            NULL::TEXT, NULL::JSONB, NULL::JSONB;
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
                            s.state, NULL::JSONB, NULL::JSONB;
        RETURN;
    END IF;
    IF s.state = 'in_progress' AND s.claimed_msg_id <> p_msg_id AND (p_message ->> 'attempt')::int = s.attempts THEN
        RETURN QUERY SELECT 'ignored'::TEXT,
                            format('attempt %s of step %s is already running under message %s', s.attempts, s.name,
                                   s.claimed_msg_id),
                            s.state, NULL::JSONB, NULL::JSONB;
        RETURN;
    END IF;
    SELECT * INTO c FROM tasker_claim_step((p_message ->> 'step_uuid')::uuid, (p_message ->> 'attempt')::int, p_worker,
                                           p_msg_id);
    IF NOT c.claimed THEN
        RETURN QUERY SELECT 'ignored'::TEXT,
                            format('attempt %s of step %s is not claimable: the step is %s at attempt %s, the task is %s',
                                   p_message ->> 'attempt', s.name, s.state, s.attempts, s.task_state),
                            c.step_state, NULL::JSONB, NULL::JSONB;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'claimed'::TEXT, NULL::TEXT, c.step_state, c.task_context, c.parent_results;
END;
$$;

-- Every reader runs the prioritized read as a static statement of its own language (the Rust
-- core owns it: queues::prioritized_read_sql; Ruby's copy is checked against it). The
-- dynamic-SQL function had no caller left.
DROP FUNCTION tasker_read(TEXT, INT, INT);

-- The task a request's uuid or idempotency key already names, compared with the request:
-- the one definition of an idempotent repeat, asked by the orchestrator (task_requests.rs)
-- and by the Ruby client (enqueue on_conflict: :raise). Contexts are compared as jsonb and
-- digested from jsonb's own text, so key order and spacing do not matter and both sides
-- name the same digests.
CREATE FUNCTION tasker_existing_task(p_uuid UUID, p_key TEXT, p_namespace TEXT, p_name TEXT, p_version TEXT,
                                     p_context JSONB)
RETURNS TABLE (uuid UUID, template TEXT, same BOOLEAN, existing_digest TEXT, requested_digest TEXT)
LANGUAGE sql STABLE AS $$
    SELECT t.uuid, ns.name || '/' || nt.name || '@' || nt.version,
           (ns.name = p_namespace AND nt.name = p_name AND nt.version = p_version AND t.context = p_context
            AND t.idempotency_key IS NOT DISTINCT FROM p_key),
           encode(sha256(convert_to(t.context::text, 'UTF8')), 'hex'),
           encode(sha256(convert_to(p_context::text, 'UTF8')), 'hex')
      FROM tasker_tasks t
      JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
      JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
     WHERE t.uuid = p_uuid OR (t.idempotency_key IS NOT NULL AND t.idempotency_key = p_key)
     LIMIT 1;
$$;
