// Package datagen generates realistic data sets of all five kinds, valid
// and (on request) invalid, and loads them into the local tables. The demo,
// the end-to-end tests and the benchmarks use it.
package datagen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/validate"
)

// Options size a data set.
type Options struct {
	// Records is the total number of records across the five kinds, split
	// about 2% companies, 20% users, 8% tasks, 40% applications and 30%
	// payments (at least one of each).
	Records int
	// Seed makes the set reproducible.
	Seed uint64
	// Prefix is put before every id, so that sets do not collide.
	Prefix string
	// Grants is how many points grants to add, each to a random user (none
	// by default).
	Grants int
}

// Set is a generated data set, in dependency order.
type Set struct {
	Companies    []dbsqlc.Company
	Users        []dbsqlc.User
	Tasks        []dbsqlc.Task
	Applications []dbsqlc.Application
	Payments     []dbsqlc.Payment
	Grants       []dbsqlc.PointsGrant
}

// Len returns the number of records in the set.
func (s *Set) Len() int {
	return len(s.Companies) + len(s.Users) + len(s.Tasks) + len(s.Applications) + len(s.Payments) + len(s.Grants)
}

// IDs returns the ids of the set's records by source ("company", "user",
// "task", "application", "payment").
func (s *Set) IDs() map[string][]string {
	out := map[string][]string{}
	for _, r := range s.Companies {
		out["company"] = append(out["company"], r.ChannelCompanyID)
	}
	for _, r := range s.Users {
		out["user"] = append(out["user"], r.ChannelUserID)
	}
	for _, r := range s.Tasks {
		out["task"] = append(out["task"], r.ChannelTaskID)
	}
	for _, r := range s.Applications {
		out["application"] = append(out["application"], r.ChannelApplicationID)
	}
	for _, r := range s.Payments {
		out["payment"] = append(out["payment"], r.ChannelPaymentID)
	}
	for _, r := range s.Grants {
		out["points_grant"] = append(out["points_grant"], r.ExternalOrderID)
	}
	return out
}

// Built returns the channel's request bodies of the set's records of the
// channel kind named kind, built (and validated) as a push builds them, in
// the set's order.
func (s *Set) Built(kind string) []*target.Built {
	builders := map[string]func() []*target.Built{
		"company":     func() []*target.Built { return build(s.Companies, channel.Company) },
		"user":        func() []*target.Built { return build(s.Users, channel.User) },
		"task":        func() []*target.Built { return build(s.Tasks, channel.Task) },
		"application": func() []*target.Built { return build(s.Applications, channel.Application) },
		"payment":     func() []*target.Built { return build(s.Payments, channel.Payment) },
	}
	if f, ok := builders[kind]; ok {
		return f()
	}
	return nil
}

