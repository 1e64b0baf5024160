package telemetry

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chansync/chansync/internal/httpserver"
	"github.com/chansync/chansync/internal/record"
)

// NewIngestObserver registers chansync_ingest_requests_total and returns
// the function that counts one ingest request (an ingest.Config
// ObserveFunc). Its labels are bounded whatever a client sends: the kind is
// one of the five or "" (a path that names none), the method one of the
// standard methods or "other" (httpserver.Method), the status one the
// handler answers with.
func NewIngestObserver(reg prometheus.Registerer) func(kind record.Kind, method string, status, records int) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chansync_ingest_requests_total",
		Help: "Ingest API requests by kind, method (a standard method or other) and HTTP status.",
	}, []string{"kind", "method", "status"})
	reg.MustRegister(requests)
	return func(kind record.Kind, method string, status, _ int) {
		if !kind.Valid() {
			kind = ""
		}
		requests.WithLabelValues(string(kind), httpserver.Method(method), strconv.Itoa(status)).Inc()
	}
}
