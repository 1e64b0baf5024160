package simkit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/chansync/chansync/internal/simkit"
)

// tinySim is the smallest simulator built on simkit: one endpoint whose
// faults can be swapped at run time.
type tinySim struct {
	inj     *simkit.Injector
	plan    atomic.Pointer[simkit.Plan]
	down    atomic.Value // simkit.DownMode
	applied atomic.Int64
}

func newTinySim(seed uint64) *tinySim {
	s := &tinySim{inj: simkit.NewInjector(simkit.InjectorConfig{
		Seed: seed,
		Status500Func: func() simkit.Answer {
			return simkit.Answer{Status: http.StatusInternalServerError, Body: []byte(`{"success":false,"code":"INTERNAL"}`)}
		},
	})}
	s.plan.Store(simkit.MustPlan(simkit.Faults{}))
	s.down.Store(simkit.DownOff)
	return s
}

func (s *tinySim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a, down := s.inj.Down(s.down.Load().(simkit.DownMode)); down {
		a.Write(w)
		return
	}
	p := s.plan.Load()
	if a, hit := s.inj.Before(r, p); hit {
		a.Write(w) // an injected fault: the request is not applied
		return
	}
	s.applied.Add(1) // apply the request
	a := simkit.Answer{Status: http.StatusOK, Body: []byte(`{"success":true}`)}
	if s.inj.DropAfter(p) {
		a.Drop, a.Fault = true, simkit.FaultDropAfter
	}
	a.Write(w)
}

// Example serves a tiny simulator, makes every request rate-limited, then
// makes every answer lost after the request was applied.
func Example() {
	sim := newTinySim(1)
	srv := httptest.NewServer(sim)
	defer srv.Close()

	plan, err := simkit.NewPlan(simkit.Faults{RateLimitRate: 1, RetryAfter: 2})
	if err != nil {
		panic(err)
	}
	sim.plan.Store(plan)
	resp, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), sim.applied.Load())

	sim.plan.Store(simkit.MustPlan(simkit.Faults{DropAfterRate: 1}))
	_, err = http.Post(srv.URL, "application/json", nil)
	fmt.Println(err != nil, sim.applied.Load())
	fmt.Println(sim.inj.Counters().Snapshot())
	// Output:
	// 429 2 0
	// true 1
	// map[drop_after:1 rate_limit:1]
}
