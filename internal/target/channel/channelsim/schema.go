package channelsim

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kind indexes the five resources.
type kind uint8

const (
	kUser kind = iota
	kCompany
	kTask
	kApplication
	kPayment
	numKinds
)

// ftype is a field's JSON type, as the seed's type table names it.
type ftype uint8

const (
	tString  ftype = iota
	tInteger       // a JSON number written as an integer
	tFloat         // any JSON number
	tBool
	tStrings // array of non-empty strings
	tObject
)

// format is an extra rule on a field's value.
type format uint8

const (
	fNone       format = iota
	fTime              // YYYY-MM-DDTHH:MM:SSZ
	fDate              // YYYY-MM-DD
	fIDCard            // GB 11643
	fMobile            // 1[3-9] + 9 digits
	fCreditCode        // GB 32100
	fPositive          // a number > 0
)

// field is one field of a body or nested object.
type field struct {
	name     string
	typ      ftype
	required bool
	format   format
	enum     []string
	sub      []field
}

// ref is a field that names a record of another kind.
type ref struct {
	field string
	kind  kind
}

// requiredWhen makes an optional field required when another field has a
// given value (payment_type=user needs channel_user_id).
type requiredWhen struct {
	field, ifField, ifValue string
}

// listFilter is one query parameter of a list endpoint.
type listFilter struct {
	param string
	idx   int // position in entry.idx
	enum  []string
	date  bool // start_date/end_date: a date compared with the day of idx
	end   bool // end_date rather than start_date
}

// kindInfo describes one resource.
type kindInfo struct {
	name           string // user
	plural         string // users
	idField        string // channel_user_id
	channelIDField string // user_id
	digit          byte   // first digit of the channel's own ids
	fields         []field
	requiredWhen   []requiredWhen
	refs           []ref
	index          []string // fields kept on the entry for list filters
	filters        []listFilter
}

func (ki *kindInfo) listable() bool { return len(ki.filters) > 0 }

// The enumerations of channel-api.md: codes only.
var (
	taskTypes    = []string{"short_term", "long_term", "part_time", "intern"}
	salaryTypes  = []string{"hourly", "daily", "monthly", "piece"}
	taskStatuses = []string{"open", "closed", "suspended"}
	appStatuses  = []string{"pending", "accepted", "rejected", "cancelled"}
	payStatuses  = []string{"pending", "completed", "failed"}
	paymentTypes = []string{"user", "application"}
)

func str(name string, required bool) field {
	return field{name: name, typ: tString, required: required}
}

