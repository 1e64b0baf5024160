package validate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chansync/chansync/internal/target/channel/channelbody"

	"github.com/stretchr/testify/require"
)

// The seed's request examples, verbatim.
const (
	seedUser = `{
"channel_user_id": "U20240101001",
"name": "张三",
"id_card": "110101199001011234",
"phone": "13800138000",
"live_certification": {
"certified": true,
"certification_time": "2024-01-15T10:30:00Z",
"certification_method": "支付宝活体",
"face_score": 95.5,
"liveness_score": 98.2,
"photos": [
"https://cdn.example.com/face/photo1.jpg"
]
}
}`
	seedCompany = `{
"channel_company_id": "C20240101001",
"company_name": "某某科技有限公司",
"social_credit_code": "91110000MA00ABCD01",
"legal_person": "李四",
"contact_person": "王五",
"contact_phone": "010-12345678",
"registered_address": "北京市朝阳区某某街道",
"business_scope": "技术开发、技术服务",
"business_license": {
"license_number": "91110000MA00ABCD01",
"license_photo": "https://cdn.example.com/license.jpg",
"issue_date": "2020-01-01",
"expiry_date": "2050-12-31",
"registration_capital": 1000000,
"paid_in_capital": 500000
}
}`
	seedTask = `{
"channel_task_id": "T20240101001",
"channel_company_id": "C20240101001",
"task_name": "春节临时工招聘",
"task_type": "短期工",
"recruit_count": 100,
"recruitment_start_time": "2024-01-20T00:00:00Z",
"recruitment_end_time": "2024-02-10T23:59:59Z",
"work_start_time": "2024-02-01T08:00:00Z",
"work_end_time": "2024-02-15T18:00:00Z",
"work_location": "北京市朝阳区某某工厂",
"job_requirements": "身体健康,能吃苦耐劳",
"wage_description": "按月结算,次月15日发放工资",
"recruitment_description": "招聘春节期间临时工,负责流水线作业",
"salary": {
"salary_type": "月薪",
"amount": 5000,
"currency": "CNY",
"settlement_type": "月结"
},
"status": "open"
}`
	seedApplication = `{
"channel_application_id": "A20240101001",
"channel_user_id": "U20240101001",
"channel_task_id": "T20240101001",
"applied_at": "2024-01-18T14:30:00Z",
"resume_url": "https://cdn.example.com/resume.pdf",
"application_channel": "渠道A",
"status": "pending"
}`
	seedPayment = `{
"channel_payment_id": "P20240101001",
"payment_type": "application",
"channel_application_id": "A20240101001",
"channel_user_id": "U20240101001",
"amount": 5000,
"currency": "CNY",
"payment_time": "2024-02-20T10:00:00Z",
"payment_method": "银行转账",
"payment_channel": "中国工商银行",
"bank_name": "中国工商银行北京分行",
"bank_account": "6222021234567890123",
"transaction_no": "IOU20240220001",
"payment_basis": {
"basis_type": "月薪",
"work_date_start": "2024-02-01",
"work_date_end": "2024-02-15",
"description": "2024年2月1日-15日工资",
"supporting_docs": [
"https://cdn.example.com/salary_sheet.pdf"
]
},
"status": "completed"
}`
)

func decode[T any](t *testing.T, doc string) *T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v))
	return &v
}

func validUser(t *testing.T) *channelbody.User {
	u := decode[channelbody.User](t, seedUser)
	u.IDCard = "11010519491231002X"
	return u
}

func validCompany(t *testing.T) *channelbody.Company {
	c := decode[channelbody.Company](t, seedCompany)
	c.SocialCreditCode = "91350100M000100Y43"
	c.BusinessLicense.LicenseNumber = "91350100M000100Y43"
	return c
}

func validTask(t *testing.T) *channelbody.Task { return decode[channelbody.Task](t, seedTask) }

func validApplication(t *testing.T) *channelbody.Application {
	return decode[channelbody.Application](t, seedApplication)
}

func validPayment(t *testing.T) *channelbody.Payment {
	return decode[channelbody.Payment](t, seedPayment)
}

// fr is a field and a rule: what a case expects of one FieldError.
type fr struct{ field, rule string }

func fieldRules(errs Errors) []fr {
	out := []fr{}
	for _, e := range errs {
		out = append(out, fr{e.Field, e.Rule})
	}
	return out
}

type recordCase[T any] struct {
	name   string
	mutate func(*T)
	want   []fr
}

// runRecordCases applies each case's mutation to a fresh valid payload and
// requires exactly the expected errors, in order.
func runRecordCases[T any](t *testing.T, fresh func(*testing.T) *T, check func(*T) Errors, cases []recordCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := fresh(t)
			tc.mutate(v)
			errs := check(v)
			want := tc.want
			if want == nil {
				want = []fr{}
			}
			require.Equal(t, want, fieldRules(errs), "errors: %v", errs)
			for _, e := range errs {
				require.NotEmpty(t, e.Detail)
			}
		})
	}
}

