package pointssim

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EndpointStats counts the requests of one endpoint.
type EndpointStats struct {
	// Requests counts every request routed to the endpoint, faults
	// included.
	Requests int64 `json:"requests"`
	// Statuses counts the answers by HTTP status ("0" for a connection
	// closed without an answer, or a client gone).
	Statuses map[string]int64 `json:"statuses"`
}

// Stats are the simulator's counters since it started or was Reset.
type Stats struct {
	// Requests counts every API request (not the admin ones).
	Requests int64 `json:"requests"`
	// Endpoints counts by endpoint; requests to no endpoint are under
	// "unknown".
	Endpoints map[string]EndpointStats `json:"endpoints"`
	// Recharges counts the recharges applied (answer lost or not), and
	// RechargedCents their sum.
	Recharges      int64 `json:"recharges"`
	RechargedCents int64 `json:"recharged_cents"`
	// PoolTooLow counts the recharges refused with 402.
	PoolTooLow int64 `json:"pool_too_low"`
	// TokensIssued counts the bearer tokens issued.
	TokensIssued int64 `json:"tokens_issued"`
	// AuthFailures counts the 401s for a missing, bad, revoked or expired
	// key or token.
	AuthFailures int64 `json:"auth_failures"`
	// KeyOnBearerCalls counts project calls that carried X-API-Key too
	// (the key sent where it is not needed).
	KeyOnBearerCalls int64 `json:"key_on_bearer_calls"`
	// Faults counts the injected faults by name (simkit's, and
	// FaultStatus(n)).
	Faults map[string]int64 `json:"faults"`
}

// counters are the live counters of a Server.
type counters struct {
	mu                                                      sync.Mutex
	requests                                                int64
	endpoints                                               map[string]*EndpointStats
	recharges, rechargedCents, poolLow, tokens, auth, keyOn int64
}

func (c *counters) count(rep *reply) {
	name := string(rep.endpoint)
	if name == "" {
		name = "unknown"
	}
	status := rep.Status
	if rep.Drop || rep.Gone {
		status = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if c.endpoints == nil {
		c.endpoints = map[string]*EndpointStats{}
	}
	es := c.endpoints[name]
	if es == nil {
		es = &EndpointStats{Statuses: map[string]int64{}}
		c.endpoints[name] = es
	}
	es.Requests++
	es.Statuses[strconv.Itoa(status)]++
}

func (c *counters) add(p *int64, n int64) {
	c.mu.Lock()
	*p += n
	c.mu.Unlock()
}

func (c *counters) recharged(cents int64) {
	c.mu.Lock()
	c.recharges++
	c.rechargedCents += cents
	c.mu.Unlock()
}

func (c *counters) poolTooLow()      { c.add(&c.poolLow, 1) }
func (c *counters) tokenIssued()     { c.add(&c.tokens, 1) }
func (c *counters) authFailure()     { c.add(&c.auth, 1) }
func (c *counters) keyOnBearerCall() { c.add(&c.keyOn, 1) }

func (c *counters) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests, c.endpoints = 0, nil
	c.recharges, c.rechargedCents, c.poolLow, c.tokens, c.auth, c.keyOn = 0, 0, 0, 0, 0, 0
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	c.mu.Lock()
	out := Stats{
		Requests: c.requests, Endpoints: map[string]EndpointStats{},
		Recharges: c.recharges, RechargedCents: c.rechargedCents, PoolTooLow: c.poolLow,
		TokensIssued: c.tokens, AuthFailures: c.auth, KeyOnBearerCalls: c.keyOn,
	}
	for name, es := range c.endpoints {
		out.Endpoints[name] = EndpointStats{Requests: es.Requests, Statuses: maps.Clone(es.Statuses)}
	}
	c.mu.Unlock()
	out.Faults = s.inj.Counters().Snapshot()
	return out
}

