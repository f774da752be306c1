package app

// Prometheus metrics. Each App has its own registry, so that
// several instances in one process (tests) never share or collide; main.go
// serves it on -metrics-addr (ops.go). docs/OPERATIONS.md lists the series.

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/parley-im/parley/ent"
	"github.com/parley-im/parley/ent/event"
	"github.com/parley-im/parley/ent/viewer"
)

// Label values that are not an operation's own name.
const (
	opAnonymous = "_anonymous" // an operation without a name
	opNone      = "_none"      // no operation: the request did not parse or validate
	opOther     = "_other"     // past maxOperationNames distinct names
)

// maxOperationNames bounds the distinct operation names the metrics keep as
// label values. Names come from clients; without a bound, a client sending
// random names would grow every series without end. Past the bound, new
// names count as _other.
const maxOperationNames = 500

// maxOperationNameLen truncates long operation names.
const maxOperationNameLen = 64

// latencyBuckets suit an API whose requests take from a fraction of a
// millisecond to the 15 s request timeout.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}

// metrics holds one App's collectors.
type metrics struct {
	reg *prometheus.Registry

	operations    *prometheus.CounterVec
	opDuration    *prometheus.HistogramVec
	opInFlight    prometheus.Gauge
	subscriptions *prometheus.GaugeVec

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	wsConnections prometheus.Gauge
	wsCloses      *prometheus.CounterVec

	namesMu sync.Mutex
	names   map[string]string // operation name -> label value
}

// newMetrics registers Parley's collectors, the Go runtime's, the process's,
// the database pool's and the event hub's.
func newMetrics(a *App) *metrics {
	reg := prometheus.NewRegistry()
	r := registrar{promauto.With(reg)}
	m := &metrics{
		reg:   reg,
		names: map[string]string{},
		operations: r.counter("parley_graphql_operations_total",
			"GraphQL operations by operation name, type (query, mutation, subscription, unknown) and outcome: OK or the first error's extensions.code. A subscription counts once, when it ends.",
			"operation", "type", "code"),
		opDuration: r.latency("parley_graphql_operation_duration_seconds",
			"Time from reading a query or mutation to its response, by operation name and type. Subscriptions are not timed.",
			"operation", "type"),
		opInFlight: r.gauge("parley_graphql_operations_in_flight", "Queries and mutations being executed."),
		subscriptions: r.factory.NewGaugeVec(prometheus.GaugeOpts{
			Name: "parley_graphql_subscriptions_active",
			Help: "Subscription operations running, by operation name.",
		}, []string{"operation"}),
		httpRequests: r.counter("parley_http_requests_total",
			"HTTP requests by route pattern, method and status (101 for WebSocket upgrades, counted when the connection ends).",
			"route", "method", "status"),
		httpDuration: r.latency("parley_http_request_duration_seconds",
			"HTTP request duration by route pattern, WebSocket connections excluded.",
			"route"),
		httpInFlight:  r.gauge("parley_http_requests_in_flight", "HTTP requests being served, WebSocket connections included."),
		wsConnections: r.gauge("parley_websocket_connections", "Open GraphQL WebSocket connections."),
		wsCloses: r.counter("parley_websocket_closes_total",
			"WebSocket close frames the server sent, by close code (1000 normal, 1001 shutdown, 44xx graphql-transport-ws protocol errors).",
			"code"),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		collectors.NewDBStatsCollector(a.db, "parley"),
		hubCollector{a},
	)
	return m
}

// registrar creates Parley's own metrics, each registered on the registry
// as it is made, so that none can be declared and left out.
type registrar struct{ factory promauto.Factory }

// counter is a counter by labels.
func (r registrar) counter(name, help string, labels ...string) *prometheus.CounterVec {
	return r.factory.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// latency is a histogram of durations in seconds, by labels, in the
// latency buckets every duration shares.
func (r registrar) latency(name, help string, labels ...string) *prometheus.HistogramVec {
	return r.factory.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, labels)
}

