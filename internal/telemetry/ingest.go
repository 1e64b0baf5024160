package telemetry

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// NewIngestObserver registers chansync_ingest_requests_total and returns
// the function that counts one ingest request (an ingest.Config
// ObserveFunc). resource is a source's plural or "other", method one of
// the methods ingest serves or "other": the caller bounds both.
func NewIngestObserver(reg prometheus.Registerer) func(resource, method string, status, records int) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chansync_ingest_requests_total",
		Help: "Ingest API requests by resource, method and HTTP status.",
	}, []string{"resource", "method", "status"})
	reg.MustRegister(requests)
	return func(resource, method string, status, _ int) {
		requests.WithLabelValues(resource, method, strconv.Itoa(status)).Inc()
	}
}
