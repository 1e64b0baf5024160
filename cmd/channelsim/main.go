// Command channelsim serves the strict in-memory channel simulator
// (internal/channelsim) over HTTP, for the demo, the benchmarks and manual
// tests. It prints one line with the channel's base URL once it listens,
// and exits 0 on SIGINT or SIGTERM. Every flag is also an environment
// variable (see --help).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

type cmd struct {
	Addr            string        `name:"addr" env:"CHANNELSIM_ADDR" default:"127.0.0.1:8081" help:"Address to listen on (port 0 picks a free one)."`
	AppKey          string        `name:"appkey" env:"CHANNELSIM_APPKEY,CHANNEL_APPKEY" default:"channel_001" help:"The appkey POST /auth/token accepts."`
	Secret          string        `name:"secret" env:"CHANNELSIM_SECRET,CHANNEL_SECRET" default:"your_secret_key" help:"The secret POST /auth/token accepts (prefer the environment variable: flags show in ps)."`
	TokenTTL        time.Duration `name:"token-ttl" env:"CHANNELSIM_TOKEN_TTL" default:"7200s" help:"Lifetime of an access token."`
	RefreshTokenTTL time.Duration `name:"refresh-token-ttl" env:"CHANNELSIM_REFRESH_TOKEN_TTL" default:"24h" help:"Lifetime of a refresh token."`
	Prefix          string        `name:"prefix" env:"CHANNELSIM_PREFIX" default:"/api/v1" help:"Path prefix of the API."`
	AdminPrefix     string        `name:"admin-prefix" env:"CHANNELSIM_ADMIN_PREFIX" default:"/_sim" help:"Path prefix of the admin endpoints (stats, records, requests, faults, revoke, reset, permission)."`
	ErrorStyle      string        `name:"error-style" env:"CHANNELSIM_ERROR_STYLE" enum:"envelope,http" default:"envelope" help:"envelope: errors are HTTP 200 with a non-zero code; http: 1001→400, 1002/1003→401, 1004→403, 5001→500."`
	Seed            uint64        `name:"seed" env:"CHANNELSIM_SEED" default:"1" help:"Seed of the fault injection's random source."`
	MaxPageSize     int           `name:"max-page-size" env:"CHANNELSIM_MAX_PAGE_SIZE" default:"100" help:"Largest page_size a list accepts."`
	RecordRequests  bool          `name:"record-requests" env:"CHANNELSIM_RECORD_REQUESTS" help:"Keep a log of every request (GET /_sim/requests); it grows without bound."`
	LogRequests     bool          `name:"log-requests" env:"CHANNELSIM_LOG_REQUESTS" help:"Log every request at debug level (with --log-level debug)."`
	LogLevel        string        `name:"log-level" env:"LOG_LEVEL" enum:"debug,info,warn,error" default:"info" help:"debug, info, warn or error."`

	CodeRate              map[int]float64 `name:"code-rate" env:"CHANNELSIM_CODE_RATE" help:"Probability of answering an envelope code instead of applying a request, e.g. --code-rate 5001=0.05 --code-rate 1004=0.01 (env: 5001=0.05;1004=0.01)."`
	Status500Rate         float64         `name:"status500-rate" env:"CHANNELSIM_STATUS500_RATE" help:"Probability of HTTP 500 with code 5001."`
	RateLimitRate         float64         `name:"rate-limit-rate" env:"CHANNELSIM_RATE_LIMIT_RATE" help:"Probability of HTTP 429 with Retry-After."`
	RateLimitNoHeaderRate float64         `name:"rate-limit-no-header-rate" env:"CHANNELSIM_RATE_LIMIT_NO_HEADER_RATE" help:"Probability of HTTP 429 without Retry-After."`
	RetryAfter            int             `name:"retry-after" env:"CHANNELSIM_RETRY_AFTER" default:"1" help:"Retry-After of a 429, in seconds."`
	BadGatewayRate        float64         `name:"bad-gateway-rate" env:"CHANNELSIM_BAD_GATEWAY_RATE" help:"Probability of a bare HTTP 502 with an HTML body."`
	DropBeforeRate        float64         `name:"drop-before-rate" env:"CHANNELSIM_DROP_BEFORE_RATE" help:"Probability of closing the connection before applying a request."`
	DropAfterRate         float64         `name:"drop-after-rate" env:"CHANNELSIM_DROP_AFTER_RATE" help:"Probability of closing the connection after applying a request (the answer is lost)."`
	Latency               time.Duration   `name:"latency" env:"CHANNELSIM_LATENCY" help:"Delay added to every request."`
	Jitter                time.Duration   `name:"jitter" env:"CHANNELSIM_JITTER" help:"Uniform random delay in [0, jitter] added to every request."`
	Down                  string          `name:"down" env:"CHANNELSIM_DOWN" enum:"off,503,close" default:"off" help:"Start down: off, 503 (every API request answers 503) or close (connections are closed)."`
	FaultsOnAuth          bool            `name:"faults-on-auth" env:"CHANNELSIM_FAULTS_ON_AUTH" help:"Apply the faults to /auth/token and /auth/refresh too."`
	Deny                  []string        `name:"deny" env:"CHANNELSIM_DENY" help:"KIND/ID to answer 1004 for, e.g. user/U1 (repeatable; * for any kind)."`
}

