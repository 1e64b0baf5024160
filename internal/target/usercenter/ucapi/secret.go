package ucapi

import "log/slog"

// Secret holds a credential: APIHUB_SK, or an account's initial password.
// Every way of printing, logging or encoding it (String, GoString, any fmt
// verb, also inside a struct; slog; JSON; text) shows "[redacted]" or, for
// a verb such as %d inside a struct, an address: the value sits behind a
// pointer that reflection does not follow. Only this package reads it.
// The zero Secret is empty.
type Secret struct {
	v *secretValue
}

type secretValue struct{ s string }

// NewSecret wraps s.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &secretValue{s: s}}
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil || s.v.s == "" }

// reveal returns the value, for the signer and the request body only.
func (s Secret) reveal() string {
	if s.v == nil {
		return ""
	}
	return s.v.s
}

const redacted = "[redacted]"

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (Secret) GoString() string { return redacted }

// LogValue returns "[redacted]".
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns "[redacted]" as a JSON string.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]".
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
