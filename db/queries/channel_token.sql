-- The shared channel token.

-- name: LockChannelToken :exec
-- LockChannelToken serialises token fetches across processes for the
-- rest of the transaction.
SELECT pg_advisory_xact_lock(hashtext('chansync_channel_token'));

-- name: GetChannelToken :one
SELECT * FROM channel_token WHERE id = 1;

-- name: PutChannelToken :exec
INSERT INTO channel_token (id, access_token, refresh_token, expires_at, fetched_at, fetched_by)
VALUES (1, @access_token, @refresh_token, @expires_at, now(), @fetched_by)
ON CONFLICT (id) DO UPDATE SET access_token = excluded.access_token,
    refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
    fetched_at = now(), fetched_by = excluded.fetched_by;