func TestSeedExamples(t *testing.T) {
	t.Parallel()

	t.Run("UserFailsOnlyItsIDCheckDigit", func(t *testing.T) {
		t.Parallel()
		errs := User(decode[channelbody.User](t, seedUser))
		require.Equal(t, []fr{{"id_card", RuleChecksum}}, fieldRules(errs))
		require.EqualError(t, errs, "id_card: check digit mismatch")
	})
	t.Run("CompanyFailsOnlyItsCreditCodeCheckChar", func(t *testing.T) {
		t.Parallel()
		errs := Company(decode[channelbody.Company](t, seedCompany))
		require.Equal(t, []fr{{"social_credit_code", RuleChecksum}}, fieldRules(errs))
	})
	t.Run("TaskValidWithLabelsNormalised", func(t *testing.T) {
		t.Parallel()
		task := decode[channelbody.Task](t, seedTask)
		require.Empty(t, Task(task))
		require.Equal(t, "short_term", task.TaskType)
		require.Equal(t, "monthly", task.Salary.SalaryType)
	})
	t.Run("ApplicationValid", func(t *testing.T) {
		t.Parallel()
		require.Empty(t, Application(decode[channelbody.Application](t, seedApplication)))
	})
	t.Run("PaymentValid", func(t *testing.T) {
		t.Parallel()
		require.Empty(t, Payment(decode[channelbody.Payment](t, seedPayment)))
	})
}

func TestUser(t *testing.T) {
	t.Parallel()

	runRecordCases(t, validUser, User, []recordCase[channelbody.User]{
		{"Valid", func(u *channelbody.User) {}, nil},
		{"ValidWithoutLiveCertification", func(u *channelbody.User) { u.LiveCertification = nil }, nil},
		{"MissingID", func(u *channelbody.User) { u.ChannelUserID = "" }, []fr{{"channel_user_id", RuleRequired}}},
		{"IDWithSlash", func(u *channelbody.User) { u.ChannelUserID = "U1/../U2" }, []fr{{"channel_user_id", RuleFormat}}},
		{"IDTooLong", func(u *channelbody.User) { u.ChannelUserID = strings.Repeat("U", 65) }, []fr{{"channel_user_id", RuleLength}}},
		{"BlankName", func(u *channelbody.User) { u.Name = " \t" }, []fr{{"name", RuleRequired}}},
		{"LongNameAccepted", func(u *channelbody.User) { u.Name = strings.Repeat("张", 1000) }, nil},
		{"NameInvalidUTF8", func(u *channelbody.User) { u.Name = "张\xff" }, []fr{{"name", RuleUTF8}}},
		{"NameControlCharacter", func(u *channelbody.User) { u.Name = "张\x1b三" }, []fr{{"name", RuleControl}}},
		{"MissingIDCard", func(u *channelbody.User) { u.IDCard = "" }, []fr{{"id_card", RuleRequired}}},
		{"IDCardCheckDigit", func(u *channelbody.User) { u.IDCard = "110101199001011234" }, []fr{{"id_card", RuleChecksum}}},
		{"IDCardLength", func(u *channelbody.User) { u.IDCard = "1101051949123100" }, []fr{{"id_card", RuleLength}}},
		{"IDCardBirthDate", func(u *channelbody.User) { u.IDCard = withCheckDigit("11010519990230123") }, []fr{{"id_card", RuleDate}}},
		{"MissingPhone", func(u *channelbody.User) { u.Phone = "" }, []fr{{"phone", RuleRequired}}},
		{"PhoneLength", func(u *channelbody.User) { u.Phone = "1380013800" }, []fr{{"phone", RuleLength}}},
		{"PhonePrefix", func(u *channelbody.User) { u.Phone = "12800138000" }, []fr{{"phone", RulePrefix}}},
		{"PhoneLandline", func(u *channelbody.User) { u.Phone = "010-12345678" }, []fr{{"phone", RuleFormat}}},
		{"CertifiedMissing", func(u *channelbody.User) { u.LiveCertification.Certified = nil }, []fr{{"live_certification.certified", RuleRequired}}},
		{"CertifiedFalseIsPresent", func(u *channelbody.User) { f := false; u.LiveCertification.Certified = &f }, nil},
		{"CertificationTimeMissing", func(u *channelbody.User) { u.LiveCertification.CertificationTime = "" }, []fr{{"live_certification.certification_time", RuleRequired}}},
		{"CertificationTimeBad", func(u *channelbody.User) { u.LiveCertification.CertificationTime = "2024-01-15 10:30" }, []fr{{"live_certification.certification_time", RuleTime}}},
		{"LongCertificationMethodAccepted", func(u *channelbody.User) {
			u.LiveCertification.CertificationMethod = strings.Repeat("x", 1000)
		}, nil},
		{"NegativeFaceScoreAccepted", func(u *channelbody.User) { u.LiveCertification.FaceScore = num("-1") }, nil},
		{"FaceScoreZero", func(u *channelbody.User) { u.LiveCertification.FaceScore = num("0") }, nil},
		{"LivenessScoreNotANumber", func(u *channelbody.User) { u.LiveCertification.LivenessScore = num("high") }, []fr{{"live_certification.liveness_score", RuleType}}},
		{"PhotoNotURL", func(u *channelbody.User) {
			u.LiveCertification.Photos = []string{"https://cdn.example.com/1.jpg", "photo2.jpg", "ftp://x.example.com/3.jpg"}
		}, []fr{{"live_certification.photos[1]", RuleURL}, {"live_certification.photos[2]", RuleURL}}},
		{"ManyPhotosAccepted", func(u *channelbody.User) {
			u.LiveCertification.Photos = make([]string, 1000)
			for i := range u.LiveCertification.Photos {
				u.LiveCertification.Photos[i] = "https://cdn.example.com/face/photo.jpg"
			}
		}, nil},
		{"AllErrorsAtOnce", func(u *channelbody.User) {
			u.ChannelUserID = "U 1"
			u.Name = ""
			u.IDCard = "110101199001011234"
			u.Phone = "1380013800"
			u.LiveCertification.Certified = nil
			u.LiveCertification.CertificationTime = "yesterday"
			u.LiveCertification.FaceScore = num("high")
			u.LiveCertification.Photos = []string{"nope"}
		}, []fr{
			{"channel_user_id", RuleFormat},
			{"name", RuleRequired},
			{"id_card", RuleChecksum},
			{"phone", RuleLength},
			{"live_certification.certified", RuleRequired},
			{"live_certification.certification_time", RuleTime},
			{"live_certification.face_score", RuleType},
			{"live_certification.photos[0]", RuleURL},
		}},
	})
}

