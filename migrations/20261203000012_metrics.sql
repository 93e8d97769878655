-- Prometheus counters and histograms (TaskerCore::Web::Probes, GET /metrics), kept in the
-- schema rather than counted from the transitions at scrape time:
-- * a Prometheus counter must never go down except on a restart, and retention prunes
--   transitions and tasks, so counting rows would go down; a window ("the last hour")
--   would be a gauge, not a counter;
-- * a scrape must stay cheap at any history size: it reads a few small rows.
-- Writers never update a shared row (no hot row, no lock order, no deadlock on the hot
-- path): a row-level trigger appends one delta per finished step attempt or task;
-- tasker_metrics_fold() (called by each scrape, one at a time) moves the deltas into the
-- totals in one statement, and tasker_metrics_read() answers totals + unfolded deltas in
-- one snapshot, so every answer is exact and never smaller than an earlier one.
-- The totals persist across restarts (a counter that never resets is still a counter).
-- Unscraped, the deltas grow by one row per finished attempt until the next scrape.

-- The histogram buckets' upper bounds in seconds (+Inf implied), for both histograms.
CREATE OR REPLACE FUNCTION tasker_metric_bounds() RETURNS DOUBLE PRECISION[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]::float8[]
$$;

-- The bounds negated, largest first: width_bucket counts the thresholds <= its operand, so
-- on these it counts the bounds >= seconds (Prometheus' le is an inclusive upper bound).
CREATE OR REPLACE FUNCTION tasker_metric_negated_bounds() RETURNS DOUBLE PRECISION[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(-b ORDER BY b DESC) FROM unnest(tasker_metric_bounds()) b
$$;

-- The bucket an observation falls in: 1-based index of the first bound >= seconds,
-- array_length + 1 for +Inf. One expression (inlined; the arrays are folded to constants).
CREATE OR REPLACE FUNCTION tasker_metric_bucket(seconds DOUBLE PRECISION) RETURNS INT
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_length(tasker_metric_bounds(), 1) + 1 - width_bucket(-seconds, tasker_metric_negated_bounds())
$$;

-- kind 'step': outcome completed / failed / retried (below), seconds the attempt's run (from
-- its claim) or NULL; kind 'task': a task that finished (complete or error), seconds from
-- creation, template "namespace/name@version".
CREATE TABLE IF NOT EXISTS tasker_metric_deltas (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('step', 'task')),
    namespace  TEXT NOT NULL,
    handler    TEXT,
    outcome    TEXT CHECK (outcome IN ('completed', 'failed', 'retried')),
    template   TEXT,
    seconds    DOUBLE PRECISION
);

CREATE TABLE IF NOT EXISTS tasker_metric_step_totals (
    namespace  TEXT NOT NULL,
    handler    TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (namespace, handler, outcome)
);

-- metric 'handler_duration' (label '') or 'task_duration' (label: the template); bucket as
-- tasker_metric_bucket (not cumulative: the reader accumulates), sum of its observations.
CREATE TABLE IF NOT EXISTS tasker_metric_histogram_totals (
    metric  TEXT NOT NULL,
    label   TEXT NOT NULL,
    bucket  INT NOT NULL,
    count   BIGINT NOT NULL,
    sum     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (metric, label, bucket)
);

