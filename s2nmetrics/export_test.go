package s2nmetrics

import "github.com/prometheus/client_golang/prometheus"

// The vectors, for tests that read one series.
func (c *Collector) HandshakesCounter() *prometheus.CounterVec    { return c.handshakes }
func (c *Collector) FailuresCounter() *prometheus.CounterVec      { return c.failures }
func (c *Collector) BytesReceivedCounter() *prometheus.CounterVec { return c.bytesIn }
func (c *Collector) BytesSentCounter() *prometheus.CounterVec     { return c.bytesOut }
