-- +goose Up
-- page_session holds the status page's logins, so that every worker
-- process accepts them and they survive a restart. The cookie's value is
-- never stored: only its SHA-256. A session ends at expires_at (absolute,
-- set at login) or once last_seen_at is older than the page's idle
-- timeout; last_seen_at is refreshed at most about once a minute.
CREATE TABLE page_session (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE INDEX page_session_expires_at ON page_session (expires_at);
CREATE INDEX page_session_last_seen_at ON page_session (last_seen_at);

-- +goose Down
DROP TABLE page_session;
