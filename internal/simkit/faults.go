package simkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Names of the faults simkit injects: the keys of Injector.Counters and the
// value of Answer.Fault.
const (
	// FaultDropBefore: the connection was closed before the request was
	// applied; nothing changed.
	FaultDropBefore = "drop_before"
	// FaultDropAfter: the request was applied (a create or update may have
	// changed state) and then the connection was closed without an answer.
	FaultDropAfter = "drop_after"
	// FaultBadGateway: a bare HTTP 502 with an HTML body, as a proxy sends.
	FaultBadGateway = "bad_gateway"
	// FaultRateLimit: HTTP 429 with Retry-After.
	FaultRateLimit = "rate_limit"
	// FaultRateLimitNoHeader: HTTP 429 without Retry-After.
	FaultRateLimitNoHeader = "rate_limit_no_header"
	// FaultStatus500: HTTP 500, rendered by InjectorConfig.Status500Func.
	FaultStatus500 = "status_500"
	// FaultLatency: a request was delayed.
	FaultLatency = "latency"
	// FaultDown503: an HTTP 503 while down.
	FaultDown503 = "down_503"
	// FaultDownClose: a connection closed while down.
	FaultDownClose = "down_close"
)

// ErrInvalidFaults is wrapped by the errors of NewPlan, Faults.Validate
// and DownMode.Validate.
var ErrInvalidFaults = errors.New("invalid faults")

// DownMode makes a whole API unavailable.
type DownMode string

const (
	// DownOff is normal service.
	DownOff DownMode = ""
	// Down503 answers every request with a bare HTTP 503 (HTML body).
	Down503 DownMode = "503"
	// DownClose closes every connection without an answer.
	DownClose DownMode = "close"
)

// Validate reports a mode other than DownOff, Down503 and DownClose, as an
// error wrapping ErrInvalidFaults.
func (d DownMode) Validate() error {
	switch d {
	case DownOff, Down503, DownClose:
		return nil
	}
	return fmt.Errorf("%w: down mode %q: want \"\", %q or %q", ErrInvalidFaults, d, Down503, DownClose)
}

// Faults are the generic faults of one endpoint (or of a whole API). The
// zero value injects nothing.
//
// For each request, Latency (plus a uniform draw from [0, Jitter]) is
// waited first; then one random draw picks at most one of the "before"
// faults, in this order: DropBeforeRate, BadGatewayRate, RateLimitRate,
// RateLimitNoHeaderRate, Status500Rate, then the Plan's Extra steps in the
// order given. A request that draws none is applied, and then
// DropAfterRate (its own draw) may lose the answer. The "before" rates,
// extras included, must sum to at most 1.
type Faults struct {
	// Status500Rate is the probability of an HTTP 500.
	Status500Rate float64
	// RateLimitRate is the probability of HTTP 429 with Retry-After.
	RateLimitRate float64
	// RateLimitNoHeaderRate is the probability of HTTP 429 without it.
	RateLimitNoHeaderRate float64
	// RetryAfter is the Retry-After of RateLimitRate, in seconds (0: 1).
	RetryAfter int
	// BadGatewayRate is the probability of a bare HTTP 502 with HTML.
	BadGatewayRate float64
	// DropBeforeRate is the probability that the connection is closed
	// without an answer before the request is applied.
	DropBeforeRate float64
	// DropAfterRate is the probability that the connection is closed
	// without an answer after the request was applied: the state changed,
	// the client cannot know.
	DropAfterRate float64
	// Latency is added to every request.
	Latency time.Duration
	// Jitter adds a uniform random delay in [0, Jitter].
	Jitter time.Duration
}

// IsZero reports whether f injects nothing.
func (f Faults) IsZero() bool { return f == Faults{} }

// faultsJSON is the wire form of Faults (durations as "250ms").
type faultsJSON struct {
	Status500Rate         float64 `json:"status_500_rate,omitempty"`
	RateLimitRate         float64 `json:"rate_limit_rate,omitempty"`
	RateLimitNoHeaderRate float64 `json:"rate_limit_no_header_rate,omitempty"`
	RetryAfter            int     `json:"retry_after,omitempty"`
	BadGatewayRate        float64 `json:"bad_gateway_rate,omitempty"`
	DropBeforeRate        float64 `json:"drop_before_rate,omitempty"`
	DropAfterRate         float64 `json:"drop_after_rate,omitempty"`
	Latency               string  `json:"latency,omitempty"`
	Jitter                string  `json:"jitter,omitempty"`
}

// MarshalJSON encodes the faults with snake_case names (status_500_rate,
// rate_limit_rate, rate_limit_no_header_rate, retry_after,
// bad_gateway_rate, drop_before_rate, drop_after_rate, latency, jitter),
// zero values omitted, durations as strings such as "250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	w := faultsJSON{
		Status500Rate: f.Status500Rate, RateLimitRate: f.RateLimitRate, RateLimitNoHeaderRate: f.RateLimitNoHeaderRate,
		RetryAfter: f.RetryAfter, BadGatewayRate: f.BadGatewayRate, DropBeforeRate: f.DropBeforeRate, DropAfterRate: f.DropAfterRate,
		Latency: FormatDuration(f.Latency), Jitter: FormatDuration(f.Jitter),
	}
	b, err := json.Marshal(w)
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
	out := Faults{
		Status500Rate: w.Status500Rate, RateLimitRate: w.RateLimitRate, RateLimitNoHeaderRate: w.RateLimitNoHeaderRate,
		RetryAfter: w.RetryAfter, BadGatewayRate: w.BadGatewayRate, DropBeforeRate: w.DropBeforeRate, DropAfterRate: w.DropAfterRate,
	}
	var err error
	if out.Latency, err = ParseDuration("latency", w.Latency); err != nil {
		return fmt.Errorf("decode faults: %w", err)
	}
	if out.Jitter, err = ParseDuration("jitter", w.Jitter); err != nil {
		return fmt.Errorf("decode faults: %w", err)
	}
	*f = out
	return nil
}

