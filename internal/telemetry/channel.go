package telemetry

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
)

// Channel connection states, as shown on the status page.
const (
	StateUnknown     = "unknown"
	StateOK          = "ok"
	StateAuthFailing = "auth failing"
	StateRateLimited = "rate-limited"
	StateUnreachable = "unreachable"
)

// ChannelHealth follows the channel's answers: errors by code, and the
// connection's state with the time it last changed. Its Observe method is
// a channelapi ObserveFunc. It is safe for concurrent use.
type ChannelHealth struct {
	mu     sync.Mutex
	state  string
	since  time.Time
	detail string

	errors   *prometheus.CounterVec
	requests *prometheus.CounterVec
	stateG   *prometheus.GaugeVec
}

// NewChannelHealth returns a tracker registered with reg (nil: not
// exported).
func NewChannelHealth(reg prometheus.Registerer) *ChannelHealth {
	h := &ChannelHealth{
		state: StateUnknown,
		since: time.Now(),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chansync_channel_errors_total",
			Help: "Failed channel requests, by envelope code (or http_<status>, or network) and class.",
		}, []string{"code", "class"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chansync_channel_requests_total",
			Help: "Channel requests, by operation (e.g. POST /users) and result (ok or error).",
		}, []string{"op", "result"}),
		stateG: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "chansync_channel_state",
			Help: "1 for the channel connection's current state (ok, auth failing, rate-limited, unreachable, unknown).",
		}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(h.errors, h.requests, h.stateG)
	}
	h.stateG.WithLabelValues(StateUnknown).Set(1)
	return h
}

// Observe records one request's outcome.
func (h *ChannelHealth) Observe(op string, err *channelapi.Error, _ time.Duration) {
	if err == nil {
		h.requests.WithLabelValues(op, "ok").Inc()
		h.set(StateOK, "")
		return
	}
	h.requests.WithLabelValues(op, "error").Inc()
	h.errors.WithLabelValues(ErrorCode(err), err.Class.String()).Inc()
	detail := httpserver.Clip(err.Error(), MaxDetail)
	switch err.Class {
	case channelapi.ClassAuth:
		h.set(StateAuthFailing, detail)
	case channelapi.ClassRateLimited:
		h.set(StateRateLimited, detail)
	case channelapi.ClassTransient:
		if err.HTTPStatus == 0 || err.HTTPStatus >= 500 {
			h.set(StateUnreachable, detail)
		}
	}
}

// MaxDetail is the most bytes of the channel's last error State keeps
// (the channel's message is the channel's to choose).
const MaxDetail = 300

// CodeOther is the code label of an envelope code or HTTP status the
// channel API does not define.
const CodeOther = "other"

// knownCodes are the envelope codes of the channel API.
var knownCodes = map[int]bool{
	channelapi.CodeParam: true, channelapi.CodeAuthFailed: true, channelapi.CodeTokenInvalid: true,
	channelapi.CodeForbidden: true, channelapi.CodeServer: true,
}

// ErrorCode returns the code label of a failed request: the envelope code
// when it is one the channel API defines, "http_<status>" for an answer
// without an envelope whose status is a registered HTTP status, "network"
// when no answer came, and CodeOther for anything else, so that a channel
// answering with made-up codes adds no series.
func ErrorCode(err *channelapi.Error) string {
	switch {
	case err.Code != 0 && knownCodes[err.Code]:
		return strconv.Itoa(err.Code)
	case err.Code != 0:
		return CodeOther
	case err.HTTPStatus != 0 && http.StatusText(err.HTTPStatus) != "":
		return "http_" + strconv.Itoa(err.HTTPStatus)
	case err.HTTPStatus != 0:
		return CodeOther
	}
	return "network"
}

func (h *ChannelHealth) set(state, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != state {
		h.stateG.WithLabelValues(h.state).Set(0)
		h.stateG.WithLabelValues(state).Set(1)
		h.state, h.since = state, time.Now()
	}
	h.detail = detail
}

// State returns the current state, since when, and the last error's text.
func (h *ChannelHealth) State() (state string, since time.Time, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state, h.since, h.detail
}

// TokenCounters exports the client's token fetches and refreshes.
func TokenCounters(reg prometheus.Registerer, client *channelapi.Client) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "chansync_token_fetches_total", Help: "POST /auth/token calls (fresh tokens).",
	}, func() float64 { t, _ := client.TokenCalls(); return float64(t) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "chansync_token_refreshes_total", Help: "POST /auth/refresh calls.",
	}, func() float64 { _, r := client.TokenCalls(); return float64(r) }))
}
