-- Step updates that are HOT (issue 14). A step row is written three times on its way
-- (released, claimed, finished), and every write changes `state`. `state` was in two of
-- its indexes ((task_id, state), and the predicate of the map items' pending index), so no
-- write was HOT: each one added an entry to every index of the table, four per write.
-- pg_waldump of 1,000 diamonds: 59% of all WAL records were B-tree leaf inserts, 49 per
-- step. No index reads `state` now: the two lookups that need it read a generated column
-- that changes only when a step enters or leaves the states they look for, so a plain
-- step's writes leave every indexed value as it was and stay on the row's page (fillfactor
-- leaves the room). Measured: docs/PERFORMANCE.md, sixth round.
--
-- The ADD COLUMN rewrites tasker_workflow_steps (stored generated columns), under an
-- ACCESS EXCLUSIVE lock for the time it takes.
ALTER TABLE tasker_workflow_steps SET (fillfactor = 80);
ALTER TABLE tasker_workflow_steps
    -- The next pending items of a map step (maps::release_pending).
    ADD COLUMN map_pending BOOLEAN GENERATED ALWAYS AS (map_step_id IS NOT NULL AND state = 'pending') STORED,
    -- The states the read model finds steps of a task by (Admin's step_state filter and
    -- step counts); NULL in every other state.
    ADD COLUMN listed_state TEXT GENERATED ALWAYS AS (CASE WHEN state IN ('waiting', 'skipped') THEN state END) STORED;

DROP INDEX tasker_workflow_steps_map_pending_idx;
CREATE INDEX tasker_workflow_steps_map_pending_idx ON tasker_workflow_steps (map_step_id, item_index) WHERE map_pending;
DROP INDEX tasker_workflow_steps_task_state_idx;
CREATE INDEX tasker_workflow_steps_listed_state_idx ON tasker_workflow_steps (task_id, listed_state)
    WHERE listed_state IS NOT NULL;
