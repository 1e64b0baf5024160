// Package logging builds the process logger: JSON to stderr by default, text
// on a terminal or by choice, with personal data and secrets masked in
// every attribute.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/chansync/chansync/internal/mask"
)

// Options choose the logger's level and format.
type Options struct {
	// Level is debug, info, warn or error. Default info.
	Level string
	// Format is json, text or auto (text on a terminal, else json).
	Format string
}

// New returns a logger writing to w. The error names the bad option.
func New(w io.Writer, opts Options) (*slog.Logger, error) {
	level := slog.LevelInfo
	if opts.Level != "" {
		if err := level.UnmarshalText([]byte(opts.Level)); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", opts.Level)
		}
	}
	hopts := &slog.HandlerOptions{Level: level, ReplaceAttr: mask.ReplaceAttr}
	format := strings.ToLower(opts.Format)
	if format == "" || format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	}
	return nil, fmt.Errorf("LOG_FORMAT: %q is not one of auto, json, text", opts.Format)
}
