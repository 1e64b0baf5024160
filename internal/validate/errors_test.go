package validate

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFieldErrorError(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   FieldError
		want string
	}{
		{"FieldAndDetail", FieldError{Field: "id_card", Rule: RuleChecksum, Detail: "check digit mismatch"}, "id_card: check digit mismatch"},
		{"NoField", FieldError{Rule: RuleChecksum, Detail: "check digit mismatch"}, "check digit mismatch"},
		{"NoDetail", FieldError{Field: "amount", Rule: RulePositive}, "amount: breaks rule positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.in.Error())
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()

	t.Run("EmptyIsNilError", func(t *testing.T) {
		t.Parallel()
		var errs Errors
		require.True(t, errs.Empty())
		require.NoError(t, errs.Err())
		require.True(t, errs.Check("x", nil))
		require.True(t, errs.Empty())
	})

	t.Run("AddAndJoin", func(t *testing.T) {
		t.Parallel()
		var errs Errors
		errs.Add("id_card", RuleChecksum, "check digit mismatch")
		errs.Add("phone", RuleLength, "must be 11 digits, got 10")
		require.False(t, errs.Empty())
		require.True(t, errs.Has("phone", RuleLength))
		require.False(t, errs.Has("phone", RulePrefix))
		require.EqualError(t, errs.Err(), "id_card: check digit mismatch; phone: must be 11 digits, got 10")
	})

	t.Run("CheckPlacesCheckerErrors", func(t *testing.T) {
		t.Parallel()
		var errs Errors
		require.False(t, errs.Check("id_card", IDCard("110101199001011234")))
		require.False(t, errs.Check("salary", &FieldError{Field: "amount", Rule: RulePositive, Detail: "must be greater than 0"}))
		require.False(t, errs.Check("photos", &FieldError{Field: "[2]", Rule: RuleURL, Detail: "bad"}))
		require.False(t, errs.Check("", &FieldError{Field: "name", Rule: RuleRequired, Detail: "is required"}))
		require.False(t, errs.Check("remark", fmt.Errorf("plain error")))
		require.Equal(t, Errors{
			{Field: "id_card", Rule: RuleChecksum, Detail: "check digit mismatch"},
			{Field: "salary.amount", Rule: RulePositive, Detail: "must be greater than 0"},
			{Field: "photos[2]", Rule: RuleURL, Detail: "bad"},
			{Field: "name", Rule: RuleRequired, Detail: "is required"},
			{Field: "remark", Rule: RuleFormat, Detail: "plain error"},
		}, errs)
	})

	t.Run("ErrorsAsFindsFieldError", func(t *testing.T) {
		t.Parallel()
		errs := Errors{{Field: "phone", Rule: RulePrefix, Detail: "must start with 13 to 19"}}
		err := fmt.Errorf("push: %w", errs.Err())
		var fe *FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "phone", fe.Field)
		var all Errors
		require.ErrorAs(t, err, &all)
		require.Len(t, all, 1)
	})
}

func TestRecordError(t *testing.T) {
	t.Parallel()

	t.Run("PrefixesKindPluralAndID", func(t *testing.T) {
		t.Parallel()
		errs := Errors{{Field: "id_card", Rule: RuleChecksum, Detail: "check digit mismatch"}}
		err := NewRecordError("users/U1001", errs)
		require.EqualError(t, err, "users/U1001: id_card: check digit mismatch")

		err = NewRecordError("companies/C1", Errors{
			{Field: "social_credit_code", Rule: RuleChecksum, Detail: "check character mismatch"},
			{Field: "contact_phone", Rule: RuleLength, Detail: "must be 5 to 20 characters, got 3"},
		})
		require.EqualError(t, err, "companies/C1: social_credit_code: check character mismatch; contact_phone: must be 5 to 20 characters, got 3")
	})

	t.Run("UnwrapsToFieldErrors", func(t *testing.T) {
		t.Parallel()
		err := fmt.Errorf("job: %w", NewRecordError("payments/P1", Errors{{Field: "amount", Rule: RulePositive, Detail: "must be greater than 0"}}))
		var re *RecordError
		require.ErrorAs(t, err, &re)
		require.Equal(t, "payments/P1", re.Record)
		var fe *FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, RulePositive, fe.Rule)
	})

	t.Run("NilWhenValid", func(t *testing.T) {
		t.Parallel()
		err := NewRecordError("tasks/T1", nil)
		require.NoError(t, err)
	})
}
