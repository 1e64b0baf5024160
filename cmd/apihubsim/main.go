// Command apihubsim serves simulators of the APIHub platform on one host,
// as the real platform does (APIHUB_BASE_URL): the user centre
// (internal/target/usercenter/ucsim) under /api/user-center-admin, with
// its admin endpoints under /_sim/uc, and points and projects
// (internal/target/points/pointssim) under /api/v1/apihub, with its admin
// endpoints under /_sim/points. It prints one line with the base URL once
// it listens, and exits 0 on SIGINT or SIGTERM. Every flag is also an
// environment variable (see --help).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/chansync/chansync/internal/simkit"
	"github.com/chansync/chansync/internal/target/points/pointssim"
	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

type cmd struct {
	Addr           string `name:"addr" env:"APIHUBSIM_ADDR" default:"127.0.0.1:8082" help:"Address to listen on (port 0 picks a free one)."`
	Seed           uint64 `name:"seed" env:"APIHUBSIM_SEED" default:"1" help:"Seed of the fault injection's random source."`
	RecordRequests bool   `name:"record-requests" env:"APIHUBSIM_RECORD_REQUESTS" help:"Keep a log of every request (GET <admin prefix>/requests); it grows without bound."`
	LogRequests    bool   `name:"log-requests" env:"APIHUBSIM_LOG_REQUESTS" help:"Log every request at debug level (with --log-level debug)."`
	LogLevel       string `name:"log-level" env:"LOG_LEVEL" enum:"debug,info,warn,error" default:"info" help:"debug, info, warn or error."`

	UC     userCentreFlags `embed:"" prefix:"uc-" group:"User centre"`
	Points pointssim.Flags `embed:"" prefix:"points-" envprefix:"APIHUBSIM_POINTS_" group:"Points"`
}

// userCentreFlags configure the user-centre simulator.
type userCentreFlags struct {
	AK           string        `name:"ak" env:"APIHUBSIM_UC_AK,APIHUB_AK" default:"67fca7a97a883fac3a981a83" help:"The AK app tokens must name (sub and iss)."`
	SK           string        `name:"sk" env:"APIHUBSIM_UC_SK,APIHUB_SK" default:"apihubsim-secret-key" help:"The SK app tokens must be signed with (prefer the environment variable: flags show in ps)."`
	Prefix       string        `name:"prefix" env:"APIHUBSIM_UC_PREFIX" default:"/api/user-center-admin" help:"Path prefix of the user centre."`
	AdminPrefix  string        `name:"admin-prefix" env:"APIHUBSIM_UC_ADMIN_PREFIX" default:"/_sim/uc" help:"Path prefix of its admin endpoints (stats, state, duplicates, requests, faults, revoke, restore, reset, accounts, groups)."`
	ClockSkew    time.Duration `name:"clock-skew" env:"APIHUBSIM_UC_CLOCK_SKEW" default:"60s" help:"How far in the future a token's iat may be."`
	MaxListLimit int           `name:"max-list-limit" env:"APIHUBSIM_UC_MAX_LIST_LIMIT" help:"Cap on list-users' limit (0: none)."`
	Revoked      bool          `name:"revoked" env:"APIHUBSIM_UC_REVOKED" help:"Start refusing every token (401) until POST <admin prefix>/restore."`

	Status500Rate         float64       `name:"status500-rate" env:"APIHUBSIM_UC_STATUS500_RATE" help:"Probability of HTTP 500."`
	RateLimitRate         float64       `name:"rate-limit-rate" env:"APIHUBSIM_UC_RATE_LIMIT_RATE" help:"Probability of HTTP 429 with Retry-After."`
	RateLimitNoHeaderRate float64       `name:"rate-limit-no-header-rate" env:"APIHUBSIM_UC_RATE_LIMIT_NO_HEADER_RATE" help:"Probability of HTTP 429 without Retry-After."`
	RetryAfter            int           `name:"retry-after" env:"APIHUBSIM_UC_RETRY_AFTER" default:"1" help:"Retry-After of a 429, in seconds."`
	BadGatewayRate        float64       `name:"bad-gateway-rate" env:"APIHUBSIM_UC_BAD_GATEWAY_RATE" help:"Probability of a bare HTTP 502 with an HTML body."`
	DropBeforeRate        float64       `name:"drop-before-rate" env:"APIHUBSIM_UC_DROP_BEFORE_RATE" help:"Probability of closing the connection before applying a request."`
	DropAfterRate         float64       `name:"drop-after-rate" env:"APIHUBSIM_UC_DROP_AFTER_RATE" help:"Probability of closing the connection after applying a request (the answer is lost)."`
	Latency               time.Duration `name:"latency" env:"APIHUBSIM_UC_LATENCY" help:"Delay added to every request."`
	Jitter                time.Duration `name:"jitter" env:"APIHUBSIM_UC_JITTER" help:"Uniform random delay in [0, jitter] added to every request."`
	Down                  string        `name:"down" env:"APIHUBSIM_UC_DOWN" enum:"off,503,close" default:"off" help:"Start down: off, 503 (every request answers 503) or close (connections are closed)."`
	CreateDropAfterRate   float64       `name:"create-drop-after-rate" env:"APIHUBSIM_UC_CREATE_DROP_AFTER_RATE" help:"Probability that create-user and create-group lose their answer after creating (on top of the faults above)."`
	Faults                string        `name:"faults" env:"APIHUBSIM_UC_FAULTS" help:"Faults as JSON, per endpoint class, replacing every fault flag, e.g. {\"classes\":{\"create_user\":{\"drop_after_rate\":0.2}}}."`
}

