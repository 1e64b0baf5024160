package validate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chansync/chansync/internal/target/channel/channelbody"
)

// User checks a user payload and normalises it in place: id_card and phone
// are trimmed (and a check letter x becomes X), live_certification's time
// becomes the channel's format. It returns every problem found.
func User(u *channelbody.User) Errors {
	if u == nil {
		return missingPayload()
	}
	var errs Errors
	errs.Check("channel_user_id", ID(u.ChannelUserID))
	requiredText(&errs, "name", u.Name)

	u.IDCard = strings.TrimSpace(u.IDCard)
	if len(u.IDCard) == 18 && u.IDCard[17] == 'x' {
		u.IDCard = u.IDCard[:17] + "X"
	}
	if required(&errs, "id_card", u.IDCard) {
		errs.Check("id_card", IDCard(u.IDCard))
	}
	u.Phone = strings.TrimSpace(u.Phone)
	if required(&errs, "phone", u.Phone) {
		errs.Check("phone", MobilePhone(u.Phone))
	}

	if lc := u.LiveCertification; lc != nil {
		const p = "live_certification."
		if lc.Certified == nil {
			errs.Add(p+"certified", RuleRequired, "is required")
		}
		requiredTime(&errs, p+"certification_time", &lc.CertificationTime)
		optionalText(&errs, p+"certification_method", lc.CertificationMethod)
		// Scores are numbers of any sign: a similarity may be negative.
		number(&errs, p+"face_score", lc.FaceScore)
		number(&errs, p+"liveness_score", lc.LivenessScore)
		urlList(&errs, p+"photos", lc.Photos)
	}
	return errs
}

// Company checks a company payload and normalises it in place: codes and
// contact_phone are trimmed, business_license dates are trimmed. It returns
// every problem found.
func Company(c *channelbody.Company) Errors {
	if c == nil {
		return missingPayload()
	}
	var errs Errors
	errs.Check("channel_company_id", ID(c.ChannelCompanyID))
	requiredText(&errs, "company_name", c.CompanyName)

	c.SocialCreditCode = strings.TrimSpace(c.SocialCreditCode)
	if required(&errs, "social_credit_code", c.SocialCreditCode) {
		errs.Check("social_credit_code", SocialCreditCode(c.SocialCreditCode))
	}
	optionalText(&errs, "legal_person", c.LegalPerson)
	optionalText(&errs, "contact_person", c.ContactPerson)
	// contact_phone may be a landline, with an extension, written any way:
	// the seed gives it no format, so it is free text.
	c.ContactPhone = strings.TrimSpace(c.ContactPhone)
	optionalText(&errs, "contact_phone", c.ContactPhone)

	if bl := c.BusinessLicense; bl != nil {
		const p = "business_license."
		bl.LicenseNumber = strings.TrimSpace(bl.LicenseNumber)
		requiredText(&errs, p+"license_number", bl.LicenseNumber)
		optionalURL(&errs, p+"license_photo", bl.LicensePhoto)
		issue, okIssue := optionalDate(&errs, p+"issue_date", &bl.IssueDate)
		expiry, okExpiry := expiryDate(&errs, p+"expiry_date", &bl.ExpiryDate)
		// Not the seed's rule: a licence cannot expire before it is issued.
		if okIssue && okExpiry && expiry.Before(issue) {
			errs.Add(p+"expiry_date", RuleOrder, "must not be before issue_date")
		}
		// Not the seed's rule: capital is money, and money is not negative.
		nonNegative(&errs, p+"registration_capital", bl.RegistrationCapital)
		nonNegative(&errs, p+"paid_in_capital", bl.PaidInCapital)
	}

	optionalText(&errs, "registered_address", c.RegisteredAddress)
	multilineText(&errs, "business_scope", &c.BusinessScope)
	return errs
}