func TestUserNormalises(t *testing.T) {
	t.Parallel()

	u := validUser(t)
	u.IDCard = " 11010519491231002x "
	u.Phone = " 13800138000\n"
	u.LiveCertification.CertificationTime = "2024-01-15T18:30:00.123+08:00"
	require.Empty(t, User(u))
	require.Equal(t, "11010519491231002X", u.IDCard)
	require.Equal(t, "13800138000", u.Phone)
	require.Equal(t, "2024-01-15T10:30:00Z", u.LiveCertification.CertificationTime)
}

func TestCompany(t *testing.T) {
	t.Parallel()

	runRecordCases(t, validCompany, Company, []recordCase[channelbody.Company]{
		{"Valid", func(c *channelbody.Company) {}, nil},
		{"ValidMinimal", func(c *channelbody.Company) {
			*c = channelbody.Company{ChannelCompanyID: "C1", CompanyName: "某某科技有限公司", SocialCreditCode: "91350100M000100Y43"}
		}, nil},
		{"MissingID", func(c *channelbody.Company) { c.ChannelCompanyID = "" }, []fr{{"channel_company_id", RuleRequired}}},
		{"MissingName", func(c *channelbody.Company) { c.CompanyName = "" }, []fr{{"company_name", RuleRequired}}},
		{"MissingCreditCode", func(c *channelbody.Company) { c.SocialCreditCode = "  " }, []fr{{"social_credit_code", RuleRequired}}},
		{"CreditCodeCheckChar", func(c *channelbody.Company) { c.SocialCreditCode = "91110000MA00ABCD01" }, []fr{{"social_credit_code", RuleChecksum}}},
		{"CreditCodeForbiddenLetter", func(c *channelbody.Company) { c.SocialCreditCode = "91350100M000100O43" }, []fr{{"social_credit_code", RuleFormat}}},
		{"CreditCodeLength", func(c *channelbody.Company) { c.SocialCreditCode = "91350100M000100Y4" }, []fr{{"social_credit_code", RuleLength}}},
		{"LongLegalPersonAccepted", func(c *channelbody.Company) { c.LegalPerson = strings.Repeat("李", 1000) }, nil},
		{"ContactPersonControl", func(c *channelbody.Company) { c.ContactPerson = "王\x00五" }, []fr{{"contact_person", RuleControl}}},
		{"ContactPhoneMobileAllowed", func(c *channelbody.Company) { c.ContactPhone = "13800138000" }, nil},
		{"ShortContactPhoneAccepted", func(c *channelbody.Company) { c.ContactPhone = "110" }, nil},
		{"ContactPhoneWithExtensionAccepted", func(c *channelbody.Company) { c.ContactPhone = "010-12345678转8001" }, nil},
		{"ContactPhoneControl", func(c *channelbody.Company) { c.ContactPhone = "010\x0012345678" }, []fr{{"contact_phone", RuleControl}}},
		{"LongAddressAccepted", func(c *channelbody.Company) { c.RegisteredAddress = strings.Repeat("路", 1000) }, nil},
		{"LongScopeAccepted", func(c *channelbody.Company) { c.BusinessScope = strings.Repeat("a", 10_000) }, nil},
		{"ScopeMultiline", func(c *channelbody.Company) { c.BusinessScope = "技术开发\r\n技术服务\n\t咨询\r仓储" }, nil},
		{"LicenseNumberMissing", func(c *channelbody.Company) { c.BusinessLicense.LicenseNumber = "" }, []fr{{"business_license.license_number", RuleRequired}}},
		{"LongLicenseNumberAccepted", func(c *channelbody.Company) { c.BusinessLicense.LicenseNumber = strings.Repeat("1", 100) }, nil},
		{"LicensePhotoNotURL", func(c *channelbody.Company) { c.BusinessLicense.LicensePhoto = "license.jpg" }, []fr{{"business_license.license_photo", RuleURL}}},
		{"IssueDateBad", func(c *channelbody.Company) { c.BusinessLicense.IssueDate = "2020-02-30" }, []fr{{"business_license.issue_date", RuleDate}}},
		{"ExpiryDateBad", func(c *channelbody.Company) { c.BusinessLicense.ExpiryDate = "2050/12/31" }, []fr{{"business_license.expiry_date", RuleDate}}},
		{"ExpiryDateOtherWord", func(c *channelbody.Company) { c.BusinessLicense.ExpiryDate = "forever" }, []fr{{"business_license.expiry_date", RuleDate}}},
		{"ExpiryLongTerm", func(c *channelbody.Company) { c.BusinessLicense.ExpiryDate = "长期" }, nil},
		{"ExpiryLongTermSpelledOut", func(c *channelbody.Company) { c.BusinessLicense.ExpiryDate = "长期有效" }, nil},
		{"ExpiryPermanent", func(c *channelbody.Company) { c.BusinessLicense.ExpiryDate = " 永久 " }, nil},
		{"ExpiryBeforeIssue", func(c *channelbody.Company) { c.BusinessLicense.ExpiryDate = "2019-12-31" }, []fr{{"business_license.expiry_date", RuleOrder}}},
		{"ExpiryEqualsIssueAccepted", func(c *channelbody.Company) { c.BusinessLicense.ExpiryDate = "2020-01-01" }, nil},
		{"OnlyExpiryDate", func(c *channelbody.Company) { c.BusinessLicense.IssueDate = "" }, nil},
		{"RegistrationCapitalNegative", func(c *channelbody.Company) { c.BusinessLicense.RegistrationCapital = num("-1") }, []fr{{"business_license.registration_capital", RuleNonNegative}}},
		{"PaidInCapitalZero", func(c *channelbody.Company) { c.BusinessLicense.PaidInCapital = num("0") }, nil},
		{"PaidInCapitalNotANumber", func(c *channelbody.Company) { c.BusinessLicense.PaidInCapital = num("1,000") }, []fr{{"business_license.paid_in_capital", RuleType}}},
		{"AllErrorsAtOnce", func(c *channelbody.Company) {
			c.CompanyName = ""
			c.SocialCreditCode = "91110000MA00ABCD01"
			c.ContactPhone = "\x1b"
			c.BusinessLicense.LicenseNumber = ""
			c.BusinessLicense.ExpiryDate = "2000-01-01"
		}, []fr{
			{"company_name", RuleRequired},
			{"social_credit_code", RuleChecksum},
			{"contact_phone", RuleControl},
			{"business_license.license_number", RuleRequired},
			{"business_license.expiry_date", RuleOrder},
		}},
	})
}

