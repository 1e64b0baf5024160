// Package points is the APIHub points target (apihub-api.md, seed 000):
// each points_grants row is one recharge of a user's points, credited
// exactly once. On when APIHUB_BASE_URL and APIHUB_API_KEY are set.
package points

import (
	"errors"
	"time"

	"github.com/chansync/chansync/internal/target"
)

// Name is the points target's name.
const Name target.Name = "points"

// Settings reach APIHub points.
type Settings struct {
	// BaseURL is APIHUB_BASE_URL, the platform's root.
	BaseURL string
	// APIKey is APIHUB_API_KEY.
	APIKey string
	// ServiceUser is the client_user_id project tokens are asked for
	// (APIHUB_SERVICE_USER).
	ServiceUser string
	// RPS caps requests per second from this process; 0 for no cap.
	RPS float64
	// MaxRetryAfter caps a Retry-After; 0 takes the client's default.
	MaxRetryAfter time.Duration
	// PoolProbe is how often held grants (pool too low, key refused) are
	// probed with one recharge (POINTS_POOL_PROBE).
	PoolProbe time.Duration
	// Timeout bounds one request; 0 takes the client's default (15 s).
	Timeout time.Duration
}

// Enabled reports whether the settings turn points on.
func (s Settings) Enabled() bool { return s.BaseURL != "" && s.APIKey != "" }

// Kinds returns the points target's kinds.
func Kinds() []*target.Kind { return nil }

// New returns the points target.
func New(Settings, target.Deps) (*target.Target, error) {
	return nil, errors.New("points target: not built yet")
}
