package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// gaugesTimeout bounds the Options.Gauges call of one scrape.
const gaugesTimeout = 2 * time.Second

// metrics are the server's Prometheus metrics, in a private registry (never
// the global default one, so several servers can live in one process).
type metrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
	// unauthorized counts requests refused for want of a valid credential,
	// by route (a fixed set of names).
	unauthorized *prometheus.CounterVec
}

func newMetrics(stats *invoke.Stats, more ...prometheus.Collector) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cb_handler_duration_seconds",
			Help:    "Latency of handler calls made over HTTP and WebSocket, including validation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "transport"}),
		unauthorized: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cb_http_unauthorized_total",
			Help: "HTTP requests refused for want of a valid credential, by route.",
		}, []string{"route"}),
	}
	for _, route := range []string{"rpc", "ws", "hooks", "mcp", "login"} {
		m.unauthorized.WithLabelValues(route) // exported at 0 from the start
	}
	m.reg.MustRegister(m.duration, m.unauthorized,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.reg.MustRegister(&statsCollector{stats: stats})
	}
	m.reg.MustRegister(more...)
	return m
}

var (
	callsDesc = prometheus.NewDesc("cb_handler_calls_total",
		"Handler calls by method, over every transport of this instance.", []string{"method"}, nil)
	errorsDesc = prometheus.NewDesc("cb_handler_errors_total",
		"Handler calls that ended in an error, by method.", []string{"method"}, nil)
	rejectionsDesc = prometheus.NewDesc("cb_rejections_total",
		"Calls rejected by rate limit, open circuit or timeout, requests dropped unrun past their caller's deadline (expired), and hook requests run over the rate limit without their extras (shed), by method.", []string{"method", "reason"}, nil)
	queueDepthDesc   = prometheus.NewDesc("cb_queue_depth", "Pending tasks in the queue.", nil, nil)
	auditDroppedDesc = prometheus.NewDesc("cb_audit_dropped_total",
		"Hook decisions not audited because this cbd's audit queue was full.", nil, nil)
	tasksDesc     = prometheus.NewDesc("cb_tasks", "Tasks by status.", []string{"status"}, nil)
	instancesDesc = prometheus.NewDesc("cb_instances", "Live cbd instances.", nil, nil)
	decisionsDesc = prometheus.NewDesc("cb_hook_decisions_total",
		`Answers to Claude Code hooks by this instance, over every transport (cb hook, http hooks, /rpc, /ws; "none" = no opinion).`,
		[]string{"event", "tool", "decision"}, nil)
)

// statsCollector exports invoke.Stats at scrape time.
type statsCollector struct {
	stats *invoke.Stats
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- callsDesc
	ch <- errorsDesc
	ch <- rejectionsDesc
	ch <- decisionsDesc
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	for method, sn := range c.stats.Snapshot() {
		ch <- prometheus.MustNewConstMetric(callsDesc, prometheus.CounterValue, float64(sn.Calls), method)
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(sn.Errors), method)
		ch <- prometheus.MustNewConstMetric(rejectionsDesc, prometheus.CounterValue, float64(sn.RateLimited), method, "rate_limited")
		ch <- prometheus.MustNewConstMetric(rejectionsDesc, prometheus.CounterValue, float64(sn.CircuitOpen), method, "circuit_open")
		ch <- prometheus.MustNewConstMetric(rejectionsDesc, prometheus.CounterValue, float64(sn.Timeouts), method, "timeout")
		ch <- prometheus.MustNewConstMetric(rejectionsDesc, prometheus.CounterValue, float64(sn.Expired), method, "expired")
		ch <- prometheus.MustNewConstMetric(rejectionsDesc, prometheus.CounterValue, float64(sn.Shed), method, "shed")
	}
	for k, n := range c.stats.Decisions() {
		ch <- prometheus.MustNewConstMetric(decisionsDesc, prometheus.CounterValue, float64(n), k.Event, k.Tool, k.Decision)
	}
}

// gaugeCollector exports one Gauges reading.
type gaugeCollector struct {
	g Gauges
}

// Describe implements prometheus.Collector.
func (c gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- tasksDesc
	ch <- instancesDesc
	ch <- auditDroppedDesc
}

// Collect implements prometheus.Collector.
func (c gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(c.g.QueueDepth))
	for status, n := range c.g.TasksByStatus {
		ch <- prometheus.MustNewConstMetric(tasksDesc, prometheus.GaugeValue, float64(n), status)
	}
	ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(c.g.Instances))
	ch <- prometheus.MustNewConstMetric(auditDroppedDesc, prometheus.CounterValue, float64(c.g.AuditDropped))
}

// handleMetrics serves GET /metrics. The gauges are read with the scrape's
// context; a failure leaves them out of that scrape and is logged.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	gatherers := prometheus.Gatherers{s.metrics.reg}
	if s.o.Gauges != nil {
		ctx, cancel := context.WithTimeout(r.Context(), gaugesTimeout)
		g, err := s.o.Gauges(ctx)
		cancel()
		if err != nil {
			s.log.Warn("metrics: reading gauges", "err", err)
		} else {
			reg := prometheus.NewRegistry()
			if err := reg.Register(gaugeCollector{g: g}); err != nil {
				s.log.Warn("metrics: registering gauges", "err", err)
			} else {
				gatherers = append(gatherers, reg)
			}
		}
	}
	promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorLog:      slogPromLogger{s},
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r)
}

// slogPromLogger adapts the server log to promhttp.Logger.
type slogPromLogger struct{ s *Server }

// Println implements promhttp.Logger.
func (l slogPromLogger) Println(v ...any) { l.s.log.Warn("metrics: " + fmt.Sprint(v...)) }

// handleMethods serves GET /v1/methods: every registered method with its
// self-contained input and output schema.
func (s *Server) handleMethods(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	b, err := s.methodsCache()
	if err != nil {
		s.log.Error("method listing", "err", err)
		writeRPCError(w, http.StatusInternalServerError, nil, &protocol.Error{Code: protocol.CodeInternal, Message: err.Error()})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// buildMethods encodes the method listing once: schemas with "$ref"s
// inlined (schemas.Resolved), falling back to the raw document.
func (s *Server) buildMethods() ([]byte, error) {
	names := s.reg.Events()
	list := make([]schemas.Method, 0, len(names))
	for _, name := range names {
		m, err := schemas.Resolved(name)
		if err != nil {
			s.log.Warn("method listing: resolving schema", "method", name, "err", err)
			if m, err = schemas.Load(name); err != nil {
				s.log.Warn("method listing: no schema", "method", name, "err", err)
				m = schemas.Method{Name: name}
			}
		}
		list = append(list, m)
	}
	b, err := json.Marshal(map[string]any{"methods": list})
	if err != nil {
		return nil, fmt.Errorf("encode method listing: %w", err)
	}
	return b, nil
}
