package ucsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"github.com/chansync/chansync/internal/simkit"
)

// Class is an endpoint class: the unit faults are configured by.
type Class string

// The endpoint classes.
const (
	// ClassRead: lookups and lists (get-user-*, list-*, get-group).
	ClassRead Class = "read"
	// ClassWrite: updates, enable, memberships, roles.
	ClassWrite Class = "write"
	// ClassCreateUser: create-user.
	ClassCreateUser Class = "create_user"
	// ClassCreateGroup: create-group.
	ClassCreateGroup Class = "create_group"
)

// Classes lists the endpoint classes.
var Classes = []Class{ClassRead, ClassWrite, ClassCreateUser, ClassCreateGroup}

func (c Class) valid() bool { return slices.Contains(Classes, c) }

// Faults are the faults the simulator injects into the user-centre
// endpoints (never the admin endpoints). Each request's endpoint class
// uses its own entry in Classes when there is one, else All; see
// simkit.Faults for what each rate does. Down applies to every endpoint.
type Faults struct {
	// All applies to every class without an entry in Classes.
	All simkit.Faults
	// Classes replaces All for the classes given.
	Classes map[Class]simkit.Faults
	// Down makes the whole API unavailable until set back to DownOff.
	Down simkit.DownMode
}

// faultsJSON is the wire form of Faults.
type faultsJSON struct {
	All     simkit.Faults           `json:"all"`
	Classes map[Class]simkit.Faults `json:"classes,omitempty"`
	Down    simkit.DownMode         `json:"down,omitempty"`
}

// MarshalJSON encodes the faults as {"all": {...}, "classes": {"create_user":
// {...}}, "down": "503"}, each set of faults in simkit's form.
func (f Faults) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(faultsJSON(f))
	if err != nil {
		return nil, fmt.Errorf("encode faults: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes what MarshalJSON writes; unknown fields are errors.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("decode faults: %w", err)
	}
	*f = Faults(w)
	return nil
}

// Validate reports faults SetFaults would refuse: an unknown class, or
// faults simkit refuses. Every error wraps simkit.ErrInvalidFaults.
func (f Faults) Validate() error {
	_, err := compileFaults(f)
	return err
}

// faultState is a validated Faults, ready for the hot path.
type faultState struct {
	faults  Faults
	all     *simkit.Plan
	classes map[Class]*simkit.Plan
	down    simkit.DownMode
}

func compileFaults(f Faults) (*faultState, error) {
	fs := &faultState{faults: f, classes: make(map[Class]*simkit.Plan, len(f.Classes)), down: f.Down}
	fs.faults.Classes = make(map[Class]simkit.Faults, len(f.Classes))
	var err error
	if fs.all, err = simkit.NewPlan(f.All); err != nil {
		return nil, fmt.Errorf("all: %w", err)
	}
	for c, cf := range f.Classes {
		if !c.valid() {
			return nil, fmt.Errorf("%w: unknown endpoint class %q (want one of %v)", simkit.ErrInvalidFaults, c, Classes)
		}
		if fs.classes[c], err = simkit.NewPlan(cf); err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
		fs.faults.Classes[c] = cf
	}
	if err := f.Down.Validate(); err != nil {
		return nil, err //nolint:wrapcheck // simkit's error names the field
	}
	return fs, nil
}

// plan returns the plan of an endpoint class.
func (fs *faultState) plan(c Class) *simkit.Plan {
	if p, ok := fs.classes[c]; ok {
		return p
	}
	return fs.all
}

// SetFaults replaces the faults in force (Faults{} turns them all off).
func (s *Server) SetFaults(f Faults) error {
	fs, err := compileFaults(f)
	if err != nil {
		return err
	}
	s.faults.Store(fs)
	s.logger.Info("ucsim: faults set", slog.Any("faults", f))
	return nil
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	fs := s.faults.Load()
	f := fs.faults
	f.Classes = make(map[Class]simkit.Faults, len(fs.faults.Classes))
	for c, cf := range fs.faults.Classes {
		f.Classes[c] = cf
	}
	return f
}

// Revoke makes the simulator refuse every token (HTTP 401) until Restore:
// credentials withdrawn or rotated on the service's side.
func (s *Server) Revoke() {
	s.revoked.Store(true)
	s.logger.Info("ucsim: credentials revoked")
}

// Restore undoes Revoke.
func (s *Server) Restore() {
	s.revoked.Store(false)
	s.logger.Info("ucsim: credentials restored")
}

// Revoked reports whether every token is being refused.
func (s *Server) Revoked() bool { return s.revoked.Load() }
