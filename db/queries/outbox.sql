-- The outbox relay.

-- name: TakeOutbox :many
-- TakeOutbox removes and returns up to max_rows due entries: quiet for at
-- least the debounce, or waiting for longer than max_delay. Entries locked
-- by another relay are skipped.
DELETE FROM sync_outbox o
USING (
    SELECT kind, record_id FROM sync_outbox
    WHERE last_changed_at <= clock_timestamp() - make_interval(secs => @debounce_seconds::float8)
       OR first_changed_at <= clock_timestamp() - make_interval(secs => @max_delay_seconds::float8)
    ORDER BY first_changed_at
    LIMIT @max_rows
    FOR UPDATE SKIP LOCKED
) due
WHERE o.kind = due.kind AND o.record_id = due.record_id
RETURNING o.kind, o.record_id, o.first_changed_at, o.changes;

-- name: NextOutboxDue :one
-- NextOutboxDue returns how long until the next entry is due (seconds,
-- possibly negative), or an hour when the outbox is empty.
SELECT coalesce(extract(epoch FROM min(least(
    last_changed_at + make_interval(secs => @debounce_seconds::float8),
    first_changed_at + make_interval(secs => @max_delay_seconds::float8)
)) - clock_timestamp()), 3600)::float8 AS seconds
FROM sync_outbox;

-- name: OutboxLag :one
-- OutboxLag returns the number of entries and the age of the oldest.
SELECT count(*) AS entries,
    coalesce(extract(epoch FROM clock_timestamp() - min(first_changed_at)), 0)::float8 AS oldest_seconds
FROM sync_outbox;

-- name: MarkRelayPass :exec
-- MarkRelayPass records that a relay made a pass now.
INSERT INTO outbox_relay (id, last_pass_at) VALUES (true, now())
ON CONFLICT (id) DO UPDATE SET last_pass_at = excluded.last_pass_at;

-- name: RelayAlive :one
-- RelayAlive reports whether a relay made a pass within the last
-- within_seconds.
SELECT EXISTS (
    SELECT 1 FROM outbox_relay WHERE last_pass_at > now() - make_interval(secs => @within_seconds::float8)
) AS alive;

-- name: OutboxEntries :many
-- OutboxEntries lists the outbox: a full bulk run reads it before it scans,
-- and clears the entries it covered once done (ClearOutboxEntries).
SELECT kind, record_id, last_changed_at FROM sync_outbox;

-- name: ClearOutboxEntries :execrows
-- ClearOutboxEntries removes the named entries (kinds[i], ids[i]) that have
-- not changed since changed[i]: a full bulk run read their rows after they
-- were written, so their change is covered. An entry changed again since
-- stays for the relay or the next run.
DELETE FROM sync_outbox o
USING (
    SELECT unnest(@kinds::text[]) AS kind, unnest(@ids::text[]) AS record_id, unnest(@changed::timestamptz[]) AS changed
) c
WHERE o.kind = c.kind AND o.record_id = c.record_id AND o.last_changed_at = c.changed;