func TestCompanyNormalises(t *testing.T) {
	t.Parallel()

	c := validCompany(t)
	c.SocialCreditCode = " 91350100M000100Y43 "
	c.ContactPhone = " 010-12345678 "
	c.BusinessLicense.LicenseNumber = " 91350100M000100Y43"
	c.BusinessLicense.IssueDate = " 2020-01-01 "
	c.BusinessScope = "a\r\nb\rc"
	c.BusinessLicense.ExpiryDate = " 长期 "
	require.Empty(t, Company(c))
	require.Equal(t, "91350100M000100Y43", c.SocialCreditCode)
	require.Equal(t, "010-12345678", c.ContactPhone)
	require.Equal(t, "91350100M000100Y43", c.BusinessLicense.LicenseNumber)
	require.Equal(t, "2020-01-01", c.BusinessLicense.IssueDate)
	require.Equal(t, "a\nb\nc", c.BusinessScope, "Windows and old Mac line ends become LF")
	require.Empty(t, c.BusinessLicense.ExpiryDate, "长期: no expiry_date is sent")
}

func TestTask(t *testing.T) {
	t.Parallel()

	runRecordCases(t, validTask, Task, []recordCase[channelbody.Task]{
		{"Valid", func(k *channelbody.Task) {}, nil},
		{"ValidWithoutOptionals", func(k *channelbody.Task) {
			k.WorkStartTime, k.WorkEndTime, k.Salary, k.Status = "", "", nil, ""
		}, nil},
		{"MissingID", func(k *channelbody.Task) { k.ChannelTaskID = "" }, []fr{{"channel_task_id", RuleRequired}}},
		{"MissingCompanyID", func(k *channelbody.Task) { k.ChannelCompanyID = "" }, []fr{{"channel_company_id", RuleRequired}}},
		{"CompanyIDWithSpace", func(k *channelbody.Task) { k.ChannelCompanyID = "C 1" }, []fr{{"channel_company_id", RuleFormat}}},
		{"MissingName", func(k *channelbody.Task) { k.TaskName = "" }, []fr{{"task_name", RuleRequired}}},
		{"MissingTaskType", func(k *channelbody.Task) { k.TaskType = " " }, []fr{{"task_type", RuleRequired}}},
		{"TaskTypeUnknown", func(k *channelbody.Task) { k.TaskType = "seasonal" }, []fr{{"task_type", RuleEnum}}},
		{"RecruitCountZero", func(k *channelbody.Task) { k.RecruitCount = 0 }, []fr{{"recruit_count", RulePositive}}},
		{"RecruitCountNegative", func(k *channelbody.Task) { k.RecruitCount = -3 }, []fr{{"recruit_count", RulePositive}}},
		{"MissingRecruitmentStart", func(k *channelbody.Task) { k.RecruitmentStartTime = "" }, []fr{{"recruitment_start_time", RuleRequired}}},
		{"MissingRecruitmentEnd", func(k *channelbody.Task) { k.RecruitmentEndTime = "" }, []fr{{"recruitment_end_time", RuleRequired}}},
		{"RecruitmentStartBad", func(k *channelbody.Task) { k.RecruitmentStartTime = "2024-01-20" }, []fr{{"recruitment_start_time", RuleTime}}},
		{"RecruitmentEndBeforeStart", func(k *channelbody.Task) { k.RecruitmentEndTime = "2024-01-19T23:59:59Z" }, []fr{{"recruitment_end_time", RuleOrder}}},
		{"RecruitmentEndEqualsStartAccepted", func(k *channelbody.Task) { k.RecruitmentEndTime = "2024-01-20T08:00:00+08:00" }, nil},
		{"RecruitmentOrderComparedInUTC", func(k *channelbody.Task) {
			k.RecruitmentStartTime = "2024-01-20T09:00:00+08:00" // 01:00Z
			k.RecruitmentEndTime = "2024-01-20T02:00:00Z"
		}, nil},
		{"WorkStartBad", func(k *channelbody.Task) { k.WorkStartTime = "soon" }, []fr{{"work_start_time", RuleTime}}},
		{"WorkEndBeforeStart", func(k *channelbody.Task) { k.WorkEndTime = "2024-01-31T08:00:00Z" }, []fr{{"work_end_time", RuleOrder}}},
		{"OnlyWorkEnd", func(k *channelbody.Task) { k.WorkStartTime = "" }, nil},
		{"LongWageDescriptionAccepted", func(k *channelbody.Task) { k.WageDescription = strings.Repeat("a", 10_000) }, nil},
		{"RecruitmentDescriptionControl", func(k *channelbody.Task) { k.RecruitmentDescription = "a\x07b" }, []fr{{"recruitment_description", RuleControl}}},
		{"LongWorkLocationAccepted", func(k *channelbody.Task) { k.WorkLocation = strings.Repeat("a", 1000) }, nil},
		{"JobRequirementsInvalidUTF8", func(k *channelbody.Task) { k.JobRequirements = "\xc0\xaf" }, []fr{{"job_requirements", RuleUTF8}}},
		{"SalaryTypeMissing", func(k *channelbody.Task) { k.Salary.SalaryType = "" }, []fr{{"salary.salary_type", RuleRequired}}},
		{"SalaryTypeUnknown", func(k *channelbody.Task) { k.Salary.SalaryType = "年薪" }, []fr{{"salary.salary_type", RuleEnum}}},
		{"SalaryAmountMissing", func(k *channelbody.Task) { k.Salary.Amount = nil }, []fr{{"salary.amount", RuleRequired}}},
		{"SalaryAmountZero", func(k *channelbody.Task) { k.Salary.Amount = num("0") }, []fr{{"salary.amount", RulePositive}}},
		{"SalaryAmountNegative", func(k *channelbody.Task) { k.Salary.Amount = num("-5000") }, []fr{{"salary.amount", RulePositive}}},
		{"SalaryAmountThreeDecimals", func(k *channelbody.Task) { k.Salary.Amount = num("25.125") }, []fr{{"salary.amount", RulePrecision}}},
		{"SalaryCurrencyLowercaseAccepted", func(k *channelbody.Task) { k.Salary.Currency = "cny" }, nil},
		{"SalaryCurrencyControl", func(k *channelbody.Task) { k.Salary.Currency = "C\x00NY" }, []fr{{"salary.currency", RuleControl}}},
		{"SalaryCurrencyOmitted", func(k *channelbody.Task) { k.Salary.Currency = "" }, nil},
		{"SalarySettlementFreeText", func(k *channelbody.Task) { k.Salary.SettlementType = "完工结" }, nil},
		{"StatusUnknown", func(k *channelbody.Task) { k.Status = "paused" }, []fr{{"status", RuleEnum}}},
		{"AllErrorsAtOnce", func(k *channelbody.Task) {
			k.TaskName = ""
			k.TaskType = "seasonal"
			k.RecruitCount = 0
			k.RecruitmentEndTime = "2024-01-01T00:00:00Z"
			k.WorkEndTime = "2024-01-01T00:00:00Z"
			k.Salary.Amount = num("0.001")
			k.Status = "paused"
		}, []fr{
			{"task_name", RuleRequired},
			{"task_type", RuleEnum},
			{"recruit_count", RulePositive},
			{"recruitment_end_time", RuleOrder},
			{"work_end_time", RuleOrder},
			{"salary.amount", RulePrecision},
			{"status", RuleEnum},
		}},
	})
}

