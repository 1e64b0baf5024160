package cli

import (
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/usercenter"
	"github.com/chansync/chansync/internal/targets"
)

// Targets are every target's settings, as the worker and the enqueue
// command take them: the channel's (always on) and the APIHub targets'
// (each on when its settings are given).
type Targets struct {
	Channel
	APIHub
}

// Validate reports a missing or malformed setting of an enabled target.
func (t *Targets) Validate() error { return First(t.Channel.Validate, t.APIHub.Validate) }

// Settings returns the settings the target registry is built from.
func (t *Targets) Settings() targets.Settings {
	return targets.Settings{
		Channel: channel.Settings{
			BaseURL: t.ChannelBaseURL, AppKey: t.ChannelAppKey, Secret: t.ChannelSecret, RPS: t.ChannelRPS,
			MaxRetryAfter: t.RetryAfterMax,
		},
		UserCenter: usercenter.Settings{
			BaseURL: t.APIHubBaseURL, AppKey: t.APIHubAK, SecretKey: t.APIHubSK, MemberRole: t.APIHubMemberRole,
			RPS: t.APIHubRPS, MaxRetryAfter: t.RetryAfterMax,
		},
		Points: points.Settings{
			BaseURL: t.APIHubBaseURL, APIKey: t.APIHubAPIKey, ServiceUser: t.APIHubServiceUser,
			RPS: t.APIHubRPS, MaxRetryAfter: t.RetryAfterMax, PoolProbe: t.PointsPoolProbe,
		},
	}
}
