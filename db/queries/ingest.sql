-- Writes of the ingest API (internal/ingest): one upsert per table that
-- takes the records as a JSON array whose keys are the column names (the
-- channel API's field names). A field the JSON leaves out becomes NULL: a
-- write replaces the whole record. Rows are written in id order, so that
-- concurrent writes of overlapping batches lock in the same order.

-- name: IngestUpsertUsers :many
-- IngestUpsertUsers inserts or replaces the users in records (a JSON
-- array of request bodies) and returns their ids and whether each was new.
INSERT INTO users (channel_user_id, name, id_card, phone, live_certification, active)
SELECT r.channel_user_id, r.name, r.id_card, r.phone, r.live_certification, coalesce(r.active, true)
FROM jsonb_populate_recordset(NULL::users, @records::jsonb) r
ORDER BY r.channel_user_id
ON CONFLICT (channel_user_id) DO UPDATE SET
    name = excluded.name,
    id_card = excluded.id_card,
    phone = excluded.phone,
    live_certification = excluded.live_certification,
    active = excluded.active
RETURNING channel_user_id::text AS id, (xmax = 0)::boolean AS created;

-- name: IngestUpsertCompanies :many
-- IngestUpsertCompanies inserts or replaces the companies in records (a JSON
-- array of request bodies) and returns their ids and whether each was new.
INSERT INTO companies (channel_company_id, company_name, social_credit_code, legal_person,
    contact_person, contact_phone, business_license, registered_address, business_scope)
SELECT r.channel_company_id, r.company_name, r.social_credit_code, r.legal_person,
    r.contact_person, r.contact_phone, r.business_license, r.registered_address, r.business_scope
FROM jsonb_populate_recordset(NULL::companies, @records::jsonb) r
ORDER BY r.channel_company_id
ON CONFLICT (channel_company_id) DO UPDATE SET
    company_name = excluded.company_name,
    social_credit_code = excluded.social_credit_code,
    legal_person = excluded.legal_person,
    contact_person = excluded.contact_person,
    contact_phone = excluded.contact_phone,
    business_license = excluded.business_license,
    registered_address = excluded.registered_address,
    business_scope = excluded.business_scope
RETURNING channel_company_id::text AS id, (xmax = 0)::boolean AS created;

-- name: IngestUpsertTasks :many
-- IngestUpsertTasks inserts or replaces the tasks in records (a JSON
-- array of request bodies) and returns their ids and whether each was new.
INSERT INTO tasks (channel_task_id, channel_company_id, task_name, task_type, recruit_count,
    recruitment_start_time, recruitment_end_time, work_start_time, work_end_time,
    wage_description, recruitment_description, work_location, job_requirements, salary, status)
SELECT r.channel_task_id, r.channel_company_id, r.task_name, r.task_type, r.recruit_count,
    r.recruitment_start_time, r.recruitment_end_time, r.work_start_time, r.work_end_time,
    r.wage_description, r.recruitment_description, r.work_location, r.job_requirements, r.salary, r.status
FROM jsonb_populate_recordset(NULL::tasks, @records::jsonb) r
ORDER BY r.channel_task_id
ON CONFLICT (channel_task_id) DO UPDATE SET
    channel_company_id = excluded.channel_company_id,
    task_name = excluded.task_name,
    task_type = excluded.task_type,
    recruit_count = excluded.recruit_count,
    recruitment_start_time = excluded.recruitment_start_time,
    recruitment_end_time = excluded.recruitment_end_time,
    work_start_time = excluded.work_start_time,
    work_end_time = excluded.work_end_time,
    wage_description = excluded.wage_description,
    recruitment_description = excluded.recruitment_description,
    work_location = excluded.work_location,
    job_requirements = excluded.job_requirements,
    salary = excluded.salary,
    status = excluded.status
RETURNING channel_task_id::text AS id, (xmax = 0)::boolean AS created;

-- name: IngestUpsertApplications :many
-- IngestUpsertApplications inserts or replaces the applications in records (a JSON
-- array of request bodies) and returns their ids and whether each was new.
INSERT INTO applications (channel_application_id, channel_user_id, channel_task_id, applied_at,
    resume_url, application_channel, status, remark)
SELECT r.channel_application_id, r.channel_user_id, r.channel_task_id, r.applied_at,
    r.resume_url, r.application_channel, r.status, r.remark
FROM jsonb_populate_recordset(NULL::applications, @records::jsonb) r
ORDER BY r.channel_application_id
ON CONFLICT (channel_application_id) DO UPDATE SET
    channel_user_id = excluded.channel_user_id,
    channel_task_id = excluded.channel_task_id,
    applied_at = excluded.applied_at,
    resume_url = excluded.resume_url,
    application_channel = excluded.application_channel,
    status = excluded.status,
    remark = excluded.remark
RETURNING channel_application_id::text AS id, (xmax = 0)::boolean AS created;

-- name: IngestUpsertPayments :many
-- IngestUpsertPayments inserts or replaces the payments in records (a JSON
-- array of request bodies) and returns their ids and whether each was new.
INSERT INTO payments (channel_payment_id, payment_type, channel_user_id, channel_application_id,
    amount, currency, payment_time, payment_method, payment_channel, bank_name, bank_account,
    transaction_no, payment_basis, status, remark)
SELECT r.channel_payment_id, r.payment_type, r.channel_user_id, r.channel_application_id,
    r.amount, r.currency, r.payment_time, r.payment_method, r.payment_channel, r.bank_name, r.bank_account,
    r.transaction_no, r.payment_basis, r.status, r.remark
FROM jsonb_populate_recordset(NULL::payments, @records::jsonb) r
ORDER BY r.channel_payment_id
ON CONFLICT (channel_payment_id) DO UPDATE SET
    payment_type = excluded.payment_type,
    channel_user_id = excluded.channel_user_id,
    channel_application_id = excluded.channel_application_id,
    amount = excluded.amount,
    currency = excluded.currency,
    payment_time = excluded.payment_time,
    payment_method = excluded.payment_method,
    payment_channel = excluded.payment_channel,
    bank_name = excluded.bank_name,
    bank_account = excluded.bank_account,
    transaction_no = excluded.transaction_no,
    payment_basis = excluded.payment_basis,
    status = excluded.status,
    remark = excluded.remark
RETURNING channel_payment_id::text AS id, (xmax = 0)::boolean AS created;

-- name: IngestUpsertGrants :many
-- IngestUpsertGrants inserts or replaces the points grants in records (a
-- JSON array of request bodies) and returns their ids and whether each was
-- new.
INSERT INTO points_grants (external_order_id, channel_user_id, amount_cents, reason)
SELECT r.external_order_id, r.channel_user_id, r.amount_cents, r.reason
FROM jsonb_populate_recordset(NULL::points_grants, @records::jsonb) r
ORDER BY r.external_order_id
ON CONFLICT (external_order_id) DO UPDATE SET
    channel_user_id = excluded.channel_user_id,
    amount_cents = excluded.amount_cents,
    reason = excluded.reason
RETURNING external_order_id::text AS id, (xmax = 0)::boolean AS created;

-- name: IngestDropOutbox :execrows
-- IngestDropOutbox deletes the outbox entries of the named records. The
-- ingest API calls it in the transaction that wrote them, after enqueuing
-- their push itself, so that the triggers' entries do not push them twice.
DELETE FROM sync_outbox WHERE kind = @kind::text AND record_id = ANY(@ids::text[]);