func TestTaskNormalises(t *testing.T) {
	t.Parallel()

	task := validTask(t)
	task.TaskType = " 兼职 "
	task.RecruitmentStartTime = "2024-01-20T08:00:00+08:00"
	task.RecruitmentEndTime = "2024-02-10T23:59:59.999Z"
	task.WorkStartTime = " 2024-02-01T16:00:00+08:00 "
	task.Salary.SalaryType = "按件"
	task.Salary.Amount = num("12.50")
	task.Status = " "
	require.Empty(t, Task(task))
	require.Equal(t, "part_time", task.TaskType)
	require.Equal(t, "2024-01-20T00:00:00Z", task.RecruitmentStartTime)
	require.Equal(t, "2024-02-10T23:59:59Z", task.RecruitmentEndTime)
	require.Equal(t, "2024-02-01T08:00:00Z", task.WorkStartTime)
	require.Equal(t, "piece", task.Salary.SalaryType)
	require.Equal(t, json.Number("12.50"), *task.Salary.Amount)
	require.Empty(t, task.Status, "a blank optional enum is omitted")

	task.Salary.Amount = num("1.5e3")
	require.Empty(t, Task(task))
	require.Equal(t, json.Number("1500"), *task.Salary.Amount)
}

func TestApplication(t *testing.T) {
	t.Parallel()

	runRecordCases(t, validApplication, Application, []recordCase[channelbody.Application]{
		{"Valid", func(a *channelbody.Application) {}, nil},
		{"ValidMinimal", func(a *channelbody.Application) { a.ResumeURL, a.ApplicationChannel, a.Status = "", "", "" }, nil},
		{"MissingID", func(a *channelbody.Application) { a.ChannelApplicationID = "" }, []fr{{"channel_application_id", RuleRequired}}},
		{"MissingUserID", func(a *channelbody.Application) { a.ChannelUserID = "" }, []fr{{"channel_user_id", RuleRequired}}},
		{"MissingTaskID", func(a *channelbody.Application) { a.ChannelTaskID = "" }, []fr{{"channel_task_id", RuleRequired}}},
		{"TaskIDWithHash", func(a *channelbody.Application) { a.ChannelTaskID = "T#1" }, []fr{{"channel_task_id", RuleFormat}}},
		{"MissingAppliedAt", func(a *channelbody.Application) { a.AppliedAt = "" }, []fr{{"applied_at", RuleRequired}}},
		{"AppliedAtBad", func(a *channelbody.Application) { a.AppliedAt = "2024-01-18T14:30:00" }, []fr{{"applied_at", RuleTime}}},
		{"ResumeURLNotHTTP", func(a *channelbody.Application) { a.ResumeURL = "file:///etc/passwd" }, []fr{{"resume_url", RuleURL}}},
		{"LongResumeURLAccepted", func(a *channelbody.Application) {
			a.ResumeURL = "https://cdn.example.com/" + strings.Repeat("a", 5000)
		}, nil},
		{"LongChannelAccepted", func(a *channelbody.Application) { a.ApplicationChannel = strings.Repeat("渠", 1000) }, nil},
		{"StatusUnknown", func(a *channelbody.Application) { a.Status = "hired" }, []fr{{"status", RuleEnum}}},
		{"StatusUppercase", func(a *channelbody.Application) { a.Status = "Pending" }, []fr{{"status", RuleEnum}}},
		{"LongRemarkAccepted", func(a *channelbody.Application) { a.Remark = strings.Repeat("备", 10_000) }, nil},
		{"RemarkControl", func(a *channelbody.Application) { a.Remark = "ok\x0c" }, []fr{{"remark", RuleControl}}},
		{"AllErrorsAtOnce", func(a *channelbody.Application) {
			a.ChannelUserID = ""
			a.AppliedAt = "never"
			a.ResumeURL = "resume.pdf"
			a.Status = "hired"
		}, []fr{
			{"channel_user_id", RuleRequired},
			{"applied_at", RuleTime},
			{"resume_url", RuleURL},
			{"status", RuleEnum},
		}},
	})
}

