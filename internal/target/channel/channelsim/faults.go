package channelsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chansync/chansync/internal/simkit"
)

// DownMode makes the whole API unavailable (the admin endpoints stay up).
// It is simkit's.
type DownMode = simkit.DownMode

const (
	// DownOff is normal service.
	DownOff = simkit.DownOff
	// Down503 answers every API request with a bare HTTP 503 (HTML body).
	Down503 = simkit.Down503
	// DownClose closes every API connection without an answer.
	DownClose = simkit.DownClose
)

// Names of injected faults, the keys of Stats.Faults and Request.Fault
// (simkit's, but FaultPermission). An injected envelope code is named by
// FaultCode.
const (
	// FaultDropBefore: the connection was closed before the request was
	// applied; nothing changed.
	FaultDropBefore = simkit.FaultDropBefore
	// FaultDropAfter: the request was applied (a create or update may have
	// changed state) and then the connection was closed without an answer.
	FaultDropAfter = simkit.FaultDropAfter
	// FaultBadGateway: a bare HTTP 502 with an HTML body.
	FaultBadGateway = simkit.FaultBadGateway
	// FaultRateLimit: HTTP 429 with Retry-After.
	FaultRateLimit = simkit.FaultRateLimit
	// FaultRateLimitNoHeader: HTTP 429 without Retry-After.
	FaultRateLimitNoHeader = simkit.FaultRateLimitNoHeader
	// FaultStatus500: HTTP 500 with the envelope and code 5001, whatever the
	// error style.
	FaultStatus500 = simkit.FaultStatus500
	// FaultLatency: a request was delayed.
	FaultLatency = simkit.FaultLatency
	// FaultDown503: an HTTP 503 while down.
	FaultDown503 = simkit.FaultDown503
	// FaultDownClose: a connection closed while down.
	FaultDownClose = simkit.FaultDownClose
	// FaultPermission: a 1004 for an id on the deny list.
	FaultPermission = "permission_denied"
)

// FaultCode names the fault of an injected envelope code, such as "code_5001".
func FaultCode(code int) string { return "code_" + strconv.Itoa(code) }

// ErrInvalidFaults is wrapped by the errors of SetFaults and
// Faults.Validate. It is simkit.ErrInvalidFaults.
var ErrInvalidFaults = simkit.ErrInvalidFaults

// Faults are the faults the simulator injects. They apply to the resource
// endpoints (users, companies, tasks, applications, payments), and to
// /auth/token and /auth/refresh too when IncludeAuth is set; Down applies to
// the whole API. The admin endpoints never see faults.
//
// For each request, Latency (plus a uniform draw from [0, Jitter]) is waited
// first; then one random draw picks at most one of the "before" faults, in
// this order: DropBeforeRate, BadGatewayRate, RateLimitRate,
// RateLimitNoHeaderRate, Status500Rate, then CodeRates by ascending code. A
// request that draws none of them is applied, and then DropAfterRate (its
// own draw) may lose the answer. The "before" rates must sum to at most 1.
// The machinery is simkit's; CodeRates are simkit extras.
type Faults struct {
	// CodeRates maps an envelope code to the probability that a request is
	// answered with it instead of being applied (1003, 1004, 5001, or any
	// other non-zero code, to test unknown codes). The HTTP status follows
	// Config.ErrorStyle.
	CodeRates map[int]float64
	// Status500Rate is the probability of HTTP 500 with envelope code 5001.
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
	// Down makes the whole API unavailable until set back to DownOff.
	Down DownMode
	// IncludeAuth applies the faults to /auth/token and /auth/refresh too.
	IncludeAuth bool
}

// kit returns the generic part of the faults.
func (f Faults) kit() simkit.Faults {
	return simkit.Faults{
		Status500Rate: f.Status500Rate, RateLimitRate: f.RateLimitRate, RateLimitNoHeaderRate: f.RateLimitNoHeaderRate,
		RetryAfter: f.RetryAfter, BadGatewayRate: f.BadGatewayRate, DropBeforeRate: f.DropBeforeRate,
		DropAfterRate: f.DropAfterRate, Latency: f.Latency, Jitter: f.Jitter,
	}
}

