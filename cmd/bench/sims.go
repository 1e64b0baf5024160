package main

import (
	"context"
	"strings"
	"time"

	"github.com/chansync/chansync/internal/target/usercenter/ucsim"
)

// hubSim is a running APIHub simulator: the user centre (points is served
// too, but no worker of the benchmark turns it on).
type hubSim struct {
	p *proc
	// base is APIHUB_BASE_URL, the platform's root.
	base string
}

// ucAdmin is the user centre simulator's admin prefix.
func (h *hubSim) ucAdmin() string { return h.base + "/_sim/uc" }

// startHubSim starts a fresh APIHub simulator whose user centre answers
// after latency and takes app tokens of hubAK signed with hubSK.
func (b *bench) startHubSim(latency time.Duration) (*hubSim, error) {
	args := []string{"--addr", "127.0.0.1:0", "--log-level", "warn", "--uc-latency", latency.String(), "--uc-ak", hubAK, "--uc-sk", hubSK}
	p, base, err := b.startListening("apihubsim", args, nil)
	if err != nil {
		return nil, err
	}
	return &hubSim{p: p, base: base}, nil
}

// simSet is the simulators of one run: the channel's, and APIHub's when
// the user centre is on.
type simSet struct {
	ch  *sim
	hub *hubSim
}

// startSims starts the channel simulator and, with userCentre, the APIHub
// simulator, both answering after latency.
func (b *bench) startSims(latency time.Duration, userCentre bool) (*simSet, error) {
	ch, err := b.startSim(latency, false)
	if err != nil {
		return nil, err
	}
	s := &simSet{ch: ch}
	if userCentre {
		if s.hub, err = b.startHubSim(latency); err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

// stop stops the simulators.
func (s *simSet) stop() {
	s.ch.p.stop(5 * time.Second)
	if s.hub != nil {
		s.hub.p.stop(5 * time.Second)
	}
}

// workerEnv is the APIHub part of a worker's (or enqueue's) environment:
// the user centre on with the simulator's AK and SK, or off; points off
// either way (whatever the benchmark's own environment says).
func (s *simSet) workerEnv() []string {
	env := []string{"APIHUB_API_KEY="}
	if s.hub == nil {
		return append(env, "APIHUB_BASE_URL=", "APIHUB_AK=", "APIHUB_SK=")
	}
	return append(env, "APIHUB_BASE_URL="+s.hub.base, "APIHUB_AK="+hubAK, "APIHUB_SK="+hubSK)
}

// env is the environment of enqueue against dbURL with the run's targets.
func (s *simSet) env(dbURL string) []string { return append(dbEnv(dbURL), s.workerEnv()...) }

// procs returns the processes whose CPU a run measures: the simulators
// and, under workerKey, the workers.
func (s *simSet) procs(workerKey string, ws []*worker) map[string][]*proc {
	out := map[string][]*proc{"channelsim": {s.ch.p}}
	if s.hub != nil {
		out["apihubsim"] = []*proc{s.hub.p}
	}
	for _, w := range ws {
		out[workerKey] = append(out[workerKey], w.p)
	}
	return out
}

// simCounts are the simulators' counters at one moment.
type simCounts struct {
	// requests, creates and updates are the channel's.
	requests, creates, updates int64
	// ucRequests counts the user centre's requests, ucWrites its
	// successful writes.
	ucRequests, ucWrites int64
}

// count reads the simulators' counters.
func (s *simSet) count(ctx context.Context) (simCounts, error) {
	var c simCounts
	st, err := simStats(ctx, s.ch)
	if err != nil {
		return c, err
	}
	c.requests = st.Requests
	c.creates, c.updates = writes(st)
	if s.hub == nil {
		return c, nil
	}
	var uc ucsim.Stats
	if err := getJSON(ctx, s.hub.ucAdmin()+"/stats", &uc); err != nil {
		return c, err
	}
	c.ucRequests, c.ucWrites = uc.Requests, ucWrites(uc)
	return c, nil
}

// ucWrites sums the successes of the user centre's endpoints that change
// something: every endpoint but the get-* and list-* ones.
func ucWrites(st ucsim.Stats) int64 {
	var n int64
	for name, e := range st.Endpoints {
		if !strings.HasPrefix(name, "get-") && !strings.HasPrefix(name, "list-") {
			n += e.OK
		}
	}
	return n
}
