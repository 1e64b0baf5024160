-- +goose Up
-- last_verb tells whether the last accepted push created or updated the
-- record on the channel (for run summaries).
ALTER TABLE sync_state ADD COLUMN last_verb text;

-- bulk_run records each bulk run (enqueue all, or the nightly schedule):
-- what it scanned and enqueued, so that its progress and summary can be
-- told from sync_state afterwards.
CREATE TABLE bulk_run (
    id          bigserial PRIMARY KEY,
    trigger     text NOT NULL,
    force       boolean NOT NULL DEFAULT false,
    kinds       text[] NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    enqueued_at timestamptz,
    finished_at timestamptz,
    scanned     integer NOT NULL DEFAULT 0,
    enqueued    integer NOT NULL DEFAULT 0,
    unchanged   integer NOT NULL DEFAULT 0,
    -- scan holds the per-kind figures of the scan as JSON.
    scan        jsonb NOT NULL DEFAULT '[]'
);

-- replay_log records every replay and push asked for by an operator.
CREATE TABLE replay_log (
    id         bigserial PRIMARY KEY,
    actor      text NOT NULL,
    filter     text NOT NULL,
    count      integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE replay_log;
DROP TABLE bulk_run;
ALTER TABLE sync_state DROP COLUMN last_verb;
