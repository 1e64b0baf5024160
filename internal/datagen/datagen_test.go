package datagen

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/validate"
)

func TestGeneratedIdentifiersAreValid(t *testing.T) {
	t.Parallel()
	s := Generate(Options{Records: 500, Seed: 3})
	for _, u := range s.Users {
		require.NoError(t, validate.IDCard(u.IDCard), u.IDCard)
		require.NoError(t, validate.MobilePhone(u.Phone), u.Phone)
	}
	for _, c := range s.Companies {
		require.NoError(t, validate.SocialCreditCode(c.SocialCreditCode), c.SocialCreditCode)
	}
}

func TestGenerateSplitsAllKinds(t *testing.T) {
	t.Parallel()
	s := Generate(Options{Records: 1000, Seed: 1})
	require.Equal(t, 1000, s.Len())
	require.NotEmpty(t, s.Companies)
	require.NotEmpty(t, s.Payments)
	again := Generate(Options{Records: 1000, Seed: 1})
	require.Equal(t, s.Users[0], again.Users[0], "same seed, same set")
}
