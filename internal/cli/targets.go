package cli

import (
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/targets"
)

// Targets are every target's settings, as the worker and the enqueue
// command take them: the channel's (always on) and the APIHub targets'
// (each on when its settings are given).
type Targets struct {
	Channel
}

// Settings returns the settings the target registry is built from.
func (t *Targets) Settings() targets.Settings {
	return targets.Settings{
		Channel: channel.Settings{
			BaseURL: t.ChannelBaseURL, AppKey: t.ChannelAppKey, Secret: t.ChannelSecret, RPS: t.ChannelRPS,
			MaxRetryAfter: t.RetryAfterMax,
		},
	}
}
