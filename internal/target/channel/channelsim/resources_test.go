package channelsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// kindCase describes one resource for the tests that run over all five.
type kindCase struct {
	plural     string
	kind       string
	idField    string
	chIDField  string
	chIDRe     *regexp.Regexp
	parents    bool // needs seedParents first
	bodyFunc   func() map[string]any
	changeFunc func(m map[string]any) // an update's change
	required   []string               // every required field, dotted
}

var kindCases = []kindCase{
	{
		plural: "users", kind: "user", idField: "channel_user_id", chIDField: "user_id", chIDRe: regexp.MustCompile(`^1\d{4}$`),
		bodyFunc:   func() map[string]any { return user("X1") },
		changeFunc: func(m map[string]any) { m["name"] = "李四"; m["phone"] = "19912345678" },
		required:   []string{"channel_user_id", "name", "id_card", "phone", "live_certification.certified", "live_certification.certification_time"},
	},
	{
		plural: "companies", kind: "company", idField: "channel_company_id", chIDField: "company_id", chIDRe: regexp.MustCompile(`^2\d{4}$`),
		bodyFunc:   func() map[string]any { return company("X1") },
		changeFunc: func(m map[string]any) { m["company_name"] = "新名字有限公司"; delete(m, "business_license") },
		required:   []string{"channel_company_id", "company_name", "social_credit_code", "business_license.license_number"},
	},
	{
		plural: "tasks", kind: "task", idField: "channel_task_id", chIDField: "task_id", chIDRe: regexp.MustCompile(`^3\d{4}$`), parents: true,
		bodyFunc:   func() map[string]any { return task("X1", "C1") },
		changeFunc: func(m map[string]any) { m["status"] = "closed"; m["recruit_count"] = 7 },
		required:   []string{"channel_task_id", "channel_company_id", "task_name", "task_type", "recruit_count", "recruitment_start_time", "recruitment_end_time", "salary.salary_type", "salary.amount"},
	},
	{
		plural: "applications", kind: "application", idField: "channel_application_id", chIDField: "application_id", chIDRe: regexp.MustCompile(`^4\d{4}$`), parents: true,
		bodyFunc:   func() map[string]any { return application("X1", "U1", "T1") },
		changeFunc: func(m map[string]any) { m["status"] = "accepted"; delete(m, "remark") },
		required:   []string{"channel_application_id", "channel_user_id", "channel_task_id", "applied_at"},
	},
	{
		plural: "payments", kind: "payment", idField: "channel_payment_id", chIDField: "payment_id", chIDRe: regexp.MustCompile(`^5\d{4}$`), parents: true,
		bodyFunc:   func() map[string]any { return payment("X1", "A1", "U1") },
		changeFunc: func(m map[string]any) { m["status"] = "failed"; m["amount"] = json.Number("0.01") },
		required:   []string{"channel_payment_id", "payment_type", "amount", "payment_time", "payment_basis", "payment_basis.basis_type", "channel_application_id"},
	},
}

func kindCaseOf(plural string) kindCase {
	for _, kc := range kindCases {
		if kc.plural == plural {
			return kc
		}
	}
	panic(plural)
}

func TestCreateGetUpdate(t *testing.T) {
	t.Parallel()
	for _, kc := range kindCases {
		t.Run(kc.plural, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if kc.parents {
				b.seedParents(t)
			}
			before := b.sim.Stats().Kinds[kc.kind]
			body := kc.bodyFunc()

			created := b.mustCreate(t, kc.plural, body)
			require.Len(t, created, 3, "the seed's answer: own id, our id, created_at")
			require.Regexp(t, kc.chIDRe, created[kc.chIDField])
			require.Equal(t, "X1", created[kc.idField])
			require.Equal(t, "2026-01-15T10:30:00Z", created["created_at"])

			got := b.do(t, http.MethodGet, "/"+kc.plural+"/X1", nil)
			require.Equal(t, 0, got.code)
			want := normalize(t, body).(map[string]any)
			want[kc.chIDField] = created[kc.chIDField]
			want["created_at"] = "2026-01-15T10:30:00Z"
			want["updated_at"] = "2026-01-15T10:30:00Z"
			require.Equal(t, want, got.data)

			b.clock.Advance(time.Hour)
			changed := deepCopy(t, body)
			kc.changeFunc(changed)
			delete(changed, kc.idField) // the path names the record
			res := b.do(t, http.MethodPut, "/"+kc.plural+"/X1", changed)
			require.Equal(t, 0, res.code, res.message)
			require.Equal(t, created, res.data, "an update answers the same ids and the original created_at")

			got = b.do(t, http.MethodGet, "/"+kc.plural+"/X1", nil)
			want = normalize(t, changed).(map[string]any)
			want[kc.idField] = "X1"
			want[kc.chIDField] = created[kc.chIDField]
			want["created_at"] = "2026-01-15T10:30:00Z"
			want["updated_at"] = "2026-01-15T11:30:00Z"
			require.Equal(t, want, got.data)

			rec, ok := b.sim.Record(kc.plural, "X1")
			require.True(t, ok)
			wantRec := normalize(t, changed).(map[string]any)
			wantRec[kc.idField] = "X1"
			require.Equal(t, wantRec, rec, "records hold the fields as received, numbers as json.Number")
			require.Equal(t, wantRec, b.sim.Records(kc.kind)["X1"])

			ks := b.sim.Stats().Kinds[kc.kind]
			require.Equal(t, before.Creates+1, ks.Creates)
			require.Equal(t, int64(1), ks.Updates)
			require.Equal(t, int64(2), ks.Gets)
			require.Empty(t, ks.Rejections)
		})
	}
}