// config turns the flags into the simulator's config.
func (c *cmd) config(logger *slog.Logger) channelsim.Config {
	down := channelsim.DownMode(c.Down)
	if c.Down == "off" {
		down = channelsim.DownOff
	}
	return channelsim.Config{
		Prefix:          c.Prefix,
		AdminPrefix:     c.AdminPrefix,
		AppKey:          c.AppKey,
		Secret:          c.Secret,
		TokenTTL:        c.TokenTTL,
		RefreshTokenTTL: c.RefreshTokenTTL,
		ErrorStyle:      channelsim.ErrorStyle(c.ErrorStyle),
		Seed:            c.Seed,
		RecordRequests:  c.RecordRequests,
		LogRequests:     c.LogRequests,
		MaxPageSize:     c.MaxPageSize,
		Logger:          logger,
		Faults: channelsim.Faults{
			CodeRates:             c.CodeRate,
			Status500Rate:         c.Status500Rate,
			RateLimitRate:         c.RateLimitRate,
			RateLimitNoHeaderRate: c.RateLimitNoHeaderRate,
			RetryAfter:            c.RetryAfter,
			BadGatewayRate:        c.BadGatewayRate,
			DropBeforeRate:        c.DropBeforeRate,
			DropAfterRate:         c.DropAfterRate,
			Latency:               c.Latency,
			Jitter:                c.Jitter,
			Down:                  down,
			IncludeAuth:           c.FaultsOnAuth,
		},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "channelsim: %v\n", err)
		var perr *kong.ParseError
		if errors.As(err, &perr) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run parses args, serves the simulator until ctx ends, then shuts down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c cmd
	parser, err := kong.New(&c, kong.Name("channelsim"),
		kong.Description("A strict in-memory simulator of the staffing channel API."),
		kong.Writers(stdout, stderr))
	if err != nil {
		return fmt.Errorf("build flags: %w", err)
	}
	if _, err := parser.Parse(args); err != nil {
		return err //nolint:wrapcheck // kong's errors name the flag already
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := c.config(logger)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	sim := channelsim.New(cfg)
	for _, d := range c.Deny {
		kind, id, ok := strings.Cut(d, "/")
		if !ok || id == "" {
			return fmt.Errorf("--deny %q: want KIND/ID", d)
		}
		if err := sim.Deny(kind, id); err != nil {
			return fmt.Errorf("--deny %q: %w", d, err)
		}
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	baseURL := "http://" + displayAddr(ln.Addr()) + sim.Prefix()
	fmt.Fprintf(stdout, "channelsim listening on %s\n", baseURL)
	logger.Info("channelsim: serving", slog.String("addr", ln.Addr().String()),
		slog.String("prefix", sim.Prefix()), slog.String("admin_prefix", sim.AdminPrefix()),
		slog.String("error_style", c.ErrorStyle), slog.Duration("token_ttl", c.TokenTTL))

	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("channelsim: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// displayAddr renders a listener address for a URL, with 127.0.0.1 for an
// unspecified host.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