// faultsJSON is the wire form of Faults (durations as "250ms").
type faultsJSON struct {
	CodeRates             map[int]float64 `json:"code_rates,omitempty"`
	Status500Rate         float64         `json:"status_500_rate,omitempty"`
	RateLimitRate         float64         `json:"rate_limit_rate,omitempty"`
	RateLimitNoHeaderRate float64         `json:"rate_limit_no_header_rate,omitempty"`
	RetryAfter            int             `json:"retry_after,omitempty"`
	BadGatewayRate        float64         `json:"bad_gateway_rate,omitempty"`
	DropBeforeRate        float64         `json:"drop_before_rate,omitempty"`
	DropAfterRate         float64         `json:"drop_after_rate,omitempty"`
	Latency               string          `json:"latency,omitempty"`
	Jitter                string          `json:"jitter,omitempty"`
	Down                  DownMode        `json:"down,omitempty"`
	IncludeAuth           bool            `json:"include_auth,omitempty"`
}

// MarshalJSON encodes the faults with snake_case names and durations as
// strings such as "250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	w := faultsJSON{
		CodeRates: f.CodeRates, Status500Rate: f.Status500Rate, RateLimitRate: f.RateLimitRate,
		RateLimitNoHeaderRate: f.RateLimitNoHeaderRate, RetryAfter: f.RetryAfter, BadGatewayRate: f.BadGatewayRate,
		DropBeforeRate: f.DropBeforeRate, DropAfterRate: f.DropAfterRate, Down: f.Down, IncludeAuth: f.IncludeAuth,
		Latency: simkit.FormatDuration(f.Latency), Jitter: simkit.FormatDuration(f.Jitter),
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
		CodeRates: w.CodeRates, Status500Rate: w.Status500Rate, RateLimitRate: w.RateLimitRate,
		RateLimitNoHeaderRate: w.RateLimitNoHeaderRate, RetryAfter: w.RetryAfter, BadGatewayRate: w.BadGatewayRate,
		DropBeforeRate: w.DropBeforeRate, DropAfterRate: w.DropAfterRate, Down: w.Down, IncludeAuth: w.IncludeAuth,
	}
	var err error
	if out.Latency, err = simkit.ParseDuration("latency", w.Latency); err != nil {
		return fmt.Errorf("decode faults: %w", err)
	}
	if out.Jitter, err = simkit.ParseDuration("jitter", w.Jitter); err != nil {
		return fmt.Errorf("decode faults: %w", err)
	}
	*f = out
	return nil
}

// Validate reports rates outside [0, 1], "before" rates that sum to more
// than 1, negative durations, a zero code or an unknown down mode. Every
// error wraps ErrInvalidFaults.
func (f Faults) Validate() error {
	_, err := compileFaults(f, nil)
	return err
}

// faultState is a validated Faults, ready for the hot path.
type faultState struct {
	Faults
	plan       *simkit.Plan
	codeByName map[string]int // the envelope code of each code fault
}

// compileFaults validates f and compiles it into a simkit plan whose extras
// are the code faults, answered by codeAnswerFunc (nil: validation only).
func compileFaults(f Faults, codeAnswerFunc func(code int) simkit.Answer) (*faultState, error) {
	fs := &faultState{Faults: f, codeByName: make(map[string]int, len(f.CodeRates))}
	fs.CodeRates = make(map[int]float64, len(f.CodeRates))
	for c, r := range f.CodeRates {
		fs.CodeRates[c] = r
	}
	codes := make([]int, 0, len(f.CodeRates))
	for c := range f.CodeRates {
		if c == CodeOK {
			return nil, fmt.Errorf("%w: code rate for code 0 (success is not a fault)", ErrInvalidFaults)
		}
		codes = append(codes, c)
	}
	slices.Sort(codes)
	extras := make([]simkit.Extra, 0, len(codes))
	for _, c := range codes {
		x := simkit.Extra{Name: FaultCode(c), Rate: f.CodeRates[c]}
		if codeAnswerFunc != nil {
			x.AnswerFunc = func() simkit.Answer { return codeAnswerFunc(c) }
		}
		extras = append(extras, x)
		fs.codeByName[x.Name] = c
	}
	plan, err := simkit.NewPlan(f.kit(), extras...)
	if err != nil {
		return nil, err //nolint:wrapcheck // simkit's errors name the field and wrap ErrInvalidFaults
	}
	if err := f.Down.Validate(); err != nil {
		return nil, err //nolint:wrapcheck // idem
	}
	fs.plan = plan
	return fs, nil
}

// compile compiles f with the server's envelope for injected codes.
func (s *Server) compile(f Faults) (*faultState, error) {
	return compileFaults(f, func(code int) simkit.Answer {
		return simkit.Answer{Status: s.statusFor(code), Body: envelope(code, injectedMessage(code), nil)}
	})
}