// badCase is one body the channel must refuse with 1001.
type badCase struct {
	plural     string
	name       string
	mutateFunc func(m map[string]any)
	want       string
}

func set(path string, v any) func(map[string]any) {
	return func(m map[string]any) { setPath(m, path, v) }
}

func del(path string) func(map[string]any) {
	return func(m map[string]any) { delPath(m, path) }
}

func badCases() []badCase {
	var cases []badCase
	// Every required field missing, and (strings) present but empty.
	for _, kc := range kindCases {
		for _, f := range kc.required {
			cases = append(cases, badCase{kc.plural, "Missing_" + f, del(f), f + ": required"})
			switch f {
			case "recruit_count", "salary.amount", "amount", "payment_basis", "live_certification.certified":
			default:
				cases = append(cases, badCase{kc.plural, "Empty_" + f, set(f, ""), f + ": must not be empty"})
			}
		}
	}
	addFunc := func(plural, name string, mutateFunc func(map[string]any), want string) {
		cases = append(cases, badCase{plural, name, mutateFunc, want})
	}
	// Wrong JSON types.
	addFunc("users", "NameNumber", set("name", 123), "name: must be a string, got number")
	addFunc("users", "IDCardNumber", set("id_card", 110105194912310020), "id_card: must be a string, got number")
	addFunc("users", "LiveCertificationString", set("live_certification", "yes"), "live_certification: must be an object, got string")
	addFunc("users", "CertifiedString", set("live_certification.certified", "true"), "live_certification.certified: must be a boolean, got string")
	addFunc("users", "FaceScoreString", set("live_certification.face_score", "95.5"), "live_certification.face_score: must be a number, got string")
	addFunc("users", "PhotosString", set("live_certification.photos", "https://x/y.jpg"), "live_certification.photos: must be an array of strings, got string")
	addFunc("users", "PhotosOfNumbers", set("live_certification.photos", []any{1}), "live_certification.photos[0]: must be a non-empty string, got number")
	addFunc("users", "PhotosWithEmpty", set("live_certification.photos", []any{"https://x/y.jpg", ""}), "live_certification.photos[1]: must be a non-empty string")
	addFunc("companies", "CompanyNameBool", set("company_name", true), "company_name: must be a string, got boolean")
	addFunc("companies", "LicenseArray", set("business_license", []any{}), "business_license: must be an object, got array")
	addFunc("companies", "CapitalString", set("business_license.registration_capital", "1000000"), "business_license.registration_capital: must be a number, got string")
	addFunc("tasks", "RecruitCountString", set("recruit_count", "100"), "recruit_count: must be an integer, got string")
	addFunc("tasks", "RecruitCountFraction", set("recruit_count", 1.5), "recruit_count: must be an integer, got 1.5")
	addFunc("tasks", "RecruitCountWithPoint", set("recruit_count", json.Number("100.0")), "recruit_count: must be an integer, got 100.0")
	addFunc("tasks", "RecruitCountExponent", set("recruit_count", json.Number("1e2")), "recruit_count: must be an integer, got 1e2")
	addFunc("tasks", "RecruitCountZero", set("recruit_count", 0), "recruit_count: must be greater than 0")
	addFunc("tasks", "SalaryAmountString", set("salary.amount", "5000"), "salary.amount: must be a number, got string")
	addFunc("tasks", "SalaryAmountZero", set("salary.amount", 0), "salary.amount: must be greater than 0, got 0")
	addFunc("tasks", "SalaryAmountNegative", set("salary.amount", -1), "salary.amount: must be greater than 0, got -1")
	addFunc("tasks", "SalaryArray", set("salary", []any{"monthly"}), "salary: must be an object, got array")
	addFunc("applications", "AppliedAtNumber", set("applied_at", 1705588200), "applied_at: must be a string, got number")
	addFunc("applications", "TaskIDNumber", set("channel_task_id", 1), "channel_task_id: must be a string, got number")
	addFunc("payments", "AmountString", set("amount", "5000.25"), "amount: must be a number, got string")
	addFunc("payments", "AmountZero", set("amount", 0), "amount: must be greater than 0")
	addFunc("payments", "AmountNegative", set("amount", -0.01), "amount: must be greater than 0")
	addFunc("payments", "BasisString", set("payment_basis", "月薪"), "payment_basis: must be an object, got string")
	addFunc("payments", "WorkHoursString", set("payment_basis.work_hours", "8"), "payment_basis.work_hours: must be a number, got string")
	addFunc("payments", "DocsString", set("payment_basis.supporting_docs", "https://x"), "payment_basis.supporting_docs: must be an array of strings")
	// Enumerations: codes only, never the seed's Chinese labels.
	addFunc("tasks", "TaskTypeLabel", set("task_type", "短期工"), `task_type: must be one of short_term|long_term|part_time|intern, got "短期工"`)
	addFunc("tasks", "TaskTypeUpper", set("task_type", "SHORT_TERM"), "task_type: must be one of")
	addFunc("tasks", "SalaryTypeLabel", set("salary.salary_type", "月薪"), "salary.salary_type: must be one of hourly|daily|monthly|piece")
	addFunc("tasks", "StatusUnknown", set("status", "draft"), "status: must be one of open|closed|suspended")
	addFunc("applications", "StatusUnknown", set("status", "done"), "status: must be one of pending|accepted|rejected|cancelled")
	addFunc("payments", "StatusUnknown", set("status", "paid"), "status: must be one of pending|completed|failed")
	addFunc("payments", "PaymentTypeUnknown", set("payment_type", "both"), "payment_type: must be one of user|application")
	addFunc("payments", "PaymentTypeCapital", set("payment_type", "User"), "payment_type: must be one of user|application")
	// Times and dates.
	for _, v := range []string{"2024-01-20 00:00:00", "2024-01-20T00:00:00+08:00", "2024-01-20T00:00:00.000Z", "2024-01-20", "2024-13-01T00:00:00Z", "2024-01-20T24:00:00Z", "2024-1-20T00:00:00Z", "2024-01-20t00:00:00z"} {
		addFunc("tasks", "StartTime_"+v, set("recruitment_start_time", v), "recruitment_start_time: must be a UTC time YYYY-MM-DDTHH:MM:SSZ")
	}
	addFunc("tasks", "EndTimeBad", set("recruitment_end_time", "2024-02-10T23:59:59+00:00"), "recruitment_end_time: must be a UTC time")
	addFunc("tasks", "WorkStartBad", set("work_start_time", "2024-02-01"), "work_start_time: must be a UTC time")
	addFunc("tasks", "WorkEndBad", set("work_end_time", "2024-02-15T18:00Z"), "work_end_time: must be a UTC time")
	addFunc("applications", "AppliedAtBad", set("applied_at", "2024-01-18T14:30:00.5Z"), "applied_at: must be a UTC time")
	addFunc("payments", "PaymentTimeBad", set("payment_time", "2024/02/20 10:00:00"), "payment_time: must be a UTC time")
	addFunc("users", "CertificationTimeBad", set("live_certification.certification_time", "2024-01-15T10:30:00+08:00"), "live_certification.certification_time: must be a UTC time")
	addFunc("companies", "IssueDateSlashes", set("business_license.issue_date", "2020/01/01"), "business_license.issue_date: must be a date YYYY-MM-DD")
	addFunc("companies", "ExpiryDateIsTime", set("business_license.expiry_date", "2050-12-31T00:00:00Z"), "business_license.expiry_date: must be a date YYYY-MM-DD")
	addFunc("companies", "ExpiryDateLongTerm", set("business_license.expiry_date", "长期"), "business_license.expiry_date: must be a date YYYY-MM-DD")
	addFunc("companies", "ExpiryDateOtherWord", set("business_license.expiry_date", "forever"), "business_license.expiry_date: must be a date YYYY-MM-DD")
	addFunc("companies", "IssueDateNotADay", set("business_license.issue_date", "2021-02-29"), "business_license.issue_date: must be a date")
	addFunc("payments", "WorkDateStartCompact", set("payment_basis.work_date_start", "20240201"), "payment_basis.work_date_start: must be a date")
	addFunc("payments", "WorkDateEndNotADay", set("payment_basis.work_date_end", "2024-02-30"), "payment_basis.work_date_end: must be a date")
	// Unknown fields, top level and nested; the channel's own ids are not ours to send.
	addFunc("users", "UnknownTop", set("nickname", "x"), "nickname: unknown field")
	addFunc("users", "UnknownNested", set("live_certification.extra", 1), "live_certification.extra: unknown field")
	addFunc("users", "ChannelOwnID", set("user_id", "10001"), "user_id: unknown field")
	addFunc("companies", "UnknownNested", set("business_license.y", "x"), "business_license.y: unknown field")
	addFunc("tasks", "UnknownNested", set("salary.bonus", 1), "salary.bonus: unknown field")
	addFunc("tasks", "CreatedAt", set("created_at", "2024-01-20T00:00:00Z"), "created_at: unknown field")
	addFunc("applications", "UnknownTop", set("channel_company_id", "C1"), "channel_company_id: unknown field")
	addFunc("payments", "UnknownNested", set("payment_basis.x", "y"), "payment_basis.x: unknown field")
	// Nulls and empty optional fields: omit them instead.
	addFunc("users", "NullName", set("name", nil), "name: must not be null")
	addFunc("users", "NullLiveCertification", set("live_certification", nil), "live_certification: must not be null")
	addFunc("applications", "EmptyRemark", set("remark", ""), "remark: must not be empty (omit an empty optional field)")
	addFunc("companies", "EmptyContactPhone", set("contact_phone", ""), "contact_phone: must not be empty")
	addFunc("payments", "NullCurrency", set("currency", nil), "currency: must not be null")
	// Formats of personal and company numbers.
	addFunc("users", "SeedIDCardFailsItsCheckDigit", set("id_card", seedIDCard), "id_card: check digit mismatch (GB 11643)")
	addFunc("users", "IDCardLowercaseX", set("id_card", "11010519491231002x"), "id_card: must be 18 characters: 17 digits then a digit or X")
	addFunc("users", "IDCardShort", set("id_card", "1101051949123100"), "id_card: must be 18 characters")
	addFunc("users", "IDCardLetters", set("id_card", "A1010519491231002X"), "id_card: must be 18 characters")
	addFunc("users", "PhoneSecondDigit", set("phone", "12800138000"), "phone: must be a mainland mobile number")
	addFunc("users", "PhoneLandline", set("phone", "010-12345678"), "phone: must be a mainland mobile number")
	addFunc("users", "PhoneWithCountryCode", set("phone", "+8613800138000"), "phone: must be a mainland mobile number")
	addFunc("users", "PhoneTenDigits", set("phone", "1380013800"), "phone: must be a mainland mobile number")
	addFunc("companies", "SeedCreditCodeFailsItsCheck", set("social_credit_code", seedCreditCode), "social_credit_code: check character mismatch (GB 32100)")
	addFunc("companies", "CreditCodeShort", set("social_credit_code", "91350100M000100Y4"), "social_credit_code: must be 18 characters")
	addFunc("companies", "CreditCodeLetterI", set("social_credit_code", "91350100M000100I43"), "social_credit_code: character 16 is not in")
	addFunc("companies", "CreditCodeLowercase", set("social_credit_code", "91350100m000100Y43"), "social_credit_code: character 9 is not in")
	// Payment type and the reference it needs.
	addFunc("payments", "UserPaymentWithoutUser", func(m map[string]any) {
		m["payment_type"] = "user"
		delete(m, "channel_user_id")
		delete(m, "channel_application_id")
	}, "channel_user_id: required when payment_type is user")
	addFunc("payments", "ApplicationPaymentWithoutApplication", del("channel_application_id"), "channel_application_id: required when payment_type is application")
	return cases
}