-- Step outcomes: an attempt completed (in_progress -> complete) or failed (in_progress ->
-- error, final or not: the attempt's run is observed either way), and a failure scheduled
-- for another attempt (-> waiting_for_retry: retried, no run). So failed - retried counts
-- the final failures. A cancel or a manual resolution is no attempt's outcome. An attempt
-- ran from its in_progress transition (index on (step_id, id)).
CREATE OR REPLACE FUNCTION tasker_metric_step_delta() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tasker_metric_deltas (kind, namespace, handler, outcome, seconds)
    SELECT 'step', n.name, s.handler,
           CASE NEW.to_state WHEN 'complete' THEN 'completed' WHEN 'error' THEN 'failed' ELSE 'retried' END,
           CASE WHEN NEW.from_state = 'in_progress' THEN
             (SELECT extract(epoch FROM NEW.created_at - p.created_at)::float8
                FROM tasker_step_transitions p
               WHERE p.step_id = NEW.step_id AND p.to_state = 'in_progress' AND p.id < NEW.id
               ORDER BY p.id DESC LIMIT 1) END
      FROM tasker_workflow_steps s
      JOIN tasker_tasks t ON t.id = s.task_id
      JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
      JOIN tasker_namespaces n ON n.id = nt.namespace_id
     WHERE s.id = NEW.step_id;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS tasker_step_metric_deltas ON tasker_step_transitions;
CREATE TRIGGER tasker_step_metric_deltas AFTER INSERT ON tasker_step_transitions
    FOR EACH ROW WHEN ((NEW.from_state = 'in_progress' AND NEW.to_state IN ('complete', 'error'))
                       OR NEW.to_state = 'waiting_for_retry')
    EXECUTE FUNCTION tasker_metric_step_delta();

CREATE OR REPLACE FUNCTION tasker_metric_task_delta() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tasker_metric_deltas (kind, namespace, template, seconds)
    SELECT 'task', n.name, n.name || '/' || nt.name || '@' || nt.version,
           extract(epoch FROM NEW.created_at - t.created_at)::float8
      FROM tasker_tasks t
      JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
      JOIN tasker_namespaces n ON n.id = nt.namespace_id
     WHERE t.id = NEW.task_id;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS tasker_task_metric_deltas ON tasker_task_transitions;
CREATE TRIGGER tasker_task_metric_deltas AFTER INSERT ON tasker_task_transitions
    FOR EACH ROW WHEN (NEW.to_state IN ('complete', 'error'))
    EXECUTE FUNCTION tasker_metric_task_delta();

-- Moves every delta into the totals in one statement; returns how many. One fold at a
-- time (a concurrent scrape skips its fold: its read still counts the deltas). Totals are
-- written in key order, so two folds could never deadlock even without the lock.
CREATE OR REPLACE FUNCTION tasker_metrics_fold() RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    moved_n BIGINT;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('tasker_metrics_fold')) THEN
        RETURN 0;
    END IF;
    WITH moved AS (DELETE FROM tasker_metric_deltas RETURNING *),
    steps AS (
        INSERT INTO tasker_metric_step_totals AS t (namespace, handler, outcome, count)
        SELECT namespace, handler, outcome, count(*) FROM moved WHERE kind = 'step'
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (namespace, handler, outcome) DO UPDATE SET count = t.count + EXCLUDED.count
        RETURNING 1),
    hist AS (
        INSERT INTO tasker_metric_histogram_totals AS h (metric, label, bucket, count, sum)
        SELECT metric, label, tasker_metric_bucket(seconds), count(*), sum(seconds)
          FROM (SELECT CASE kind WHEN 'step' THEN 'handler_duration' ELSE 'task_duration' END AS metric,
                       CASE kind WHEN 'step' THEN '' ELSE template END AS label, seconds
                  FROM moved WHERE seconds IS NOT NULL) o
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (metric, label, bucket) DO UPDATE SET count = h.count + EXCLUDED.count, sum = h.sum + EXCLUDED.sum
        RETURNING 1)
    SELECT (SELECT count(*) FROM moved) + 0 * ((SELECT count(*) FROM steps) + (SELECT count(*) FROM hist))
      INTO moved_n;
    RETURN moved_n;
END;
$$;

-- Every counter and histogram bucket, totals plus the deltas not folded yet, in one
-- snapshot: family 'steps' (a = namespace, b = handler, c = outcome), 'handler_duration'
-- or 'task_duration' (a = template or '', bucket, count, sum).
CREATE OR REPLACE FUNCTION tasker_metrics_read()
RETURNS TABLE (family TEXT, a TEXT, b TEXT, c TEXT, bucket INT, count BIGINT, sum DOUBLE PRECISION)
LANGUAGE sql STABLE AS $$
    SELECT 'steps', namespace, handler, outcome, NULL::int, sum(n)::bigint, NULL::float8
      FROM (SELECT namespace, handler, outcome, count AS n FROM tasker_metric_step_totals
            UNION ALL
            SELECT namespace, handler, outcome, 1 FROM tasker_metric_deltas WHERE kind = 'step') s
     GROUP BY namespace, handler, outcome
    UNION ALL
    SELECT metric, label, NULL, NULL, bucket, sum(n)::bigint, sum(total)
      FROM (SELECT metric, label, bucket, count AS n, sum AS total FROM tasker_metric_histogram_totals
            UNION ALL
            SELECT CASE kind WHEN 'step' THEN 'handler_duration' ELSE 'task_duration' END,
                   CASE kind WHEN 'step' THEN '' ELSE template END, tasker_metric_bucket(seconds), 1, seconds
              FROM tasker_metric_deltas WHERE seconds IS NOT NULL) h
     GROUP BY metric, label, bucket
    ORDER BY 1, 2, 3, 4, 5
$$;