func build[R any](rows []R, f func(R) *target.Built) []*target.Built {
	out := make([]*target.Built, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
	givenNames = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞"}
	cities     = []string{"北京市朝阳区", "上海市浦东新区", "广州市天河区", "深圳市南山区", "杭州市西湖区", "成都市武侯区", "武汉市洪山区", "西安市雁塔区"}
	industries = []string{"科技", "物流", "餐饮", "制造", "零售", "人力资源", "建筑", "家政"}
	taskNames  = []string{"仓库分拣员", "外卖配送员", "餐厅服务员", "展会协助", "数据标注员", "流水线操作工", "促销导购", "保洁员"}
	regions    = []string{"110105", "310115", "440106", "440305", "330106", "510107", "420111", "610113"}
	banks      = []string{"中国工商银行", "中国建设银行", "中国农业银行", "招商银行"}
	methods    = []string{"银行转账", "支付宝", "微信"}
	taskTypes  = []string{"short_term", "long_term", "part_time", "intern"}
	salaryType = []string{"hourly", "daily", "monthly", "piece"}
	appStatus  = []string{"pending", "accepted", "rejected", "cancelled"}
	payStatus  = []string{"pending", "completed", "failed"}
)

// Generate builds a valid data set.
func Generate(opts Options) *Set {
	n := max(opts.Records, 5)
	r := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	count := func(pct int) int { return max(1, n*pct/100) }
	nCompanies, nUsers, nTasks, nApps := count(2), count(20), count(8), count(40)
	nPayments := max(1, n-nCompanies-nUsers-nTasks-nApps)
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	p := opts.Prefix
	s := &Set{}

	for i := range nCompanies {
		code := CreditCode(r)
		now := base
		s.Companies = append(s.Companies, dbsqlc.Company{
			ChannelCompanyID:  fmt.Sprintf("%sC%07d", p, i+1),
			CompanyName:       fmt.Sprintf("%s%s%s有限公司", cities[i%len(cities)][:6], industries[r.IntN(len(industries))], fmt.Sprint(i+1)),
			SocialCreditCode:  code,
			LegalPerson:       ptr(personName(r)),
			ContactPerson:     ptr(personName(r)),
			ContactPhone:      ptr(fmt.Sprintf("010-%08d", r.IntN(100000000))),
			BusinessLicense:   mustJSON(map[string]any{"license_number": code, "issue_date": "2020-01-01", "expiry_date": "2050-12-31", "registration_capital": 1000000}),
			RegisteredAddress: ptr(cities[r.IntN(len(cities))] + fmt.Sprintf("某某路%d号", r.IntN(999)+1)),
			BusinessScope:     ptr(industries[r.IntN(len(industries))] + "服务"),
			CreatedAt:         now, UpdatedAt: now,
		})
	}
	for i := range nUsers {
		var lc []byte
		if i%3 == 0 {
			lc = mustJSON(map[string]any{"certified": true, "certification_time": "2026-01-15T10:30:00Z", "certification_method": "支付宝活体", "face_score": 95.5, "liveness_score": 98.2})
		}
		s.Users = append(s.Users, dbsqlc.User{
			ChannelUserID:     fmt.Sprintf("%sU%07d", p, i+1),
			Name:              personName(r),
			IDCard:            IDCard(r),
			Phone:             fmt.Sprintf("1%d%09d", 3+r.IntN(7), r.IntN(1000000000)),
			LiveCertification: lc,
			Active:            true,
			CreatedAt:         base, UpdatedAt: base,
		})
	}
	for i := range nTasks {
		start := base.Add(time.Duration(r.IntN(60*24)) * time.Hour)
		end := start.Add(time.Duration(24*(7+r.IntN(30))) * time.Hour)
		ws, we := end.Add(24*time.Hour), end.Add(time.Duration(24*(10+r.IntN(30)))*time.Hour)
		s.Tasks = append(s.Tasks, dbsqlc.Task{
			ChannelTaskID:          fmt.Sprintf("%sT%07d", p, i+1),
			ChannelCompanyID:       s.Companies[r.IntN(nCompanies)].ChannelCompanyID,
			TaskName:               taskNames[r.IntN(len(taskNames))],
			TaskType:               taskTypes[r.IntN(len(taskTypes))],
			RecruitCount:           int32(1 + r.IntN(200)),
			RecruitmentStartTime:   start,
			RecruitmentEndTime:     end,
			WorkStartTime:          &ws,
			WorkEndTime:            &we,
			WageDescription:        ptr("按月结算,次月15日发放"),
			RecruitmentDescription: ptr("负责日常工作,服从安排"),
			WorkLocation:           ptr(cities[r.IntN(len(cities))]),
			JobRequirements:        ptr("身体健康,能吃苦耐劳"),
			Salary:                 mustJSON(map[string]any{"salary_type": salaryType[r.IntN(len(salaryType))], "amount": 3000 + r.IntN(9000), "currency": "CNY", "settlement_type": "月结"}),
			Status:                 ptr("open"),
			CreatedAt:              base, UpdatedAt: base,
		})
	}
	for i := range nApps {
		s.Applications = append(s.Applications, dbsqlc.Application{
			ChannelApplicationID: fmt.Sprintf("%sA%07d", p, i+1),
			ChannelUserID:        s.Users[r.IntN(nUsers)].ChannelUserID,
			ChannelTaskID:        s.Tasks[r.IntN(nTasks)].ChannelTaskID,
			AppliedAt:            base.Add(time.Duration(r.IntN(90*24*60)) * time.Minute),
			ResumeUrl:            ptr(fmt.Sprintf("https://cdn.example.com/resume/%d.pdf", i+1)),
			ApplicationChannel:   ptr("渠道A"),
			Status:               ptr(appStatus[r.IntN(len(appStatus))]),
			CreatedAt:            base, UpdatedAt: base,
		})
	}
	for i := range nPayments {
		pay := dbsqlc.Payment{
			ChannelPaymentID: fmt.Sprintf("%sP%07d", p, i+1),
			Amount:           fmt.Sprintf("%d.%02d", 100+r.IntN(9900), r.IntN(100)),
			Currency:         ptr("CNY"),
			PaymentTime:      base.Add(time.Duration(r.IntN(120*24)) * time.Hour),
			PaymentMethod:    ptr(methods[r.IntN(len(methods))]),
			PaymentChannel:   ptr(banks[r.IntN(len(banks))]),
			BankName:         ptr(banks[r.IntN(len(banks))] + "北京分行"),
			BankAccount:      ptr(fmt.Sprintf("6222%015d", r.Int64N(1e15))),
			TransactionNo:    ptr(fmt.Sprintf("TX%012d", i+1)),
			PaymentBasis:     mustJSON(map[string]any{"basis_type": "月薪", "work_date_start": "2026-02-01", "work_date_end": "2026-02-15", "description": "工资"}),
			Status:           ptr(payStatus[r.IntN(len(payStatus))]),
			CreatedAt:        base, UpdatedAt: base,
		}
		if i%4 == 0 {
			pay.PaymentType = "user"
			pay.ChannelUserID = ptr(s.Users[r.IntN(nUsers)].ChannelUserID)
		} else {
			app := s.Applications[r.IntN(nApps)]
			pay.PaymentType = "application"
			pay.ChannelApplicationID = ptr(app.ChannelApplicationID)
			pay.ChannelUserID = ptr(app.ChannelUserID)
		}
		s.Payments = append(s.Payments, pay)
	}
	for i := range opts.Grants {
		s.Grants = append(s.Grants, dbsqlc.PointsGrant{
			ExternalOrderID: fmt.Sprintf("%sG%07d", p, i+1),
			ChannelUserID:   s.Users[r.IntN(nUsers)].ChannelUserID,
			AmountCents:     int64(1+r.IntN(100)) * 100,
			Reason:          ptr(grantReasons[r.IntN(len(grantReasons))]),
			CreatedAt:       base, UpdatedAt: base,
		})
	}
	return s
}

var grantReasons = []string{"月度奖励", "推荐奖励", "年终奖励", "充值"}

func personName(r *rand.Rand) string {
	return string(surnames[r.IntN(len(surnames))]) + givenNames[r.IntN(len(givenNames))]
}

// IDCard returns a valid 18-digit resident ID number (GB 11643 check digit).
func IDCard(r *rand.Rand) string {
	birth := time.Date(1960+r.IntN(45), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	body := regions[r.IntN(len(regions))] + birth.Format("20060102") + fmt.Sprintf("%03d", r.IntN(1000))
	return body + string(validate.IDCardCheckDigit(body))
}

const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// CreditCode returns a valid unified social credit code (GB 32100).
func CreditCode(r *rand.Rand) string {
	b := []byte("91" + regions[r.IntN(len(regions))])
	for len(b) < 17 {
		b = append(b, creditAlphabet[r.IntN(len(creditAlphabet))])
	}
	return string(b) + string(validate.SocialCreditCodeCheckChar(string(b)))
}

func ptr[T any](v T) *T { return &v }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Load inserts the set into the local tables with COPY, parents first, as an
// HR system's bulk import would: the tables' triggers record every row in
// the outbox, so a running worker pushes them as events.
func (s *Set) Load(ctx context.Context, pool *pgxpool.Pool) error {
	return s.load(ctx, pool, false)
}

// LoadQuiet inserts the set like Load, then removes the outbox entries it
// made in the same transaction: the rows wait for a bulk run (enqueue all).
func (s *Set) LoadQuiet(ctx context.Context, pool *pgxpool.Pool) error {
	return s.load(ctx, pool, true)
}

func (s *Set) load(ctx context.Context, pool *pgxpool.Pool, quiet bool) error {
	type table struct {
		name string
		cols []string
		rows [][]any
	}
	var tables []table
	t := table{name: "companies", cols: []string{"channel_company_id", "company_name", "social_credit_code", "legal_person", "contact_person", "contact_phone", "business_license", "registered_address", "business_scope"}}
	for _, r := range s.Companies {
		t.rows = append(t.rows, []any{r.ChannelCompanyID, r.CompanyName, r.SocialCreditCode, r.LegalPerson, r.ContactPerson, r.ContactPhone, jsonb(r.BusinessLicense), r.RegisteredAddress, r.BusinessScope})
	}
	tables = append(tables, t)
	t = table{name: "users", cols: []string{"channel_user_id", "name", "id_card", "phone", "live_certification"}}
	for _, r := range s.Users {
		t.rows = append(t.rows, []any{r.ChannelUserID, r.Name, r.IDCard, r.Phone, jsonb(r.LiveCertification)})
	}
	tables = append(tables, t)
	t = table{name: "tasks", cols: []string{"channel_task_id", "channel_company_id", "task_name", "task_type", "recruit_count", "recruitment_start_time", "recruitment_end_time", "work_start_time", "work_end_time", "wage_description", "recruitment_description", "work_location", "job_requirements", "salary", "status"}}
	for _, r := range s.Tasks {
		t.rows = append(t.rows, []any{r.ChannelTaskID, r.ChannelCompanyID, r.TaskName, r.TaskType, r.RecruitCount, r.RecruitmentStartTime, r.RecruitmentEndTime, r.WorkStartTime, r.WorkEndTime, r.WageDescription, r.RecruitmentDescription, r.WorkLocation, r.JobRequirements, jsonb(r.Salary), r.Status})
	}
	tables = append(tables, t)
	t = table{name: "applications", cols: []string{"channel_application_id", "channel_user_id", "channel_task_id", "applied_at", "resume_url", "application_channel", "status", "remark"}}
	for _, r := range s.Applications {
		t.rows = append(t.rows, []any{r.ChannelApplicationID, r.ChannelUserID, r.ChannelTaskID, r.AppliedAt, r.ResumeUrl, r.ApplicationChannel, r.Status, r.Remark})
	}
	tables = append(tables, t)
	t = table{name: "payments", cols: []string{"channel_payment_id", "payment_type", "channel_user_id", "channel_application_id", "amount", "currency", "payment_time", "payment_method", "payment_channel", "bank_name", "bank_account", "transaction_no", "payment_basis", "status", "remark"}}
	for _, r := range s.Payments {
		t.rows = append(t.rows, []any{r.ChannelPaymentID, r.PaymentType, r.ChannelUserID, r.ChannelApplicationID, r.Amount, r.Currency, r.PaymentTime, r.PaymentMethod, r.PaymentChannel, r.BankName, r.BankAccount, r.TransactionNo, jsonb(r.PaymentBasis), r.Status, r.Remark})
	}
	tables = append(tables, t)
	t = table{name: "points_grants", cols: []string{"external_order_id", "channel_user_id", "amount_cents", "reason"}}
	for _, r := range s.Grants {
		t.rows = append(t.rows, []any{r.ExternalOrderID, r.ChannelUserID, r.AmountCents, r.Reason})
	}
	tables = append(tables, t)

	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("load data set: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	for _, tb := range tables {
		if len(tb.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{tb.name}, tb.cols, pgx.CopyFromRows(tb.rows)); err != nil {
			return fmt.Errorf("load %s: %w", tb.name, err)
		}
	}
	if quiet {
		for k, ids := range s.IDs() {
			if _, err := tx.Exec(ctx, `DELETE FROM sync_outbox WHERE kind = $1 AND record_id = ANY($2)`, k, ids); err != nil {
				return fmt.Errorf("clear outbox: %w", err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("load data set: %w", err)
	}
	return nil
}

// jsonb passes a JSON document to COPY as text, or NULL.
func jsonb(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