func TestValidation(t *testing.T) {
	t.Parallel()

	for _, tc := range badCases() {
		t.Run(tc.plural+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			kc := kindCaseOf(tc.plural)
			b := setup(t)
			if kc.parents {
				b.seedParents(t)
			}
			before := b.sim.Count(kc.kind)
			body := deepCopy(t, kc.bodyFunc())
			tc.mutateFunc(body)
			res := b.do(t, http.MethodPost, "/"+tc.plural, body)
			require.Equal(t, http.StatusOK, res.status)
			require.Equal(t, 1001, res.code)
			require.Contains(t, res.message, tc.want)
			require.Equal(t, before, b.sim.Count(kc.kind), "a rejected body is not stored")
			require.Equal(t, int64(1), b.sim.Stats().Kinds[kc.kind].Rejections[1001])

			// An update is held to the same rules.
			if _, isID := body[kc.idField].(string); isID && body[kc.idField] != "" {
				b.mustCreate(t, tc.plural, kc.bodyFunc())
				res = b.do(t, http.MethodPut, "/"+tc.plural+"/X1", body)
				require.Equal(t, 1001, res.code)
				require.Contains(t, res.message, tc.want)
			}
		})
	}

	t.Run("ReportsEveryProblem", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		body := user("U1")
		delete(body, "name")
		body["phone"] = "123"
		body["extra"] = true
		res := b.do(t, http.MethodPost, "/users", body)
		require.Equal(t, 1001, res.code)
		require.Equal(t, "name: required; phone: must be a mainland mobile number: 11 digits starting 13-19; extra: unknown field", res.message)
		require.NotContains(t, res.message, "123", "personal data is not echoed")
	})

	t.Run("AcceptsValidVariants", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name     string
			plural   string
			bodyFunc func() map[string]any
		}{
			{"UserWithoutLiveCertification", "users", func() map[string]any { m := user("X1"); delete(m, "live_certification"); return m }},
			{"UserIDCardWithDigitCheck", "users", func() map[string]any { m := user("X1"); m["id_card"] = "110105199003071239"; return m }},
			{"UserEmptyPhotos", "users", func() map[string]any { m := user("X1"); setPath(m, "live_certification.photos", []any{}); return m }},
			{"CompanyMinimal", "companies", func() map[string]any {
				return map[string]any{"channel_company_id": "X1", "company_name": "某公司", "social_credit_code": validCreditCode}
			}},
			{"CompanyCreditCodeEndingInZero", "companies", func() map[string]any { m := company("X1"); m["social_credit_code"] = "91110000MA00ABCD00"; return m }},
			{"CompanyLandlineContactPhone", "companies", func() map[string]any { m := company("X1"); m["contact_phone"] = "0571-8888888"; return m }},
			{"TaskMinimal", "tasks", func() map[string]any {
				m := task("X1", "C1")
				for _, f := range []string{"work_start_time", "work_end_time", "wage_description", "recruitment_description", "work_location", "job_requirements", "salary", "status"} {
					delete(m, f)
				}
				return m
			}},
			{"TaskEveryTypeCode", "tasks", func() map[string]any { m := task("X1", "C1"); m["task_type"] = "intern"; return m }},
			{"ApplicationMinimal", "applications", func() map[string]any {
				return map[string]any{"channel_application_id": "X1", "channel_user_id": "U1", "channel_task_id": "T1", "applied_at": "2024-02-29T23:59:59Z"}
			}},
			{"PaymentToUserOnly", "payments", func() map[string]any {
				m := payment("X1", "A1", "U1")
				m["payment_type"] = "user"
				delete(m, "channel_application_id")
				return m
			}},
			{"PaymentIntegerAmount", "payments", func() map[string]any { m := payment("X1", "A1", "U1"); m["amount"] = 5000; return m }},
			// The seed states none of these rules: no length caps, no
			// bound on photos, negative scores, a licence that does not
			// expire.
			{"UserLongNameAndManyPhotos", "users", func() map[string]any {
				m := user("X1")
				m["name"] = strings.Repeat("张", 1000)
				photos := make([]any, 150)
				for i := range photos {
					photos[i] = "https://cdn.example.com/face/" + strconv.Itoa(i) + ".jpg"
				}
				setPath(m, "live_certification.photos", photos)
				setPath(m, "live_certification.face_score", -0.5)
				return m
			}},
			{"CompanyLongScope", "companies", func() map[string]any { m := company("X1"); m["business_scope"] = strings.Repeat("经", 6000); return m }},
			{"PaymentMinimal", "payments", func() map[string]any {
				return map[string]any{"channel_payment_id": "X1", "payment_type": "application", "channel_application_id": "A1", "amount": json.Number("0.01"),
					"payment_time": "2024-02-20T10:00:00Z", "payment_basis": map[string]any{"basis_type": "工时"}}
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				b.seedParents(t)
				b.mustCreate(t, tc.plural, tc.bodyFunc())
			})
		}
	})
}

