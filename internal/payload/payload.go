// Package payload turns local rows into the channel's request bodies: it
// maps columns to fields, omits empty optional fields, formats times as the
// channel wants them, validates everything, and hashes the result so that a
// record whose payload has not changed since the channel accepted it is
// never pushed again.
package payload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/chansync/chansync/internal/target/channel/channelbody"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/record"
	"github.com/chansync/chansync/internal/validate"
)

// Built is one local record turned into a request body.
type Built struct {
	// Ref names the record.
	Ref record.Ref
	// Body is the typed request body (*channelbody.User, ...). It is set even
	// when Errs is not empty, as far as the row could be read.
	Body any
	// JSON is Body encoded as sent; nil when Errs is not empty.
	JSON []byte
	// Hash is the SHA-256 of JSON; nil when Errs is not empty.
	Hash []byte
	// Parents are the records this one references, in the order they are
	// checked.
	Parents []record.ParentRef
	// UpdatedAt is the row's updated_at.
	UpdatedAt time.Time
	// Errs lists every reason the record cannot be pushed; empty when valid.
	Errs validate.Errors
}

// Valid reports whether the record can be pushed.
func (b *Built) Valid() bool { return len(b.Errs) == 0 }

// Reason renders Errs as one line prefixed by the record, e.g.
// "users/U1001: id_card: check digit mismatch".
func (b *Built) Reason() string {
	if b.Valid() {
		return ""
	}
	return validate.NewRecordError(b.Ref.Kind.Plural()+"/"+b.Ref.ID, b.Errs).Error()
}

// finish validates nothing itself: it encodes and hashes a valid body.
func finish(b *Built) *Built {
	if !b.Valid() {
		return b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b.Body); err != nil {
		b.Errs = append(b.Errs, validate.FieldError{Field: b.Ref.Kind.IDField(), Rule: "encode", Detail: err.Error()})
		return b
	}
	b.JSON = bytes.TrimRight(buf.Bytes(), "\n")
	sum := sha256.Sum256(b.JSON)
	b.Hash = sum[:]
	return b
}

// decodeNested decodes a jsonb column into dst strictly: unknown fields and
// wrong JSON types are field errors naming the column.
func decodeNested(errs *validate.Errors, field string, raw []byte, dst any) bool {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		detail := err.Error()
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			f := field
			if typeErr.Field != "" {
				f = field + "." + typeErr.Field
			}
			*errs = append(*errs, validate.FieldError{Field: f, Rule: "type", Detail: fmt.Sprintf("want %s, got JSON %s", typeErr.Type, typeErr.Value)})
			return false
		}
		*errs = append(*errs, validate.FieldError{Field: field, Rule: "shape", Detail: detail})
		return false
	}
	return true
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func timeStr(t time.Time) string { return validate.FormatTime(t) }

func timePtrStr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return validate.FormatTime(*t)
}

// User builds the body of a user.
func User(row dbsqlc.User) *Built {
	b := &Built{Ref: record.Ref{Kind: record.User, ID: row.ChannelUserID}, UpdatedAt: row.UpdatedAt}
	body := &channelbody.User{
		ChannelUserID: row.ChannelUserID,
		Name:          row.Name,
		IDCard:        row.IDCard,
		Phone:         row.Phone,
	}
	var lc channelbody.LiveCertification
	if decodeNested(&b.Errs, "live_certification", row.LiveCertification, &lc) {
		body.LiveCertification = &lc
	}
	b.Body = body
	b.Errs = append(b.Errs, validate.User(body)...)
	return finish(b)
}

// Company builds the body of a company.
func Company(row dbsqlc.Company) *Built {
	b := &Built{Ref: record.Ref{Kind: record.Company, ID: row.ChannelCompanyID}, UpdatedAt: row.UpdatedAt}
	body := &channelbody.Company{
		ChannelCompanyID:  row.ChannelCompanyID,
		CompanyName:       row.CompanyName,
		SocialCreditCode:  row.SocialCreditCode,
		LegalPerson:       str(row.LegalPerson),
		ContactPerson:     str(row.ContactPerson),
		ContactPhone:      str(row.ContactPhone),
		RegisteredAddress: str(row.RegisteredAddress),
		BusinessScope:     str(row.BusinessScope),
	}
	var bl channelbody.BusinessLicense
	if decodeNested(&b.Errs, "business_license", row.BusinessLicense, &bl) {
		body.BusinessLicense = &bl
	}
	b.Body = body
	b.Errs = append(b.Errs, validate.Company(body)...)
	return finish(b)
}

