-- For sqlc's type checking only: the columns of River's river_job table
-- that chansync's queries read. River's own migrations (rivermigrate)
-- create the real table; this file is never applied.
CREATE TYPE river_job_state AS ENUM ('available', 'cancelled', 'completed', 'discarded', 'pending', 'retryable', 'running', 'scheduled');
CREATE TABLE river_job (
    id bigserial PRIMARY KEY,
    state river_job_state NOT NULL,
    attempt smallint NOT NULL,
    max_attempts smallint NOT NULL,
    kind text NOT NULL,
    queue text NOT NULL,
    args jsonb NOT NULL,
    errors jsonb[],
    scheduled_at timestamptz NOT NULL,
    attempted_at timestamptz,
    finalized_at timestamptz,
    created_at timestamptz NOT NULL
);