var kinds = [numKinds]kindInfo{
	kUser: {
		name: "user", plural: "users", idField: "channel_user_id", channelIDField: "user_id", digit: '1',
		fields: []field{
			str("channel_user_id", true),
			str("name", true),
			{name: "id_card", typ: tString, required: true, format: fIDCard},
			{name: "phone", typ: tString, required: true, format: fMobile},
			{name: "live_certification", typ: tObject, sub: []field{
				{name: "certified", typ: tBool, required: true},
				{name: "certification_time", typ: tString, required: true, format: fTime},
				str("certification_method", false),
				{name: "face_score", typ: tFloat},
				{name: "liveness_score", typ: tFloat},
				{name: "photos", typ: tStrings},
			}},
		},
	},
	kCompany: {
		name: "company", plural: "companies", idField: "channel_company_id", channelIDField: "company_id", digit: '2',
		fields: []field{
			str("channel_company_id", true),
			str("company_name", true),
			{name: "social_credit_code", typ: tString, required: true, format: fCreditCode},
			str("legal_person", false),
			str("contact_person", false),
			str("contact_phone", false), // may be a landline: no mobile rule
			{name: "business_license", typ: tObject, sub: []field{
				str("license_number", true),
				str("license_photo", false),
				{name: "issue_date", typ: tString, format: fDate},
				{name: "expiry_date", typ: tString, format: fDate},
				{name: "registration_capital", typ: tFloat},
				{name: "paid_in_capital", typ: tFloat},
			}},
			str("registered_address", false),
			str("business_scope", false),
		},
	},
	kTask: {
		name: "task", plural: "tasks", idField: "channel_task_id", channelIDField: "task_id", digit: '3',
		fields: []field{
			str("channel_task_id", true),
			str("channel_company_id", true),
			str("task_name", true),
			{name: "task_type", typ: tString, required: true, enum: taskTypes},
			{name: "recruit_count", typ: tInteger, required: true, format: fPositive},
			{name: "recruitment_start_time", typ: tString, required: true, format: fTime},
			{name: "recruitment_end_time", typ: tString, required: true, format: fTime},
			{name: "work_start_time", typ: tString, format: fTime},
			{name: "work_end_time", typ: tString, format: fTime},
			str("wage_description", false),
			str("recruitment_description", false),
			str("work_location", false),
			str("job_requirements", false),
			{name: "salary", typ: tObject, sub: []field{
				{name: "salary_type", typ: tString, required: true, enum: salaryTypes},
				{name: "amount", typ: tFloat, required: true, format: fPositive},
				str("currency", false),
				str("settlement_type", false),
			}},
			{name: "status", typ: tString, enum: taskStatuses},
		},
		refs:  []ref{{"channel_company_id", kCompany}},
		index: []string{"channel_company_id", "status"},
		filters: []listFilter{
			{param: "channel_company_id", idx: 0},
			{param: "status", idx: 1, enum: taskStatuses},
		},
	},
	kApplication: {
		name: "application", plural: "applications", idField: "channel_application_id", channelIDField: "application_id", digit: '4',
		fields: []field{
			str("channel_application_id", true),
			str("channel_user_id", true),
			str("channel_task_id", true),
			{name: "applied_at", typ: tString, required: true, format: fTime},
			str("resume_url", false),
			str("application_channel", false),
			{name: "status", typ: tString, enum: appStatuses},
			str("remark", false),
		},
		refs:  []ref{{"channel_user_id", kUser}, {"channel_task_id", kTask}},
		index: []string{"channel_user_id", "channel_task_id", "status", "applied_at"},
		filters: []listFilter{
			{param: "channel_user_id", idx: 0},
			{param: "channel_task_id", idx: 1},
			{param: "status", idx: 2, enum: appStatuses},
			{param: "start_date", idx: 3, date: true},
			{param: "end_date", idx: 3, date: true, end: true},
		},
	},
	kPayment: {
		name: "payment", plural: "payments", idField: "channel_payment_id", channelIDField: "payment_id", digit: '5',
		fields: []field{
			str("channel_payment_id", true),
			{name: "payment_type", typ: tString, required: true, enum: paymentTypes},
			str("channel_user_id", false),        // required when payment_type=user
			str("channel_application_id", false), // required when payment_type=application
			{name: "amount", typ: tFloat, required: true, format: fPositive},
			str("currency", false),
			{name: "payment_time", typ: tString, required: true, format: fTime},
			str("payment_method", false),
			str("payment_channel", false),
			str("bank_name", false),
			str("bank_account", false),
			str("transaction_no", false),
			{name: "payment_basis", typ: tObject, required: true, sub: []field{
				str("basis_type", true),
				{name: "work_hours", typ: tFloat},
				{name: "work_date_start", typ: tString, format: fDate},
				{name: "work_date_end", typ: tString, format: fDate},
				str("description", false),
				{name: "supporting_docs", typ: tStrings},
			}},
			{name: "status", typ: tString, enum: payStatuses},
			str("remark", false),
		},
		requiredWhen: []requiredWhen{
			{field: "channel_user_id", ifField: "payment_type", ifValue: "user"},
			{field: "channel_application_id", ifField: "payment_type", ifValue: "application"},
		},
		refs:  []ref{{"channel_user_id", kUser}, {"channel_application_id", kApplication}},
		index: []string{"channel_user_id", "channel_application_id", "payment_type", "status", "payment_time"},
		filters: []listFilter{
			{param: "channel_user_id", idx: 0},
			{param: "channel_application_id", idx: 1},
			{param: "payment_type", idx: 2, enum: paymentTypes},
			{param: "status", idx: 3, enum: payStatuses},
			{param: "start_date", idx: 4, date: true},
			{param: "end_date", idx: 4, date: true, end: true},
		},
	},
}

// kindByPlural finds a kind by its path segment.
func kindByPlural(p string) (kind, bool) {
	for k := range kinds {
		if kinds[k].plural == p {
			return kind(k), true
		}
	}
	return 0, false
}

// parseKind accepts a kind's singular or plural name.
func parseKind(s string) (kind, bool) {
	for k := range kinds {
		if kinds[k].plural == s || kinds[k].name == s {
			return kind(k), true
		}
	}
	return 0, false
}

// validate checks a decoded body against the kind's rules and returns every
// problem, each naming its field. For an update, pathID is the id in the
// path: the body's id field may then be absent, and must equal it if present.
func (ki *kindInfo) validate(m map[string]any, update bool, pathID string) []string {
	var errs []string
	optional := "" // a field the body may leave out although it is required
	if update {
		optional = ki.idField
		if s, isStr := m[ki.idField].(string); isStr && s != pathID {
			errs = append(errs, ki.idField+": must equal the id in the path")
		}
	}
	errs = validateObject(errs, "", m, ki.fields, optional)
	for _, c := range ki.requiredWhen {
		if _, present := m[c.field]; !present && m[c.ifField] == c.ifValue {
			errs = append(errs, c.field+": required when "+c.ifField+" is "+c.ifValue)
		}
	}
	return errs
}

// validateObject checks obj against fields; prefix is the path of obj
// ("" at the top, "salary." inside). The field named optional is not
// required.
func validateObject(errs []string, prefix string, obj map[string]any, fields []field, optional string) []string {
	for i := range fields {
		f := &fields[i]
		v, present := obj[f.name]
		if !present {
			if f.required && f.name != optional {
				errs = append(errs, prefix+f.name+": required")
			}
			continue
		}
		errs = checkValue(errs, prefix+f.name, f, v)
	}
	var unknown []string
	for k := range obj {
		if !slices.ContainsFunc(fields, func(f field) bool { return f.name == k }) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, prefix+k+": unknown field")
	}
	return errs
}