// Task builds the body of a task; it references its company.
func Task(row dbsqlc.Task) *Built {
	b := &Built{Ref: record.Ref{Kind: record.Task, ID: row.ChannelTaskID}, UpdatedAt: row.UpdatedAt}
	body := &channelbody.Task{
		ChannelTaskID:          row.ChannelTaskID,
		ChannelCompanyID:       row.ChannelCompanyID,
		TaskName:               row.TaskName,
		TaskType:               row.TaskType,
		RecruitCount:           int64(row.RecruitCount),
		RecruitmentStartTime:   timeStr(row.RecruitmentStartTime),
		RecruitmentEndTime:     timeStr(row.RecruitmentEndTime),
		WorkStartTime:          timePtrStr(row.WorkStartTime),
		WorkEndTime:            timePtrStr(row.WorkEndTime),
		WageDescription:        str(row.WageDescription),
		RecruitmentDescription: str(row.RecruitmentDescription),
		WorkLocation:           str(row.WorkLocation),
		JobRequirements:        str(row.JobRequirements),
		Status:                 str(row.Status),
	}
	var sal channelbody.Salary
	if decodeNested(&b.Errs, "salary", row.Salary, &sal) {
		body.Salary = &sal
	}
	b.Body = body
	b.Parents = Parents(body)
	b.Errs = append(b.Errs, validate.Task(body)...)
	return finish(b)
}

// Application builds the body of an application; it references its user
// and its task.
func Application(row dbsqlc.Application) *Built {
	b := &Built{Ref: record.Ref{Kind: record.Application, ID: row.ChannelApplicationID}, UpdatedAt: row.UpdatedAt}
	body := &channelbody.Application{
		ChannelApplicationID: row.ChannelApplicationID,
		ChannelUserID:        row.ChannelUserID,
		ChannelTaskID:        row.ChannelTaskID,
		AppliedAt:            timeStr(row.AppliedAt),
		ResumeURL:            str(row.ResumeUrl),
		ApplicationChannel:   str(row.ApplicationChannel),
		Status:               str(row.Status),
		Remark:               str(row.Remark),
	}
	b.Body = body
	b.Parents = Parents(body)
	b.Errs = append(b.Errs, validate.Application(body)...)
	return finish(b)
}

// Payment builds the body of a payment; it references its user and/or its
// application, whichever the row names.
func Payment(row dbsqlc.Payment) *Built {
	b := &Built{Ref: record.Ref{Kind: record.Payment, ID: row.ChannelPaymentID}, UpdatedAt: row.UpdatedAt}
	body := &channelbody.Payment{
		ChannelPaymentID:     row.ChannelPaymentID,
		PaymentType:          row.PaymentType,
		ChannelUserID:        str(row.ChannelUserID),
		ChannelApplicationID: str(row.ChannelApplicationID),
		Amount:               json.Number(row.Amount),
		Currency:             str(row.Currency),
		PaymentTime:          timeStr(row.PaymentTime),
		PaymentMethod:        str(row.PaymentMethod),
		PaymentChannel:       str(row.PaymentChannel),
		BankName:             str(row.BankName),
		BankAccount:          str(row.BankAccount),
		TransactionNo:        str(row.TransactionNo),
		Status:               str(row.Status),
		Remark:               str(row.Remark),
	}
	var basis channelbody.PaymentBasis
	if decodeNested(&b.Errs, "payment_basis", row.PaymentBasis, &basis) {
		body.PaymentBasis = &basis
	}
	b.Body = body
	b.Parents = Parents(body)
	b.Errs = append(b.Errs, validate.Payment(body)...)
	return finish(b)
}

// Existing returns which of ids have a row in kind's table (without
// reading or building the rows).
func Existing(ctx context.Context, q *dbsqlc.Queries, kind record.Kind, ids []string) ([]string, error) {
	var out []string
	var err error
	switch kind {
	case record.User:
		out, err = q.ExistingUserIDs(ctx, ids)
	case record.Company:
		out, err = q.ExistingCompanyIDs(ctx, ids)
	case record.Task:
		out, err = q.ExistingTaskIDs(ctx, ids)
	case record.Application:
		out, err = q.ExistingApplicationIDs(ctx, ids)
	case record.Payment:
		out, err = q.ExistingPaymentIDs(ctx, ids)
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s ids: %w", kind, err)
	}
	return out, nil
}

