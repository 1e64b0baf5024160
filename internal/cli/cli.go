// Package cli holds the configuration shared by chansync's commands: each
// setting is an environment variable and a flag of the same meaning, and a
// missing or malformed one is reported in one line that names both.
package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/chansync/chansync/internal/logging"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
)

// Database is the database setting.
type Database struct {
	DatabaseURL string `name:"database-url" env:"DATABASE_URL" help:"Postgres connection string, e.g. postgres://user:pass@host:5432/db (add ?search_path=name to use a schema)."`
}

// Validate reports a missing or malformed DATABASE_URL.
func (d *Database) Validate() error {
	if d.DatabaseURL == "" {
		return errors.New("DATABASE_URL (--database-url) is required")
	}
	u, err := url.Parse(d.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("DATABASE_URL (--database-url) must be a postgres:// URL")
	}
	return nil
}

// Channel is how to reach the channel API.
type Channel struct {
	ChannelBaseURL string        `name:"channel-base-url" env:"CHANNEL_BASE_URL" help:"Base URL of the channel API, including its path prefix, e.g. https://api.example.com/api/v1. Must be https, except for a loopback host (127.0.0.0/8, ::1, localhost)."`
	ChannelAppKey  string        `name:"channel-appkey" env:"CHANNEL_APPKEY" help:"The channel's appkey for POST /auth/token."`
	ChannelSecret  string        `name:"channel-secret" env:"CHANNEL_SECRET" help:"The channel's secret for POST /auth/token (prefer the environment variable: flags show in ps)."`
	ChannelRPS     float64       `name:"channel-rps" env:"CHANNEL_RPS" default:"0" help:"Cap on requests per second to the channel from this process; 0 for no cap."`
	RetryAfterMax  time.Duration `name:"retry-after-max" env:"RETRY_AFTER_MAX" default:"15m" help:"Longest wait a 429's Retry-After may impose; a longer one is cut to this."`
}

// Validate reports missing or malformed channel settings.
func (c *Channel) Validate() error {
	if c.ChannelBaseURL == "" {
		return errors.New("CHANNEL_BASE_URL (--channel-base-url) is required")
	}
	if err := channelapi.CheckBaseURL(c.ChannelBaseURL); err != nil {
		return fmt.Errorf("CHANNEL_BASE_URL (--channel-base-url) %w", err)
	}
	if c.ChannelAppKey == "" {
		return errors.New("CHANNEL_APPKEY (--channel-appkey) is required")
	}
	if c.ChannelSecret == "" {
		return errors.New("CHANNEL_SECRET (--channel-secret) is required")
	}
	if c.ChannelRPS < 0 {
		return errors.New("CHANNEL_RPS (--channel-rps) must not be negative")
	}
	if c.RetryAfterMax <= 0 {
		return fmt.Errorf("RETRY_AFTER_MAX (--retry-after-max) must be positive, got %s", c.RetryAfterMax)
	}
	return nil
}

// Log is the logging setting.
type Log struct {
	LogLevel  string `name:"log-level" env:"LOG_LEVEL" default:"info" help:"debug, info, warn or error."`
	LogFormat string `name:"log-format" env:"LOG_FORMAT" default:"auto" help:"json, text, or auto (text on a terminal, json otherwise)."`
}

// Logger returns the logger these settings describe, writing to stderr.
func (l *Log) Logger() (*slog.Logger, error) {
	return logging.New(os.Stderr, logging.Options{Level: l.LogLevel, Format: l.LogFormat})
}

// Validate reports a bad level or format.
func (l *Log) Validate() error {
	_, err := l.Logger()
	return err
}

// First runs the checks in order and returns the first error.
func First(checks ...func() error) error {
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}
