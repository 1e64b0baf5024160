// Package record names the five kinds of local record that chansync keeps in
// step with the channel, and how they reference each other.
package record

import (
	"fmt"
	"strings"
)

// Kind is one of the five kinds of local record.
type Kind string

// The five kinds, in the order a full sync pushes them.
const (
	Company     Kind = "company"
	User        Kind = "user"
	Task        Kind = "task"
	Application Kind = "application"
	Payment     Kind = "payment"
)

// Kinds lists every kind in dependency order: a kind appears after every kind
// it may reference.
var Kinds = []Kind{Company, User, Task, Application, Payment}

// ParseKind returns the Kind named by s (singular, as on the command line, or
// the channel's plural path such as "users"). The error names the accepted
// values.
func ParseKind(s string) (Kind, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	for _, kind := range Kinds {
		if k == string(kind) || k == kind.Plural() {
			return kind, nil
		}
	}
	return "", fmt.Errorf("unknown kind %q: want one of user, company, task, application, payment", s)
}

// Plural returns the kind's plural, which is also its path on the channel
// (users, companies, tasks, applications, payments).
func (k Kind) Plural() string {
	if k == Company {
		return "companies"
	}
	return string(k) + "s"
}

// Table returns the local table that holds records of this kind.
func (k Kind) Table() string { return k.Plural() }

// IDField returns the name of the field (and column) that holds our id for
// records of this kind, such as channel_user_id.
func (k Kind) IDField() string { return "channel_" + string(k) + "_id" }

// ChannelIDField returns the name of the field in which the channel answers
// with its own id for records of this kind, such as user_id.
func (k Kind) ChannelIDField() string { return string(k) + "_id" }

// Tier is the kind's depth in the dependency graph: 0 for kinds that
// reference nothing, and one more than the deepest kind referenced otherwise.
func (k Kind) Tier() int {
	switch k {
	case Company, User:
		return 0
	case Task:
		return 1
	case Application:
		return 2
	case Payment:
		return 3
	}
	return 0
}

// Valid reports whether k is one of the five kinds.
func (k Kind) Valid() bool {
	_, err := ParseKind(string(k))
	return err == nil && k == Kind(strings.ToLower(string(k)))
}

// Ref names one record: its kind and our channel_*_id.
type Ref struct {
	Kind Kind
	ID   string
}

// String returns the ref as "kind/id", the form used in logs and reasons.
func (r Ref) String() string { return string(r.Kind) + "/" + r.ID }

// ParentRef is a reference from a record to a record it depends on, with the
// field that holds the reference.
type ParentRef struct {
	Field string
	Ref   Ref
}
