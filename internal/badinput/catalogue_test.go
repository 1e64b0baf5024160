package badinput_test

import (
	"fmt"
	"strings"

	"github.com/chansync/chansync/internal/validate"
)

// col is one column of a row to insert: its name and an SQL expression.
type col struct{ name, value string }

// baseRows are valid rows of each kind, the starting point of every case
// and dependant. The fixtures C-OK, U-OK, T-OK and A-OK are rows like
// these.
var baseRows = map[rkind][]col{
	kCompany: {
		{"company_name", "'星河物流有限公司'"},
		{"social_credit_code", "'91350100M000100Y43'"},
		{"contact_phone", "'0591-87654321'"},
		{"business_license", `'{"license_number":"LIC-0001","issue_date":"2020-01-01","expiry_date":"2040-01-01"}'`},
	},
	kUser: {
		{"name", "'张三'"},
		{"id_card", "'110105199003071239'"},
		{"phone", "'13800138000'"},
	},
	kTask: {
		{"channel_company_id", "'C-OK'"},
		{"task_name", "'仓库分拣员'"},
		{"task_type", "'short_term'"},
		{"recruit_count", "5"},
		{"recruitment_start_time", "'2026-01-05T00:00:00Z'"},
		{"recruitment_end_time", "'2026-01-20T00:00:00Z'"},
		{"salary", `'{"salary_type":"daily","amount":200,"currency":"CNY"}'`},
		{"status", "'open'"},
	},
	kApplication: {
		{"channel_user_id", "'U-OK'"},
		{"channel_task_id", "'T-OK'"},
		{"applied_at", "'2026-01-06T09:00:00Z'"},
		{"status", "'pending'"},
	},
	kPayment: {
		{"payment_type", "'application'"},
		{"channel_application_id", "'A-OK'"},
		{"amount", "200.00"},
		{"currency", "'CNY'"},
		{"payment_time", "'2026-01-21T10:00:00Z'"},
		{"payment_basis", `'{"basis_type":"daily","work_date_start":"2026-01-06","work_date_end":"2026-01-10"}'`},
		{"status", "'completed'"},
	},
}

