package telemetry

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/target"
)

// Target connection states, as the status page and chansync_target_state
// show them.
const (
	StateUnknown     = "unknown"
	StateOK          = "ok"
	StateAuthFailing = "auth failing"
	StateRateLimited = "rate-limited"
	StateUnreachable = "unreachable"
)

// MaxDetail bounds the length of a target's last error kept for the
// status page.
const MaxDetail = 300

var states = []string{StateUnknown, StateOK, StateAuthFailing, StateRateLimited, StateUnreachable}

// Health follows every target's answers, as this process sees them:
// requests by route and result, errors by code and class, and each
// target's connection state with the time it last changed. Its Observe
// method is a target.Deps ObserveFunc. It is safe for concurrent use.
type Health struct {
	mu     sync.Mutex
	byName map[target.Name]*healthState

	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	stateG   *prometheus.GaugeVec
}

type healthState struct {
	state  string
	since  time.Time
	detail string
}

// NewHealth returns a tracker registered with reg (nil: not exported).
func NewHealth(reg prometheus.Registerer) *Health {
	h := &Health{
		byName: map[target.Name]*healthState{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chansync_target_requests_total",
			Help: "Requests to targets, by target, route (e.g. PUT /tasks/:id) and result (ok, transient, rate_limited, auth, data, pool_low).",
		}, []string{"target", "route", "result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chansync_target_errors_total",
			Help: "Failed requests to targets, by target, code (the target's code from a fixed set, http_<status>, network, or other) and result.",
		}, []string{"target", "code", "result"}),
		stateG: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "chansync_target_state",
			Help: "1 for each target's connection state as this process sees it (ok, auth failing, rate-limited, unreachable, unknown).",
		}, []string{"target", "state"}),
	}
	if reg != nil {
		reg.MustRegister(h.requests, h.errors, h.stateG)
	}
	return h
}

// Track starts following target t (its state starts unknown).
func (h *Health) Track(t target.Name) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.byName[t]; ok {
		return
	}
	h.byName[t] = &healthState{state: StateUnknown, since: time.Now()}
	for _, s := range states {
		v := 0.0
		if s == StateUnknown {
			v = 1
		}
		h.stateG.WithLabelValues(string(t), s).Set(v)
	}
}

// Observe records one request's outcome.
func (h *Health) Observe(o target.Observation) {
	h.Track(o.Target)
	h.requests.WithLabelValues(string(o.Target), o.Route, o.Result).Inc()
	if o.Result == "ok" {
		h.set(o.Target, StateOK, "")
		return
	}
	h.errors.WithLabelValues(string(o.Target), o.Code, o.Result).Inc()
	switch o.Result {
	case "auth":
		h.set(o.Target, StateAuthFailing, o.Detail)
	case "rate_limited":
		h.set(o.Target, StateRateLimited, o.Detail)
	case "transient":
		if o.Code == "network" || len(o.Code) == 8 && o.Code[:6] == "http_5" {
			h.set(o.Target, StateUnreachable, o.Detail)
		}
	}
}

func (h *Health) set(t target.Name, state, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.byName[t]
	if s.state != state {
		h.stateG.WithLabelValues(string(t), s.state).Set(0)
		h.stateG.WithLabelValues(string(t), state).Set(1)
		s.state, s.since = state, time.Now()
	}
	s.detail = httpserver.Clip(detail, MaxDetail)
}

// State returns target t's current state, since when, and the last
// error's text.
func (h *Health) State(t target.Name) (state string, since time.Time, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.byName[t]
	if !ok {
		return StateUnknown, time.Time{}, ""
	}
	return s.state, s.since, s.detail
}
