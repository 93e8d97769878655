-- Bounds what is kept for inspection: archived messages (pgmq's a_<queue> tables) and
-- dead letters older than p_keep are deleted. One orchestrator prunes at a time (the others
-- find the advisory lock taken and return NULL). Returns the rows deleted.
CREATE INDEX tasker_dead_letters_created_at_idx ON tasker_dead_letters (created_at);

CREATE FUNCTION tasker_prune_archives(p_keep INTERVAL)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    q TEXT;
    n BIGINT;
    total BIGINT := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('tasker_prune_archives')) THEN
        RETURN NULL;
    END IF;
    FOR q IN SELECT queue_name FROM pgmq.meta LOOP
        EXECUTE format('DELETE FROM pgmq.%I WHERE archived_at < now() - $1', 'a_' || q) USING p_keep;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END LOOP;
    DELETE FROM tasker_dead_letters WHERE created_at < now() - p_keep;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN total + n;
END;
$$;
