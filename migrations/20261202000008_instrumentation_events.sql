-- Instrumentation: W3C trace context carried from the enqueuing request to every step, and
-- the task and step transitions that become events, delivered to subscribers in any process
-- (TaskerCore::Instrumentation::EventRelay) through the database: the orchestrator is Rust
-- and never calls back into Ruby.

-- The request's W3C traceparent (version 00 only), so a step's handler can link its work to
-- the request that enqueued it. The core validates it first (messages.rs); the check keeps
-- any other writer to the same rule. NOT VALID: every existing row is NULL, so there is nothing
-- to check, and a large tasks table is not scanned under the ALTER's lock.
ALTER TABLE tasker_tasks ADD COLUMN traceparent TEXT;
ALTER TABLE tasker_tasks ADD CONSTRAINT tasker_tasks_traceparent_check CHECK (
    traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
    AND substr(traceparent, 4, 32) <> repeat('0', 32)
    AND substr(traceparent, 37, 16) <> repeat('0', 16)) NOT VALID;

-- One row per transition that is an event: a task reaching complete, error or cancelled, a
-- step scheduled for a retry. `xid` is the inserting transaction's id, so a relay can take
-- exactly the rows committed since its last read by comparing snapshots (pg_visible_in_snapshot):
-- an id cursor would skip a row whose transaction commits after one with a higher id.
CREATE TABLE tasker_events (
    id             BIGSERIAL PRIMARY KEY,
    xid            XID8 NOT NULL DEFAULT pg_current_xact_id(),
    source         TEXT NOT NULL CHECK (source IN ('task', 'step')),
    transition_id  BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tasker_events_xid_idx ON tasker_events (xid);
CREATE INDEX tasker_events_created_at_idx ON tasker_events (created_at);

-- Row-level with a WHEN clause: for every other transition (the hot path inserts several per
-- step) the condition is evaluated and nothing is queued or called. One NOTIFY per
-- transaction (same channel, same empty payload: PostgreSQL folds them), delivered at commit.
CREATE FUNCTION tasker_record_event() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tasker_events (source, transition_id) VALUES (TG_ARGV[0], NEW.id);
    PERFORM pg_notify('tasker_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER tasker_task_transition_events AFTER INSERT ON tasker_task_transitions
    FOR EACH ROW WHEN (NEW.to_state IN ('complete', 'error', 'cancelled'))
    EXECUTE FUNCTION tasker_record_event('task');

CREATE TRIGGER tasker_step_transition_events AFTER INSERT ON tasker_step_transitions
    FOR EACH ROW WHEN (NEW.to_state = 'waiting_for_retry')
    EXECUTE FUNCTION tasker_record_event('step');

-- The events committed after p_since and visible now, oldest first, each with what its
-- subscribers are told (docs/ARCHITECTURE.md, Events), and the snapshot to pass next time
-- (on every row; one row with NULL event columns when there is none). p_after pages within
-- one snapshot: a relay reading a backlog asks again with the last id it got.
CREATE FUNCTION tasker_events_since(p_since pg_snapshot, p_after BIGINT, p_limit INT)
RETURNS TABLE (snapshot TEXT, event_id BIGINT, source TEXT, transition_id BIGINT, task_uuid UUID, namespace TEXT,
               task_name TEXT, task_version TEXT, to_state TEXT, from_state TEXT, reason TEXT,
               transition_at TIMESTAMPTZ, task_created_at TIMESTAMPTZ, step_name TEXT, step_uuid UUID,
               attempt INT, delay_ms BIGINT, error JSONB, traceparent TEXT)
LANGUAGE sql STABLE AS $$
    WITH now_snapshot AS (SELECT pg_current_snapshot()::text AS snapshot),
    fresh AS (
        SELECT e.id, e.source, e.transition_id FROM tasker_events e
         WHERE e.xid >= pg_snapshot_xmin(p_since) AND NOT pg_visible_in_snapshot(e.xid, p_since) AND e.id > p_after
         ORDER BY e.id LIMIT p_limit),
    described AS (
        SELECT f.id, f.source, f.transition_id, t.uuid AS task_uuid, ns.name AS namespace, nt.name AS task_name,
               nt.version AS task_version, tt.to_state, tt.from_state, tt.reason, tt.created_at AS transition_at,
               t.created_at AS task_created_at, NULL::text AS step_name, NULL::uuid AS step_uuid, NULL::int AS attempt,
               NULL::bigint AS delay_ms, NULL::jsonb AS error, t.traceparent
          FROM fresh f
          JOIN tasker_task_transitions tt ON tt.id = f.transition_id
          JOIN tasker_tasks t ON t.id = tt.task_id
          JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
          JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
         WHERE f.source = 'task'
        UNION ALL
        -- A retry transition records the attempt to come; the error is the failure just
        -- before it (the step's last_error may already be a later one's).
        SELECT f.id, f.source, f.transition_id, t.uuid, ns.name, nt.name, nt.version, st.to_state, st.from_state,
               st.reason, st.created_at, t.created_at, s.name, s.uuid, st.attempt - 1,
               CASE WHEN jsonb_typeof(st.metadata -> 'delay_ms') = 'number' THEN (st.metadata ->> 'delay_ms')::numeric::bigint END,
               failed.metadata, t.traceparent
          FROM fresh f
          JOIN tasker_step_transitions st ON st.id = f.transition_id
          JOIN tasker_workflow_steps s ON s.id = st.step_id
          JOIN tasker_tasks t ON t.id = s.task_id
          JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
          JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
          LEFT JOIN LATERAL (SELECT p.metadata FROM tasker_step_transitions p
                              WHERE p.step_id = st.step_id AND p.id < st.id AND p.to_state = 'error'
                              ORDER BY p.id DESC LIMIT 1) failed ON true
         WHERE f.source = 'step')
    SELECT n.snapshot, d.id, d.source, d.transition_id, d.task_uuid, d.namespace, d.task_name, d.task_version,
           d.to_state, d.from_state, d.reason, d.transition_at, d.task_created_at, d.step_name, d.step_uuid,
           d.attempt, d.delay_ms, d.error, d.traceparent
      FROM now_snapshot n LEFT JOIN described d ON true
     ORDER BY d.id;
$$;

-- The worker's claim, as in migration 7, with the task's traceparent for a claimed step.
-- Every verdict and reason is unchanged; only the column is new (so DROP, not REPLACE: a
-- function's result columns cannot change in place).
DROP FUNCTION tasker_claim_message(JSONB, TEXT, TEXT, INT, BIGINT);
CREATE FUNCTION tasker_claim_message(p_message JSONB, p_queue TEXT, p_worker TEXT, p_max_bytes INT, p_msg_id BIGINT)
RETURNS TABLE (verdict TEXT, reason TEXT, step_state TEXT, task_context JSONB, parent_results JSONB, traceparent TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    problem TEXT := tasker_step_message_problem(p_message, p_max_bytes);
    s RECORD;
    c RECORD;
    wrong TEXT[] := '{}';
BEGIN
    IF problem IS NOT NULL THEN
        RETURN QUERY SELECT 'invalid'::TEXT, problem, NULL::TEXT, NULL::JSONB, NULL::JSONB, NULL::TEXT;
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
                            NULL::TEXT, NULL::JSONB, NULL::JSONB, NULL::TEXT;
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
                            s.state, NULL::JSONB, NULL::JSONB, NULL::TEXT;
        RETURN;
    END IF;
    IF s.state = 'in_progress' AND s.claimed_msg_id <> p_msg_id AND (p_message ->> 'attempt')::int = s.attempts THEN
        RETURN QUERY SELECT 'ignored'::TEXT,
                            format('attempt %s of step %s is already running under message %s', s.attempts, s.name,
                                   s.claimed_msg_id),
                            s.state, NULL::JSONB, NULL::JSONB, NULL::TEXT;
        RETURN;
    END IF;
    SELECT * INTO c FROM tasker_claim_step((p_message ->> 'step_uuid')::uuid, (p_message ->> 'attempt')::int, p_worker,
                                           p_msg_id);
    IF NOT c.claimed THEN
        RETURN QUERY SELECT 'ignored'::TEXT,
                            format('attempt %s of step %s is not claimable: the step is %s at attempt %s, the task is %s',
                                   p_message ->> 'attempt', s.name, s.state, s.attempts, s.task_state),
                            c.step_state, NULL::JSONB, NULL::JSONB, NULL::TEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'claimed'::TEXT, NULL::TEXT, c.step_state, c.task_context, c.parent_results, s.traceparent;
END;
$$;
