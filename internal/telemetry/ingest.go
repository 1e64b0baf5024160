package telemetry

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/source"
)

// NewIngestObserver registers chansync_ingest_requests_total and returns
// the function that counts one ingest request (an ingest.Config
// ObserveFunc). Its labels are bounded whatever a client sends: the
// resource is a source's plural or "" (a path that names none), the method
// one of the standard methods or "other" (httpserver.Method), the status
// one the handler answers with.
func NewIngestObserver(reg prometheus.Registerer) func(resource, method string, status, records int) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chansync_ingest_requests_total",
		Help: "Ingest API requests by resource, method (a standard method or other) and HTTP status.",
	}, []string{"resource", "method", "status"})
	reg.MustRegister(requests)
	return func(resource, method string, status, _ int) {
		if s, err := source.Lookup(resource); err != nil || s.Plural != resource {
			resource = ""
		}
		requests.WithLabelValues(resource, httpserver.Method(method), strconv.Itoa(status)).Inc()
	}
}
