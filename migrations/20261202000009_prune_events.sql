-- The orchestrator's retention also bounds tasker_events (the relayed events' record): it
-- grew without bound wherever no EventRelay ran to prune it. Same lock and interval as the
-- archives and dead letters; a relay's own, shorter, retention still applies where one runs.
CREATE OR REPLACE FUNCTION tasker_prune_archives(p_keep INTERVAL)
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
    total := total + n;
    DELETE FROM tasker_events WHERE created_at < now() - p_keep;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN total + n;
END;
$$;