// Task checks a task payload and normalises it in place: task_type,
// status and salary.salary_type become codes, times become the channel's
// format, salary.amount becomes a canonical decimal. It returns every
// problem found.
func Task(t *channelbody.Task) Errors {
	if t == nil {
		return missingPayload()
	}
	var errs Errors
	errs.Check("channel_task_id", ID(t.ChannelTaskID))
	errs.Check("channel_company_id", ID(t.ChannelCompanyID))
	requiredText(&errs, "task_name", t.TaskName)
	enum(&errs, "task_type", &t.TaskType, TaskTypes, true)
	// Not the seed's rule (it says "integer"): a recruitment of nobody, or
	// fewer, is no recruitment.
	if t.RecruitCount <= 0 {
		errs.Add("recruit_count", RulePositive, "must be greater than 0")
	}
	// Not the seed's rules: an end before its start is no period.
	rStart, okRS := requiredTime(&errs, "recruitment_start_time", &t.RecruitmentStartTime)
	rEnd, okRE := requiredTime(&errs, "recruitment_end_time", &t.RecruitmentEndTime)
	if okRS && okRE && rEnd.Before(rStart) {
		errs.Add("recruitment_end_time", RuleOrder, "must not be before recruitment_start_time")
	}
	wStart, okWS := optionalTime(&errs, "work_start_time", &t.WorkStartTime)
	wEnd, okWE := optionalTime(&errs, "work_end_time", &t.WorkEndTime)
	if okWS && okWE && wEnd.Before(wStart) {
		errs.Add("work_end_time", RuleOrder, "must not be before work_start_time")
	}
	multilineText(&errs, "wage_description", &t.WageDescription)
	multilineText(&errs, "recruitment_description", &t.RecruitmentDescription)
	optionalText(&errs, "work_location", t.WorkLocation)
	multilineText(&errs, "job_requirements", &t.JobRequirements)

	if s := t.Salary; s != nil {
		const p = "salary."
		enum(&errs, p+"salary_type", &s.SalaryType, SalaryTypes, true)
		if s.Amount == nil {
			errs.Add(p+"amount", RuleRequired, "is required")
		} else if norm, err := Amount(s.Amount.String()); errs.Check(p+"amount", err) {
			*s.Amount = json.Number(norm)
		}
		trimmedText(&errs, p+"currency", &s.Currency)
		optionalText(&errs, p+"settlement_type", s.SettlementType)
	}
	enum(&errs, "status", &t.Status, TaskStatuses, false)
	return errs
}

// Application checks an application payload and normalises it in place:
// applied_at becomes the channel's format, status a code. It returns every
// problem found.
func Application(a *channelbody.Application) Errors {
	if a == nil {
		return missingPayload()
	}
	var errs Errors
	errs.Check("channel_application_id", ID(a.ChannelApplicationID))
	errs.Check("channel_user_id", ID(a.ChannelUserID))
	errs.Check("channel_task_id", ID(a.ChannelTaskID))
	requiredTime(&errs, "applied_at", &a.AppliedAt)
	optionalURL(&errs, "resume_url", a.ResumeURL)
	optionalText(&errs, "application_channel", a.ApplicationChannel)
	enum(&errs, "status", &a.Status, ApplicationStatuses, false)
	multilineText(&errs, "remark", &a.Remark)
	return errs
}

// Payment checks a payment payload and normalises it in place:
// payment_type and status become codes, amount a canonical decimal,
// payment_time the channel's format, codes are trimmed. payment_type user
// requires channel_user_id; application requires channel_application_id.
// It returns every problem found.
func Payment(p *channelbody.Payment) Errors {
	if p == nil {
		return missingPayload()
	}
	var errs Errors
	errs.Check("channel_payment_id", ID(p.ChannelPaymentID))
	typeOK := enum(&errs, "payment_type", &p.PaymentType, PaymentTypes, true)
	refs := []struct {
		field, typ string
		id         string
	}{
		{"channel_user_id", "user", p.ChannelUserID},
		{"channel_application_id", "application", p.ChannelApplicationID},
	}
	for _, r := range refs {
		switch {
		case r.id != "":
			errs.Check(r.field, ID(r.id))
		case typeOK && p.PaymentType == r.typ:
			errs.Add(r.field, RuleReference, "is required when payment_type is "+r.typ)
		}
	}
	if norm, err := Amount(p.Amount.String()); errs.Check("amount", err) {
		p.Amount = json.Number(norm)
	}
	trimmedText(&errs, "currency", &p.Currency)
	requiredTime(&errs, "payment_time", &p.PaymentTime)
	optionalText(&errs, "payment_method", p.PaymentMethod)
	optionalText(&errs, "payment_channel", p.PaymentChannel)
	optionalText(&errs, "bank_name", p.BankName)
	trimmedText(&errs, "bank_account", &p.BankAccount)
	trimmedText(&errs, "transaction_no", &p.TransactionNo)

	if b := p.PaymentBasis; b == nil {
		errs.Add("payment_basis", RuleRequired, "is required")
	} else {
		const f = "payment_basis."
		requiredText(&errs, f+"basis_type", b.BasisType)
		// Not the seed's rules: no one works negative hours, and a period
		// does not end before it starts.
		nonNegative(&errs, f+"work_hours", b.WorkHours)
		start, okStart := optionalDate(&errs, f+"work_date_start", &b.WorkDateStart)
		end, okEnd := optionalDate(&errs, f+"work_date_end", &b.WorkDateEnd)
		if okStart && okEnd && end.Before(start) {
			errs.Add(f+"work_date_end", RuleOrder, "must not be before work_date_start")
		}
		multilineText(&errs, f+"description", &b.Description)
		urlList(&errs, f+"supporting_docs", b.SupportingDocs)
	}
	enum(&errs, "status", &p.Status, PaymentStatuses, false)
	multilineText(&errs, "remark", &p.Remark)
	return errs
}