func TestReferences(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		plural  string
		body    map[string]any
		want    []string
		parents bool
	}{
		{"TaskBeforeCompany", "tasks", task("T9", "C404"), []string{"channel_company_id: company C404 not found"}, true},
		{"ApplicationBeforeUser", "applications", application("A9", "U404", "T1"), []string{"channel_user_id: user U404 not found"}, true},
		{"ApplicationBeforeTask", "applications", application("A9", "U1", "T404"), []string{"channel_task_id: task T404 not found"}, true},
		{"ApplicationBeforeBoth", "applications", application("A9", "U404", "T404"), []string{"user U404 not found", "task T404 not found"}, true},
		{"PaymentBeforeApplication", "payments", payment("P9", "A404", "U1"), []string{"channel_application_id: application A404 not found"}, true},
		{"PaymentBeforeItsUserToo", "payments", payment("P9", "A1", "U404"), []string{"channel_user_id: user U404 not found"}, true},
		{"UserPaymentBeforeUser", "payments", func() map[string]any {
			m := payment("P9", "", "U404")
			m["payment_type"] = "user"
			delete(m, "channel_application_id")
			return m
		}(), []string{"channel_user_id: user U404 not found"}, true},
		{"TaskIntoEmptyChannel", "tasks", task("T9", "C1"), []string{"company C1 not found"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if tc.parents {
				b.seedParents(t)
			}
			kc := kindCaseOf(tc.plural)
			before := b.sim.Count(kc.kind)
			res := b.do(t, http.MethodPost, "/"+tc.plural, tc.body)
			require.Equal(t, 1001, res.code)
			for _, w := range tc.want {
				require.Contains(t, res.message, w)
			}
			require.Equal(t, before, b.sim.Count(kc.kind))
			st := b.sim.Stats()
			require.Equal(t, int64(1), st.Kinds[kc.kind].OrderViolations, "one violation per request")
			require.Equal(t, int64(1), st.OrderViolations())
		})
	}

	t.Run("UpdateToMissingParentIsAViolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.seedParents(t)
		res := b.do(t, http.MethodPut, "/tasks/T1", task("T1", "C404"))
		require.Equal(t, 1001, res.code)
		require.Contains(t, res.message, "company C404 not found")
		require.Equal(t, int64(1), b.sim.Stats().Kinds["task"].OrderViolations)
		rec, _ := b.sim.Record("task", "T1")
		require.Equal(t, "C1", rec["channel_company_id"], "the record is unchanged")
	})

	t.Run("ChildPassesOnceParentArrives", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.Equal(t, 1001, b.do(t, http.MethodPost, "/tasks", task("T1", "C1")).code)
		b.mustCreate(t, "companies", company("C1"))
		b.mustCreate(t, "tasks", task("T1", "C1"))
		require.Equal(t, int64(1), b.sim.Stats().OrderViolations())
	})
}

