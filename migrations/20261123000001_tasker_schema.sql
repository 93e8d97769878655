-- tasker_core schema: templates, tasks, steps, the DAG, and the transition history.
-- The current state lives on the row (readable without scanning history); every change
-- of it is also appended to a transitions table by the state machine.

CREATE TABLE tasker_namespaces (
    id          BIGSERIAL PRIMARY KEY,
    -- "<namespace>_queue" must stay a valid pgmq queue name (<= 47 chars).
    name        TEXT NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,40}$'),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A registered task template. The whole template is kept as JSON so every orchestrator
-- process (on any host) resolves the same definition.
CREATE TABLE tasker_named_tasks (
    id            BIGSERIAL PRIMARY KEY,
    namespace_id  BIGINT NOT NULL REFERENCES tasker_namespaces (id),
    name          TEXT NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    version       TEXT NOT NULL CHECK (version ~ '^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$'),
    description   TEXT,
    template      JSONB NOT NULL,
    digest        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (namespace_id, name, version)
);

CREATE TABLE tasker_named_steps (
    id               BIGSERIAL PRIMARY KEY,
    named_task_id    BIGINT NOT NULL REFERENCES tasker_named_tasks (id),
    name             TEXT NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    handler          TEXT NOT NULL,
    position         INT NOT NULL,
    -- 0 is allowed: the first attempt always runs, there are simply no retries.
    max_attempts     INT NOT NULL CHECK (max_attempts >= 0),
    backoff_base_ms  BIGINT NOT NULL CHECK (backoff_base_ms >= 0),
    backoff_max_ms   BIGINT NOT NULL CHECK (backoff_max_ms >= 0),
    UNIQUE (named_task_id, name)
);

CREATE TABLE tasker_tasks (
    id               BIGSERIAL PRIMARY KEY,
    uuid             UUID NOT NULL UNIQUE,
    named_task_id    BIGINT NOT NULL REFERENCES tasker_named_tasks (id),
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                       ('pending', 'in_progress', 'complete', 'error', 'cancelled', 'resolved_manually')),
    context          JSONB NOT NULL DEFAULT '{}'::jsonb,
    priority         INT NOT NULL DEFAULT 0,
    idempotency_key  TEXT UNIQUE,
    requested_at     TIMESTAMPTZ,
    -- A delayed task is created at once; its first steps become visible at run_at.
    run_at           TIMESTAMPTZ,
    -- Step counts kept by every step transition (in the same transaction), so deciding
    -- whether the task is finished reads one row instead of scanning its steps.
    steps_total      INT NOT NULL DEFAULT 0,
    steps_done       INT NOT NULL DEFAULT 0,   -- complete or resolved_manually
    steps_failed     INT NOT NULL DEFAULT 0,   -- error (failed for good, or about to retry)
    steps_active     INT NOT NULL DEFAULT 0,   -- enqueued, in_progress, waiting_for_retry
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at     TIMESTAMPTZ
);
CREATE INDEX tasker_tasks_state_idx ON tasker_tasks (state) WHERE state IN ('pending', 'in_progress');

-- One row per step of a task. Handler and retry policy are copied from the template so a
-- running task never changes behaviour when its template is re-registered.
CREATE TABLE tasker_workflow_steps (
    id                 BIGSERIAL PRIMARY KEY,
    uuid               UUID NOT NULL UNIQUE,
    task_id            BIGINT NOT NULL REFERENCES tasker_tasks (id) ON DELETE CASCADE,
    named_step_id      BIGINT NOT NULL REFERENCES tasker_named_steps (id),
    name               TEXT NOT NULL,
    handler            TEXT NOT NULL,
    state              TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                         ('pending', 'enqueued', 'in_progress', 'complete', 'error',
                          'waiting_for_retry', 'cancelled', 'resolved_manually')),
    -- The attempt most recently dispatched (0 = never). Step messages and results carry it;
    -- a result whose attempt differs is stale and ignored.
    attempts           INT NOT NULL DEFAULT 0,
    -- Attempts spent before the last operator retry. Attempt numbers keep increasing (so a
    -- result of an old attempt stays recognisably stale); the retry budget counts from here.
    attempts_offset    INT NOT NULL DEFAULT 0,
    -- Times the step was claimed by a worker. More claims than attempts means a message was
    -- redelivered (a worker died, or its visibility timeout passed while it held it).
    claims             INT NOT NULL DEFAULT 0,
    max_attempts       INT NOT NULL,
    backoff_base_ms    BIGINT NOT NULL,
    backoff_max_ms     BIGINT NOT NULL,
    -- Parents not yet finished: a step is ready when this reaches 0, so completing a step
    -- touches only its children.
    remaining_parents  INT NOT NULL,
    results            JSONB,
    last_error         JSONB,
    next_attempt_at    TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at       TIMESTAMPTZ,
    UNIQUE (task_id, name)
);
CREATE INDEX tasker_workflow_steps_task_state_idx ON tasker_workflow_steps (task_id, state);

CREATE TABLE tasker_step_edges (
    from_step_id  BIGINT NOT NULL REFERENCES tasker_workflow_steps (id) ON DELETE CASCADE,
    to_step_id    BIGINT NOT NULL REFERENCES tasker_workflow_steps (id) ON DELETE CASCADE,
    PRIMARY KEY (from_step_id, to_step_id)
);
CREATE INDEX tasker_step_edges_to_idx ON tasker_step_edges (to_step_id);

CREATE TABLE tasker_task_transitions (
    id          BIGSERIAL PRIMARY KEY,
    task_id     BIGINT NOT NULL REFERENCES tasker_tasks (id) ON DELETE CASCADE,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    reason      TEXT,
    metadata    JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX tasker_task_transitions_task_idx ON tasker_task_transitions (task_id, id);

CREATE TABLE tasker_step_transitions (
    id          BIGSERIAL PRIMARY KEY,
    step_id     BIGINT NOT NULL REFERENCES tasker_workflow_steps (id) ON DELETE CASCADE,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    attempt     INT NOT NULL,
    reason      TEXT,
    metadata    JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX tasker_step_transitions_step_idx ON tasker_step_transitions (step_id, id);

-- Messages that could not be processed (bad input, unknown template, stale or duplicate
-- results). Kept with the reason for inspection; nothing is dropped silently.
CREATE TABLE tasker_dead_letters (
    id            BIGSERIAL PRIMARY KEY,
    queue_name    TEXT NOT NULL,
    msg_id        BIGINT,
    read_ct       INT,
    -- task uuid named by the message, when it names one (lets TaskerCore.wait explain a rejection)
    task_uuid     UUID,
    kind          TEXT NOT NULL,
    reason        TEXT NOT NULL,
    message       JSONB,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tasker_dead_letters_task_uuid_idx ON tasker_dead_letters (task_uuid) WHERE task_uuid IS NOT NULL;