// gauge is a gauge without labels.
func (r registrar) gauge(name, help string) prometheus.Gauge {
	return r.factory.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

// handler serves the registry in the Prometheus exposition format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// MetricsHandler serves this instance's Prometheus metrics (ops.go mounts it
// on -metrics-addr).
func (a *App) MetricsHandler() http.Handler { return a.metrics.handler() }

var namePattern = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// operationLabel is the label value of an operation's name: the name parsed
// from the document, or for a document that did not parse or validate the
// operationName parameter if it is a GraphQL name; at most
// maxOperationNames distinct values.
func (m *metrics) operationLabel(op *ast.OperationDefinition, param string) string {
	var name string
	switch {
	case op != nil && op.Name == "":
		return opAnonymous
	case op != nil:
		name = op.Name
	case param != "" && namePattern.MatchString(param):
		name = param
	default:
		return opNone
	}
	if len(name) > maxOperationNameLen {
		name = name[:maxOperationNameLen] // a GraphQL name is ASCII
	}
	m.namesMu.Lock()
	defer m.namesMu.Unlock()
	if label, ok := m.names[name]; ok {
		return label
	}
	if len(m.names) >= maxOperationNames {
		return opOther
	}
	m.names[name] = name
	return name
}

func operationType(op *ast.OperationDefinition) string {
	if op == nil {
		return "unknown"
	}
	return string(op.Operation)
}

var codePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,47}$`)

// outcome is the code label of a response: OK, the first error's
// extensions.code, or UNCODED.
func outcome(rsp *graphql.Response) string {
	if rsp == nil || len(rsp.Errors) == 0 {
		return "OK"
	}
	code, _ := rsp.Errors[0].Extensions["code"].(string)
	switch {
	case code == "":
		return "UNCODED"
	case !codePattern.MatchString(code):
		return "OTHER"
	}
	return code
}

// operationMetrics is the gqlgen extension that counts and times operations
// and records them in the access log's request info (logging.go). Operations
// that fail before execution (parse, validation, limits) reach it through
// InterceptResponse; the others through InterceptOperation.
type operationMetrics struct{ m *metrics }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = operationMetrics{}

type inOperationKey struct{}

func (operationMetrics) ExtensionName() string                   { return "Metrics" }
func (operationMetrics) Validate(graphql.ExecutableSchema) error { return nil }

func (x operationMetrics) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	name, typ := x.m.operationLabel(oc.Operation, oc.OperationName), operationType(oc.Operation)
	noteOperation(ctx, name, typ)
	start := oc.Stats.Read.Start
	if start.IsZero() {
		start = time.Now()
	}
	ctx = context.WithValue(ctx, inOperationKey{}, true)

	if typ == string(ast.Subscription) {
		active := x.m.subscriptions.WithLabelValues(name)
		active.Inc()
		var once sync.Once
		var first *graphql.Response
		end := func(code string) {
			once.Do(func() {
				active.Dec()
				x.m.operations.WithLabelValues(name, typ, code).Inc()
			})
		}
		h := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			rsp := h(ctx)
			switch {
			case rsp == nil:
				end(outcome(first))
			case first == nil:
				first = rsp
				if len(rsp.Errors) > 0 && rsp.Data == nil {
					end(outcome(rsp)) // refused at subscribe: nothing more comes
				}
			}
			return rsp
		}
	}

	x.m.opInFlight.Inc()
	var once sync.Once
	done := func(rsp *graphql.Response) {
		once.Do(func() {
			x.m.opInFlight.Dec()
			code := outcome(rsp)
			x.m.operations.WithLabelValues(name, typ, code).Inc()
			x.m.opDuration.WithLabelValues(name, typ).Observe(time.Since(start).Seconds())
			noteOutcome(ctx, code)
		})
	}
	h := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		rsp := h(ctx)
		if rsp != nil {
			done(rsp)
		} else {
			done(nil) // the deadline passed or the client left: counted as OK without errors seen
		}
		return rsp
	}
}

// InterceptResponse counts the responses gqlgen builds with DispatchError:
// operations refused before execution.
func (x operationMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	rsp := next(ctx)
	if ctx.Value(inOperationKey{}) != nil {
		return rsp
	}
	var op *ast.OperationDefinition
	var param string
	var start time.Time
	if graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		op, param, start = oc.Operation, oc.OperationName, oc.Stats.Read.Start
	}
	name, typ, code := x.m.operationLabel(op, param), operationType(op), outcome(rsp)
	x.m.operations.WithLabelValues(name, typ, code).Inc()
	if !start.IsZero() {
		x.m.opDuration.WithLabelValues(name, typ).Observe(time.Since(start).Seconds())
	}
	noteOperation(ctx, name, typ)
	noteOutcome(ctx, code)
	return rsp
}

// hubCollector reports the event hub's state at scrape time, and how far
// this instance's hub is behind the event log.
type hubCollector struct{ a *App }

var (
	hubSubscriptionsDesc = prometheus.NewDesc("parley_hub_subscriptions", "Subscriptions registered with this instance's event hub (live and replaying).", nil, nil)
	hubTopicsDesc        = prometheus.NewDesc("parley_hub_topics", "Distinct topics subscribed to on this instance's event hub.", nil, nil)
	hubPositionDesc      = prometheus.NewDesc("parley_hub_position", "Highest event id this instance's hub dispatched.", nil, nil)
	hubHeadDesc          = prometheus.NewDesc("parley_event_log_head", "Highest committed event id in the events table.", nil, nil)
	hubLagEventsDesc     = prometheus.NewDesc("parley_hub_lag_events", "Event ids committed but not yet dispatched by this instance's hub (head - position).", nil, nil)
	hubLagSecondsDesc    = prometheus.NewDesc("parley_hub_lag_seconds", "Age of the oldest committed event this instance's hub has not dispatched yet, 0 when it is caught up: the event bus and hub lag, sampled at scrape.", nil, nil)
)

func (hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{hubSubscriptionsDesc, hubTopicsDesc, hubPositionDesc, hubHeadDesc, hubLagEventsDesc, hubLagSecondsDesc} {
		ch <- d
	}
}

func (c hubCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.a.Hub.Stats()
	ch <- prometheus.MustNewConstMetric(hubSubscriptionsDesc, prometheus.GaugeValue, float64(st.Subscriptions))
	ch <- prometheus.MustNewConstMetric(hubTopicsDesc, prometheus.GaugeValue, float64(st.Topics))
	ch <- prometheus.MustNewConstMetric(hubPositionDesc, prometheus.GaugeValue, float64(st.Position))

	ctx, cancel := context.WithTimeout(viewer.SystemContext(context.Background()), 2*time.Second)
	defer cancel()
	// The oldest event past the hub's position, then the head. Both use the
	// primary key; nothing is reported when the database does not answer.
	oldest, err := c.a.Client.Event.Query().Where(event.IDGT(int(st.Position))).
		Order(ent.Asc(event.FieldID)).First(ctx)
	switch {
	case ent.IsNotFound(err):
		ch <- prometheus.MustNewConstMetric(hubLagSecondsDesc, prometheus.GaugeValue, 0)
		ch <- prometheus.MustNewConstMetric(hubLagEventsDesc, prometheus.GaugeValue, 0)
		ch <- prometheus.MustNewConstMetric(hubHeadDesc, prometheus.GaugeValue, float64(st.Position))
		return
	case err != nil:
		return
	}
	ch <- prometheus.MustNewConstMetric(hubLagSecondsDesc, prometheus.GaugeValue, max(0, time.Since(oldest.CreatedAt).Seconds()))
	ids, err := c.a.Client.Event.Query().Order(ent.Desc(event.FieldID)).Limit(1).IDs(ctx)
	if err != nil || len(ids) == 0 {
		return
	}
	ch <- prometheus.MustNewConstMetric(hubHeadDesc, prometheus.GaugeValue, float64(ids[0]))
	ch <- prometheus.MustNewConstMetric(hubLagEventsDesc, prometheus.GaugeValue, float64(max(0, int64(ids[0])-st.Position)))
}

// observeHTTP records one finished HTTP request.
func (m *metrics) observeHTTP(route, method string, status int, d time.Duration, websocket bool) {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodOptions:
	default:
		method = "OTHER"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	if !websocket {
		m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
	}
}
