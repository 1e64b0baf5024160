package channel_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/dbsqlc"
	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
)

func ptr[T any](v T) *T { return &v }

func fields(t *testing.T, b *target.Built) map[string]any {
	t.Helper()
	require.Truef(t, b.Valid(), "unexpected errors: %v", b.Errs)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b.JSON, &m))
	return m
}

func TestTaskMirrorsItsRow(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 1, 20, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	row := dbsqlc.Task{
		ChannelTaskID: "T1", ChannelCompanyID: "C1", TaskName: "春节临时工招聘", TaskType: "短期工",
		RecruitCount:         100,
		RecruitmentStartTime: start, RecruitmentEndTime: start.Add(21 * 24 * time.Hour),
		Salary:          []byte(`{"salary_type":"月薪","amount":5000,"currency":"CNY","settlement_type":"月结"}`),
		WageDescription: ptr(""), // empty optional: omitted, never ""
		Status:          ptr("open"),
	}
	b := channel.Task(row)
	m := fields(t, b)
	require.Equal(t, "short_term", m["task_type"], "Chinese labels are sent as codes")
	require.Equal(t, "2024-01-20T00:00:00Z", m["recruitment_start_time"], "times in UTC with Z")
	require.NotContains(t, m, "wage_description")
	require.NotContains(t, m, "work_start_time")
	require.Equal(t, map[string]any{"salary_type": "monthly", "amount": 5000.0, "currency": "CNY", "settlement_type": "月结"}, m["salary"])
	require.Equal(t, []target.ParentRef{{Field: "channel_company_id", Ref: target.Ref{Target: channel.Name, Kind: "company", ID: "C1"}}}, b.Parents)
	require.Len(t, b.Hash, 32)
	require.Equal(t, b.Hash, channel.Task(row).Hash, "the hash is stable")
}

func TestPaymentAmountIsExact(t *testing.T) {
	t.Parallel()
	row := dbsqlc.Payment{
		ChannelPaymentID: "P1", PaymentType: "application", ChannelApplicationID: ptr("A1"), ChannelUserID: ptr("U1"),
		Amount: "5000.10", PaymentTime: time.Date(2024, 2, 20, 10, 0, 0, 0, time.UTC),
		PaymentBasis: []byte(`{"basis_type":"月薪","work_date_start":"2024-02-01","work_date_end":"2024-02-15"}`),
	}
	b := channel.Payment(row)
	require.True(t, b.Valid(), b.Errs)
	require.Contains(t, string(b.JSON), `"amount":5000.10`, "the numeric's text goes out as is, never through a float")
	require.Equal(t, []target.ParentRef{
		{Field: "channel_application_id", Ref: target.Ref{Target: channel.Name, Kind: "application", ID: "A1"}},
		{Field: "channel_user_id", Ref: target.Ref{Target: channel.Name, Kind: "user", ID: "U1"}},
	}, b.Parents)
}

func TestInvalidRowsNameTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		built *target.Built
		field string
	}{
		{"NestedJSONOfTheWrongShape", channel.Task(dbsqlc.Task{ChannelTaskID: "T1", ChannelCompanyID: "C1", TaskName: "x", TaskType: "intern", RecruitCount: 1,
			RecruitmentStartTime: time.Unix(0, 0), RecruitmentEndTime: time.Unix(3600, 0), Salary: []byte(`[1,2]`)}), "salary"},
		{"NestedFieldOfTheWrongType", channel.User(dbsqlc.User{ChannelUserID: "U1", Name: "张三", IDCard: "11010519491231002X", Phone: "13800138000",
			LiveCertification: []byte(`{"certified":"yes","certification_time":"2024-01-15T10:30:00Z"}`)}), "live_certification.certified"},
		{"UnknownNestedField", channel.Company(dbsqlc.Company{ChannelCompanyID: "C1", CompanyName: "x", SocialCreditCode: "91350100M000100Y43",
			BusinessLicense: []byte(`{"license_number":"1","colour":"red"}`)}), "business_license"},
		{"BadIDCard", channel.User(dbsqlc.User{ChannelUserID: "U1", Name: "张三", IDCard: "110101199001011234", Phone: "13800138000"}), "id_card"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.False(t, tt.built.Valid())
			require.Nil(t, tt.built.JSON, "an invalid record is never encoded for sending")
			require.Equal(t, tt.field, tt.built.Errs[0].Field)
			require.Contains(t, tt.built.Reason(), tt.built.Path()+": "+tt.field)
			require.True(t, strings.HasSuffix(tt.built.Path(), "/"+tt.built.Ref.ID))
		})
	}
}
