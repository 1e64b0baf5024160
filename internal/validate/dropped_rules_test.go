package validate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/channel/channelbody"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
	"github.com/chansync/chansync/internal/target/channel/channelsim/channelsimtest"
	"github.com/chansync/chansync/internal/validate"
)

// The validators once held records to rules the seed does not state: text
// length caps, at most 100 photos or documents, amounts below 10^12, a
// three-letter currency, a contact phone of 5 to 20 digits and dashes,
// non-negative scores, an expiry date that is a date, an end strictly after
// its start, no old-Mac line ends. A record breaking one was dead-lettered
// although any channel keeping to the seed would take it. Each case below
// breaks one such rule: the validator passes it, and the channel (the
// project's strict simulator, through the real client) accepts it and holds
// what was sent.

type droppedBundle struct {
	client *channelapi.Client
}

const (
	simAppKey = "channel_001"
	simSecret = "your_secret_key"
)

// setupDropped starts a simulator holding one valid record of each kind a
// case may reference: company C-P, user U-P, task T-P and application A-P.
func setupDropped(t *testing.T) *droppedBundle {
	t.Helper()
	sim := channelsimtest.Start(t, channelsim.Config{AppKey: simAppKey, Secret: simSecret})
	client, err := channelapi.New(channelapi.Config{BaseURL: sim.URL(), AppKey: simAppKey, Secret: simSecret, HTTPClient: sim.Client()})
	require.NoError(t, err)
	b := &droppedBundle{client: client}
	for _, parent := range []struct {
		kind channelbody.Resource
		body any
	}{
		{channelbody.Companies, baseCompany()},
		{channelbody.Users, baseUser()},
		{channelbody.Tasks, baseTask()},
		{channelbody.Applications, baseApplication()},
	} {
		_, err := client.Create(context.Background(), parent.kind, parent.body)
		require.NoError(t, err, "parent %s", parent.kind)
	}
	return b
}

func baseUser() *channelbody.User {
	certified := true
	return &channelbody.User{
		ChannelUserID: "U-P", Name: "张三", IDCard: "11010519491231002X", Phone: "13800138000",
		LiveCertification: &channelbody.LiveCertification{Certified: &certified, CertificationTime: "2024-01-15T10:30:00Z"},
	}
}

func baseCompany() *channelbody.Company {
	return &channelbody.Company{
		ChannelCompanyID: "C-P", CompanyName: "某某科技有限公司", SocialCreditCode: "91350100M000100Y43",
		BusinessLicense: &channelbody.BusinessLicense{LicenseNumber: "91350100M000100Y43", IssueDate: "2020-01-01", ExpiryDate: "2050-12-31"},
	}
}

func baseTask() *channelbody.Task {
	amount := json.Number("5000")
	return &channelbody.Task{
		ChannelTaskID: "T-P", ChannelCompanyID: "C-P", TaskName: "春节临时工招聘", TaskType: "short_term", RecruitCount: 100,
		RecruitmentStartTime: "2024-01-20T00:00:00Z", RecruitmentEndTime: "2024-02-10T23:59:59Z",
		Salary: &channelbody.Salary{SalaryType: "monthly", Amount: &amount, Currency: "CNY"},
	}
}

func baseApplication() *channelbody.Application {
	return &channelbody.Application{ChannelApplicationID: "A-P", ChannelUserID: "U-P", ChannelTaskID: "T-P", AppliedAt: "2024-01-18T14:30:00Z"}
}

func basePayment() *channelbody.Payment {
	return &channelbody.Payment{
		ChannelPaymentID: "P-P", PaymentType: "application", ChannelApplicationID: "A-P", Amount: "5000",
		PaymentTime: "2024-02-20T10:00:00Z", PaymentBasis: &channelbody.PaymentBasis{BasisType: "月薪"},
	}
}

// urls returns n distinct https URLs.
func urls(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://cdn.example.com/doc/%d.jpg", i)
	}
	return out
}