// Load reads the named records of one kind and builds each. Ids with no
// row are absent from the result.
func Load(ctx context.Context, q *dbsqlc.Queries, kind record.Kind, ids []string) (map[string]*Built, error) {
	out := make(map[string]*Built, len(ids))
	var err error
	switch kind {
	case record.User:
		var rows []dbsqlc.User
		if rows, err = q.UsersByID(ctx, ids); err == nil {
			for _, r := range rows {
				out[r.ChannelUserID] = User(r)
			}
		}
	case record.Company:
		var rows []dbsqlc.Company
		if rows, err = q.CompaniesByID(ctx, ids); err == nil {
			for _, r := range rows {
				out[r.ChannelCompanyID] = Company(r)
			}
		}
	case record.Task:
		var rows []dbsqlc.Task
		if rows, err = q.TasksByID(ctx, ids); err == nil {
			for _, r := range rows {
				out[r.ChannelTaskID] = Task(r)
			}
		}
	case record.Application:
		var rows []dbsqlc.Application
		if rows, err = q.ApplicationsByID(ctx, ids); err == nil {
			for _, r := range rows {
				out[r.ChannelApplicationID] = Application(r)
			}
		}
	case record.Payment:
		var rows []dbsqlc.Payment
		if rows, err = q.PaymentsByID(ctx, ids); err == nil {
			for _, r := range rows {
				out[r.ChannelPaymentID] = Payment(r)
			}
		}
	default:
		return nil, fmt.Errorf("load %s: unknown kind", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s rows: %w", kind, err)
	}
	return out, nil
}

// Page reads up to size records of one kind whose id sorts after `after`,
// in id order, and builds each. It returns the built records; the last one's
// id is the cursor for the next page.
func Page(ctx context.Context, q *dbsqlc.Queries, kind record.Kind, after string, size int32) ([]*Built, error) {
	var out []*Built
	var err error
	switch kind {
	case record.User:
		var rows []dbsqlc.User
		if rows, err = q.UsersPage(ctx, dbsqlc.UsersPageParams{After: after, PageSize: size}); err == nil {
			for _, r := range rows {
				out = append(out, User(r))
			}
		}
	case record.Company:
		var rows []dbsqlc.Company
		if rows, err = q.CompaniesPage(ctx, dbsqlc.CompaniesPageParams{After: after, PageSize: size}); err == nil {
			for _, r := range rows {
				out = append(out, Company(r))
			}
		}
	case record.Task:
		var rows []dbsqlc.Task
		if rows, err = q.TasksPage(ctx, dbsqlc.TasksPageParams{After: after, PageSize: size}); err == nil {
			for _, r := range rows {
				out = append(out, Task(r))
			}
		}
	case record.Application:
		var rows []dbsqlc.Application
		if rows, err = q.ApplicationsPage(ctx, dbsqlc.ApplicationsPageParams{After: after, PageSize: size}); err == nil {
			for _, r := range rows {
				out = append(out, Application(r))
			}
		}
	case record.Payment:
		var rows []dbsqlc.Payment
		if rows, err = q.PaymentsPage(ctx, dbsqlc.PaymentsPageParams{After: after, PageSize: size}); err == nil {
			for _, r := range rows {
				out = append(out, Payment(r))
			}
		}
	default:
		return nil, fmt.Errorf("page %s: unknown kind", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s rows: %w", kind, err)
	}
	return out, nil
}

// Parents returns the records a channel body (*channelbody.Task,
// *channelbody.Application or *channelbody.Payment) references, in the order
// a push checks them; other bodies have none.
func Parents(body any) []record.ParentRef {
	switch b := body.(type) {
	case *channelbody.Task:
		return []record.ParentRef{{Field: "channel_company_id", Ref: record.Ref{Kind: record.Company, ID: b.ChannelCompanyID}}}
	case *channelbody.Application:
		return []record.ParentRef{
			{Field: "channel_user_id", Ref: record.Ref{Kind: record.User, ID: b.ChannelUserID}},
			{Field: "channel_task_id", Ref: record.Ref{Kind: record.Task, ID: b.ChannelTaskID}},
		}
	case *channelbody.Payment:
		var out []record.ParentRef
		if b.ChannelApplicationID != "" {
			out = append(out, record.ParentRef{Field: "channel_application_id", Ref: record.Ref{Kind: record.Application, ID: b.ChannelApplicationID}})
		}
		if b.ChannelUserID != "" {
			out = append(out, record.ParentRef{Field: "channel_user_id", Ref: record.Ref{Kind: record.User, ID: b.ChannelUserID}})
		}
		return out
	}
	return nil
}
