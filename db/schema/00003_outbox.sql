-- +goose Up
-- The outbox: a trigger on each local table records every committed insert
-- or update here, in the writer's own transaction, and notifies the worker.
-- One row per record coalesces bursts of changes; the worker's relay moves
-- due rows into River jobs in one transaction, so none is lost or relayed
-- twice. A rolled-back write leaves nothing behind.
CREATE TABLE sync_outbox (
    kind             text NOT NULL,
    record_id        text NOT NULL,
    first_changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    changes          integer NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, record_id)
);
CREATE INDEX sync_outbox_first_changed_idx ON sync_outbox (first_changed_at);

-- +goose StatementBegin
CREATE FUNCTION chansync_outbox_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rec_id text := to_jsonb(NEW) ->> TG_ARGV[1];
BEGIN
    INSERT INTO sync_outbox (kind, record_id)
    VALUES (TG_ARGV[0], rec_id)
    ON CONFLICT (kind, record_id) DO UPDATE
        SET last_changed_at = clock_timestamp(), changes = sync_outbox.changes + 1;
    PERFORM pg_notify('chansync_outbox', TG_ARGV[0]);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER companies_outbox AFTER INSERT OR UPDATE ON companies
    FOR EACH ROW EXECUTE FUNCTION chansync_outbox_record('company', 'channel_company_id');
CREATE TRIGGER users_outbox AFTER INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION chansync_outbox_record('user', 'channel_user_id');
CREATE TRIGGER tasks_outbox AFTER INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION chansync_outbox_record('task', 'channel_task_id');
CREATE TRIGGER applications_outbox AFTER INSERT OR UPDATE ON applications
    FOR EACH ROW EXECUTE FUNCTION chansync_outbox_record('application', 'channel_application_id');
CREATE TRIGGER payments_outbox AFTER INSERT OR UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION chansync_outbox_record('payment', 'channel_payment_id');

-- +goose Down
DROP TRIGGER payments_outbox ON payments;
DROP TRIGGER applications_outbox ON applications;
DROP TRIGGER tasks_outbox ON tasks;
DROP TRIGGER users_outbox ON users;
DROP TRIGGER companies_outbox ON companies;
DROP FUNCTION chansync_outbox_record();
DROP TABLE sync_outbox;