func TestApplicationNormalises(t *testing.T) {
	t.Parallel()

	a := validApplication(t)
	a.AppliedAt = "2024-01-18T22:30:00.5+08:00"
	a.Status = "accepted "
	a.Remark = "line\r\nline"
	require.Empty(t, Application(a))
	require.Equal(t, "2024-01-18T14:30:00Z", a.AppliedAt)
	require.Equal(t, "accepted", a.Status)
	require.Equal(t, "line\nline", a.Remark)
}

func TestPayment(t *testing.T) {
	t.Parallel()

	runRecordCases(t, validPayment, Payment, []recordCase[channelbody.Payment]{
		{"Valid", func(p *channelbody.Payment) {}, nil},
		{"ValidUserPayment", func(p *channelbody.Payment) { p.PaymentType, p.ChannelApplicationID = "user", "" }, nil},
		{"ValidApplicationPaymentWithoutUser", func(p *channelbody.Payment) { p.ChannelUserID = "" }, nil},
		{"MissingID", func(p *channelbody.Payment) { p.ChannelPaymentID = "" }, []fr{{"channel_payment_id", RuleRequired}}},
		{"MissingPaymentType", func(p *channelbody.Payment) { p.PaymentType = "" }, []fr{{"payment_type", RuleRequired}}},
		{"PaymentTypeUnknown", func(p *channelbody.Payment) { p.PaymentType = "company" }, []fr{{"payment_type", RuleEnum}}},
		{"UserPaymentWithoutUser", func(p *channelbody.Payment) { p.PaymentType, p.ChannelUserID = "user", "" }, []fr{{"channel_user_id", RuleReference}}},
		{"ApplicationPaymentWithoutApplication", func(p *channelbody.Payment) { p.ChannelApplicationID = "" }, []fr{{"channel_application_id", RuleReference}}},
		{"UserIDWithSlash", func(p *channelbody.Payment) { p.ChannelUserID = "U/1" }, []fr{{"channel_user_id", RuleFormat}}},
		{"AmountMissing", func(p *channelbody.Payment) { p.Amount = "" }, []fr{{"amount", RuleRequired}}},
		{"AmountZero", func(p *channelbody.Payment) { p.Amount = "0" }, []fr{{"amount", RulePositive}}},
		{"AmountNegative", func(p *channelbody.Payment) { p.Amount = "-0.01" }, []fr{{"amount", RulePositive}}},
		{"AmountThreeDecimals", func(p *channelbody.Payment) { p.Amount = "100.001" }, []fr{{"amount", RulePrecision}}},
		{"AmountOfATrillionAccepted", func(p *channelbody.Payment) { p.Amount = "1e12" }, nil},
		{"AmountBeyondAFloatsDigits", func(p *channelbody.Payment) { p.Amount = "1e13" }, []fr{{"amount", RuleRange}}},
		{"AmountNotANumber", func(p *channelbody.Payment) { p.Amount = "5,000" }, []fr{{"amount", RuleType}}},
		{"FreeCurrencyAccepted", func(p *channelbody.Payment) { p.Currency = "人民币" }, nil},
		{"MissingPaymentTime", func(p *channelbody.Payment) { p.PaymentTime = "" }, []fr{{"payment_time", RuleRequired}}},
		{"PaymentTimeBad", func(p *channelbody.Payment) { p.PaymentTime = "2024-02-20" }, []fr{{"payment_time", RuleTime}}},
		{"PaymentMethodFreeText", func(p *channelbody.Payment) { p.PaymentMethod = "数字人民币" }, nil},
		{"LongBankNameAccepted", func(p *channelbody.Payment) { p.BankName = strings.Repeat("行", 1000) }, nil},
		{"LongBankAccountAccepted", func(p *channelbody.Payment) { p.BankAccount = strings.Repeat("6", 100) }, nil},
		{"TransactionNoControl", func(p *channelbody.Payment) { p.TransactionNo = "TX\r1" }, []fr{{"transaction_no", RuleControl}}},
		{"PaymentBasisMissing", func(p *channelbody.Payment) { p.PaymentBasis = nil }, []fr{{"payment_basis", RuleRequired}}},
		{"BasisTypeMissing", func(p *channelbody.Payment) { p.PaymentBasis.BasisType = "" }, []fr{{"payment_basis.basis_type", RuleRequired}}},
		{"BasisTypeFreeText", func(p *channelbody.Payment) { p.PaymentBasis.BasisType = "件数" }, nil},
		{"WorkHoursNegative", func(p *channelbody.Payment) { p.PaymentBasis.WorkHours = num("-8") }, []fr{{"payment_basis.work_hours", RuleNonNegative}}},
		{"WorkHoursFractional", func(p *channelbody.Payment) { p.PaymentBasis.WorkHours = num("7.75") }, nil},
		{"WorkDateStartBad", func(p *channelbody.Payment) { p.PaymentBasis.WorkDateStart = "2024-02-30" }, []fr{{"payment_basis.work_date_start", RuleDate}}},
		{"WorkDateEndBeforeStart", func(p *channelbody.Payment) { p.PaymentBasis.WorkDateEnd = "2024-01-31" }, []fr{{"payment_basis.work_date_end", RuleOrder}}},
		{"WorkDateEndEqualsStart", func(p *channelbody.Payment) { p.PaymentBasis.WorkDateEnd = "2024-02-01" }, nil},
		{"LongDescriptionAccepted", func(p *channelbody.Payment) { p.PaymentBasis.Description = strings.Repeat("a", 10_000) }, nil},
		{"SupportingDocNotURL", func(p *channelbody.Payment) { p.PaymentBasis.SupportingDocs = []string{"sheet.pdf"} }, []fr{{"payment_basis.supporting_docs[0]", RuleURL}}},
		{"StatusUnknown", func(p *channelbody.Payment) { p.Status = "refunded" }, []fr{{"status", RuleEnum}}},
		{"RemarkInvalidUTF8", func(p *channelbody.Payment) { p.Remark = "\xff" }, []fr{{"remark", RuleUTF8}}},
		{"AllErrorsAtOnce", func(p *channelbody.Payment) {
			p.PaymentType = "user"
			p.ChannelUserID = ""
			p.Amount = "0"
			p.PaymentTime = ""
			p.PaymentBasis.BasisType = ""
			p.PaymentBasis.WorkDateEnd = "2024-01-01"
			p.Status = "refunded"
		}, []fr{
			{"channel_user_id", RuleReference},
			{"amount", RulePositive},
			{"payment_time", RuleRequired},
			{"payment_basis.basis_type", RuleRequired},
			{"payment_basis.work_date_end", RuleOrder},
			{"status", RuleEnum},
		}},
	})
}

