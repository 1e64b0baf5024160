// Package authguard throttles guessing of credentials per client address:
// failed logins on the status page and failed bearer checks (the admin
// token on the page, the ingest token on /v1/). Each address may fail
// MaxFailures times at once and regains one attempt every
// Window/MaxFailures; past that it must wait (the caller answers 429 with
// Retry-After) without its credential being checked at all, so that a
// guess made while throttled tells nothing. Failures beyond the budget (a
// burst of parallel guesses) are charged too: the wait grows with them.
//
// The lines it logs about failures are rate-limited: at most one per
// address per LogEvery and LogBurst in all per LogEvery, plus a line
// counting those left out. Its table of addresses is an LRU of at most
// MaxAddresses entries, so a flood from many addresses cannot grow memory
// without bound. IPv6 clients are counted per /64, the block one host
// usually holds.
package authguard

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/chansync/chansync/internal/httpserver"
)

// Defaults of Config.
const (
	// DefaultMaxFailures is how many failures an address may make at once.
	DefaultMaxFailures = 10
	// DefaultWindow is how long an address takes to regain MaxFailures
	// attempts.
	DefaultWindow = 10 * time.Minute
	// DefaultMaxAddresses bounds the table of addresses.
	DefaultMaxAddresses = 10000
	// DefaultLogEvery is the shortest gap between two lines about one
	// address, and the period of the line counting those left out.
	DefaultLogEvery = time.Minute
	// DefaultLogBurst is the most lines about failures logged per LogEvery
	// over every address.
	DefaultLogBurst = 20
)

// Config configures a Guard. Zero values take the defaults.
type Config struct {
	// MaxFailures is how many failed attempts an address may make before it
	// must wait. Default DefaultMaxFailures.
	MaxFailures int
	// Window is how long an address that used up MaxFailures takes to
	// regain them all; one comes back every Window/MaxFailures. Default
	// DefaultWindow.
	Window time.Duration
	// MaxAddresses bounds how many addresses are remembered (least recently
	// seen are forgotten first). Default DefaultMaxAddresses.
	MaxAddresses int
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For header is believed: for a request from one of them
	// the client is the right-most address of X-Forwarded-For that is not
	// itself a trusted proxy. Empty: the connection's address is the
	// client.
	TrustedProxies []netip.Prefix
	// LogEvery is the shortest gap between two lines about one address.
	// Default DefaultLogEvery.
	LogEvery time.Duration
	// LogBurst bounds the lines about failures per LogEvery over every
	// address. Default DefaultLogBurst.
	LogBurst int
	// Logger receives the lines. Default: discard.
	Logger *slog.Logger
	// NowFunc tells the time. Default time.Now.
	NowFunc func() time.Time
}

// Guard counts failed attempts per client address. It is safe for
// concurrent use; one Guard may serve several handlers, so that failures
// against any of them count together.
type Guard struct {
	cfg     Config
	every   rate.Limit
	clients *lru.Cache[string, *client]

	// logs bounds the lines over every address.
	logs *rate.Limiter

	mu         sync.Mutex
	unlogged   int
	lastReport time.Time
}

// client is what the Guard remembers of one address.
type client struct {
	failures *rate.Limiter
	logs     *rate.Limiter
}