// insertSQL returns an INSERT of a valid row of kind named id, with set
// (pairs of column name and SQL expression) replacing or adding columns;
// "NULL" clears one.
func insertSQL(kind rkind, id string, set ...string) string {
	if len(set)%2 != 0 {
		panic("insertSQL: set holds pairs")
	}
	cols := append([]col(nil), baseRows[kind]...)
	for i := 0; i < len(set); i += 2 {
		found := false
		for j := range cols {
			if cols[j].name == set[i] {
				cols[j].value, found = set[i+1], true
			}
		}
		if !found {
			cols = append(cols, col{set[i], set[i+1]})
		}
	}
	names := []string{kind.IDField()}
	values := []string{quote(id)}
	for _, c := range cols {
		names = append(names, c.name)
		values = append(values, c.value)
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", kind.Table(), strings.Join(names, ", "), strings.Join(values, ", "))
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// badCase is one kind of invalid record.
type badCase struct {
	// name names the case; the record's id is its upper-case form.
	name string
	kind rkind
	// set makes the valid base row invalid (see insertSQL).
	set []string
	// field and rule are what the reason must name: the JSON path of the
	// field and the rule word (validate.Rule*, or the payload builder's
	// "type" and "shape" for a nested jsonb column of the wrong shape).
	field, rule string
	// says is a phrase of the reason's detail that states the rule.
	says string
	// blocked marks a record that is valid itself but references a dead
	// record: it waits, blocked, with a reason naming the parent.
	blocked bool
	// fix is the SET clause of the UPDATE that repairs the row.
	fix string
	// want are fields (dotted JSON paths) the channel must hold after the
	// fix and the replay, rendered with fmt.Sprint.
	want map[string]string
}

func (c badCase) id() string { return strings.ToUpper(c.name) }

func (c badCase) ref() rref { return rref{Kind: c.kind, ID: c.id()} }

// dependant is a valid record that references a case's record (directly,
// or through another dependant).
type dependant struct {
	ref    rref
	insert string
	// parent is the record its reason must name: the one it waits for.
	parent rref
}

// dependants returns the valid records that depend on a case's record:
// for a company, a task under it and an application under that task; for
// a user, an application and a payment of type user; for a task, an
// application and a payment for it; for an application, a payment.
// Payments have none.
func (c badCase) dependants() []dependant {
	id, self := c.id(), c.ref()
	ref := func(k rkind, prefix string) rref { return rref{Kind: k, ID: prefix + "-DEP-" + id} }
	switch c.kind {
	case kCompany:
		task, app := ref(kTask, "T"), ref(kApplication, "A")
		return []dependant{
			{task, insertSQL(kTask, task.ID, "channel_company_id", quote(id)), self},
			{app, insertSQL(kApplication, app.ID, "channel_task_id", quote(task.ID)), task},
		}
	case kUser:
		app, pay := ref(kApplication, "A"), ref(kPayment, "P")
		return []dependant{
			{app, insertSQL(kApplication, app.ID, "channel_user_id", quote(id)), self},
			{pay, insertSQL(kPayment, pay.ID, "payment_type", "'user'", "channel_user_id", quote(id), "channel_application_id", "NULL"), self},
		}
	case kTask:
		app, pay := ref(kApplication, "A"), ref(kPayment, "P")
		return []dependant{
			{app, insertSQL(kApplication, app.ID, "channel_task_id", quote(id)), self},
			{pay, insertSQL(kPayment, pay.ID, "channel_application_id", quote(app.ID)), app},
		}
	case kApplication:
		pay := ref(kPayment, "P")
		return []dependant{{pay, insertSQL(kPayment, pay.ID, "channel_application_id", quote(id)), self}}
	}
	return nil
}

// fixtures are the valid parents every case may use, and the dead user
// that the reference case points at.
var fixtures = []struct {
	kind   rkind
	insert string
}{
	{kCompany, insertSQL(kCompany, "C-OK")},
	{kUser, insertSQL(kUser, "U-OK")},
	{kUser, insertSQL(kUser, "U-DEAD-PARENT", "phone", "'1380013800'")},
	{kTask, insertSQL(kTask, "T-OK")},
	{kApplication, insertSQL(kApplication, "A-OK")},
}

const validCert = `{"certified":true,"certification_time":"2025-03-01T08:00:00+08:00","face_score":0.98}`

// catalogue is every kind of invalid record, by kind. Values that Postgres
// itself refuses (invalid UTF-8, NUL, non-numeric money, \u0000 in jsonb)
// never reach chansync: they are in refusals (refusals_test.go) instead,
// and the cases here use what does reach the table — control characters in
// text and \u0007 escapes inside jsonb strings, NaN money, timestamps
// outside the channel's years — to exercise the validators.
var catalogue = []badCase{
	// Users.
	{name: "user-name-blank", kind: kUser, set: []string{"name", "''"},
		field: "name", rule: validate.RuleRequired, says: "is required",
		fix: "name = '李四'", want: map[string]string{"name": "李四"}},
	// Control characters reach a text column (Postgres refuses only NUL
	// and invalid UTF-8): BEL inside a name.
	{name: "user-name-control-char", kind: kUser, set: []string{"name", `E'张\x07三'`},
		field: "name", rule: validate.RuleControl, says: "control character U+0007",
		fix: "name = '张三'", want: map[string]string{"name": "张三"}},
	{name: "user-idcard-check-digit", kind: kUser, set: []string{"id_card", "'110101199001011234'"},
		field: "id_card", rule: validate.RuleChecksum, says: "check digit mismatch",
		fix: "id_card = '440304198511200013'", want: map[string]string{"id_card": "440304198511200013"}},
	// 1999-02-30 does not exist; the check digit is right.
	{name: "user-idcard-impossible-birth", kind: kUser, set: []string{"id_card", "'110105199902301237'"},
		field: "id_card", rule: validate.RuleDate, says: "birth date is not a real date",
		fix: "id_card = '310115199206150025'", want: map[string]string{"id_card": "310115199206150025"}},
	// Born in 2099; the check digit is right.
	{name: "user-idcard-future-birth", kind: kUser, set: []string{"id_card", "'110105209901011234'"},
		field: "id_card", rule: validate.RuleDate, says: "birth date is in the future",
		fix: "id_card = '320106198812010031'", want: map[string]string{"id_card": "320106198812010031"}},
	{name: "user-idcard-wrong-length", kind: kUser, set: []string{"id_card", "'11010519900307123'"},
		field: "id_card", rule: validate.RuleLength, says: "must be 18 characters, got 17",
		fix: "id_card = '110105199003071239'", want: map[string]string{"id_card": "110105199003071239"}},
	{name: "user-phone-wrong-length", kind: kUser, set: []string{"phone", "'1380013800'"},
		field: "phone", rule: validate.RuleLength, says: "must be 11 digits, got 10",
		fix: "phone = '13912345678'", want: map[string]string{"phone": "13912345678"}},
	{name: "user-phone-bad-prefix", kind: kUser, set: []string{"phone", "'12800138000'"},
		field: "phone", rule: validate.RulePrefix, says: "must start with 13 to 19",
		fix: "phone = '15800138000'", want: map[string]string{"phone": "15800138000"}},
	{name: "user-phone-not-digits", kind: kUser, set: []string{"phone", "'138-0013-8000'"},
		field: "phone", rule: validate.RuleFormat, says: "digits only",
		fix: "phone = '13800138000'", want: map[string]string{"phone": "13800138000"}},
	// Nested jsonb of the wrong shape: an array where an object belongs.
	{name: "user-cert-not-an-object", kind: kUser, set: []string{"live_certification", `'[true]'`},
		field: "live_certification", rule: "type", says: "got JSON array",
		fix:  "live_certification = '" + validCert + "'",
		want: map[string]string{"live_certification.certification_time": "2025-03-01T00:00:00Z"}},
	{name: "user-cert-unknown-field", kind: kUser,
		set:   []string{"live_certification", `'{"certified":true,"certification_time":"2025-03-01T00:00:00Z","selfie":"x"}'`},
		field: "live_certification", rule: "shape", says: `unknown field "selfie"`,
		fix: "live_certification = '" + validCert + "'", want: map[string]string{"live_certification.certified": "true"}},
	{name: "user-cert-missing-certified", kind: kUser,
		set:   []string{"live_certification", `'{"certification_time":"2025-03-01T00:00:00Z"}'`},
		field: "live_certification.certified", rule: validate.RuleRequired, says: "is required",
		fix: "live_certification = '" + validCert + "'", want: map[string]string{"live_certification.certified": "true"}},
	{name: "user-cert-photo-not-a-url", kind: kUser,
		set:   []string{"live_certification", `'{"certified":true,"certification_time":"2025-03-01T00:00:00Z","photos":["https://img.example.com/a.jpg","ftp://img.example.com/b.jpg"]}'`},
		field: "live_certification.photos[1]", rule: validate.RuleURL, says: "absolute http or https URL",
		fix:  `live_certification = '{"certified":true,"certification_time":"2025-03-01T00:00:00Z","photos":["https://img.example.com/a.jpg"]}'`,
		want: map[string]string{"live_certification.photos": "[https://img.example.com/a.jpg]"}},

	// Companies.
	{name: "company-name-blank", kind: kCompany, set: []string{"company_name", "'   '"},
		field: "company_name", rule: validate.RuleRequired, says: "is required",
		fix: "company_name = '闽江运输有限公司'", want: map[string]string{"company_name": "闽江运输有限公司"}},
	// The seed's own example code: its check character is wrong.
	{name: "company-credit-check-char", kind: kCompany, set: []string{"social_credit_code", "'91110000MA00ABCD01'"},
		field: "social_credit_code", rule: validate.RuleChecksum, says: "check character mismatch",
		fix: "social_credit_code = '91110108MA01ABCD2H'", want: map[string]string{"social_credit_code": "91110108MA01ABCD2H"}},
	// I is not in the GB 32100 alphabet.
	{name: "company-credit-bad-alphabet", kind: kCompany, set: []string{"social_credit_code", "'91110108MA01IBCD2H'"},
		field: "social_credit_code", rule: validate.RuleFormat, says: "character 13 is not a digit",
		fix: "social_credit_code = '91310000MA1K000019'", want: map[string]string{"social_credit_code": "91310000MA1K000019"}},
	{name: "company-license-expiry-before-issue", kind: kCompany,
		set:   []string{"business_license", `'{"license_number":"LIC-0002","issue_date":"2020-01-01","expiry_date":"2019-12-31"}'`},
		field: "business_license.expiry_date", rule: validate.RuleOrder, says: "must not be before issue_date",
		fix:  `business_license = '{"license_number":"LIC-0002","issue_date":"2020-01-01","expiry_date":"2039-12-31"}'`,
		want: map[string]string{"business_license.expiry_date": "2039-12-31"}},
	{name: "company-license-impossible-date", kind: kCompany,
		set:   []string{"business_license", `'{"license_number":"LIC-0003","issue_date":"2023-02-30"}'`},
		field: "business_license.issue_date", rule: validate.RuleDate, says: "is not a real date",
		fix:  `business_license = '{"license_number":"LIC-0003","issue_date":"2023-02-28"}'`,
		want: map[string]string{"business_license.issue_date": "2023-02-28"}},
	// Nested jsonb of the wrong shape: a number where a string belongs.
	{name: "company-license-number-not-text", kind: kCompany,
		set:   []string{"business_license", `'{"license_number":12345}'`},
		field: "business_license.license_number", rule: "type", says: "want string, got JSON number",
		fix:  `business_license = '{"license_number":"12345"}'`,
		want: map[string]string{"business_license.license_number": "12345"}},
	{name: "company-capital-negative", kind: kCompany,
		set:   []string{"business_license", `'{"license_number":"LIC-0004","registration_capital":-1000}'`},
		field: "business_license.registration_capital", rule: validate.RuleNonNegative, says: "must not be negative",
		fix:  `business_license = '{"license_number":"LIC-0004","registration_capital":1000}'`,
		want: map[string]string{"business_license.registration_capital": "1000"}},

	// Tasks.
	{name: "task-type-unknown", kind: kTask, set: []string{"task_type", "'seasonal'"},
		field: "task_type", rule: validate.RuleEnum, says: "want one of short_term, long_term, part_time, intern",
		fix: "task_type = '短期工'", want: map[string]string{"task_type": "short_term"}},
	{name: "task-status-unknown", kind: kTask, set: []string{"status", "'archived'"},
		field: "status", rule: validate.RuleEnum, says: "want one of open, closed, suspended",
		fix: "status = 'closed'", want: map[string]string{"status": "closed"}},
	{name: "task-recruit-end-before-start", kind: kTask,
		set:   []string{"recruitment_start_time", "'2026-01-20T00:00:00Z'", "recruitment_end_time", "'2026-01-05T00:00:00Z'"},
		field: "recruitment_end_time", rule: validate.RuleOrder, says: "must not be before recruitment_start_time",
		fix:  "recruitment_end_time = '2026-02-05T00:00:00+08:00'",
		want: map[string]string{"recruitment_end_time": "2026-02-04T16:00:00Z"}},
	{name: "task-work-end-before-start", kind: kTask,
		set:   []string{"work_start_time", "'2026-02-01T09:00:00Z'", "work_end_time", "'2026-02-01T08:00:00Z'"},
		field: "work_end_time", rule: validate.RuleOrder, says: "must not be before work_start_time",
		fix: "work_end_time = '2026-02-01T18:00:00Z'", want: map[string]string{"work_end_time": "2026-02-01T18:00:00Z"}},
	{name: "task-recruit-count-zero", kind: kTask, set: []string{"recruit_count", "0"},
		field: "recruit_count", rule: validate.RulePositive, says: "must be greater than 0",
		fix: "recruit_count = 3", want: map[string]string{"recruit_count": "3"}},
	// Postgres keeps timestamps far outside the channel's years 1900..9999.
	{name: "task-start-before-1900", kind: kTask, set: []string{"recruitment_start_time", "'1800-01-01T00:00:00Z'"},
		field: "recruitment_start_time", rule: validate.RuleTime, says: "outside the years 1900 to 9999",
		fix: "recruitment_start_time = '2026-01-01T00:00:00Z'", want: map[string]string{"recruitment_start_time": "2026-01-01T00:00:00Z"}},
	// Nested jsonb of the wrong shape: a string where an object belongs.
	{name: "task-salary-not-an-object", kind: kTask, set: []string{"salary", `'"200 per day"'`},
		field: "salary", rule: "type", says: "got JSON string",
		fix:  `salary = '{"salary_type":"日薪","amount":210.5,"currency":"CNY"}'`,
		want: map[string]string{"salary.salary_type": "daily", "salary.amount": "210.5"}},
	{name: "task-salary-type-missing", kind: kTask, set: []string{"salary", `'{"amount":200}'`},
		field: "salary.salary_type", rule: validate.RuleRequired, says: "is required",
		fix: `salary = '{"salary_type":"hourly","amount":25}'`, want: map[string]string{"salary.salary_type": "hourly"}},
	{name: "task-salary-three-decimals", kind: kTask, set: []string{"salary", `'{"salary_type":"daily","amount":200.555}'`},
		field: "salary.amount", rule: validate.RulePrecision, says: "at most 2 decimal places",
		fix: `salary = '{"salary_type":"daily","amount":200.56}'`, want: map[string]string{"salary.amount": "200.56"}},

	// Applications.
	{name: "application-resume-not-a-url", kind: kApplication, set: []string{"resume_url", "'resume.pdf'"},
		field: "resume_url", rule: validate.RuleURL, says: "absolute http or https URL",
		fix: "resume_url = 'https://files.example.com/resume.pdf'", want: map[string]string{"resume_url": "https://files.example.com/resume.pdf"}},
	// An ANSI escape sequence pasted into a remark.
	{name: "application-remark-escape-char", kind: kApplication, set: []string{"remark", `E'\x1b[31m加急\x1b[0m'`},
		field: "remark", rule: validate.RuleControl, says: "control character U+001B",
		fix: "remark = '加急'", want: map[string]string{"remark": "加急"}},
	{name: "application-applied-after-9999", kind: kApplication, set: []string{"applied_at", "'10000-01-01T00:00:00Z'"},
		field: "applied_at", rule: validate.RuleTime, says: "not an RFC 3339 time",
		fix: "applied_at = '2026-01-07T10:00:00Z'", want: map[string]string{"applied_at": "2026-01-07T10:00:00Z"}},
	// Valid itself, but its user is dead: it waits, blocked, naming the
	// parent; the fix points it at a valid user.
	{name: "application-references-dead-user", kind: kApplication, set: []string{"channel_user_id", "'U-DEAD-PARENT'"},
		field: "channel_user_id", says: "waits for user/U-DEAD-PARENT, which is dead", blocked: true,
		fix: "channel_user_id = 'U-OK'", want: map[string]string{"channel_user_id": "U-OK"}},

	// Payments.
	{name: "payment-amount-zero", kind: kPayment, set: []string{"amount", "0"},
		field: "amount", rule: validate.RulePositive, says: "must be greater than 0",
		fix: "amount = 180", want: map[string]string{"amount": "180"}},
	{name: "payment-amount-negative", kind: kPayment, set: []string{"amount", "-50.00"},
		field: "amount", rule: validate.RulePositive, says: "must be greater than 0",
		fix: "amount = 50.00", want: map[string]string{"amount": "50.00"}},
	// Postgres numeric holds NaN; non-numeric text never gets that far.
	{name: "payment-amount-nan", kind: kPayment, set: []string{"amount", "'NaN'"},
		field: "amount", rule: validate.RuleType, says: "is not a number",
		fix: "amount = 75.5", want: map[string]string{"amount": "75.5"}},
	// 10^13 is one digit more than a float (the seed's type) carries to the fen.
	{name: "payment-amount-too-large", kind: kPayment, set: []string{"amount", "1e13"},
		field: "amount", rule: validate.RuleRange, says: "must be less than 10000000000000",
		fix: "amount = 999999999999.99", want: map[string]string{"amount": "999999999999.99"}},
	{name: "payment-amount-fraction-of-a-fen", kind: kPayment, set: []string{"amount", "10.005"},
		field: "amount", rule: validate.RulePrecision, says: "at most 2 decimal places",
		fix: "amount = 10.01", want: map[string]string{"amount": "10.01"}},
	{name: "payment-type-unknown", kind: kPayment, set: []string{"payment_type", "'bonus'"},
		field: "payment_type", rule: validate.RuleEnum, says: "want one of user, application",
		fix: "payment_type = 'application'", want: map[string]string{"payment_type": "application"}},
	{name: "payment-type-user-without-user", kind: kPayment,
		set:   []string{"payment_type", "'user'", "channel_application_id", "NULL"},
		field: "channel_user_id", rule: validate.RuleReference, says: "is required when payment_type is user",
		fix: "channel_user_id = 'U-OK'", want: map[string]string{"channel_user_id": "U-OK"}},
	{name: "payment-type-application-without-application", kind: kPayment,
		set:   []string{"channel_application_id", "NULL", "channel_user_id", "'U-OK'"},
		field: "channel_application_id", rule: validate.RuleReference, says: "is required when payment_type is application",
		fix: "channel_application_id = 'A-OK'", want: map[string]string{"channel_application_id": "A-OK"}},
	{name: "payment-time-after-9999", kind: kPayment, set: []string{"payment_time", "'12026-01-21T10:00:00Z'"},
		field: "payment_time", rule: validate.RuleTime, says: "not an RFC 3339 time",
		fix: "payment_time = '2026-01-21T18:00:00+08:00'", want: map[string]string{"payment_time": "2026-01-21T10:00:00Z"}},
	// JSON null in a NOT NULL jsonb column: the basis is missing.
	{name: "payment-basis-null", kind: kPayment, set: []string{"payment_basis", "'null'"},
		field: "payment_basis", rule: validate.RuleRequired, says: "is required",
		fix: `payment_basis = '{"basis_type":"hourly","work_hours":8}'`, want: map[string]string{"payment_basis.work_hours": "8"}},
	// A \u0007 escape inside a jsonb string is stored (only \u0000 is
	// refused): a control character in nested text.
	{name: "payment-basis-control-escape", kind: kPayment,
		set:   []string{"payment_basis", `'{"basis_type":"daily","description":"加班\u0007费"}'`},
		field: "payment_basis.description", rule: validate.RuleControl, says: "control character U+0007",
		fix: `payment_basis = '{"basis_type":"daily","description":"加班费"}'`, want: map[string]string{"payment_basis.description": "加班费"}},
	{name: "payment-basis-dates-reversed", kind: kPayment,
		set:   []string{"payment_basis", `'{"basis_type":"daily","work_date_start":"2026-01-10","work_date_end":"2026-01-06"}'`},
		field: "payment_basis.work_date_end", rule: validate.RuleOrder, says: "must not be before work_date_start",
		fix:  `payment_basis = '{"basis_type":"daily","work_date_start":"2026-01-06","work_date_end":"2026-01-10"}'`,
		want: map[string]string{"payment_basis.work_date_end": "2026-01-10"}},
}

// acceptedCase is a record that breaks a rule the validators once held it
// to although the seed does not state it: it now reaches the channel.
type acceptedCase struct {
	// name names the case; the record's id is its upper-case form.
	name string
	kind rkind
	// set changes the valid base row (see insertSQL).
	set []string
	// want are fields (dotted JSON paths) the channel must hold, rendered
	// with fmt.Sprint.
	want map[string]string
}

func (c acceptedCase) id() string { return strings.ToUpper(c.name) }

func (c acceptedCase) ref() rref { return rref{Kind: c.kind, ID: c.id()} }

// manyDocs are 101 supporting documents, one more than the old cap.
var manyDocs = func() []string {
	out := make([]string, 101)
	for i := range out {
		out[i] = fmt.Sprintf("https://docs.example.com/%d", i+1)
	}
	return out
}()

// nowAccepted were cases of the catalogue, or would have been: each breaks
// a rule that is not the seed's and that no channel needs (see
// internal/validate), and is synced like any valid record.
var nowAccepted = []acceptedCase{
	{name: "user-name-201-chars", kind: kUser, set: []string{"name", "repeat('张', 201)"},
		want: map[string]string{"name": strings.Repeat("张", 201)}},
	// A similarity score may be negative.
	{name: "user-cert-negative-score", kind: kUser,
		set:  []string{"live_certification", `'{"certified":true,"certification_time":"2025-03-01T00:00:00Z","face_score":-0.5}'`},
		want: map[string]string{"live_certification.face_score": "-0.5"}},
	// A landline with an extension is a contact phone.
	{name: "company-contact-phone-extension", kind: kCompany, set: []string{"contact_phone", "'0591-87654321 转 8001'"},
		want: map[string]string{"contact_phone": "0591-87654321 转 8001"}},
	{name: "company-scope-5001-chars", kind: kCompany, set: []string{"business_scope", "repeat('经', 5001)"},
		want: map[string]string{"business_scope": strings.Repeat("经", 5001)}},
	// A business licence that does not expire: the company reaches the
	// channel, with no expiry_date (the channel's dates are YYYY-MM-DD).
	{name: "company-license-long-term", kind: kCompany,
		set:  []string{"business_license", `'{"license_number":"LIC-0005","issue_date":"2020-01-01","expiry_date":"长期"}'`},
		want: map[string]string{"business_license.license_number": "LIC-0005"}},
	{name: "task-salary-currency-lowercase", kind: kTask, set: []string{"salary", `'{"salary_type":"daily","amount":200,"currency":"rmb"}'`},
		want: map[string]string{"salary.currency": "rmb"}},
	{name: "payment-bank-account-65-chars", kind: kPayment, set: []string{"bank_account", "repeat('6', 65)"},
		want: map[string]string{"bank_account": strings.Repeat("6", 65)}},
	{name: "payment-basis-101-docs", kind: kPayment,
		set: []string{"payment_basis", `jsonb_build_object('basis_type', 'daily', 'supporting_docs',
			(SELECT jsonb_agg('https://docs.example.com/' || i ORDER BY i) FROM generate_series(1, 101) AS i))`},
		want: map[string]string{"payment_basis.supporting_docs": fmt.Sprint(manyDocs)}},
	{name: "payment-amount-one-trillion", kind: kPayment, set: []string{"amount", "1e12"},
		want: map[string]string{"amount": "1000000000000"}},
}