func TestPaymentNormalises(t *testing.T) {
	t.Parallel()

	p := validPayment(t)
	p.PaymentType = " application"
	p.Amount = "5000.500"
	p.Currency = " CNY "
	p.PaymentTime = "2024-02-20T18:00:00+08:00"
	p.BankAccount = " 6222021234567890123 "
	p.Status = "completed\n"
	require.Empty(t, Payment(p))
	require.Equal(t, "application", p.PaymentType)
	require.Equal(t, json.Number("5000.5"), p.Amount)
	require.Equal(t, "CNY", p.Currency)
	require.Equal(t, "2024-02-20T10:00:00Z", p.PaymentTime)
	require.Equal(t, "6222021234567890123", p.BankAccount)
	require.Equal(t, "completed", p.Status)
}

func TestNilPayloads(t *testing.T) {
	t.Parallel()

	for name, errs := range map[string]Errors{
		"User":        User(nil),
		"Company":     Company(nil),
		"Task":        Task(nil),
		"Application": Application(nil),
		"Payment":     Payment(nil),
	} {
		require.True(t, errs.Has("", RuleRequired), name)
	}
}

func TestDetailsNeverRepeatPersonalValues(t *testing.T) {
	t.Parallel()

	u := validUser(t)
	u.IDCard = "110101199001011234"
	u.Phone = "12800138000"
	u.Name = "张三\x00"
	errs := User(u)
	require.Len(t, errs, 3)
	msg := errs.Error()
	for _, secret := range []string{"110101199001011234", "12800138000", "张三"} {
		require.NotContains(t, msg, secret)
	}
}

func num(s string) *json.Number {
	n := json.Number(s)
	return &n
}