func TestCreateOrUpdate(t *testing.T) {
	t.Parallel()

	t.Run("DuplicateCreateIsRejectedCountedAndNotStoredTwice", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first := b.mustCreate(t, "users", user("U1"))
		second := user("U1")
		second["name"] = "另一个"
		res := b.do(t, http.MethodPost, "/users", second)
		require.Equal(t, 1001, res.code)
		require.Contains(t, res.message, "channel_user_id: user U1 already exists")
		require.Equal(t, 1, b.sim.Count("user"))
		rec, _ := b.sim.Record("users", "U1")
		require.Equal(t, "张三", rec["name"], "the first create stands")
		chID, _ := b.sim.ChannelID("user", "U1")
		require.Equal(t, first["user_id"], chID)
		st := b.sim.Stats()
		require.Equal(t, int64(1), st.Kinds["user"].DuplicateCreates)
		require.Equal(t, int64(1), st.DuplicateCreates())
		require.Equal(t, int64(1), st.Kinds["user"].Creates)
	})

	t.Run("ConcurrentCreatesOfOneIDMakeOneRecord", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const n = 16
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { codes[i] = b.do(t, http.MethodPost, "/users", user("U1")).code })
		}
		wg.Wait()
		okCount := 0
		for _, c := range codes {
			if c == 0 {
				okCount++
			} else {
				require.Equal(t, 1001, c)
			}
		}
		require.Equal(t, 1, okCount)
		require.Equal(t, 1, b.sim.Count("user"))
		require.Equal(t, int64(n-1), b.sim.Stats().Kinds["user"].DuplicateCreates)
	})

	t.Run("PutOfUnknownIDIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := b.do(t, http.MethodPut, "/users/U1", user("U1"))
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, 1001, res.code)
		require.Contains(t, res.message, "user U1 not found")
		require.Zero(t, b.sim.Count("user"))
	})

	t.Run("PutIDMustMatchPath", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.mustCreate(t, "users", user("U1"))
		res := b.do(t, http.MethodPut, "/users/U1", user("U2"))
		require.Equal(t, 1001, res.code)
		require.Contains(t, res.message, "channel_user_id: must equal the id in the path")
	})

	t.Run("GetMissingIs404WithEnvelope", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := b.do(t, http.MethodGet, "/payments/P404", nil)
		require.Equal(t, http.StatusNotFound, res.status)
		require.True(t, res.hasEnv)
		require.Equal(t, 1001, res.code)
		require.Contains(t, res.message, "payment P404 not found")
		require.Equal(t, int64(1), b.sim.Stats().Kinds["payment"].Rejections[1001])
	})

	t.Run("IDsAreEscapedInPaths", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.mustCreate(t, "users", user("U 1/α"))
		res := b.do(t, http.MethodGet, "/users/U%201%2F%CE%B1", nil)
		require.Equal(t, 0, res.code, res.message)
		require.Equal(t, "U 1/α", res.data["channel_user_id"])
	})

	t.Run("ChannelIDsCountPerKind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.Equal(t, "10001", b.mustCreate(t, "users", user("U1"))["user_id"])
		require.Equal(t, "10002", b.mustCreate(t, "users", user("U2"))["user_id"])
		require.Equal(t, "20001", b.mustCreate(t, "companies", company("C1"))["company_id"])
		require.Equal(t, "30001", b.mustCreate(t, "tasks", task("T1", "C1"))["task_id"])
	})

	t.Run("Routes", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			method, path string
			wantStatus   int
		}{
			{http.MethodGet, "/nothing", http.StatusNotFound},
			{http.MethodGet, "/users/", http.StatusNotFound},
			{http.MethodGet, "/users/a/b", http.StatusNotFound},
			{http.MethodGet, "/users", http.StatusMethodNotAllowed},
			{http.MethodGet, "/companies", http.StatusMethodNotAllowed},
			{http.MethodDelete, "/users/U1", http.StatusMethodNotAllowed},
			{http.MethodPost, "/users/U1", http.StatusMethodNotAllowed},
			{http.MethodPut, "/tasks", http.StatusMethodNotAllowed},
		}
		b := setup(t)
		for _, tc := range cases {
			res := b.do(t, tc.method, tc.path, nil)
			require.Equal(t, tc.wantStatus, res.status, "%s %s", tc.method, tc.path)
			require.Equal(t, 1001, res.code)
		}
		res := b.try(t, http.MethodGet, b.sim.RootURL()+"/api/v2/users/U1", nil)
		require.Equal(t, http.StatusNotFound, res.status)
	})
}

