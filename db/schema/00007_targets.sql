-- +goose Up
-- Targets: chansync keeps more than one system in step with the local
-- tables (the channel, the APIHub user centre, APIHub points). Sync state is
-- keyed by target, kind and id; today's state is the channel's.
ALTER TABLE sync_state ADD COLUMN target text NOT NULL DEFAULT 'channel';
ALTER TABLE sync_state ALTER COLUMN target DROP DEFAULT;
ALTER TABLE sync_state DROP CONSTRAINT sync_state_kind_check;
ALTER TABLE sync_state DROP CONSTRAINT sync_state_pkey;
ALTER TABLE sync_state ADD PRIMARY KEY (target, kind, record_id);
-- remote_ref is the target's own id for the record.
ALTER TABLE sync_state RENAME COLUMN channel_ref TO remote_ref;
-- unsettled_until is set while a create may have reached the target
-- without our seeing its success (no answer, a timeout, a 5xx, a worker
-- killed mid-request): the record is looked up before it is created again,
-- and not before this time, when the request can no longer be in flight.
ALTER TABLE sync_state ADD COLUMN unsettled_until timestamptz;
-- accepted_payload is the body last accepted, kept only for kinds whose
-- records may not change once accepted (points grants), to name what
-- changed.
ALTER TABLE sync_state ADD COLUMN accepted_payload jsonb;
-- lease_holder names the push that holds the lease, so that it can take
-- its own leases again while it waits for parents, and renew them.
ALTER TABLE sync_state ADD COLUMN lease_holder text;
DROP INDEX sync_state_status_idx;
CREATE INDEX sync_state_status_idx ON sync_state (target, kind, status) WHERE status <> 'synced';
DROP INDEX sync_state_blocked_on_idx;
CREATE INDEX sync_state_blocked_on_idx ON sync_state (target, blocked_on_kind, blocked_on_id) WHERE status = 'blocked';
-- Leases whose holder died are found by this index and handed to another
-- worker.
CREATE INDEX sync_state_lease_idx ON sync_state (lease_until) WHERE lease_until IS NOT NULL;

ALTER TABLE sync_attempt ADD COLUMN target text NOT NULL DEFAULT 'channel';
ALTER TABLE sync_attempt ALTER COLUMN target DROP DEFAULT;
DROP INDEX sync_attempt_record_idx;
CREATE INDEX sync_attempt_record_idx ON sync_attempt (target, kind, record_id, id);