// Request is one API request as the simulator saw it (Config.RecordRequests).
// It holds no credential and no body.
type Request struct {
	Time     time.Time `json:"time"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Endpoint Endpoint  `json:"endpoint,omitempty"`
	// ClientUserID is the user the request named. It is read (from the
	// query, or a recharge's body) before any fault is drawn, so a request
	// answered by a fault or refused as malformed names its user too, as
	// it was sent.
	ClientUserID string `json:"client_user_id,omitempty"`
	// ExternalOrderID is the external_order_id a recharge carried, read
	// from its body before any fault is drawn, as it was sent: a recharge
	// never applied (a fault, a 402, a bad body) names its order too. ""
	// for other endpoints, and for a body that names none.
	ExternalOrderID string `json:"external_order_id,omitempty"`
	// Page is the page a logs request asked for (1 when it named none);
	// 0 for other endpoints and for a page that is not a positive integer.
	Page int `json:"page,omitempty"`
	// Status is the HTTP status answered, 0 when none was.
	Status int `json:"status"`
	// Fault names the injected fault, if any.
	Fault string `json:"fault,omitempty"`
	// Applied reports that the request changed the state (a recharge
	// whose answer was then lost included).
	Applied bool `json:"applied"`
}

// Requests returns the request log, oldest first (empty unless
// Config.RecordRequests).
func (s *Server) Requests() []Request { return s.reqs.All() }

func (s *Server) logRequest(r *http.Request, rep *reply) {
	req := Request{
		Time: s.now(), Method: r.Method, Path: r.URL.Path, Endpoint: rep.endpoint, ClientUserID: rep.clientUserID,
		ExternalOrderID: rep.orderID, Page: rep.page, Status: rep.Status, Fault: rep.Fault, Applied: rep.applied,
	}
	if rep.Drop || rep.Gone {
		req.Status = 0
	}
	if s.cfg.RecordRequests {
		s.reqs.Add(req)
	}
	if s.cfg.LogRequests {
		s.logger.Debug("pointssim: request", slog.String("method", req.Method), slog.String("path", req.Path),
			slog.String("endpoint", string(req.Endpoint)), slog.String("external_order_id", req.ExternalOrderID),
			slog.Int("page", req.Page), slog.Int("status", req.Status),
			slog.String("fault", req.Fault), slog.Bool("applied", req.Applied))
	}
}

// sniff reads what a request names for the request log — its user, a
// recharge's external_order_id, a logs request's page — before any fault
// is drawn, so that the log names them for requests a fault answered too.
// It refuses nothing (the handler checks the request itself, and its
// reading of the user wins) and leaves the request as it found it: a body
// it reads is put back, at most MaxBodyBytes+1 bytes of it (the handler
// still sees a body too large as too large), followed by the read's error
// if there was one.
func (s *Server) sniff(r *http.Request, ep Endpoint, rep *reply) {
	q := r.URL.Query()
	switch ep {
	case EndpointBalance:
		rep.clientUserID = q.Get("client_user_id")
	case EndpointLogs:
		rep.clientUserID = q.Get("client_user_id")
		rep.page = 1
		if p, ok := q["page"]; ok {
			rep.page = 0
			if n, err := strconv.Atoi(p[0]); err == nil && n > 0 && strings.Trim(p[0], "0123456789") == "" {
				rep.page = n
			}
		}
	case EndpointRecharge:
		if r.Body == nil || r.Body == http.NoBody {
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
		var rest io.Reader = bytes.NewReader(body)
		if err != nil {
			rest = io.MultiReader(rest, failingReader{err})
		}
		r.Body = io.NopCloser(rest)
		var named struct {
			ClientUserID    any `json:"client_user_id"`
			ExternalOrderID any `json:"external_order_id"`
		}
		if json.Unmarshal(body, &named) != nil {
			return
		}
		rep.clientUserID, _ = named.ClientUserID.(string)
		rep.orderID, _ = named.ExternalOrderID.(string)
	}
}

// failingReader fails every read with err: a body whose reading failed
// keeps failing for the handler.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }
