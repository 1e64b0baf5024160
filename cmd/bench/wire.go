package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chansync/chansync/internal/datagen"
	"github.com/chansync/chansync/internal/target/channel/channelapi"
	"github.com/chansync/chansync/internal/target/channel/channelbody"
	"github.com/chansync/chansync/internal/target/channel/channelsim"
)

// tier is the request bodies of one kind.
type tier struct {
	kind   channelbody.Resource
	bodies [][]byte
}

// wireBodies builds the request bodies of the data set datagen loads for
// size records (the same seed and prefix as bin/datagen's defaults), in
// dependency order.
func wireBodies(size int) []tier {
	set := datagen.Generate(datagen.Options{Records: size, Seed: 1})
	var out []tier
	for _, k := range channelbody.Resources { // parents first
		t := tier{kind: k}
		for _, b := range set.Built(string(k)) {
			if b.Valid() {
				t.bodies = append(t.bodies, b.JSON)
			}
		}
		out = append(out, t)
	}
	return out
}

// wireResult is the wire limit: the same requests, sent straight.
type wireResult struct {
	// Targets names the targets the loop sent to; absent means the
	// channel alone.
	Targets []string `json:"targets,omitempty"`
	// Records counts the records sent (each one create on the channel;
	// on the user centre an account, a group or a membership).
	Records int `json:"records"`
	// Requests counts the HTTP requests sent, when a record may take more
	// than one (a membership takes a list and an add per company).
	Requests  int64   `json:"requests,omitempty"`
	Failed    int64   `json:"failed"`
	WallS     float64 `json:"wall_s"`
	RecPerSec float64 `json:"records_per_s"`
	// CPU is the CPU time (s) the loop and the simulators spent.
	CPU map[string]float64 `json:"cpu_s,omitempty"`
}

func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// wireLimit posts every body to a fresh simulator with conc requests in
// flight over one keep-alive client, tier by tier (parents first), and
// times it.
func (b *bench) wireLimit(ctx context.Context, size int, latency time.Duration, conc int) (wireResult, error) {
	tiers := wireBodies(size)
	s, err := b.startSim(latency, false)
	if err != nil {
		return wireResult{}, err
	}
	defer s.p.stop(5 * time.Second)
	client := channelapi.DefaultHTTPClient()
	token, err := simToken(ctx, client, s.base)
	if err != nil {
		return wireResult{}, err
	}
	var res wireResult
	var lastErr error
	start := time.Now()
	self0, sim0 := selfCPU(), procCPU(s.p)
	for _, t := range tiers {
		url := s.base + "/" + t.kind.Plural()
		failed, err := sendAll(ctx, t.bodies, conc, func(ctx context.Context, body []byte) error {
			return postOne(ctx, client, url, token, body)
		})
		res.Failed += failed
		if err != nil {
			lastErr = err
		}
		res.Records += len(t.bodies)
	}
	wall := time.Since(start)
	res.CPU = map[string]float64{"wire loop": selfCPU() - self0, "channelsim": procCPU(s.p) - sim0}
	res.WallS = wall.Seconds()
	res.RecPerSec = float64(res.Records) / wall.Seconds()
	if res.Failed > 0 {
		return res, fmt.Errorf("wire loop: %d of %d creates failed, last: %w", res.Failed, res.Records, lastErr)
	}
	return res, ctx.Err()
}

// sendAll sends every item with conc goroutines, each taking the next
// item as soon as it is done with one, and returns how many failed and
// the last failure.
func sendAll[T any](ctx context.Context, items []T, conc int, sendFunc func(context.Context, T) error) (int64, error) {
	var next, failed atomic.Int64
	var mu sync.Mutex
	var lastErr error
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(items)) || ctx.Err() != nil {
					return
				}
				if err := sendFunc(ctx, items[i]); err != nil {
					failed.Add(1)
					mu.Lock()
					lastErr = err
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return failed.Load(), lastErr
}

func simToken(ctx context.Context, client *http.Client, base string) (string, error) {
	body, _ := json.Marshal(map[string]string{"appkey": appKey, "secret": secret, "grant_type": "client_credentials"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/token", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	var env struct {
		Code int `json:"code"`
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Code != 0 || env.Data.AccessToken == "" {
		return "", fmt.Errorf("token: code %d: %v", env.Code, err)
	}
	return env.Data.AccessToken, nil
}

func postOne(ctx context.Context, client *http.Client, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	var env struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || env.Code != 0 {
		return fmt.Errorf("HTTP %d code %d: %s", resp.StatusCode, env.Code, env.Message)
	}
	return nil
}

// simStats reads the simulator's counters.
func simStats(ctx context.Context, s *sim) (channelsim.Stats, error) {
	var st channelsim.Stats
	err := getJSON(ctx, s.admin+"/stats", &st)
	return st, err
}

// writes sums creates and updates over the kinds.
func writes(st channelsim.Stats) (creates, updates int64) {
	for _, k := range st.Kinds {
		creates += k.Creates
		updates += k.Updates
	}
	return creates, updates
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", url, err)
	}
	return nil
}
