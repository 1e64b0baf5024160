package pointsapi

import (
	"fmt"
	"log/slog"
)

// Secret is a credential (the developer's API key). Every way of printing
// it (fmt verbs, %#v, slog, JSON, text) shows "[redacted]"; convert it
// with string(s) only to put it on the wire.
type Secret string

// redacted is what a Secret prints as.
const redacted = "[redacted]"

// String returns "[redacted]", or "" for an empty Secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the redacted form for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("pointsapi.Secret(%q)", s.String()) }

// Format prints the redacted form whatever the verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret in JSON, YAML and other encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// RechargeRequest is the body of POST /api/v1/apihub/points/users/recharge.
type RechargeRequest struct {
	// ClientUserID names the end user (required).
	ClientUserID string `json:"client_user_id"`
	// AmountCents is the credit in cents, a positive integer (required).
	AmountCents int64 `json:"amount_cents"`
	// ExternalOrderID is our order id, "for reconciliation". The API does
	// NOT de-duplicate by it, and the ledger does not show it: put it in
	// Reason (see ReasonFor) so that the credit can be found again.
	ExternalOrderID string `json:"external_order_id,omitempty"`
	// Reason is the ledger entry's text, stored as sent.
	Reason string `json:"reason,omitempty"`
}

// RechargeResult is the data of a successful recharge.
type RechargeResult struct {
	ClientUserID string `json:"client_user_id"`
	// ToUserID is the platform's internal (scoped) id of the user.
	ToUserID int64 `json:"to_user_id"`
	// AmountCents is the amount credited.
	AmountCents int64 `json:"amount_cents"`
	// ExternalOrderID echoes the order id, if one was sent.
	ExternalOrderID string `json:"external_order_id"`
	// DeveloperBalanceCents is what is left in the developer's pool.
	DeveloperBalanceCents int64 `json:"developer_balance_cents"`
	// UserBalanceCents is the user's balance after the credit.
	UserBalanceCents int64 `json:"user_balance_cents"`
}

// Balance is the data of GET points/users/balance.
type Balance struct {
	ClientUserID string `json:"client_user_id"`
	// UserID is the platform's internal (scoped) id of the user.
	UserID int64 `json:"user_id"`
	// BalanceCents is the user's balance in cents.
	BalanceCents int64 `json:"balance_cents"`
}

// Ledger sources and record types of LogEntry, as the seed lists them.
const (
	// SourceTransfer is a credit from the developer's pool.
	SourceTransfer = "transfer"
	// SourceBilling is a charge or refund by a form.
	SourceBilling = "billing"

	// RecordRecharge is a credit (what Recharge creates).
	RecordRecharge = "recharge"
	// RecordDeduct is a charge.
	RecordDeduct = "deduct"
	// RecordRefund is a refund.
	RecordRefund = "refund"
	// RecordReward is a reward.
	RecordReward = "reward"
	// RecordFailed is a charge that failed.
	RecordFailed = "failed"
)

// LogEntry is one entry of a user's ledger. A JSON null short_code or
// project_id decodes as "" or 0. The ledger carries no external_order_id:
// only Reason can tell which order an entry belongs to.
type LogEntry struct {
	ID int64 `json:"id"`
	// Source is SourceTransfer or SourceBilling.
	Source string `json:"source"`
	// RecordType is one of the Record* constants.
	RecordType string `json:"record_type"`
	// ChangeCents is positive for a credit, negative for a charge.
	ChangeCents int64 `json:"change_cents"`
	// AmountCents is the absolute value of the change.
	AmountCents int64 `json:"amount_cents"`
	// BalanceAfter is the user's balance after the change.
	BalanceAfter int64  `json:"balance_after"`
	Reason       string `json:"reason"`
	Status       string `json:"status"`
	// ShortCode and ProjectID name the form of a charge, if any.
	ShortCode string `json:"short_code"`
	ProjectID int64  `json:"project_id"`
	// CreatedAt is the platform's timestamp, verbatim.
	CreatedAt string `json:"created_at"`
}

// LogsParams select a page of a user's ledger.
type LogsParams struct {
	// ClientUserID names the end user (required).
	ClientUserID string
	// Page is 1-based; 0 leaves it to the API (page 1).
	Page int
	// PageSize is at most MaxPageSize; 0 leaves it to the API (20).
	PageSize int
}

// LogsPage is the data of GET points/users/logs: one page, newest first.
type LogsPage struct {
	ClientUserID string     `json:"client_user_id"`
	UserID       int64      `json:"user_id"`
	List         []LogEntry `json:"list"`
	Total        int        `json:"total"`
	Page         int        `json:"page"`
	PageSize     int        `json:"page_size"`
}

// Token is the data of POST apikeys/token.
type Token struct {
	AccessToken string `json:"access_token"`
	// ExpiresIn is the token's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
}

// String hides the token itself.
func (t Token) String() string { return fmt.Sprintf("pointsapi.Token{expires_in: %d}", t.ExpiresIn) }

// GoString hides the token itself.
func (t Token) GoString() string { return t.String() }

// LogValue hides the token itself.
func (t Token) LogValue() slog.Value { return slog.Int64Value(t.ExpiresIn) }

// Project is one published form of GET projects/published-list.
type Project struct {
	// ShortCode opens the form: https://<form host>/{short_code}?token=...
	ShortCode string `json:"short_code"`
	Name      string `json:"name"`
	Industry  string `json:"industry"`
	// Icon is the URL of the project's icon.
	Icon string   `json:"icon"`
	Tags []string `json:"tags"`
}

// ProjectsQuery filters GET projects/published-list.
type ProjectsQuery struct {
	// Tags, if any, are sent comma-separated: forms matching any of them
	// (fuzzily) come first, and with Limit the rest is filled with others.
	Tags []string
	// Limit caps the number of forms; 0 asks for every published form.
	Limit int
}
