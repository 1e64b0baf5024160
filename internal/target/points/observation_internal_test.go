package points

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chansync/chansync/internal/target/points/pointsapi"
)

// TestHostileAnswersAddNoSeries: whatever status APIHub answers, a
// request's labels come from a fixed set, so a hostile or broken API
// cannot make new metric series; an empty pool is labelled pool_low.
func TestHostileAnswersAddNoSeries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        *pointsapi.Error
		result     string
		code       string
		wantDetail bool
	}{
		{"Success", nil, "ok", "", false},
		{"EmptyPool", &pointsapi.Error{HTTPStatus: 402, Code: 402, Class: pointsapi.ClassPoolTooLow}, "pool_low", "http_402", true},
		{"KeyRefused", &pointsapi.Error{HTTPStatus: 401, Code: 401, Class: pointsapi.ClassAuth}, "auth", "http_401", true},
		{"RateLimited", &pointsapi.Error{HTTPStatus: 429, Code: 429, Class: pointsapi.ClassRateLimited}, "rate_limited", "http_429", true},
		{"Refused", &pointsapi.Error{HTTPStatus: 400, Code: 400, Class: pointsapi.ClassData}, "data", "http_400", true},
		{"MadeUpStatus", &pointsapi.Error{HTTPStatus: 499, Code: 499, Class: pointsapi.ClassData}, "data", "http_other", true},
		{"MadeUpServerStatus", &pointsapi.Error{HTTPStatus: 599, Class: pointsapi.ClassTransient}, "transient", "http_other", true},
		{"Redirect", &pointsapi.Error{HTTPStatus: 307, Class: pointsapi.ClassTransient, RedirectHost: "evil.example"}, "transient", "redirect", true},
		{"UnreadableSuccess", &pointsapi.Error{HTTPStatus: 200, Class: pointsapi.ClassTransient}, "transient", "bad_answer", true},
		{"NoAnswer", &pointsapi.Error{Class: pointsapi.ClassTransient}, "transient", "network", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := observation(pointsapi.RouteRecharge, tt.err, 0)
			require.Equal(t, Name, o.Target)
			require.Equal(t, pointsapi.RouteRecharge, o.Route)
			require.Equal(t, tt.result, o.Result)
			require.Equal(t, tt.code, o.Code)
			require.Equal(t, tt.wantDetail, o.Detail != "")
		})
	}
}
