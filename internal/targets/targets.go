// Package targets assembles the registry of enabled targets from their
// settings: the one place that lists every target chansync knows. Adding a
// target is one entry here and a package of its own under
// internal/target/.
package targets

import (
	"fmt"

	"github.com/chansync/chansync/internal/target"
	"github.com/chansync/chansync/internal/target/channel"
	"github.com/chansync/chansync/internal/target/points"
	"github.com/chansync/chansync/internal/target/usercenter"
)

// Settings are every target's settings. A target whose settings are unset
// is off (the channel is always on).
type Settings struct {
	// Channel reaches the channel.
	Channel channel.Settings
	// UserCenter reaches the APIHub user centre.
	UserCenter usercenter.Settings
	// Points reaches APIHub points.
	Points points.Settings
}

// entry is one target chansync knows: whether its settings turn it on,
// its kinds, and how to build it.
type entry struct {
	name    target.Name
	enabled func(Settings) bool
	kinds   func(Settings) []*target.Kind
	build   func(Settings, target.Deps) (*target.Target, error)
}

// known lists every target, in the order operators see them.
var known = []entry{
	{
		name:    channel.Name,
		enabled: func(Settings) bool { return true },
		kinds:   func(Settings) []*target.Kind { return channel.Kinds() },
		build:   func(s Settings, d target.Deps) (*target.Target, error) { return channel.New(s.Channel, d) },
	},
	{
		name:    usercenter.Name,
		enabled: func(s Settings) bool { return s.UserCenter.Enabled() },
		kinds:   func(s Settings) []*target.Kind { return usercenter.Kinds(s.UserCenter.MemberRole) },
		build:   func(s Settings, d target.Deps) (*target.Target, error) { return usercenter.New(s.UserCenter, d) },
	},
	{
		name:    points.Name,
		enabled: func(s Settings) bool { return s.Points.Enabled() },
		kinds:   func(Settings) []*target.Kind { return points.Kinds() },
		build:   func(s Settings, d target.Deps) (*target.Target, error) { return points.New(s.Points, d) },
	},
}

// Describe returns the registry of the targets s enables, without clients:
// enough to enqueue, replay and report, never to push.
func Describe(s Settings) (*target.Registry, error) {
	var enabled []*target.Target
	for _, e := range known {
		if e.enabled(s) {
			enabled = append(enabled, &target.Target{Name: e.name, Kinds: e.kinds(s)})
		}
	}
	return target.NewRegistry(enabled...)
}

// Build returns the registry of the targets s enables.
func Build(s Settings, deps target.Deps) (*target.Registry, error) {
	var enabled []*target.Target
	for _, e := range known {
		if !e.enabled(s) {
			continue
		}
		t, err := e.build(s, deps)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", e.name, err)
		}
		enabled = append(enabled, t)
	}
	return target.NewRegistry(enabled...)
}