// New returns a Guard.
func New(cfg Config) *Guard {
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxAddresses <= 0 {
		cfg.MaxAddresses = DefaultMaxAddresses
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = DefaultLogEvery
	}
	if cfg.LogBurst <= 0 {
		cfg.LogBurst = DefaultLogBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	clients, err := lru.New[string, *client](cfg.MaxAddresses)
	if err != nil {
		panic(err) // only for a size <= 0, excluded above
	}
	now := cfg.NowFunc()
	return &Guard{
		cfg:        cfg,
		every:      rate.Every(cfg.Window / time.Duration(cfg.MaxFailures)),
		clients:    clients,
		logs:       rate.NewLimiter(rate.Every(cfg.LogEvery/time.Duration(cfg.LogBurst)), cfg.LogBurst),
		lastReport: now,
	}
}

// Wait returns how long the client at addr (from ClientAddr) must wait
// before a credential of its is checked again; 0 when it may try now. It
// remembers nothing new: an address without failures costs no memory.
func (g *Guard) Wait(addr string) time.Duration {
	c, ok := g.clients.Get(addr)
	if !ok {
		return 0
	}
	tokens := c.failures.TokensAt(g.cfg.NowFunc())
	if tokens >= 1 {
		return 0
	}
	secs := (1 - tokens) / float64(g.every)
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}

// Len returns how many addresses the Guard remembers (at most
// MaxAddresses).
func (g *Guard) Len() int { return g.clients.Len() }

// Fail records a failed attempt by the client at addr. Failures past its
// budget lengthen its wait.
func (g *Guard) Fail(addr string) {
	now := g.cfg.NowFunc()
	c := g.client(addr)
	// A reservation that is never cancelled: past the budget, the tokens go
	// negative and the wait grows.
	c.failures.ReserveN(now, 1)
}

func (g *Guard) client(addr string) *client {
	if c, ok := g.clients.Get(addr); ok {
		return c
	}
	c := &client{
		failures: rate.NewLimiter(g.every, g.cfg.MaxFailures),
		logs:     rate.NewLimiter(rate.Every(g.cfg.LogEvery), 1),
	}
	if prev, ok, _ := g.clients.PeekOrAdd(addr, c); ok {
		return prev
	}
	return c
}

// Log logs msg at level with attrs and the client's address, unless a
// line about addr was logged less than LogEvery ago or LogBurst lines were
// logged over every address in the last LogEvery; a line left out is
// counted, and the count is logged (at most once per LogEvery) with the
// next line that goes out.
func (g *Guard) Log(ctx context.Context, level slog.Level, msg, addr string, attrs ...slog.Attr) {
	if !g.cfg.Logger.Enabled(ctx, level) {
		return
	}
	now := g.cfg.NowFunc()
	c := g.client(addr)
	if !c.logs.AllowN(now, 1) || !g.logs.AllowN(now, 1) {
		g.mu.Lock()
		g.unlogged++
		g.mu.Unlock()
		g.report(ctx, now)
		return
	}
	g.report(ctx, now)
	g.cfg.Logger.LogAttrs(ctx, level, msg, append(attrs, slog.String("remote", addr))...)
}

// report logs how many lines were left out, once per LogEvery.
func (g *Guard) report(ctx context.Context, now time.Time) {
	g.mu.Lock()
	n, since := g.unlogged, g.lastReport
	if n == 0 || now.Sub(since) < g.cfg.LogEvery {
		g.mu.Unlock()
		return
	}
	g.unlogged, g.lastReport = 0, now
	g.mu.Unlock()
	g.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "authentication failures not logged (rate limit)",
		slog.Int("lines", n), slog.Duration("over", now.Sub(since)))
}

// RetryAfter returns the value of a Retry-After header for a wait: whole
// seconds, at least 1.
func RetryAfter(wait time.Duration) string {
	secs := int64(math.Ceil(wait.Seconds()))
	return strconv.FormatInt(max(1, secs), 10)
}

// ClientAddr returns the address failures of r are counted against: the
// connection's address, or, when that is a trusted proxy, the right-most
// untrusted address of X-Forwarded-For; an IPv6 address as its /64.
func (g *Guard) ClientAddr(r *http.Request) string {
	addr, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return httpserver.Clip(r.RemoteAddr, 64)
	}
	if g.trusted(addr) {
		hops := r.Header.Values("X-Forwarded-For")
		var list []string
		for _, h := range hops {
			list = append(list, strings.Split(h, ",")...)
		}
		for i := len(list) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(list[i]))
			if err != nil {
				break // a forged or garbled hop: trust nothing left of it
			}
			a = a.Unmap()
			addr = a
			if !g.trusted(a) {
				break
			}
		}
	}
	return key(addr)
}

func (g *Guard) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr parses "host:port" or a bare host.
func parseAddr(s string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// key names an address in the table: an IPv4 address as is, an IPv6 one
// as its /64.
func key(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// ParsePrefixes parses a comma-separated list of networks ("10.0.0.0/8")
// or addresses (taken as a network of one); it names the first bad entry.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
