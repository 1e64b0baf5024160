package channelsim

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// knownCodes are the non-zero codes the simulator answers on its own.
var knownCodes = [...]int{CodeParam, CodeAuth, CodeToken, CodeForbidden, CodeInternal}

func codeIndex(code int) int {
	for i, c := range knownCodes {
		if c == code {
			return i
		}
	}
	return -1
}

type codeCounters [len(knownCodes)]atomic.Int64

func (c *codeCounters) add(code int) {
	if i := codeIndex(code); i >= 0 {
		c[i].Add(1)
	}
}

func (c *codeCounters) snapshot() map[int]int64 {
	m := make(map[int]int64)
	for i := range c {
		if n := c[i].Load(); n > 0 {
			m[knownCodes[i]] = n
		}
	}
	return m
}

func (c *codeCounters) reset() {
	for i := range c {
		c[i].Store(0)
	}
}

// kindCounters are the live counters of one kind.
type kindCounters struct {
	creates, updates, gets, lists     atomic.Int64
	duplicateCreates, orderViolations atomic.Int64
	rejections                        codeCounters
}

func (kc *kindCounters) reject(code int) { kc.rejections.add(code) }

// counters are the live counters of a Server.
type counters struct {
	requests                    atomic.Int64
	tokenRequests, tokensIssued atomic.Int64
	refreshRequests, refreshes  atomic.Int64
	authRejections              codeCounters
	kinds                       [numKinds]kindCounters
}

func (c *counters) authReject(code int) { c.authRejections.add(code) }

// KindStats counts what happened to one kind of record.
type KindStats struct {
	// Creates counts successful creates (POST, and Insert).
	Creates int64 `json:"creates"`
	// Updates counts successful updates (PUT).
	Updates int64 `json:"updates"`
	// Gets counts successful reads (GET by id).
	Gets int64 `json:"gets"`
	// Lists counts successful list reads.
	Lists int64 `json:"lists"`
	// Rejections counts the errors the channel itself answered, by code:
	// bad bodies, duplicates, missing records and references, bad paging
	// (1001) and bad bearer tokens (1003). Injected faults and deny-list
	// answers are counted in Stats.Faults instead.
	Rejections map[int]int64 `json:"rejections"`
	// DuplicateCreates counts creates of an id the channel already had
	// (each also a 1001 rejection; the record is not stored twice).
	DuplicateCreates int64 `json:"duplicate_creates"`
	// OrderViolations counts bodies that named a record the channel did not
	// have yet, a child before its parent (each also a 1001 rejection).
	OrderViolations int64 `json:"order_violations"`
}

// Stats is a snapshot of the simulator's counters.
type Stats struct {
	// Kinds holds the counters of each kind, by singular name ("user", ...).
	Kinds map[string]KindStats `json:"kinds"`
	// TokenRequests counts POST /auth/token requests that reached the
	// handler; TokensIssued the ones that got a token.
	TokenRequests int64 `json:"token_requests"`
	TokensIssued  int64 `json:"tokens_issued"`
	// RefreshRequests counts POST /auth/refresh requests that reached the
	// handler; Refreshes the ones that got a token.
	RefreshRequests int64 `json:"refresh_requests"`
	Refreshes       int64 `json:"refreshes"`
	// AuthRejections counts the errors of the two auth endpoints by code.
	AuthRejections map[int]int64 `json:"auth_rejections"`
	// Faults counts injected faults by name (FaultDropBefore, ...,
	// FaultCode(5001), FaultPermission).
	Faults map[string]int64 `json:"faults"`
	// Requests counts every request under the API prefix (not the admin
	// endpoints), faults included.
	Requests int64 `json:"requests"`
}

// OrderViolations sums OrderViolations over the kinds.
func (st Stats) OrderViolations() int64 {
	var n int64
	for _, k := range st.Kinds {
		n += k.OrderViolations
	}
	return n
}

