-- +goose Up
-- The five local tables. Column names are the channel API's field names;
-- nested objects are jsonb columns of the same name. Formats (id card,
-- phone, credit code, enumerations) are checked by the worker before a push,
-- not here, so that an HR system's write never fails on them.

-- +goose StatementBegin
CREATE FUNCTION chansync_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TABLE companies (
    channel_company_id text PRIMARY KEY,
    company_name       text NOT NULL,
    social_credit_code text NOT NULL,
    legal_person       text,
    contact_person     text,
    contact_phone      text,
    business_license   jsonb,
    registered_address text,
    business_scope     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    channel_user_id    text PRIMARY KEY,
    name               text NOT NULL,
    id_card            text NOT NULL,
    phone              text NOT NULL,
    live_certification jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tasks (
    channel_task_id         text PRIMARY KEY,
    channel_company_id      text NOT NULL REFERENCES companies (channel_company_id),
    task_name               text NOT NULL,
    task_type               text NOT NULL,
    recruit_count           integer NOT NULL,
    recruitment_start_time  timestamptz NOT NULL,
    recruitment_end_time    timestamptz NOT NULL,
    work_start_time         timestamptz,
    work_end_time           timestamptz,
    wage_description        text,
    recruitment_description text,
    work_location           text,
    job_requirements        text,
    salary                  jsonb,
    status                  text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_channel_company_id_idx ON tasks (channel_company_id);

CREATE TABLE applications (
    channel_application_id text PRIMARY KEY,
    channel_user_id        text NOT NULL REFERENCES users (channel_user_id),
    channel_task_id        text NOT NULL REFERENCES tasks (channel_task_id),
    applied_at             timestamptz NOT NULL,
    resume_url             text,
    application_channel    text,
    status                 text,
    remark                 text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_channel_user_id_idx ON applications (channel_user_id);
CREATE INDEX applications_channel_task_id_idx ON applications (channel_task_id);

CREATE TABLE payments (
    channel_payment_id     text PRIMARY KEY,
    payment_type           text NOT NULL,
    channel_user_id        text REFERENCES users (channel_user_id),
    channel_application_id text REFERENCES applications (channel_application_id),
    amount                 numeric NOT NULL,
    currency               text,
    payment_time           timestamptz NOT NULL,
    payment_method         text,
    payment_channel        text,
    bank_name              text,
    bank_account           text,
    transaction_no         text,
    payment_basis          jsonb NOT NULL,
    status                 text,
    remark                 text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_channel_user_id_idx ON payments (channel_user_id);
CREATE INDEX payments_channel_application_id_idx ON payments (channel_application_id);

CREATE TRIGGER companies_touch BEFORE UPDATE ON companies FOR EACH ROW EXECUTE FUNCTION chansync_touch_updated_at();
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION chansync_touch_updated_at();
CREATE TRIGGER tasks_touch BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION chansync_touch_updated_at();
CREATE TRIGGER applications_touch BEFORE UPDATE ON applications FOR EACH ROW EXECUTE FUNCTION chansync_touch_updated_at();
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION chansync_touch_updated_at();

-- +goose Down
DROP TABLE payments;
DROP TABLE applications;
DROP TABLE tasks;
DROP TABLE users;
DROP TABLE companies;
DROP FUNCTION chansync_touch_updated_at();
