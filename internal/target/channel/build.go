package channel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel/channelbody"
	"github.com/chansync/chansync/internal/validate"
)

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
func User(row dbsqlc.User) *target.Built {
	b := &target.Built{Ref: userKind.Ref(row.ChannelUserID), UpdatedAt: row.UpdatedAt}
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
	return userKind.Finish(b, nil)
}

// Company builds the body of a company.
func Company(row dbsqlc.Company) *target.Built {
	b := &target.Built{Ref: companyKind.Ref(row.ChannelCompanyID), UpdatedAt: row.UpdatedAt}
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
	return companyKind.Finish(b, nil)
}

// Task builds the body of a task; it references its company.
func Task(row dbsqlc.Task) *target.Built {
	b := &target.Built{Ref: taskKind.Ref(row.ChannelTaskID), UpdatedAt: row.UpdatedAt}
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
	b.Parents = parents(body)
	b.Errs = append(b.Errs, validate.Task(body)...)
	return taskKind.Finish(b, nil)
}

// Application builds the body of an application; it references its user
// and its task.
func Application(row dbsqlc.Application) *target.Built {
	b := &target.Built{Ref: applicationKind.Ref(row.ChannelApplicationID), UpdatedAt: row.UpdatedAt}
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
	b.Parents = parents(body)
	b.Errs = append(b.Errs, validate.Application(body)...)
	return applicationKind.Finish(b, nil)
}

// Payment builds the body of a payment; it references its user and/or its
// application, whichever the row names.
func Payment(row dbsqlc.Payment) *target.Built {
	b := &target.Built{Ref: paymentKind.Ref(row.ChannelPaymentID), UpdatedAt: row.UpdatedAt}
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
	b.Parents = parents(body)
	b.Errs = append(b.Errs, validate.Payment(body)...)
	return paymentKind.Finish(b, nil)
}
