package channelsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DownMode makes the whole API unavailable (the admin endpoints stay up).
type DownMode string

const (
	// DownOff is normal service.
	DownOff DownMode = ""
	// Down503 answers every API request with a bare HTTP 503 (HTML body).
	Down503 DownMode = "503"
	// DownClose closes every API connection without an answer.
	DownClose DownMode = "close"
)

// Names of injected faults, the keys of Stats.Faults and Request.Fault.
// An injected envelope code is named by FaultCode.
const (
	// FaultDropBefore: the connection was closed before the request was
	// applied; nothing changed.
	FaultDropBefore = "drop_before"
	// FaultDropAfter: the request was applied (a create or update may have
	// changed state) and then the connection was closed without an answer.
	FaultDropAfter = "drop_after"
	// FaultBadGateway: a bare HTTP 502 with an HTML body.
	FaultBadGateway = "bad_gateway"
	// FaultRateLimit: HTTP 429 with Retry-After.
	FaultRateLimit = "rate_limit"
	// FaultRateLimitNoHeader: HTTP 429 without Retry-After.
	FaultRateLimitNoHeader = "rate_limit_no_header"
	// FaultStatus500: HTTP 500 with the envelope and code 5001, whatever the
	// error style.
	FaultStatus500 = "status_500"
	// FaultLatency: a request was delayed.
	FaultLatency = "latency"
	// FaultDown503: an HTTP 503 while down.
	FaultDown503 = "down_503"
	// FaultDownClose: a connection closed while down.
	FaultDownClose = "down_close"
	// FaultPermission: a 1004 for an id on the deny list.
	FaultPermission = "permission_denied"
)

// FaultCode names the fault of an injected envelope code, such as "code_5001".
func FaultCode(code int) string { return "code_" + strconv.Itoa(code) }

// ErrInvalidFaults is wrapped by the errors of SetFaults and Faults.Validate.
var ErrInvalidFaults = errors.New("channelsim: invalid faults")

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
	}
	if f.Latency != 0 {
		w.Latency = f.Latency.String()
	}
	if f.Jitter != 0 {
		w.Jitter = f.Jitter.String()
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
	for _, d := range []struct {
		name string
		src  string
		dst  *time.Duration
	}{{"latency", w.Latency, &out.Latency}, {"jitter", w.Jitter, &out.Jitter}} {
		if d.src == "" {
			continue
		}
		v, err := time.ParseDuration(d.src)
		if err != nil {
			return fmt.Errorf("decode faults: %s: %w", d.name, err)
		}
		*d.dst = v
	}
	*f = out
	return nil
}

// Validate reports rates outside [0, 1], "before" rates that sum to more
// than 1, negative durations, a zero code or an unknown down mode. Every
// error wraps ErrInvalidFaults.
func (f Faults) Validate() error {
	_, err := compileFaults(f)
	return err
}

// faultStep is one "before" fault and its probability.
type faultStep struct {
	name string
	rate float64
	code int // for code faults
}

// faultState is a validated Faults, ready for the hot path.
type faultState struct {
	Faults
	active     bool // any fault but Down
	retryAfter string
	steps      []faultStep
}

