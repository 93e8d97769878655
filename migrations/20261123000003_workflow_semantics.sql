-- Reading in priority order with aging, and the status functions.

-- Priority with aging. A message of priority p is ordered as though it had been enqueued
-- p seconds earlier, so urgent work goes first, and a message that has waited longer than
-- the priority gap to newer work overtakes it: nothing starves. (Declared IMMUTABLE so it
-- can be indexed: the epoch of a timestamptz does not depend on the time zone.)
CREATE FUNCTION tasker_virtual_time(p_enqueued_at TIMESTAMPTZ, p_message JSONB)
RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT extract(epoch FROM p_enqueued_at)::double precision
         - CASE WHEN jsonb_typeof(p_message -> 'priority') = 'number'
                THEN greatest(-1000000, least(1000000, (p_message ->> 'priority')::double precision))
                ELSE 0 END;
$$;

-- Wakes readers: one NOTIFY on channel tasker_<queue> per statement that inserts messages
-- (delivered at commit, collapsed within a transaction). Readers LISTEN and still poll
-- slowly as a fallback, since notifications are lossy by design.
CREATE FUNCTION tasker_notify_queue()
RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tasker_' || TG_ARGV[0], '');
    RETURN NULL;
END;
$$;

-- Prepares a queue table for tasker (called when a queue is created; idempotent): the
-- index tasker_read orders by, the wake-up trigger, and autovacuum settings for a table
-- whose every read is an UPDATE.
CREATE FUNCTION tasker_prepare_queue(p_queue TEXT)
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
                    autovacuum_analyze_scale_factor = 0.02)', q);
END;
$$;

-- pgmq.read, ordered by virtual time instead of msg_id. Same visibility and read_ct rules.
CREATE FUNCTION tasker_read(p_queue TEXT, p_vt INT, p_qty INT)
RETURNS TABLE (msg_id BIGINT, read_ct INT, enqueued_at TIMESTAMPTZ, vt TIMESTAMPTZ, message JSONB)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_queue !~ '^[a-z][a-z0-9_]{0,46}$' THEN
        RAISE EXCEPTION 'invalid queue name %', p_queue USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH picked AS (
            SELECT q.msg_id FROM pgmq.%1$I q
             WHERE q.vt <= clock_timestamp()
             ORDER BY tasker_virtual_time(q.enqueued_at, q.message), q.msg_id
             LIMIT $1
             FOR UPDATE SKIP LOCKED)
        , updated AS (
            UPDATE pgmq.%1$I m
               SET last_read_at = clock_timestamp(),
                   vt = clock_timestamp() + make_interval(secs => $2),
                   read_ct = m.read_ct + 1
              FROM picked
             WHERE m.msg_id = picked.msg_id
            RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message)
        -- UPDATE ... RETURNING has no order of its own: hand the batch out in priority order.
        SELECT * FROM updated ORDER BY tasker_virtual_time(updated.enqueued_at, updated.message), updated.msg_id$q$,
        'q_' || p_queue)
    USING p_qty, p_vt;
END;
$$;

-- Per step: can it run now, or when?
CREATE FUNCTION tasker_step_readiness_status(p_task_uuid UUID)
RETURNS TABLE (step_uuid UUID, name TEXT, state TEXT, attempts INT, max_attempts INT,
               remaining_parents INT, dependencies_satisfied BOOLEAN, retry_eligible BOOLEAN,
               next_retry_at TIMESTAMPTZ, ready_for_execution BOOLEAN)
LANGUAGE sql STABLE AS $$
    SELECT s.uuid, s.name, s.state, s.attempts, s.max_attempts, s.remaining_parents,
           s.remaining_parents = 0,
           s.state = 'waiting_for_retry'
             OR (s.state = 'error' AND COALESCE((s.last_error ->> 'retryable')::boolean, true)
                 AND s.attempts - s.attempts_offset < s.max_attempts),
           CASE WHEN s.state = 'waiting_for_retry' THEN s.next_attempt_at END,
           (s.state = 'pending' AND s.remaining_parents = 0)
             OR (s.state = 'waiting_for_retry' AND s.next_attempt_at <= now())
      FROM tasker_workflow_steps s
      JOIN tasker_tasks t ON t.id = s.task_id
     WHERE t.uuid = p_task_uuid
     ORDER BY s.id;
$$;

-- Per task: where does it stand and what should happen next?
-- execution_status, by precedence: all_complete, blocked_by_failures (a step failed for
-- good: takes precedence over ready steps), has_ready_steps, processing,
-- waiting_for_dependencies.
CREATE FUNCTION tasker_task_execution_context(p_task_uuid UUID)
RETURNS TABLE (task_uuid UUID, task_state TEXT, total_steps INT, pending_steps INT, enqueued_steps INT,
               in_progress_steps INT, completed_steps INT, failed_steps INT, waiting_for_retry_steps INT,
               cancelled_steps INT, ready_steps INT, execution_status TEXT, recommended_action TEXT,
               completion_percentage NUMERIC)
LANGUAGE sql STABLE AS $$
    WITH counts AS (
        SELECT t.uuid, t.state AS task_state,
               count(r.step_uuid)::int AS total,
               count(*) FILTER (WHERE r.state = 'pending')::int AS pending,
               count(*) FILTER (WHERE r.state = 'enqueued')::int AS enqueued,
               count(*) FILTER (WHERE r.state = 'in_progress')::int AS in_progress,
               count(*) FILTER (WHERE r.state IN ('complete', 'resolved_manually'))::int AS completed,
               count(*) FILTER (WHERE r.state = 'error' AND NOT r.retry_eligible)::int AS failed,
               count(*) FILTER (WHERE r.state = 'waiting_for_retry')::int AS waiting,
               count(*) FILTER (WHERE r.state = 'cancelled')::int AS cancelled,
               count(*) FILTER (WHERE r.ready_for_execution)::int AS ready
          FROM tasker_tasks t
          LEFT JOIN LATERAL tasker_step_readiness_status(t.uuid) r ON true
         WHERE t.uuid = p_task_uuid
         GROUP BY t.uuid, t.state
    ), classified AS (
        SELECT c.*,
               CASE WHEN c.total > 0 AND c.completed = c.total THEN 'all_complete'
                    WHEN c.failed > 0 THEN 'blocked_by_failures'
                    WHEN c.ready > 0 THEN 'has_ready_steps'
                    WHEN c.enqueued + c.in_progress + c.waiting > 0 THEN 'processing'
                    ELSE 'waiting_for_dependencies' END AS status
          FROM counts c
    )
    SELECT uuid, task_state, total, pending, enqueued, in_progress, completed, failed, waiting, cancelled, ready,
           status,
           CASE status WHEN 'all_complete' THEN 'finalize_task'
                       WHEN 'blocked_by_failures' THEN 'handle_failures'
                       WHEN 'has_ready_steps' THEN 'execute_ready_steps'
                       WHEN 'processing' THEN 'wait_for_completion'
                       ELSE 'wait_for_dependencies' END,
           CASE WHEN total = 0 THEN 0 ELSE round(100.0 * completed / total, 2) END
      FROM classified;
$$;