// SetFaults replaces the faults in force (Faults{} turns them all off). It
// does not touch the deny list (see Deny).
func (s *Server) SetFaults(f Faults) error {
	fs, err := s.compile(f)
	if err != nil {
		return err
	}
	s.faults.Store(fs)
	s.logger.Info("channelsim: faults set", slog.Any("faults", f))
	return nil
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	fs := s.faults.Load()
	f := fs.Faults
	f.CodeRates = make(map[int]float64, len(fs.CodeRates))
	for c, r := range fs.CodeRates {
		f.CodeRates[c] = r
	}
	return f
}

// injectBefore waits the latency and draws a "before" fault. It reports
// whether rep was filled (the request must not be applied).
func (s *Server) injectBefore(r *http.Request, fs *faultState, rep *reply) bool {
	a, hit := s.inj.Before(r, fs.plan)
	if !hit {
		return false
	}
	rep.setAnswer(a)
	switch {
	case a.Fault == FaultStatus500:
		rep.code = CodeInternal
	case fs.codeByName[a.Fault] != 0:
		rep.code = fs.codeByName[a.Fault]
	}
	return true
}

// status500 is the answer of FaultStatus500: HTTP 500 with code 5001,
// whatever the error style.
func status500() simkit.Answer {
	return simkit.Answer{Status: http.StatusInternalServerError, Body: envelope(CodeInternal, "server internal error (injected)", nil)}
}

func injectedMessage(code int) string {
	switch code {
	case CodeParam:
		return "parameter error (injected)"
	case CodeAuth:
		return "authentication failed (injected)"
	case CodeToken:
		return "token expired or invalid (injected)"
	case CodeForbidden:
		return "permission denied (injected)"
	case CodeInternal:
		return "server internal error (injected)"
	}
	return "error " + strconv.Itoa(code) + " (injected)"
}

// permissions is the deny list: ids answered 1004.
type permissions struct {
	n   atomic.Int64 // len(ids), read without the lock on the hot path
	mu  sync.RWMutex
	ids map[permKey]struct{}
}

// permKey names a denied id; kind -1 denies the id in every kind.
type permKey struct {
	kind int8
	id   string
}

func (p *permissions) init() { p.ids = make(map[permKey]struct{}) }

func (p *permissions) denied(k kind, id string) bool {
	if p.n.Load() == 0 {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	_, one := p.ids[permKey{int8(k), id}]
	_, all := p.ids[permKey{-1, id}]
	return one || all
}

// permKind parses the kind of a deny list change: "", "*" or a kind name.
func permKind(name string) (int8, error) {
	if name == "" || name == "*" {
		return -1, nil
	}
	k, found := parseKind(name)
	if !found {
		return 0, fmt.Errorf("%w %q", ErrUnknownKind, name)
	}
	return int8(k), nil
}

func (p *permissions) set(k int8, deny bool, ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		if deny {
			p.ids[permKey{k, id}] = struct{}{}
		} else {
			delete(p.ids, permKey{k, id})
		}
	}
	p.n.Store(int64(len(p.ids)))
}

// Deny makes every request about the given ids of a kind ("user", "users",
// ...; "" or "*" for every kind) answer 1004, counted as the fault
// "permission_denied", until Allow lifts it: a create (by the body's id),
// an update or a read. An unknown kind is an error wrapping ErrUnknownKind.
func (s *Server) Deny(kindName string, ids ...string) error {
	k, err := permKind(kindName)
	if err != nil {
		return err
	}
	s.perms.set(k, true, ids)
	return nil
}

// Allow lifts Deny for the given ids, as a channel that fixed its side
// would. The kind must be the one given to Deny. An unknown kind is an error
// wrapping ErrUnknownKind.
func (s *Server) Allow(kindName string, ids ...string) error {
	k, err := permKind(kindName)
	if err != nil {
		return err
	}
	s.perms.set(k, false, ids)
	return nil
}

// Denied returns the deny list as sorted "kind/id" strings ("*/id" for an
// id denied in every kind).
func (s *Server) Denied() []string {
	s.perms.mu.RLock()
	defer s.perms.mu.RUnlock()
	out := make([]string, 0, len(s.perms.ids))
	for key := range s.perms.ids {
		name := "*"
		if key.kind >= 0 {
			name = kinds[key.kind].name
		}
		out = append(out, name+"/"+key.id)
	}
	slices.Sort(out)
	return out
}

// clearAll empties the deny list.
func (p *permissions) clearAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.ids)
	p.n.Store(0)
}

// AllowAll empties the deny list.
func (s *Server) AllowAll() { s.perms.clearAll() }
