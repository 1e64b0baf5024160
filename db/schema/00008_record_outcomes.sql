-- +goose Up
-- chansync_record_outcomes writes the outcomes of one push (one row of
-- sync_state per record named in p_outcomes, a JSON array of objects with
-- the keys of the record type below) and releases their leases, and
-- returns how many rows it wrote. p_outcomes[i].status is the status the
-- outcome moves the record to (internal/syncstatus); outcome is one of
-- accepted, unchanged, failed, dead, blocked, waiting, missing; hash is
-- base64.
--
-- One call writes a whole push's outcomes in one statement. Its plan
-- cannot degrade as the table grows: each record's row is found by its
-- whole primary key, one lookup per record (the LIMIT keeps the planner
-- from flattening the lookups into a join), and updated by its ctid.
-- Written as an UPDATE joined on the key, the statement was planned, while
-- statistics lagged behind a first bulk run, as a scan of every row of the
-- kind (4 ms for 100 records, and growing with the table); written as one
-- UPDATE per record, it cost twice what this does.
--
-- A row updated by someone else between the lookup and the update has
-- moved to a new ctid and is not written: the count returned then falls
-- short, and the caller, which holds the records' leases and expects every
-- row written, rolls back and treats the outcomes as unwritten.
-- +goose StatementBegin
CREATE FUNCTION chansync_record_outcomes(p_target text, p_kind text, p_outcomes jsonb)
RETURNS integer LANGUAGE plpgsql
-- Planned once per session: the lookup names the whole primary key, so
-- its generic plan is the index lookup whatever the statistics say.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    n integer;
BEGIN
    UPDATE sync_state AS s SET
        status = o.status,
        accepted_hash = CASE WHEN o.outcome = 'accepted' THEN decode(o.hash, 'base64') ELSE s.accepted_hash END,
        remote_ref = CASE WHEN coalesce(o.remote_ref, '') <> '' THEN o.remote_ref ELSE s.remote_ref END,
        accepted_at = CASE WHEN o.outcome = 'accepted' THEN now() ELSE s.accepted_at END,
        accepted_payload = CASE WHEN o.outcome = 'accepted' THEN o.accepted_payload ELSE s.accepted_payload END,
        source_updated_at = CASE WHEN o.outcome = 'missing' THEN s.source_updated_at ELSE o.source_updated_at END,
        unsettled_until = CASE WHEN o.outcome = 'missing' THEN s.unsettled_until ELSE o.unsettled_until END,
        attempts = CASE
            WHEN o.outcome IN ('accepted', 'unchanged') THEN 0
            WHEN o.counts_attempt THEN s.attempts + 1
            ELSE s.attempts END,
        last_error = CASE
            WHEN o.outcome IN ('accepted', 'unchanged') THEN NULL
            WHEN o.outcome = 'missing' THEN s.last_error
            ELSE NULLIF(o.error, '') END,
        first_failed_at = CASE
            WHEN o.outcome IN ('accepted', 'unchanged') THEN NULL
            WHEN o.failure THEN coalesce(s.first_failed_at, now())
            ELSE s.first_failed_at END,
        last_failed_at = CASE WHEN o.failure THEN now() ELSE s.last_failed_at END,
        blocked_on_kind = CASE
            WHEN o.outcome IN ('blocked', 'waiting') THEN NULLIF(o.blocked_on_kind, '')
            WHEN o.outcome = 'missing' THEN s.blocked_on_kind
            ELSE NULL END,
        blocked_on_id = CASE
            WHEN o.outcome IN ('blocked', 'waiting') THEN NULLIF(o.blocked_on_id, '')
            WHEN o.outcome = 'missing' THEN s.blocked_on_id
            ELSE NULL END,
        -- The payload is kept for operators only while it is not accepted: an
        -- accepted one is the row's own payload (accepted_hash proves it), and
        -- writing it for every record was most of a bulk run's WAL.
        last_payload = CASE
            WHEN o.outcome IN ('accepted', 'unchanged') THEN NULL
            WHEN o.payload IS NOT NULL THEN o.payload
            ELSE s.last_payload END,
        last_verb = CASE WHEN o.outcome = 'accepted' THEN NULLIF(o.verb, '') ELSE s.last_verb END,
        -- A record the push will look at again in this run keeps its lease.
        lease_until = CASE WHEN o.keep_lease THEN s.lease_until ELSE NULL END,
        lease_holder = CASE WHEN o.keep_lease THEN s.lease_holder ELSE NULL END,
        updated_at = now()
    FROM (
        SELECT x.*, l.ctid AS row_ctid
        FROM jsonb_to_recordset(p_outcomes) AS x(
            record_id text, status text, outcome text, hash text, remote_ref text,
            accepted_payload jsonb, source_updated_at timestamptz, unsettled_until timestamptz,
            counts_attempt boolean, error text, failure boolean, blocked_on_kind text,
            blocked_on_id text, payload jsonb, verb text, keep_lease boolean)
        CROSS JOIN LATERAL (
            SELECT ctid FROM sync_state
            WHERE target = p_target AND kind = p_kind AND record_id = x.record_id
            LIMIT 1
        ) l
    ) o
    WHERE s.ctid = o.row_ctid;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION chansync_record_outcomes(text, text, jsonb);