func missingPayload() Errors {
	return Errors{{Rule: RuleRequired, Detail: "payload is missing"}}
}

// required records a "required" error when s is blank and reports whether
// s is present.
func required(errs *Errors, field, s string) bool {
	if strings.TrimSpace(s) == "" {
		errs.Add(field, RuleRequired, "is required")
		return false
	}
	return true
}

func requiredText(errs *Errors, field, s string) {
	if required(errs, field, s) {
		errs.Check(field, Text(s))
	}
}

func optionalText(errs *Errors, field, s string) {
	if s != "" {
		errs.Check(field, Text(s))
	}
}

// trimmedText trims surrounding whitespace from *s, then checks it as
// optional text.
func trimmedText(errs *Errors, field string, s *string) {
	*s = strings.TrimSpace(*s)
	optionalText(errs, field, *s)
}

// lineEnd matches a line end other than LF: one or more CRs, with or
// without an LF after them (Windows and old Mac text).
var lineEnd = regexp.MustCompile(`\r+\n?`)

// multilineText normalises CRLF and CR line ends to LF, then checks the
// text.
func multilineText(errs *Errors, field string, s *string) {
	if strings.Contains(*s, "\r") {
		*s = lineEnd.ReplaceAllLiteralString(*s, "\n")
	}
	optionalText(errs, field, *s)
}

func optionalURL(errs *Errors, field, s string) {
	if s != "" {
		errs.Check(field, URL(s))
	}
}

// urlList checks each URL of a list; the seed bounds not their number.
func urlList(errs *Errors, field string, list []string) {
	for i, s := range list {
		errs.Check(fmt.Sprintf("%s[%d]", field, i), URL(s))
	}
}

func nonNegative(errs *Errors, field string, n *json.Number) {
	if n != nil {
		errs.Check(field, NonNegative(n.String()))
	}
}

func number(errs *Errors, field string, n *json.Number) {
	if n != nil {
		errs.Check(field, Number(n.String()))
	}
}

// enum normalises *s to its code. A blank optional value becomes "" (the
// field is omitted). It reports whether *s now holds a code.
func enum(errs *Errors, field string, s *string, e *Enum, isRequired bool) bool {
	if strings.TrimSpace(*s) == "" {
		*s = ""
		if isRequired {
			errs.Add(field, RuleRequired, "is required")
		}
		return false
	}
	code, err := e.Normalize(*s)
	if !errs.Check(field, err) {
		return false
	}
	*s = code
	return true
}

// requiredTime normalises *s to the channel's time format and returns the
// time, and whether it is valid.
func requiredTime(errs *Errors, field string, s *string) (time.Time, bool) {
	if !required(errs, field, *s) {
		return time.Time{}, false
	}
	return optionalTime(errs, field, s)
}

func optionalTime(errs *Errors, field string, s *string) (time.Time, bool) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		return time.Time{}, false
	}
	t, err := ParseTime(*s)
	if !errs.Check(field, err) {
		return time.Time{}, false
	}
	*s = t.Format(TimeLayout)
	return t, true
}

// NoExpiry are the words a business licence's expiry_date may hold instead
// of a date: the licence does not expire.
var NoExpiry = []string{"长期", "长期有效", "永久"}

// expiryDate checks an optional expiry_date: a date (see optionalDate) or
// one of the NoExpiry words, which it clears: the field is then not sent.
// It returns the date, and whether there is one.
//
// The seed says only "有效期至" (valid until). A licence that never expires
// says 长期 in the HR system's row, and that is no reason to hold a company
// back; but channel-api.md writes the nested dates YYYY-MM-DD, and the
// field is optional, so "no expiry" goes out as no expiry_date.
func expiryDate(errs *Errors, field string, s *string) (time.Time, bool) {
	*s = strings.TrimSpace(*s)
	if slices.Contains(NoExpiry, *s) {
		*s = ""
		return time.Time{}, false
	}
	var own Errors
	d, ok := optionalDate(&own, field, s)
	for _, e := range own {
		errs.Add(e.Field, e.Rule, e.Detail+", or 长期 for a licence that does not expire")
	}
	return d, ok
}

func optionalDate(errs *Errors, field string, s *string) (time.Time, bool) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		return time.Time{}, false
	}
	d, err := ParseDate(*s)
	if !errs.Check(field, err) {
		return time.Time{}, false
	}
	return d, true
}