// config turns the flags into the user-centre simulator's config.
func (f *userCentreFlags) config(c *cmd, logger *slog.Logger) (ucsim.Config, error) {
	faults, err := f.faults()
	if err != nil {
		return ucsim.Config{}, err
	}
	return ucsim.Config{
		Prefix: f.Prefix, AdminPrefix: f.AdminPrefix, AppKey: f.AK, SecretKey: f.SK, ClockSkew: f.ClockSkew,
		Seed: c.Seed, Faults: faults, MaxListLimit: f.MaxListLimit,
		RecordRequests: c.RecordRequests, LogRequests: c.LogRequests, Logger: logger,
	}, nil
}

func (f *userCentreFlags) faults() (ucsim.Faults, error) {
	if f.Faults != "" {
		var out ucsim.Faults
		if err := json.Unmarshal([]byte(f.Faults), &out); err != nil {
			return ucsim.Faults{}, fmt.Errorf("--uc-faults: %w", err)
		}
		return out, nil
	}
	out := ucsim.Faults{All: simkit.Faults{
		Status500Rate: f.Status500Rate, RateLimitRate: f.RateLimitRate, RateLimitNoHeaderRate: f.RateLimitNoHeaderRate,
		RetryAfter: f.RetryAfter, BadGatewayRate: f.BadGatewayRate, DropBeforeRate: f.DropBeforeRate,
		DropAfterRate: f.DropAfterRate, Latency: f.Latency, Jitter: f.Jitter,
	}}
	if f.Down != "off" {
		out.Down = simkit.DownMode(f.Down)
	}
	if f.CreateDropAfterRate > 0 {
		create := out.All
		create.DropAfterRate = f.CreateDropAfterRate
		out.Classes = map[ucsim.Class]simkit.Faults{ucsim.ClassCreateUser: create, ucsim.ClassCreateGroup: create}
	}
	return out, nil
}

// mount is one simulator the command serves: a handler and the path
// prefixes (API and admin) it answers under.
type mount struct {
	name     string
	handler  http.Handler
	prefixes []string
}

// mounts builds the simulators from the flags. A second simulator is one
// more entry here.
func (c *cmd) mounts(logger *slog.Logger) ([]mount, error) {
	ucCfg, err := c.UC.config(c, logger)
	if err != nil {
		return nil, err
	}
	if err := ucCfg.Validate(); err != nil {
		return nil, fmt.Errorf("user centre: %w", err)
	}
	uc := ucsim.New(ucCfg)
	if c.UC.Revoked {
		uc.Revoke()
	}
	pCfg, err := c.Points.Config(logger)
	if err != nil {
		return nil, fmt.Errorf("points: %w", err)
	}
	pCfg.Seed, pCfg.RecordRequests, pCfg.LogRequests = c.Seed, c.RecordRequests, c.LogRequests
	if err := pCfg.Validate(); err != nil {
		return nil, fmt.Errorf("points: %w", err)
	}
	points := pointssim.New(pCfg)
	return []mount{
		{name: "user centre", handler: uc, prefixes: []string{uc.Prefix(), uc.AdminPrefix()}},
		{name: "points", handler: points, prefixes: []string{points.Prefix(), points.AdminPrefix()}},
	}, nil
}

// handler routes each request to the simulator whose prefix it is under;
// anything else is a bare 404. Two simulators may not share a prefix.
func handler(ms []mount) (http.Handler, error) {
	mux := http.NewServeMux()
	owner := map[string]string{}
	for _, m := range ms {
		for _, p := range m.prefixes {
			if p == "" {
				return nil, fmt.Errorf("%s: a simulator mounted beside others needs a path prefix", m.name)
			}
			if other, dup := owner[p]; dup {
				return nil, fmt.Errorf("%s and %s both want the prefix %s", other, m.name, p)
			}
			owner[p] = m.name
			mux.Handle(p, m.handler)
			mux.Handle(p+"/", m.handler)
		}
	}
	return mux, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "apihubsim: %v\n", err)
		var perr *kong.ParseError
		if errors.As(err, &perr) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run parses args, serves the simulators until ctx ends, then shuts down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c cmd
	parser, err := kong.New(&c, kong.Name("apihubsim"),
		kong.Description("Strict in-memory simulators of the APIHub platform: the user centre, and points and projects."),
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

	ms, err := c.mounts(logger)
	if err != nil {
		return err
	}
	h, err := handler(ms)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	baseURL := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "apihubsim listening on %s\n", baseURL)
	for _, m := range ms {
		logger.Info("apihubsim: serving", slog.String("simulator", m.name), slog.Any("prefixes", m.prefixes))
	}

	srv := &http.Server{
		Handler:           h,
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
	logger.Info("apihubsim: shutting down")
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
