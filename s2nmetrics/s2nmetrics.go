// Package s2nmetrics counts the handshakes of s2n Configs for Prometheus.
//
// A Collector is a prometheus.Collector fed by s2n's handshake events
// ([s2n.Config.SetHandshakeEventCallback]): register it with a
// prometheus.Registerer, then attach it to each Config whose connections it
// should count:
//
//	col := s2nmetrics.New(s2nmetrics.Options{})
//	prometheus.MustRegister(col)
//	if err := col.Attach(cfg); err != nil { ... }
//
// A Config has one handshake event callback: Attach takes it. An
// application with a callback of its own chains the two with Wrap instead:
//
//	cfg.SetHandshakeEventCallback(col.Wrap(myCallback))
//
// The metrics, with the default namespace "s2n":
//
//	s2n_handshakes_total{side, version, cipher, group, signature_scheme, handshake_type, resumed}
//	s2n_handshake_failures_total{side, error_type, error, alert}
//	s2n_handshake_duration_seconds{side, result}          (histogram)
//	s2n_handshake_wire_bytes_received_total{side, result}
//	s2n_handshake_wire_bytes_sent_total{side, result}
//
// Every label takes its values from s2n's fixed names (protocol versions,
// cipher suites, groups, signature schemes, handshake types, error names,
// alert codes), so the number of series stays bounded whatever the peers
// send.
package s2nmetrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/s2n-go/s2n"
)

// Options configures a Collector.
type Options struct {
	// Namespace prefixes every metric name; "" means "s2n".
	Namespace string
	// ConstLabels are added to every metric, e.g. to tell two listeners
	// apart.
	ConstLabels prometheus.Labels
	// Buckets are the handshake duration histogram's upper bounds, in
	// seconds; nil means DefaultBuckets.
	Buckets []float64
}

// DefaultBuckets span a loopback handshake (about a millisecond) to a
// handshake held up by a slow peer or a remote key (seconds).
var DefaultBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Label values.
const (
	ResultOK    = "ok"
	ResultError = "error"
)

// Collector counts handshakes. It is safe for concurrent use by any number
// of Configs and connections.
type Collector struct {
	handshakes *prometheus.CounterVec
	failures   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	bytesIn    *prometheus.CounterVec
	bytesOut   *prometheus.CounterVec
}

// New returns a Collector with no handshakes counted yet.
func New(o Options) *Collector {
	ns := o.Namespace
	if ns == "" {
		ns = "s2n"
	}
	buckets := o.Buckets
	if buckets == nil {
		buckets = DefaultBuckets
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels}, labels)
	}
	return &Collector{
		handshakes: counter("handshakes_total",
			"Completed TLS handshakes, by side (client or server) and what they negotiated.",
			"side", "version", "cipher", "group", "signature_scheme", "handshake_type", "resumed"),
		failures: counter("handshake_failures_total",
			"Failed TLS handshakes, by side, s2n error type and name, and the alert received from the peer (\"\" when none).",
			"side", "error_type", "error", "alert"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "handshake_duration_seconds", ConstLabels: o.ConstLabels, Buckets: buckets,
			Help: "Time from a handshake's start to its end, success or failure, by s2n's clock.",
		}, []string{"side", "result"}),
		bytesIn: counter("handshake_wire_bytes_received_total",
			"Bytes read from the transport up to the end of each handshake.", "side", "result"),
		bytesOut: counter("handshake_wire_bytes_sent_total",
			"Bytes written to the transport up to the end of each handshake.", "side", "result"),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.handshakes.Describe(ch)
	c.failures.Describe(ch)
	c.duration.Describe(ch)
	c.bytesIn.Describe(ch)
	c.bytesOut.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.handshakes.Collect(ch)
	c.failures.Collect(ch)
	c.duration.Collect(ch)
	c.bytesIn.Collect(ch)
	c.bytesOut.Collect(ch)
}

// Attach makes cfg report every handshake of its connections to c. It
// takes cfg's handshake event callback
// ([s2n.Config.SetHandshakeEventCallback]), replacing any set before; use
// Wrap to keep one. Like every setter, it must come before cfg's first
// connection.
func (c *Collector) Attach(cfg *s2n.Config) error {
	return cfg.SetHandshakeEventCallback(c.Observe)
}

// Wrap returns a handshake event callback that counts the handshake, then
// calls next (if not nil).
func (c *Collector) Wrap(next func(*s2n.Connection, s2n.HandshakeEvent)) func(*s2n.Connection, s2n.HandshakeEvent) {
	if next == nil {
		return c.Observe
	}
	return func(conn *s2n.Connection, ev s2n.HandshakeEvent) {
		c.Observe(conn, ev)
		next(conn, ev)
	}
}

// Observe counts one handshake. It is a handshake event callback, run by
// s2n inside the handshake of conn: it reads the rest of what it counts
// from conn (resumption, signature scheme, handshake type, alert, wire
// bytes).
func (c *Collector) Observe(conn *s2n.Connection, ev s2n.HandshakeEvent) {
	side := "server"
	if mode, err := conn.Mode(); err == nil && mode == s2n.ModeClient {
		side = "client"
	}
	result := ResultOK
	if ev.Err != nil {
		result = ResultError
		alert := ""
		if a, err := conn.Alert(); err == nil {
			alert = strconv.Itoa(a)
		}
		c.failures.WithLabelValues(side, ev.Err.Type.String(), ev.Err.Name, alert).Inc()
	} else {
		scheme, err := conn.SignatureScheme()
		if err != nil {
			scheme = ""
		}
		c.handshakes.WithLabelValues(side, ev.Version.String(), ev.Cipher, ev.Group, scheme,
			conn.HandshakeTypeName(), strconv.FormatBool(conn.IsSessionResumed())).Inc()
	}
	c.duration.WithLabelValues(side, result).Observe(ev.Duration.Seconds())
	c.bytesIn.WithLabelValues(side, result).Add(float64(conn.WireBytesIn()))
	c.bytesOut.WithLabelValues(side, result).Add(float64(conn.WireBytesOut()))
}
