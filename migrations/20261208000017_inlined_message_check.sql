-- The step message check as one SQL expression (issue 14). As PL/pgSQL it was a function
-- call per claimed message whose expressions PL/pgSQL sets up again in every transaction:
-- auto_explain put it at 0.3 ms of the claim's 0.9 ms for a batch of four. An SQL function
-- of one expression is inlined into the claim's plan instead, and planned with it once per
-- session. Same checks in the same order, same messages, as migration 7's. (text || text
-- of explicit casts, not format() or text || int: those are only STABLE, and PostgreSQL
-- inlines an IMMUTABLE function only when its body is immutable too.)
CREATE OR REPLACE FUNCTION tasker_step_message_problem(p_message JSONB, p_max_bytes INT)
RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN octet_length(p_message::text) > p_max_bytes
            THEN 'step message of ' || octet_length(p_message::text)::text || ' bytes exceeds the limit of '
                 || p_max_bytes::text || ' bytes'
        WHEN jsonb_typeof(p_message) IS DISTINCT FROM 'object' OR p_message ->> 'kind' IS DISTINCT FROM 'step'
            THEN 'malformed step: expected an object with "kind": "step"'
        -- A step message is lean and flat: every field a string or a number. The first nested
        -- field in jsonb's own key order, as jsonb_each would list it.
        WHEN jsonb_path_exists(p_message, 'strict $.* ? (@.type() == "object" || @.type() == "array")')
            THEN 'malformed step: ' || left(jsonb_path_query_first(p_message,
                     'strict $.keyvalue() ? (@.value.type() == "object" || @.value.type() == "array").key') #>> '{}', 80)
                 || ' must be a string or a number, not nested JSON'
        WHEN jsonb_typeof(p_message -> 'task_uuid') IS DISTINCT FROM 'string'
            THEN 'malformed step: missing field `task_uuid` (a string)'
        WHEN jsonb_typeof(p_message -> 'step_uuid') IS DISTINCT FROM 'string'
            THEN 'malformed step: missing field `step_uuid` (a string)'
        WHEN jsonb_typeof(p_message -> 'step_name') IS DISTINCT FROM 'string'
            THEN 'malformed step: missing field `step_name` (a string)'
        WHEN jsonb_typeof(p_message -> 'handler') IS DISTINCT FROM 'string'
            THEN 'malformed step: missing field `handler` (a string)'
        WHEN jsonb_typeof(p_message -> 'namespace') IS DISTINCT FROM 'string'
            THEN 'malformed step: missing field `namespace` (a string)'
        WHEN jsonb_typeof(p_message -> 'task_name') IS DISTINCT FROM 'string'
            THEN 'malformed step: missing field `task_name` (a string)'
        WHEN jsonb_typeof(p_message -> 'task_version') IS DISTINCT FROM 'string'
            THEN 'malformed step: missing field `task_version` (a string)'
        WHEN p_message ->> 'task_uuid' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
             OR p_message ->> 'step_uuid' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            THEN 'malformed step: task_uuid and step_uuid must be UUIDs'
        WHEN jsonb_typeof(p_message -> 'attempt') IS DISTINCT FROM 'number' OR p_message ->> 'attempt' !~ '^[1-9][0-9]{0,8}$'
            THEN 'malformed step: attempt must be an integer from 1 to 999999999'
        WHEN jsonb_typeof(p_message -> 'priority') NOT IN ('null', 'number')
             OR (jsonb_typeof(p_message -> 'priority') = 'number'
                 AND (p_message ->> 'priority' !~ '^-?[0-9]{1,10}$'
                      OR (p_message -> 'priority')::numeric NOT BETWEEN -2147483648 AND 2147483647))
            THEN 'malformed step: priority must be an integer in the int4 range'
    END
$$;
