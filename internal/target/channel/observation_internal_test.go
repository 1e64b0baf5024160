package channel

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/channel/channelapi"
)

// TestHostileChannelCodesAddNoSeries: a channel answering with made-up
// envelope codes or HTTP statuses is labelled from a fixed set ("other"
// for anything unknown), so it cannot make new metric series.
func TestHostileChannelCodesAddNoSeries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  channelapi.Error
		want string
	}{
		{"KnownCode", channelapi.Error{Code: channelapi.CodeForbidden, Class: channelapi.ClassPermanent}, "1004"},
		{"MadeUpCode", channelapi.Error{Code: 424242, Class: channelapi.ClassPermanent}, "other"},
		{"NegativeCode", channelapi.Error{Code: -7, Class: channelapi.ClassPermanent}, "other"},
		{"RegisteredStatus", channelapi.Error{HTTPStatus: 502, Class: channelapi.ClassTransient}, "http_502"},
		{"MadeUpStatus", channelapi.Error{HTTPStatus: 599, Class: channelapi.ClassTransient}, "http_other"},
		{"NoAnswer", channelapi.Error{Class: channelapi.ClassTransient}, "network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, observation("POST /users", &tt.err, 0).Code)
		})
	}
}
