package daemon

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// metrics are the daemon's Prometheus metrics. Every label value comes
// from the config or a module's manifest, or from a fixed set: never from
// a string a caller chose (a method a module does not declare counts as
// "(unknown)", an exception class that is not Python's or oslo's as
// "(other)").
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec   // module, tenant, method, outcome
	errors   *prometheus.CounterVec   // module, tenant, class
	duration *prometheus.HistogramVec // module, tenant, method
	swaps    *prometheus.CounterVec   // module, tenant, result
	replies  *prometheus.CounterVec   // module, tenant, outcome: replies not sent at the first try
}

const (
	unknownMethod = "(unknown)"
	otherClass    = "(other)"
)

func newMetrics(d *Daemon) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmrpcd_rpc_requests_total",
			Help: "RPC requests (calls and casts) served, by outcome: ok or error.",
		}, []string{"module", "tenant", "method", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmrpcd_rpc_errors_total",
			Help: "RPC requests answered with a remote exception, by exception class.",
		}, []string{"module", "tenant", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wasmrpcd_rpc_duration_seconds",
			Help:    "Time to dispatch an RPC request, wasm call included.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"module", "tenant", "method"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmrpcd_module_swaps_total",
			Help: "Module swaps (reloads), by result: ok or refused.",
		}, []string{"module", "tenant", "result"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmrpcd_rpc_reply_retries_total",
			Help: "Replies whose reply queue was missing, by what became of them: sent_late, abandoned (missing for the whole retry time), expired (the caller's timeout passed), overflow (too many retrying: dropped), gone (queue given up on before: dropped), failed.",
		}, []string{"module", "tenant", "outcome"}),
	}
	instances := prometheus.NewDesc("wasmrpcd_module_instances",
		"Wasm instances of a module, over its loaded versions.", []string{"module", "tenant"}, nil)
	inFlight := prometheus.NewDesc("wasmrpcd_rpc_in_flight",
		"RPC requests running.", []string{"module", "tenant"}, nil)
	connected := prometheus.NewDesc("wasmrpcd_broker_connected",
		"1 when both broker connections (publish and listen) are up.", nil, nil)
	reconnects := prometheus.NewDesc("wasmrpcd_broker_reconnects_total",
		"Broker connections re-established since start.", nil, nil)
	unreadable := prometheus.NewDesc("wasmrpcd_messages_unreadable_total",
		"Messages dropped because their compression header names a codec wasmrpcd cannot read or their body does not decompress.", nil, nil)
	m.registry.MustRegister(m.requests, m.errors, m.duration, m.swaps, m.replies,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectorFunc{descs: []*prometheus.Desc{instances, inFlight, connected, reconnects, unreadable}, collect: func(ch chan<- prometheus.Metric) {
			for _, mod := range d.moduleList() {
				st := mod.status()
				n := 0
				for _, v := range st.Versions {
					n += v.Instances
				}
				ch <- prometheus.MustNewConstMetric(instances, prometheus.GaugeValue, float64(n), st.Name, st.Tenant)
				ch <- prometheus.MustNewConstMetric(inFlight, prometheus.GaugeValue, float64(st.InFlight), st.Name, st.Tenant)
			}
			if s, ok := d.currentTransport().(interface{ Status() transport.Status }); ok {
				status := s.Status()
				up := 0.0
				if status.SendConnected && status.ListenConnected {
					up = 1
				}
				ch <- prometheus.MustNewConstMetric(connected, prometheus.GaugeValue, up)
				ch <- prometheus.MustNewConstMetric(reconnects, prometheus.CounterValue, float64(status.Reconnects))
				ch <- prometheus.MustNewConstMetric(unreadable, prometheus.CounterValue, float64(status.Unreadable))
			}
		}},
	)
	return m
}

// observer returns the function a module's RPC server reports requests to.
func (m *metrics) observer(module, tenant string, d *rpc.Dispatcher) func(string, time.Duration, *oslo.Failure) {
	return func(method string, took time.Duration, failure *oslo.Failure) {
		if !d.HasMethod(method) {
			method = unknownMethod
		}
		outcome := "ok"
		if failure != nil {
			outcome = "error"
			m.errors.WithLabelValues(module, tenant, boundedClass(failure.Class)).Inc()
		}
		m.requests.WithLabelValues(module, tenant, method, outcome).Inc()
		m.duration.WithLabelValues(module, tenant, method).Observe(took.Seconds())
	}
}

// replyRetry returns the function a module's RPC server reports the
// outcomes of its retried replies to.
func (m *metrics) replyRetry(module, tenant string) func(rpc.ReplyOutcome) {
	return func(o rpc.ReplyOutcome) { m.replies.WithLabelValues(module, tenant, string(o)).Inc() }
}

// boundedClass keeps Python's built-in exception names and oslo's
// dispatcher exceptions; any other class is "(other)".
func boundedClass(class string) string {
	switch {
	case oslo.IsBuiltinException(class), class == "NoSuchMethod", class == "UnsupportedVersion":
		return class
	default:
		return otherClass
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// collectorFunc is a prometheus.Collector of metrics computed at scrape.
type collectorFunc struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
