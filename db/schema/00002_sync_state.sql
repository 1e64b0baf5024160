-- +goose Up
-- Sync state lives beside the data, not in it: one row per local record
-- that chansync has seen, keyed by kind and our channel_*_id.
CREATE TABLE sync_state (
    kind              text NOT NULL CHECK (kind IN ('user', 'company', 'task', 'application', 'payment')),
    record_id         text NOT NULL,
    -- pending: waiting to be pushed; synced: the channel accepted the
    -- payload whose hash is accepted_hash; retrying: a transient failure, a
    -- retry is scheduled; blocked: waits for a parent that is dead; dead:
    -- a permanent failure, waits for a fix and a replay.
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'synced', 'retrying', 'blocked', 'dead')),
    accepted_hash     bytea,
    channel_ref       text,
    accepted_at       timestamptz,
    -- source_updated_at is the row's updated_at as read by the last push.
    source_updated_at timestamptz,
    attempts          integer NOT NULL DEFAULT 0,
    last_error        text,
    first_failed_at   timestamptz,
    last_failed_at    timestamptz,
    blocked_on_kind   text,
    blocked_on_id     text,
    last_payload      jsonb,
    -- A lease marks a record as being pushed, so that two jobs never push
    -- the same record at once.
    lease_until       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, record_id)
);
CREATE INDEX sync_state_status_idx ON sync_state (kind, status) WHERE status <> 'synced';
CREATE INDEX sync_state_blocked_on_idx ON sync_state (blocked_on_kind, blocked_on_id) WHERE status = 'blocked';

-- sync_attempt keeps the recent history of failed pushes per record, for
-- operators; accepted pushes clear nothing here.
CREATE TABLE sync_attempt (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL,
    record_id  text NOT NULL,
    outcome    text NOT NULL,
    error      text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_attempt_record_idx ON sync_attempt (kind, record_id, id);

-- +goose Down
DROP TABLE sync_attempt;
DROP TABLE sync_state;
