package telemetry

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chansync/chansync/internal/record"
)

// NewIngestObserver registers chansync_ingest_requests_total and returns
// the function that counts one ingest request (an ingest.Config
// ObserveFunc).
func NewIngestObserver(reg prometheus.Registerer) func(kind record.Kind, method string, status, records int) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chansync_ingest_requests_total",
		Help: "Ingest API requests by kind, method and HTTP status.",
	}, []string{"kind", "method", "status"})
	reg.MustRegister(requests)
	return func(kind record.Kind, method string, status, _ int) {
		requests.WithLabelValues(string(kind), method, strconv.Itoa(status)).Inc()
	}
}
