-- Reads of the local tables, by id and in keyset pages. A page starts after
-- the id @after; the first page (@after = '') starts at the beginning, so
-- that a row whose id is the empty string is read too (and dead-lettered
-- for it). With the pools' custom plans the OR folds away: a page is an
-- index range scan.

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
SELECT * FROM users WHERE (channel_user_id > @after::text OR @after::text = '') ORDER BY channel_user_id LIMIT @page_size;

-- name: CompaniesPage :many
SELECT * FROM companies WHERE (channel_company_id > @after::text OR @after::text = '') ORDER BY channel_company_id LIMIT @page_size;

-- name: TasksPage :many
SELECT * FROM tasks WHERE (channel_task_id > @after::text OR @after::text = '') ORDER BY channel_task_id LIMIT @page_size;

-- name: ApplicationsPage :many
SELECT * FROM applications WHERE (channel_application_id > @after::text OR @after::text = '') ORDER BY channel_application_id LIMIT @page_size;

-- name: PaymentsPage :many
SELECT * FROM payments WHERE (channel_payment_id > @after::text OR @after::text = '') ORDER BY channel_payment_id LIMIT @page_size;

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

-- name: GrantsByID :many
SELECT * FROM points_grants WHERE external_order_id = ANY(@ids::text[]);

-- name: GrantsPage :many
SELECT * FROM points_grants WHERE (external_order_id > @after::text OR @after::text = '') ORDER BY external_order_id LIMIT @page_size;

-- name: ExistingGrantIDs :many
SELECT external_order_id::text FROM points_grants WHERE external_order_id = ANY(@ids::text[]);

-- name: MembershipRows :many
-- MembershipRows returns, for each named user, one row per application
-- (none: one row with NULLs) with the company of its task: what a user's
-- group memberships are derived from.
SELECT u.channel_user_id::text AS user_id, u.created_at AS user_created_at,
    a.status AS application_status, t.channel_company_id AS company_id,
    a.updated_at AS application_updated_at, t.updated_at AS task_updated_at
FROM users u
LEFT JOIN applications a ON a.channel_user_id = u.channel_user_id
LEFT JOIN tasks t ON t.channel_task_id = a.channel_task_id
WHERE u.channel_user_id = ANY(@ids::text[])
ORDER BY u.channel_user_id;

-- name: UserIDsPage :many
SELECT channel_user_id::text FROM users WHERE (channel_user_id > @after::text OR @after::text = '') ORDER BY channel_user_id LIMIT @page_size;

-- name: UsersOfApplications :many
-- UsersOfApplications returns the users of the named applications.
SELECT DISTINCT channel_user_id::text FROM applications WHERE channel_application_id = ANY(@ids::text[]);

-- name: UsersOfTasks :many
-- UsersOfTasks returns the users with an application to one of the named
-- tasks.
SELECT DISTINCT channel_user_id::text FROM applications WHERE channel_task_id = ANY(@ids::text[]);

-- name: UsersOfGrants :many
-- UsersOfGrants returns the users of the named grants.
SELECT DISTINCT channel_user_id::text FROM points_grants WHERE external_order_id = ANY(@ids::text[]);