func compileFaults(f Faults) (*faultState, error) {
	fs := &faultState{Faults: f, retryAfter: strconv.Itoa(max(1, f.RetryAfter))}
	fs.CodeRates = make(map[int]float64, len(f.CodeRates))
	for c, r := range f.CodeRates {
		fs.CodeRates[c] = r
	}
	checkRateFunc := func(name string, r float64) error {
		if math.IsNaN(r) || r < 0 || r > 1 {
			return fmt.Errorf("%w: %s = %v, want a probability in [0, 1]", ErrInvalidFaults, name, r)
		}
		return nil
	}
	addFunc := func(name string, r float64, code int) error {
		if err := checkRateFunc(name, r); err != nil {
			return err
		}
		if r > 0 {
			fs.steps = append(fs.steps, faultStep{name: name, rate: r, code: code})
		}
		return nil
	}
	codes := make([]int, 0, len(f.CodeRates))
	for c := range f.CodeRates {
		if c == CodeOK {
			return nil, fmt.Errorf("%w: code rate for code 0 (success is not a fault)", ErrInvalidFaults)
		}
		codes = append(codes, c)
	}
	slices.Sort(codes)
	errs := []error{
		addFunc(FaultDropBefore, f.DropBeforeRate, 0),
		addFunc(FaultBadGateway, f.BadGatewayRate, 0),
		addFunc(FaultRateLimit, f.RateLimitRate, 0),
		addFunc(FaultRateLimitNoHeader, f.RateLimitNoHeaderRate, 0),
		addFunc(FaultStatus500, f.Status500Rate, 0),
	}
	for _, c := range codes {
		errs = append(errs, addFunc(FaultCode(c), f.CodeRates[c], c))
	}
	errs = append(errs, checkRateFunc("drop_after_rate", f.DropAfterRate))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sum := 0.0
	for _, st := range fs.steps {
		sum += st.rate
	}
	switch {
	case sum > 1+1e-9:
		return nil, fmt.Errorf("%w: the rates of faults answered before applying sum to %v, more than 1", ErrInvalidFaults, sum)
	case f.Latency < 0 || f.Jitter < 0:
		return nil, fmt.Errorf("%w: latency and jitter must not be negative", ErrInvalidFaults)
	case f.RetryAfter < 0:
		return nil, fmt.Errorf("%w: retry_after must not be negative", ErrInvalidFaults)
	case f.Down != DownOff && f.Down != Down503 && f.Down != DownClose:
		return nil, fmt.Errorf("%w: down mode %q: want \"\", %q or %q", ErrInvalidFaults, f.Down, Down503, DownClose)
	}
	fs.active = len(fs.steps) > 0 || f.DropAfterRate > 0 || f.Latency > 0 || f.Jitter > 0
	return fs, nil
}

// SetFaults replaces the faults in force (Faults{} turns them all off). It
// does not touch the deny list (see Deny).
func (s *Server) SetFaults(f Faults) error {
	fs, err := compileFaults(f)
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
	if fs.Latency > 0 || fs.Jitter > 0 {
		d := fs.Latency
		if fs.Jitter > 0 {
			d += time.Duration(s.rng.int64N(int64(fs.Jitter) + 1))
		}
		s.stats.fault(FaultLatency)
		// Read the body first: net/http notices a client that hangs up (and
		// cancels the context) only once the body has been read.
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
			if err != nil {
				rep.gone, rep.fault = true, FaultLatency
				return true
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if !sleep(r.Context(), d) {
			rep.gone, rep.fault = true, FaultLatency
			return true
		}
	}
	if len(fs.steps) == 0 {
		return false
	}
	u := s.rng.float64()
	for _, st := range fs.steps {
		if u >= st.rate {
			u -= st.rate
			continue
		}
		s.stats.fault(st.name)
		rep.fault = st.name
		switch st.name {
		case FaultDropBefore:
			rep.drop = true
		case FaultBadGateway:
			rep.status, rep.contentType, rep.body = http.StatusBadGateway, "text/html; charset=utf-8", html502
		case FaultRateLimit:
			rep.status, rep.contentType, rep.body = http.StatusTooManyRequests, "text/plain; charset=utf-8", text429
			rep.header = [][2]string{{"Retry-After", fs.retryAfter}}
		case FaultRateLimitNoHeader:
			rep.status, rep.contentType, rep.body = http.StatusTooManyRequests, "text/plain; charset=utf-8", text429
		case FaultStatus500:
			rep.status, rep.code, rep.body = http.StatusInternalServerError, CodeInternal, envelope(CodeInternal, "server internal error (injected)", nil)
		default:
			s.fail(rep, st.code, injectedMessage(st.code))
		}
		return true
	}
	return false
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

var (
	html502 = []byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
	text429 = []byte("Too Many Requests\n")
)

// sleep waits d or until ctx ends; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// lockedRand is a seeded random source safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) seed(seed uint64) {
	l.mu.Lock()
	l.r = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	l.mu.Unlock()
}

func (l *lockedRand) float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func (l *lockedRand) int64N(n int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Int64N(n)
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
