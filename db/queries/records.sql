-- Reads of the five local tables, by id and in keyset pages.

-- name: UsersByID :many
SELECT * FROM users WHERE channel_user_id = ANY(@ids::text[]);

-- name: CompaniesByID :many
SELECT * FROM companies WHERE channel_company_id = ANY(@ids::text[]);

-- name: TasksByID :many
SELECT * FROM tasks WHERE channel_task_id = ANY(@ids::text[]);

-- name: ApplicationsByID :many
SELECT * FROM applications WHERE channel_application_id = ANY(@ids::text[]);

-- name: PaymentsByID :many
SELECT * FROM payments WHERE channel_payment_id = ANY(@ids::text[]);

-- name: UsersPage :many
SELECT * FROM users WHERE channel_user_id > @after::text ORDER BY channel_user_id LIMIT @page_size;

-- name: CompaniesPage :many
SELECT * FROM companies WHERE channel_company_id > @after::text ORDER BY channel_company_id LIMIT @page_size;

-- name: TasksPage :many
SELECT * FROM tasks WHERE channel_task_id > @after::text ORDER BY channel_task_id LIMIT @page_size;

-- name: ApplicationsPage :many
SELECT * FROM applications WHERE channel_application_id > @after::text ORDER BY channel_application_id LIMIT @page_size;

-- name: PaymentsPage :many
SELECT * FROM payments WHERE channel_payment_id > @after::text ORDER BY channel_payment_id LIMIT @page_size;

-- name: ExistingUserIDs :many
SELECT channel_user_id::text FROM users WHERE channel_user_id = ANY(@ids::text[]);

-- name: ExistingCompanyIDs :many
SELECT channel_company_id::text FROM companies WHERE channel_company_id = ANY(@ids::text[]);

-- name: ExistingTaskIDs :many
SELECT channel_task_id::text FROM tasks WHERE channel_task_id = ANY(@ids::text[]);

-- name: ExistingApplicationIDs :many
SELECT channel_application_id::text FROM applications WHERE channel_application_id = ANY(@ids::text[]);

-- name: ExistingPaymentIDs :many
SELECT channel_payment_id::text FROM payments WHERE channel_payment_id = ANY(@ids::text[]);