func TestDroppedRuleReachesTheChannel(t *testing.T) {
	t.Parallel()
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	tests := []struct {
		name string
		// record returns the record to push: a valid one, changed to break
		// one dropped rule, with the new id named in its id field.
		record func() any
		// path is the JSON path of a field the channel must then hold as
		// want (fmt.Sprint of the decoded value), or with wantLen items,
		// or not at all (absent).
		path    string
		want    string
		wantLen int
		absent  bool
	}{
		// Users.
		{name: "NameLongerThan200", record: func() any { u := baseUser(); u.ChannelUserID, u.Name = "U-1", long("张", 201); return u },
			path: "name", want: long("张", 201)},
		{name: "CertificationMethodLongerThan200", record: func() any {
			u := baseUser()
			u.ChannelUserID, u.LiveCertification.CertificationMethod = "U-1", long("活", 300)
			return u
		}, path: "live_certification.certification_method", want: long("活", 300)},
		{name: "NegativeFaceScore", record: func() any {
			u := baseUser()
			score := json.Number("-0.5")
			u.ChannelUserID, u.LiveCertification.FaceScore = "U-1", &score
			return u
		}, path: "live_certification.face_score", want: "-0.5"},
		{name: "MoreThan100Photos", record: func() any { u := baseUser(); u.ChannelUserID, u.LiveCertification.Photos = "U-1", urls(101); return u },
			path: "live_certification.photos", wantLen: 101},
		{name: "PhotoURLLongerThan2048", record: func() any {
			u := baseUser()
			u.ChannelUserID, u.LiveCertification.Photos = "U-1", []string{"https://cdn.example.com/" + long("a", 3000)}
			return u
		}, path: "live_certification.photos", wantLen: 1},

		// Companies.
		{name: "CompanyNameLongerThan200", record: func() any { c := baseCompany(); c.ChannelCompanyID, c.CompanyName = "C-1", long("某", 201); return c },
			path: "company_name", want: long("某", 201)},
		{name: "LegalPersonLongerThan200", record: func() any { c := baseCompany(); c.ChannelCompanyID, c.LegalPerson = "C-1", long("李", 201); return c },
			path: "legal_person", want: long("李", 201)},
		{name: "ContactPersonLongerThan200", record: func() any {
			c := baseCompany()
			c.ChannelCompanyID, c.ContactPerson = "C-1", long("王", 201)
			return c
		},
			path: "contact_person", want: long("王", 201)},
		{name: "ContactPhoneWithExtension", record: func() any {
			c := baseCompany()
			c.ChannelCompanyID, c.ContactPhone = "C-1", "010-12345678转8001"
			return c
		},
			path: "contact_phone", want: "010-12345678转8001"},
		{name: "ContactPhoneOfFourDigits", record: func() any { c := baseCompany(); c.ChannelCompanyID, c.ContactPhone = "C-1", "8001"; return c },
			path: "contact_phone", want: "8001"},
		{name: "ContactPhoneLongerThan20", record: func() any {
			c := baseCompany()
			c.ChannelCompanyID, c.ContactPhone = "C-1", "+86 (0591) 8765-4321 ext. 1234"
			return c
		}, path: "contact_phone", want: "+86 (0591) 8765-4321 ext. 1234"},
		{name: "RegisteredAddressLongerThan500", record: func() any {
			c := baseCompany()
			c.ChannelCompanyID, c.RegisteredAddress = "C-1", long("路", 501)
			return c
		}, path: "registered_address", want: long("路", 501)},
		{name: "BusinessScopeLongerThan5000", record: func() any {
			c := baseCompany()
			c.ChannelCompanyID, c.BusinessScope = "C-1", long("经", 5001)
			return c
		},
			path: "business_scope", want: long("经", 5001)},
		{name: "LicenseNumberLongerThan64", record: func() any {
			c := baseCompany()
			c.ChannelCompanyID, c.BusinessLicense.LicenseNumber = "C-1", long("9", 65)
			return c
		}, path: "business_license.license_number", want: long("9", 65)},
		// 长期 is accepted, and sent as no expiry_date: the channel's nested
		// dates are YYYY-MM-DD, and the field is optional.
		{name: "LicenceExpiryLongTerm", record: func() any {
			c := baseCompany()
			c.ChannelCompanyID, c.BusinessLicense.ExpiryDate = "C-1", "长期"
			return c
		},
			path: "business_license.expiry_date", absent: true},
		{name: "LicenceExpiryOnItsIssueDay", record: func() any {
			c := baseCompany()
			c.ChannelCompanyID, c.BusinessLicense.ExpiryDate = "C-1", c.BusinessLicense.IssueDate
			return c
		}, path: "business_license.expiry_date", want: "2020-01-01"},

		// Tasks.
		{name: "TaskNameLongerThan200", record: func() any { k := baseTask(); k.ChannelTaskID, k.TaskName = "T-1", long("招", 201); return k },
			path: "task_name", want: long("招", 201)},
		{name: "WorkLocationLongerThan500", record: func() any { k := baseTask(); k.ChannelTaskID, k.WorkLocation = "T-1", long("厂", 501); return k },
			path: "work_location", want: long("厂", 501)},
		{name: "JobRequirementsLongerThan5000", record: func() any { k := baseTask(); k.ChannelTaskID, k.JobRequirements = "T-1", long("要", 5001); return k },
			path: "job_requirements", want: long("要", 5001)},
		{name: "WageDescriptionLongerThan5000", record: func() any { k := baseTask(); k.ChannelTaskID, k.WageDescription = "T-1", long("薪", 5001); return k },
			path: "wage_description", want: long("薪", 5001)},
		{name: "RecruitmentDescriptionWithOldMacLineEnds", record: func() any {
			k := baseTask()
			k.ChannelTaskID, k.RecruitmentDescription = "T-1", "第一行\r第二行"
			return k
		}, path: "recruitment_description", want: "第一行\n第二行"},
		{name: "RecruitmentEndingWhenItStarts", record: func() any {
			k := baseTask()
			k.ChannelTaskID, k.RecruitmentEndTime = "T-1", k.RecruitmentStartTime
			return k
		}, path: "recruitment_end_time", want: "2024-01-20T00:00:00Z"},
		{name: "WorkEndingWhenItStarts", record: func() any {
			k := baseTask()
			k.ChannelTaskID, k.WorkStartTime, k.WorkEndTime = "T-1", "2024-02-01T08:00:00Z", "2024-02-01T08:00:00Z"
			return k
		}, path: "work_end_time", want: "2024-02-01T08:00:00Z"},
		{name: "SalaryCurrencyNotThreeCapitals", record: func() any { k := baseTask(); k.ChannelTaskID, k.Salary.Currency = "T-1", "rmb"; return k },
			path: "salary.currency", want: "rmb"},
		{name: "SettlementTypeLongerThan200", record: func() any {
			k := baseTask()
			k.ChannelTaskID, k.Salary.SettlementType = "T-1", long("结", 201)
			return k
		}, path: "salary.settlement_type", want: long("结", 201)},

		// Applications.
		{name: "ApplicationChannelLongerThan200", record: func() any {
			a := baseApplication()
			a.ChannelApplicationID, a.ApplicationChannel = "A-1", long("渠", 201)
			return a
		}, path: "application_channel", want: long("渠", 201)},
		{name: "ApplicationRemarkLongerThan5000", record: func() any {
			a := baseApplication()
			a.ChannelApplicationID, a.Remark = "A-1", long("备", 5001)
			return a
		}, path: "remark", want: long("备", 5001)},
		{name: "ResumeURLLongerThan2048", record: func() any {
			a := baseApplication()
			a.ChannelApplicationID, a.ResumeURL = "A-1", "https://cdn.example.com/"+long("r", 3000)
			return a
		}, path: "resume_url", want: "https://cdn.example.com/" + long("r", 3000)},

		// Payments.
		{name: "PaymentAmountOfTrillions", record: func() any { p := basePayment(); p.Amount = "5000000000000.5"; return p },
			path: "amount", want: "5000000000000.5"},
		{name: "PaymentCurrencyInChinese", record: func() any { p := basePayment(); p.Currency = "人民币"; return p },
			path: "currency", want: "人民币"},
		{name: "BankNameLongerThan200", record: func() any { p := basePayment(); p.BankName = long("行", 201); return p },
			path: "bank_name", want: long("行", 201)},
		{name: "PaymentMethodLongerThan200", record: func() any { p := basePayment(); p.PaymentMethod = long("付", 201); return p },
			path: "payment_method", want: long("付", 201)},
		{name: "PaymentChannelLongerThan200", record: func() any { p := basePayment(); p.PaymentChannel = long("道", 201); return p },
			path: "payment_channel", want: long("道", 201)},
		{name: "BankAccountLongerThan64", record: func() any { p := basePayment(); p.BankAccount = long("6", 65); return p },
			path: "bank_account", want: long("6", 65)},
		{name: "TransactionNoLongerThan64", record: func() any { p := basePayment(); p.TransactionNo = long("T", 65); return p },
			path: "transaction_no", want: long("T", 65)},
		{name: "BasisTypeLongerThan200", record: func() any { p := basePayment(); p.PaymentBasis.BasisType = long("依", 201); return p },
			path: "payment_basis.basis_type", want: long("依", 201)},
		{name: "BasisDescriptionLongerThan5000", record: func() any { p := basePayment(); p.PaymentBasis.Description = long("说", 5001); return p },
			path: "payment_basis.description", want: long("说", 5001)},
		{name: "MoreThan100SupportingDocs", record: func() any { p := basePayment(); p.PaymentBasis.SupportingDocs = urls(101); return p },
			path: "payment_basis.supporting_docs", wantLen: 101},
		{name: "PaymentRemarkLongerThan5000", record: func() any { p := basePayment(); p.Remark = long("注", 5001); return p },
			path: "remark", want: long("注", 5001)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupDropped(t)
			ctx := context.Background()

			rec := tt.record()
			kind, id, errs := validateAny(rec)
			require.Empty(t, errs, "the validator passes it: %v", errs)

			created, err := b.client.Create(ctx, kind, rec)
			require.NoError(t, err, "the channel accepts it")
			require.NotEmpty(t, created.ChannelRef)

			got, err := b.client.Get(ctx, kind, id)
			require.NoError(t, err)
			dec := json.NewDecoder(bytes.NewReader(got.Raw))
			dec.UseNumber()
			var m map[string]any
			require.NoError(t, dec.Decode(&m))
			v := lookup(m, tt.path)
			if tt.absent {
				require.Nil(t, v, "the channel holds no %s", tt.path)
				return
			}
			if tt.wantLen > 0 {
				require.Len(t, v, tt.wantLen)
				return
			}
			require.Equal(t, tt.want, fmt.Sprint(v), "the channel holds what was sent")
		})
	}
}

// validateAny runs the validator of rec's kind and returns the kind, the
// record's id and the problems found.
func validateAny(rec any) (channelbody.Resource, string, validate.Errors) {
	switch r := rec.(type) {
	case *channelbody.User:
		return channelbody.Users, r.ChannelUserID, validate.User(r)
	case *channelbody.Company:
		return channelbody.Companies, r.ChannelCompanyID, validate.Company(r)
	case *channelbody.Task:
		return channelbody.Tasks, r.ChannelTaskID, validate.Task(r)
	case *channelbody.Application:
		return channelbody.Applications, r.ChannelApplicationID, validate.Application(r)
	case *channelbody.Payment:
		return channelbody.Payments, r.ChannelPaymentID, validate.Payment(r)
	}
	panic(fmt.Sprintf("validateAny: %T", rec))
}

// lookup returns the value at a dotted path of a decoded JSON object.
func lookup(m map[string]any, path string) any {
	var v any = m
	for _, key := range strings.Split(path, ".") {
		obj, _ := v.(map[string]any)
		v = obj[key]
	}
	return v
}
