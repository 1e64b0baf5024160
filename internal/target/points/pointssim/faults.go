package pointssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"

	"github.com/chansync/chansync/internal/simkit"
)

// Endpoint names an API endpoint: the unit faults and counters are kept by.
type Endpoint string

// The endpoints.
const (
	EndpointToken         Endpoint = "token"
	EndpointPublishedTags Endpoint = "published_tags"
	EndpointPublishedList Endpoint = "published_list"
	EndpointBalance       Endpoint = "balance"
	EndpointRecharge      Endpoint = "recharge"
	EndpointLogs          Endpoint = "logs"
)

// Endpoints lists the endpoints.
var Endpoints = []Endpoint{EndpointToken, EndpointPublishedTags, EndpointPublishedList, EndpointBalance, EndpointRecharge, EndpointLogs}

func (e Endpoint) valid() bool { return slices.Contains(Endpoints, e) }

// FaultStatus names the fault of an injected status (StatusRates), such as
// "status_403".
func FaultStatus(status int) string { return "status_" + strconv.Itoa(status) }

// Faults are the faults the simulator injects into the API (never the
// admin endpoints). Each request uses its endpoint's entry in Endpoints
// when there is one, else All; see simkit.Faults for what each rate does
// (DropAfterRate on EndpointRecharge: a recharge applied, its answer lost).
// StatusRates add, to every endpoint, the probability of answering an
// HTTP status with the envelope instead of applying the request (e.g. 403,
// 404, 402, 503); they are drawn after the generic "before" faults, and
// with them must sum to at most 1. Down applies to every endpoint.
type Faults struct {
	// All applies to every endpoint without an entry in Endpoints.
	All simkit.Faults
	// Endpoints replaces All for the endpoints given.
	Endpoints map[Endpoint]simkit.Faults
	// StatusRates maps an HTTP status (400 to 599) to its probability.
	StatusRates map[int]float64
	// Down makes the whole API unavailable until set back to DownOff.
	Down simkit.DownMode
}

// faultsJSON is the wire form of Faults.
type faultsJSON struct {
	All         simkit.Faults              `json:"all"`
	Endpoints   map[Endpoint]simkit.Faults `json:"endpoints,omitempty"`
	StatusRates map[int]float64            `json:"status_rates,omitempty"`
	Down        simkit.DownMode            `json:"down,omitempty"`
}

// MarshalJSON encodes the faults as {"all": {...}, "endpoints":
// {"recharge": {...}}, "status_rates": {"403": 0.1}, "down": "503"}, each
// set of faults in simkit's form.
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

// Validate reports faults SetFaults would refuse: an unknown endpoint, a
// status outside 400..599, or faults simkit refuses. Every error wraps
// simkit.ErrInvalidFaults.
func (f Faults) Validate() error {
	_, err := compileFaults(f)
	return err
}

// faultState is a validated Faults, ready for the hot path.
type faultState struct {
	faults    Faults
	all       *simkit.Plan
	endpoints map[Endpoint]*simkit.Plan
	down      simkit.DownMode
}

func compileFaults(f Faults) (*faultState, error) {
	fs := &faultState{faults: f, endpoints: make(map[Endpoint]*simkit.Plan, len(f.Endpoints)), down: f.Down}
	fs.faults.Endpoints = maps.Clone(f.Endpoints)
	fs.faults.StatusRates = maps.Clone(f.StatusRates)
	statuses := slices.Sorted(maps.Keys(f.StatusRates))
	extras := make([]simkit.Extra, 0, len(statuses))
	for _, st := range statuses {
		if st < 400 || st > 599 {
			return nil, fmt.Errorf("%w: status_rates: status %d, want 400 to 599", simkit.ErrInvalidFaults, st)
		}
		extras = append(extras, simkit.Extra{Name: FaultStatus(st), Rate: f.StatusRates[st], AnswerFunc: statusAnswer(st)})
	}
	var err error
	if fs.all, err = simkit.NewPlan(f.All, extras...); err != nil {
		return nil, fmt.Errorf("all: %w", err)
	}
	for e, ef := range f.Endpoints {
		if !e.valid() {
			return nil, fmt.Errorf("%w: unknown endpoint %q (want one of %v)", simkit.ErrInvalidFaults, e, Endpoints)
		}
		if fs.endpoints[e], err = simkit.NewPlan(ef, extras...); err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
	}
	if err := f.Down.Validate(); err != nil {
		return nil, err //nolint:wrapcheck // simkit's error names the field
	}
	return fs, nil
}

// plan returns the plan of an endpoint.
func (fs *faultState) plan(e Endpoint) *simkit.Plan {
	if p, ok := fs.endpoints[e]; ok {
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
	s.logger.Info("pointssim: faults set", slog.Any("faults", f))
	return nil
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	f := s.faults.Load().faults
	f.Endpoints = maps.Clone(f.Endpoints)
	f.StatusRates = maps.Clone(f.StatusRates)
	return f
}
