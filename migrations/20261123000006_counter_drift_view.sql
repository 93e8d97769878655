-- Tasks whose step counters (kept by every step transition, see transitions::move_steps)
-- disagree with their steps. Empty unless there is a bug; the chaos verifier and the test
-- suites check it, and an operator can too.
CREATE VIEW tasker_counter_drift AS
SELECT t.id AS task_id, t.uuid AS task_uuid,
       t.steps_total, t.steps_done, t.steps_failed, t.steps_active,
       actual.total AS actual_total, actual.done AS actual_done,
       actual.failed AS actual_failed, actual.active AS actual_active
  FROM tasker_tasks t
  CROSS JOIN LATERAL (
      SELECT count(*)::int AS total,
             count(*) FILTER (WHERE s.state IN ('complete', 'resolved_manually'))::int AS done,
             count(*) FILTER (WHERE s.state = 'error')::int AS failed,
             count(*) FILTER (WHERE s.state IN ('enqueued', 'in_progress', 'waiting_for_retry'))::int AS active
        FROM tasker_workflow_steps s WHERE s.task_id = t.id) actual
 WHERE (t.steps_total, t.steps_done, t.steps_failed, t.steps_active)
       <> (actual.total, actual.done, actual.failed, actual.active);