func TestLists(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, "companies", company("C1"))
	b.mustCreate(t, "companies", company("C2"))
	b.mustCreate(t, "users", user("U1"))
	b.mustCreate(t, "users", user("U2"))
	statuses := []string{"open", "closed", "open", "suspended", "open"}
	for i, st := range statuses {
		m := task(fmt.Sprintf("T%d", i+1), []string{"C1", "C2"}[i%2])
		m["status"] = st
		b.mustCreate(t, "tasks", m)
	}
	apps := []struct{ id, user, task, at, status string }{
		{"A1", "U1", "T1", "2024-01-01T23:59:59Z", "pending"},
		{"A2", "U1", "T2", "2024-01-02T00:00:00Z", "accepted"},
		{"A3", "U2", "T1", "2024-01-03T12:00:00Z", "pending"},
		{"A4", "U2", "T3", "2024-01-04T00:00:00Z", "rejected"},
	}
	for _, a := range apps {
		m := application(a.id, a.user, a.task)
		m["applied_at"], m["status"] = a.at, a.status
		b.mustCreate(t, "applications", m)
	}
	pays := []struct{ id, typ, user, app, at, status string }{
		{"P1", "application", "U1", "A1", "2024-02-01T10:00:00Z", "completed"},
		{"P2", "user", "U1", "", "2024-02-02T10:00:00Z", "pending"},
		{"P3", "application", "U2", "A3", "2024-02-03T10:00:00Z", "failed"},
		{"P4", "user", "U2", "", "2024-02-04T10:00:00Z", "completed"},
	}
	for _, p := range pays {
		m := payment(p.id, p.app, p.user)
		m["payment_type"], m["payment_time"], m["status"] = p.typ, p.at, p.status
		if p.app == "" {
			delete(m, "channel_application_id")
		}
		b.mustCreate(t, "payments", m)
	}

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name      string
			query     string
			idField   string
			wantIDs   []string
			wantTotal int
			wantPage  int
			wantSize  int
		}{
			{"AllTasksDefaultPaging", "/tasks", "channel_task_id", []string{"T1", "T2", "T3", "T4", "T5"}, 5, 1, 20},
			{"TasksOfCompany", "/tasks?channel_company_id=C1", "channel_task_id", []string{"T1", "T3", "T5"}, 3, 1, 20},
			{"TasksByStatus", "/tasks?status=open", "channel_task_id", []string{"T1", "T3", "T5"}, 3, 1, 20},
			{"TasksOfCompanyAndStatus", "/tasks?channel_company_id=C2&status=suspended", "channel_task_id", []string{"T4"}, 1, 1, 20},
			{"TasksOfUnknownCompany", "/tasks?channel_company_id=C9", "channel_task_id", nil, 0, 1, 20},
			{"SecondPage", "/tasks?page=2&page_size=2", "channel_task_id", []string{"T3", "T4"}, 5, 2, 2},
			{"LastPartialPage", "/tasks?page=3&page_size=2", "channel_task_id", []string{"T5"}, 5, 3, 2},
			{"PagePastTheEnd", "/tasks?page=4&page_size=2", "channel_task_id", nil, 5, 4, 2},
			{"ApplicationsOfUser", "/applications?channel_user_id=U1", "channel_application_id", []string{"A1", "A2"}, 2, 1, 20},
			{"ApplicationsOfTask", "/applications?channel_task_id=T1", "channel_application_id", []string{"A1", "A3"}, 2, 1, 20},
			{"ApplicationsByStatus", "/applications?status=pending&channel_user_id=U2", "channel_application_id", []string{"A3"}, 1, 1, 20},
			{"ApplicationsInDays", "/applications?start_date=2024-01-02&end_date=2024-01-03", "channel_application_id", []string{"A2", "A3"}, 2, 1, 20},
			{"ApplicationsFromDay", "/applications?start_date=2024-01-03", "channel_application_id", []string{"A3", "A4"}, 2, 1, 20},
			{"ApplicationsUntilDay", "/applications?end_date=2024-01-01", "channel_application_id", []string{"A1"}, 1, 1, 20},
			{"PaymentsOfUser", "/payments?channel_user_id=U1", "channel_payment_id", []string{"P1", "P2"}, 2, 1, 20},
			{"PaymentsOfApplication", "/payments?channel_application_id=A3", "channel_payment_id", []string{"P3"}, 1, 1, 20},
			{"PaymentsByType", "/payments?payment_type=user", "channel_payment_id", []string{"P2", "P4"}, 2, 1, 20},
			{"PaymentsByStatus", "/payments?status=completed", "channel_payment_id", []string{"P1", "P4"}, 2, 1, 20},
			{"PaymentsInDays", "/payments?start_date=2024-02-02&end_date=2024-02-03&page_size=1", "channel_payment_id", []string{"P2"}, 2, 1, 1},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				res := b.do(t, http.MethodGet, tc.query, nil)
				require.Equal(t, 0, res.code, res.message)
				var ids []string
				for _, it := range res.data["list"].([]any) {
					item := it.(map[string]any)
					require.Contains(t, item, "created_at")
					require.Contains(t, item, "updated_at")
					ids = append(ids, item[tc.idField].(string))
				}
				require.Equal(t, tc.wantIDs, ids)
				require.Equal(t, json.Number(fmt.Sprint(tc.wantTotal)), res.data["total"])
				require.Equal(t, json.Number(fmt.Sprint(tc.wantPage)), res.data["page"])
				require.Equal(t, json.Number(fmt.Sprint(tc.wantSize)), res.data["page_size"])
			})
		}
	})

	t.Run("ItemsHaveTheShapeOfGet", func(t *testing.T) {
		t.Parallel()
		list := b.do(t, http.MethodGet, "/tasks?channel_company_id=C2&status=suspended", nil)
		one := b.do(t, http.MethodGet, "/tasks/T4", nil)
		require.Equal(t, []any{one.data}, list.data["list"])
	})

	t.Run("BadQueries", func(t *testing.T) {
		t.Parallel()
		cases := []struct{ name, query, want string }{
			{"PageZero", "/tasks?page=0", "page: must be at least 1"},
			{"PageNegative", "/tasks?page=-1", "page: must be a positive integer"},
			{"PageNotANumber", "/tasks?page=abc", "page: must be a positive integer"},
			{"PageSizeZero", "/tasks?page_size=0", "page_size: must be between 1 and 100"},
			{"PageSizeTooLarge", "/tasks?page_size=101", "page_size: must be between 1 and 100"},
			{"PageSizeFraction", "/applications?page_size=1.5", "page_size: must be a positive integer"},
			{"PageTwice", "/tasks?page=1&page=2", "page: given more than once"},
			{"EmptyFilter", "/tasks?status=", "status: must not be empty"},
			{"StatusNotACode", "/tasks?status=OPEN", "status: must be one of open|closed|suspended"},
			{"ApplicationStatusNotACode", "/applications?status=open", "status: must be one of pending|accepted|rejected|cancelled"},
			{"PaymentTypeNotACode", "/payments?payment_type=both", "payment_type: must be one of user|application"},
			{"UnknownParameter", "/tasks?foo=1", "foo: unknown parameter of GET /tasks"},
			{"FilterOfAnotherList", "/tasks?channel_user_id=U1", "channel_user_id: unknown parameter"},
			{"DatesNotOnTasks", "/tasks?start_date=2024-01-01", "start_date: unknown parameter"},
			{"BadStartDate", "/applications?start_date=2024/01/01", "start_date: must be a date YYYY-MM-DD"},
			{"TimeIsNoDate", "/payments?end_date=2024-01-01T00:00:00Z", "end_date: must be a date YYYY-MM-DD"},
			{"StartAfterEnd", "/payments?start_date=2024-02-03&end_date=2024-02-02", "start_date: must not be after end_date"},
			{"BadEscape", "/tasks?status=%zz", "query:"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				res := b.do(t, http.MethodGet, tc.query, nil)
				require.Equal(t, 1001, res.code)
				require.Contains(t, res.message, tc.want)
			})
		}
	})

	t.Run("CountedAsLists", func(t *testing.T) {
		t.Parallel()
		before := b.sim.Stats().Kinds["application"].Lists
		b.do(t, http.MethodGet, "/applications", nil)
		require.GreaterOrEqual(t, b.sim.Stats().Kinds["application"].Lists, before+1)
	})
}

func TestMaxPageSize(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *channelsim.Config) { c.MaxPageSize = 1000 })
	res := b.do(t, http.MethodGet, "/tasks?page_size=1000", nil)
	require.Equal(t, 0, res.code, res.message)
	require.True(t, strings.Contains(string(res.raw), `"page_size":1000`))
}
