package jobs

import (
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/riverqueue/river/rivertype"
)

// RetryPolicy schedules retries with exponential backoff and jitter: the
// n-th retry waits about Initial·Multiplier^(n-1), capped at Max, each wait
// randomised by ±Jitter. It implements river.ClientRetryPolicy.
type RetryPolicy struct {
	// Initial is the first wait. Default 1s.
	Initial time.Duration
	// Max caps every wait. Default 10 minutes.
	Max time.Duration
	// Multiplier grows the wait. Default 2.
	Multiplier float64
	// Jitter is the randomisation factor in [0,1). Default 0.2.
	Jitter float64
}

// DefaultRetryPolicy is the policy the worker uses unless configured.
var DefaultRetryPolicy = RetryPolicy{Initial: time.Second, Max: 10 * time.Minute, Multiplier: 2, Jitter: 0.2}

// Delay returns the wait before retry number attempt (1 for the first).
func (p RetryPolicy) Delay(attempt int) time.Duration {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.Initial
	b.MaxInterval = p.Max
	b.Multiplier = p.Multiplier
	b.RandomizationFactor = p.Jitter
	b.MaxElapsedTime = 0
	b.Reset()
	d := b.InitialInterval
	for i := 0; i < attempt; i++ {
		d = b.NextBackOff()
	}
	return d
}

// NextRetry returns when a job that just failed its attempt should run again.
func (p RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.Delay(max(job.Attempt, 1)))
}