-- A record's standing as operators see it, computed here and nowhere else
-- (internal/syncstatus): status is the record's sync status (NULL when it
-- has none), pushed_version the version of the local rows its last push
-- read, and row_version their version now.
-- +goose StatementBegin
CREATE FUNCTION chansync_standing(status text, pushed_version timestamptz, row_version timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN status = 'synced' AND pushed_version >= row_version THEN 'in_sync'
        WHEN status IN ('retrying', 'blocked', 'dead') THEN status
        ELSE 'pending'
    END
$$;
-- +goose StatementEnd

-- A hold pauses every push to one target, across worker processes, while
-- the target refuses for a reason that is not a record's (credentials
-- refused, a token endpoint failing, a points pool too low). One push
-- probes it at next_probe_at; its success lifts the hold.
CREATE TABLE target_hold (
    target        text PRIMARY KEY,
    reason        text NOT NULL,
    detail        text,
    since         timestamptz NOT NULL DEFAULT now(),
    next_probe_at timestamptz NOT NULL,
    probes        integer NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- users.active is local only (never sent to the channel): false disables
-- the person's user-centre account.
ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;

-- points_grants: one recharge each, credited exactly once by the points
-- target. external_order_id is 1-64 of [A-Za-z0-9_-] and amount_cents a
-- positive integer: checked by the worker, not here, so that a bad row is
-- reported rather than refused.
CREATE TABLE points_grants (
    external_order_id text PRIMARY KEY,
    channel_user_id   text NOT NULL REFERENCES users (channel_user_id),
    amount_cents      bigint NOT NULL,
    reason            text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX points_grants_channel_user_id_idx ON points_grants (channel_user_id);
CREATE TRIGGER points_grants_touch BEFORE UPDATE ON points_grants FOR EACH ROW EXECUTE FUNCTION chansync_touch_updated_at();
CREATE TRIGGER points_grants_outbox AFTER INSERT OR UPDATE ON points_grants
    FOR EACH ROW EXECUTE FUNCTION chansync_outbox_record('points_grant', 'external_order_id');

-- apihub_projects mirrors APIHub's published project forms (written by
-- chansync, read by HR systems).
CREATE TABLE apihub_projects (
    short_code     text PRIMARY KEY,
    name           text NOT NULL,
    industry       text,
    icon           text,
    tags           text[] NOT NULL DEFAULT '{}',
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    unpublished_at timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER apihub_projects_touch BEFORE UPDATE ON apihub_projects FOR EACH ROW EXECUTE FUNCTION chansync_touch_updated_at();

-- projects_mirror_run records each run of the projects mirror.
CREATE TABLE projects_mirror_run (
    id          bigserial PRIMARY KEY,
    trigger     text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    published   integer NOT NULL DEFAULT 0,
    added       integer NOT NULL DEFAULT 0,
    unpublished integer NOT NULL DEFAULT 0,
    republished integer NOT NULL DEFAULT 0,
    error       text
);

-- bulk_run.kinds now names target/kind pairs.
UPDATE bulk_run SET kinds = ARRAY(SELECT 'channel/' || k FROM unnest(kinds) k);

-- Push jobs are one job kind, "push", naming target, kind and ids. Queued
-- jobs of the old per-kind job kinds are carried over.
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('river_job') IS NOT NULL THEN
        UPDATE river_job
        SET kind = 'push',
            args = jsonb_build_object('target', 'channel', 'kind', substr(kind, 6), 'ids', args -> 'ids')
        WHERE kind IN ('push_user', 'push_company', 'push_task', 'push_application', 'push_payment')
          AND state NOT IN ('completed', 'cancelled', 'discarded');
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE projects_mirror_run;
DROP TABLE apihub_projects;
DROP TABLE points_grants;
ALTER TABLE users DROP COLUMN active;
DROP TABLE target_hold;
DROP FUNCTION chansync_standing(text, timestamptz, timestamptz);
DELETE FROM sync_attempt WHERE target <> 'channel';
DROP INDEX sync_attempt_record_idx;
ALTER TABLE sync_attempt DROP COLUMN target;
CREATE INDEX sync_attempt_record_idx ON sync_attempt (kind, record_id, id);
DELETE FROM sync_state WHERE target <> 'channel';
DROP INDEX sync_state_lease_idx;
DROP INDEX sync_state_blocked_on_idx;
DROP INDEX sync_state_status_idx;
ALTER TABLE sync_state DROP COLUMN lease_holder;
ALTER TABLE sync_state DROP COLUMN accepted_payload;
ALTER TABLE sync_state DROP COLUMN unsettled_until;
ALTER TABLE sync_state RENAME COLUMN remote_ref TO channel_ref;
ALTER TABLE sync_state DROP CONSTRAINT sync_state_pkey;
ALTER TABLE sync_state DROP COLUMN target;
ALTER TABLE sync_state ADD PRIMARY KEY (kind, record_id);
ALTER TABLE sync_state ADD CONSTRAINT sync_state_kind_check CHECK (kind IN ('user', 'company', 'task', 'application', 'payment'));
CREATE INDEX sync_state_status_idx ON sync_state (kind, status) WHERE status <> 'synced';
CREATE INDEX sync_state_blocked_on_idx ON sync_state (blocked_on_kind, blocked_on_id) WHERE status = 'blocked';
UPDATE bulk_run SET kinds = ARRAY(SELECT substr(k, 9) FROM unnest(kinds) k);