// checkValue checks one present value.
func checkValue(errs []string, path string, f *field, v any) []string {
	if v == nil {
		return append(errs, path+": must not be null (omit an empty optional field)")
	}
	switch f.typ {
	case tString:
		s, ok := v.(string)
		if !ok {
			return append(errs, path+": must be a string, got "+jsonType(v))
		}
		if s == "" {
			return append(errs, path+": must not be empty (omit an empty optional field)")
		}
		if f.enum != nil && !slices.Contains(f.enum, s) {
			return append(errs, path+": must be one of "+strings.Join(f.enum, "|")+", got "+strconv.Quote(s))
		}
		if msg := checkFormat(f.format, s); msg != "" {
			return append(errs, path+": "+msg)
		}
	case tInteger:
		n, ok := v.(json.Number)
		if !ok {
			return append(errs, path+": must be an integer, got "+jsonType(v))
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return append(errs, path+": must be an integer, got "+string(n))
		}
		if f.format == fPositive && i <= 0 {
			return append(errs, path+": must be greater than 0, got "+string(n))
		}
	case tFloat:
		n, ok := v.(json.Number)
		if !ok {
			return append(errs, path+": must be a number, got "+jsonType(v))
		}
		if f.format == fPositive {
			x, err := strconv.ParseFloat(string(n), 64)
			if err != nil || !(x > 0) {
				return append(errs, path+": must be greater than 0, got "+string(n))
			}
		}
	case tBool:
		if _, ok := v.(bool); !ok {
			return append(errs, path+": must be a boolean, got "+jsonType(v))
		}
	case tStrings:
		a, ok := v.([]any)
		if !ok {
			return append(errs, path+": must be an array of strings, got "+jsonType(v))
		}
		for i, e := range a {
			if s, ok := e.(string); !ok || s == "" {
				errs = append(errs, path+"["+strconv.Itoa(i)+"]: must be a non-empty string, got "+jsonType(e))
			}
		}
	case tObject:
		o, ok := v.(map[string]any)
		if !ok {
			return append(errs, path+": must be an object, got "+jsonType(v))
		}
		errs = validateObject(errs, path+".", o, f.sub, "")
	}
	return errs
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if v == "" {
			return "empty string"
		}
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// checkFormat returns what is wrong with s under the format, or "". The
// messages never repeat personal data (id card, phone).
func checkFormat(f format, s string) string {
	switch f {
	case fTime:
		if !isTime(s) {
			return "must be a UTC time YYYY-MM-DDTHH:MM:SSZ without fractions, got " + strconv.Quote(s)
		}
	case fDate:
		if !isDate(s) {
			return "must be a date YYYY-MM-DD, got " + strconv.Quote(s)
		}
	case fIDCard:
		return checkIDCard(s)
	case fMobile:
		if !isMobile(s) {
			return "must be a mainland mobile number: 11 digits starting 13-19"
		}
	case fCreditCode:
		return checkCreditCode(s)
	}
	return ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isTime reports whether s is exactly YYYY-MM-DDTHH:MM:SSZ and a real time.
func isTime(s string) bool {
	if len(s) != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return false
	}
	if !isDate(s[:10]) || !isDigits(s[11:13]) || !isDigits(s[14:16]) || !isDigits(s[17:19]) {
		return false
	}
	_, err := time.Parse(timeFormat, s)
	return err == nil
}

// isDate reports whether s is exactly YYYY-MM-DD and a real day.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !isDigits(s[:4]) || !isDigits(s[5:7]) || !isDigits(s[8:]) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// isMobile matches ^1[3-9]\d{9}$.
func isMobile(s string) bool {
	return len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && isDigits(s)
}

var idCardWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// checkIDCard checks an 18-character resident ID number and its GB 11643
// check digit (the last may be X).
func checkIDCard(s string) string {
	if len(s) != 18 || !isDigits(s[:17]) || !(isDigits(s[17:]) || s[17] == 'X') {
		return "must be 18 characters: 17 digits then a digit or X"
	}
	sum := 0
	for i := range 17 {
		sum += int(s[i]-'0') * idCardWeights[i]
	}
	if "10X98765432"[sum%11] != s[17] {
		return "check digit mismatch (GB 11643)"
	}
	return ""
}

const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// checkCreditCode checks an 18-character unified social credit code and its
// GB 32100 check character.
func checkCreditCode(s string) string {
	if len(s) != 18 {
		return "must be 18 characters"
	}
	sum := 0
	for i := range 18 {
		v := strings.IndexByte(creditAlphabet, s[i])
		if v < 0 {
			return "character " + strconv.Itoa(i+1) + " is not in 0-9A-Z without I, O, S, V, Z"
		}
		if i < 17 {
			sum += v * creditWeights[i]
		}
	}
	if creditAlphabet[(31-sum%31)%31] != s[17] {
		return "check character mismatch (GB 32100)"
	}
	return ""
}
