package validate

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEnums(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		enum *Enum
		in   string
		want string // "" when the input is rejected
	}{
		{"TaskTypeShortTermCode", TaskTypes, "short_term", "short_term"},
		{"TaskTypeShortTermLabel", TaskTypes, "短期工", "short_term"},
		{"TaskTypeLongTermCode", TaskTypes, "long_term", "long_term"},
		{"TaskTypeLongTermLabel", TaskTypes, "长期工", "long_term"},
		{"TaskTypePartTimeCode", TaskTypes, "part_time", "part_time"},
		{"TaskTypePartTimeLabel", TaskTypes, "兼职", "part_time"},
		{"TaskTypeInternCode", TaskTypes, "intern", "intern"},
		{"TaskTypeInternLabel", TaskTypes, "实习生", "intern"},
		{"TaskTypeInternShortLabel", TaskTypes, "实习", "intern"},
		{"TaskTypeTrimmed", TaskTypes, "  part_time\t", "part_time"},
		{"TaskTypeTrimmedLabel", TaskTypes, " 兼职 ", "part_time"},
		{"TaskTypeUppercaseRejected", TaskTypes, "SHORT_TERM", ""},
		{"TaskTypeTitleCaseRejected", TaskTypes, "Intern", ""},
		{"TaskTypeUnknown", TaskTypes, "seasonal", ""},
		{"TaskTypeHyphenRejected", TaskTypes, "short-term", ""},
		{"TaskTypeOtherEnumsCode", TaskTypes, "hourly", ""},

		{"SalaryTypeHourlyCode", SalaryTypes, "hourly", "hourly"},
		{"SalaryTypeHourlyLabel", SalaryTypes, "时薪", "hourly"},
		{"SalaryTypeDailyCode", SalaryTypes, "daily", "daily"},
		{"SalaryTypeDailyLabel", SalaryTypes, "日薪", "daily"},
		{"SalaryTypeMonthlyCode", SalaryTypes, "monthly", "monthly"},
		{"SalaryTypeMonthlyLabel", SalaryTypes, "月薪", "monthly"},
		{"SalaryTypePieceCode", SalaryTypes, "piece", "piece"},
		{"SalaryTypePieceLabel", SalaryTypes, "计件", "piece"},
		{"SalaryTypePieceSeedLabel", SalaryTypes, "按件", "piece"},
		{"SalaryTypeUppercaseRejected", SalaryTypes, "Monthly", ""},
		{"SalaryTypeUnknown", SalaryTypes, "年薪", ""},

		{"TaskStatusOpen", TaskStatuses, "open", "open"},
		{"TaskStatusClosed", TaskStatuses, "closed", "closed"},
		{"TaskStatusSuspended", TaskStatuses, "suspended", "suspended"},
		{"TaskStatusTrimmed", TaskStatuses, " open ", "open"},
		{"TaskStatusUppercaseRejected", TaskStatuses, "OPEN", ""},
		{"TaskStatusUnknown", TaskStatuses, "paused", ""},

		{"ApplicationStatusPending", ApplicationStatuses, "pending", "pending"},
		{"ApplicationStatusAccepted", ApplicationStatuses, "accepted", "accepted"},
		{"ApplicationStatusRejected", ApplicationStatuses, "rejected", "rejected"},
		{"ApplicationStatusCancelled", ApplicationStatuses, "cancelled", "cancelled"},
		{"ApplicationStatusAmericanSpellingRejected", ApplicationStatuses, "canceled", ""},
		{"ApplicationStatusTaskStatusRejected", ApplicationStatuses, "open", ""},

		{"PaymentStatusPending", PaymentStatuses, "pending", "pending"},
		{"PaymentStatusCompleted", PaymentStatuses, "completed", "completed"},
		{"PaymentStatusFailed", PaymentStatuses, "failed", "failed"},
		{"PaymentStatusUnknown", PaymentStatuses, "refunded", ""},

		{"PaymentTypeUser", PaymentTypes, "user", "user"},
		{"PaymentTypeApplication", PaymentTypes, "application", "application"},
		{"PaymentTypeUppercaseRejected", PaymentTypes, "USER", ""},
		{"PaymentTypeUnknown", PaymentTypes, "company", ""},
		{"PaymentTypeEmpty", PaymentTypes, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.enum.Normalize(tt.in)
			if tt.want == "" {
				requireRule(t, err, RuleEnum)
				require.Empty(t, got)
				for _, c := range tt.enum.Codes() {
					require.Contains(t, err.Error(), c, "the detail names the accepted codes")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			again, err := tt.enum.Normalize(got)
			require.NoError(t, err)
			require.Equal(t, got, again, "normalising a code returns it")
		})
	}
}

func TestEnumCodesIsACopy(t *testing.T) {
	t.Parallel()

	codes := TaskTypes.Codes()
	codes[0] = "changed"
	require.Equal(t, []string{"short_term", "long_term", "part_time", "intern"}, TaskTypes.Codes())
}

func TestEnumDetailIsShort(t *testing.T) {
	t.Parallel()

	_, err := TaskStatuses.Normalize(string(make([]byte, 10000)))
	require.Error(t, err)
	require.Less(t, len(err.Error()), 300)
}