// FormatDuration renders d for a JSON field: "" for zero, else d.String().
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// ParseDuration reads what FormatDuration writes ("" is zero); the error
// names the field.
func ParseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return d, nil
}

// Validate reports what NewPlan(f) would refuse: rates outside [0, 1],
// "before" rates that sum to more than 1, negative durations or a negative
// RetryAfter. Every error wraps ErrInvalidFaults.
func (f Faults) Validate() error {
	_, err := NewPlan(f)
	return err
}

// Extra is a simulator's own "before" fault, drawn after the generic ones:
// an error in the simulator's envelope, say. Its name is what Counters and
// Answer.Fault say when it is drawn.
type Extra struct {
	// Name names the fault, e.g. "code_5001".
	Name string
	// Rate is its probability, in [0, 1].
	Rate float64
	// AnswerFunc renders its answer; nil answers a bare HTTP 500 (use nil
	// only for a plan that is validated, not served).
	AnswerFunc func() Answer
}

// step is one "before" fault and its probability.
type step struct {
	name       string
	rate       float64
	answerFunc func() Answer // extras only
}

// Plan is a validated Faults plus extras, ready for the hot path. It is
// immutable and safe for concurrent use.
type Plan struct {
	faults     Faults
	extras     []Extra
	steps      []step
	retryAfter string
	active     bool
}

// NewPlan validates f and the extras and compiles them. Every error wraps
// ErrInvalidFaults and names the bad field; all problems are joined.
func NewPlan(f Faults, extras ...Extra) (*Plan, error) {
	p := &Plan{faults: f, extras: append([]Extra(nil), extras...), retryAfter: strconv.Itoa(max(1, f.RetryAfter))}
	checkRateFunc := func(name string, r float64) error {
		if math.IsNaN(r) || r < 0 || r > 1 {
			return fmt.Errorf("%w: %s = %v, want a probability in [0, 1]", ErrInvalidFaults, name, r)
		}
		return nil
	}
	addFunc := func(name string, r float64, answerFunc func() Answer) error {
		if err := checkRateFunc(name, r); err != nil {
			return err
		}
		if r > 0 {
			p.steps = append(p.steps, step{name: name, rate: r, answerFunc: answerFunc})
		}
		return nil
	}
	errs := []error{
		addFunc(FaultDropBefore, f.DropBeforeRate, nil),
		addFunc(FaultBadGateway, f.BadGatewayRate, nil),
		addFunc(FaultRateLimit, f.RateLimitRate, nil),
		addFunc(FaultRateLimitNoHeader, f.RateLimitNoHeaderRate, nil),
		addFunc(FaultStatus500, f.Status500Rate, nil),
	}
	seen := make(map[string]bool, len(extras))
	for _, x := range extras {
		switch {
		case x.Name == "":
			errs = append(errs, fmt.Errorf("%w: an extra fault has no name", ErrInvalidFaults))
		case seen[x.Name] || isBuiltinFault(x.Name):
			errs = append(errs, fmt.Errorf("%w: fault name %q is used twice", ErrInvalidFaults, x.Name))
		}
		seen[x.Name] = true
		answerFunc := x.AnswerFunc
		if answerFunc == nil {
			answerFunc = bare500
		}
		errs = append(errs, addFunc(x.Name, x.Rate, answerFunc))
	}
	errs = append(errs, checkRateFunc("drop_after_rate", f.DropAfterRate))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sum := 0.0
	for _, st := range p.steps {
		sum += st.rate
	}
	switch {
	case sum > 1+1e-9:
		return nil, fmt.Errorf("%w: the rates of faults answered before applying sum to %v, more than 1", ErrInvalidFaults, sum)
	case f.Latency < 0 || f.Jitter < 0:
		return nil, fmt.Errorf("%w: latency and jitter must not be negative", ErrInvalidFaults)
	case f.RetryAfter < 0:
		return nil, fmt.Errorf("%w: retry_after must not be negative", ErrInvalidFaults)
	}
	p.active = len(p.steps) > 0 || f.DropAfterRate > 0 || f.Latency > 0 || f.Jitter > 0
	return p, nil
}

// MustPlan is NewPlan for faults known to be valid; it panics otherwise.
func MustPlan(f Faults, extras ...Extra) *Plan {
	p, err := NewPlan(f, extras...)
	if err != nil {
		panic(err)
	}
	return p
}

func isBuiltinFault(name string) bool {
	switch name {
	case FaultDropBefore, FaultDropAfter, FaultBadGateway, FaultRateLimit, FaultRateLimitNoHeader,
		FaultStatus500, FaultLatency, FaultDown503, FaultDownClose:
		return true
	}
	return false
}

// Faults returns the generic faults the plan was compiled from.
func (p *Plan) Faults() Faults { return p.faults }

// Extras returns a copy of the plan's extra steps.
func (p *Plan) Extras() []Extra { return append([]Extra(nil), p.extras...) }

// Active reports whether the plan can change anything: a rate above zero,
// a latency or a jitter. Injector.Before and DropAfter of an inactive plan
// cost nothing and draw nothing from the random source.
func (p *Plan) Active() bool { return p != nil && p.active }