// DuplicateCreates sums DuplicateCreates over the kinds.
func (st Stats) DuplicateCreates() int64 {
	var n int64
	for _, k := range st.Kinds {
		n += k.DuplicateCreates
	}
	return n
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	out := Stats{
		Kinds:           make(map[string]KindStats, numKinds),
		TokenRequests:   c.tokenRequests.Load(),
		TokensIssued:    c.tokensIssued.Load(),
		RefreshRequests: c.refreshRequests.Load(),
		Refreshes:       c.refreshes.Load(),
		AuthRejections:  c.authRejections.snapshot(),
		Faults:          s.inj.Counters().Snapshot(),
		Requests:        c.requests.Load(),
	}
	for k := range c.kinds {
		kc := &c.kinds[k]
		out.Kinds[kinds[k].name] = KindStats{
			Creates: kc.creates.Load(), Updates: kc.updates.Load(), Gets: kc.gets.Load(), Lists: kc.lists.Load(),
			Rejections:       kc.rejections.snapshot(),
			DuplicateCreates: kc.duplicateCreates.Load(), OrderViolations: kc.orderViolations.Load(),
		}
	}
	return out
}

// Request is one entry of the request log (Config.RecordRequests).
type Request struct {
	// Time is when the answer was decided (Config.NowFunc).
	Time time.Time `json:"time"`
	// Method and Path are the request's, Path as sent (escaped).
	Method string `json:"method"`
	Path   string `json:"path"`
	// Kind is the resource's singular name; "" for auth and unknown routes.
	Kind string `json:"kind,omitempty"`
	// ID is the record's channel_*_id: the path's, or the body's on a
	// create; "" for lists and auth.
	ID string `json:"id,omitempty"`
	// Status is the HTTP status; 0 when the connection was closed without
	// an answer.
	Status int `json:"status"`
	// Code is the envelope's code; 0 also when there was no envelope (see
	// Status and Fault).
	Code int `json:"code"`
	// Applied reports that the request changed the channel's state (a
	// successful create or update), even if its answer was then lost.
	Applied bool `json:"applied"`
	// Fault names the injected fault, if any.
	Fault string `json:"fault,omitempty"`
}

func (s *Server) logRequest(r *http.Request, rep *reply) {
	req := Request{
		Time:   s.now(),
		Method: r.Method,
		Path:   r.URL.EscapedPath(),
		ID:     rep.id,
		Status: rep.status,
		Code:   rep.code,
		Fault:  rep.fault,
	}
	if rep.hasKind {
		req.Kind = kinds[rep.kind].name
	}
	if rep.drop || rep.gone {
		req.Status, req.Code = 0, 0
	}
	req.Applied = rep.applied
	if s.cfg.RecordRequests {
		s.reqs.Add(req)
	}
	if s.cfg.LogRequests {
		s.logger.Debug("channelsim: request",
			slog.String("method", req.Method), slog.String("path", req.Path),
			slog.Int("status", req.Status), slog.Int("code", req.Code),
			slog.Bool("applied", req.Applied), slog.String("fault", req.Fault))
	}
}

// Requests returns a copy of the request log, oldest first; empty unless
// Config.RecordRequests is set.
func (s *Server) Requests() []Request {
	return s.reqs.All()
}

// Reset empties the channel: every record, the id sequences (the next user
// is 10001 again), the counters and the request log. Tokens, faults and the
// deny list are kept; see RevokeAllTokens, SetFaults and AllowAll.
func (s *Server) Reset() {
	for _, st := range s.stores {
		st.reset()
	}
	c := &s.stats
	c.requests.Store(0)
	c.tokenRequests.Store(0)
	c.tokensIssued.Store(0)
	c.refreshRequests.Store(0)
	c.refreshes.Store(0)
	c.authRejections.reset()
	for k := range c.kinds {
		kc := &c.kinds[k]
		for _, n := range []*atomic.Int64{&kc.creates, &kc.updates, &kc.gets, &kc.lists, &kc.duplicateCreates, &kc.orderViolations} {
			n.Store(0)
		}
		kc.rejections.reset()
	}
	s.inj.Counters().Reset()
	s.reqs.Reset()
	s.logger.Info("channelsim: reset")
}
