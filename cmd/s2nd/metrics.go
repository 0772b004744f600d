package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/s2nmetrics"
)

// metricsFlags is --metrics: an HTTP endpoint serving the handshake
// counters of package s2nmetrics, with the Go runtime's and the process's
// metrics, to Prometheus.
type metricsFlags struct {
	addr string
}

func (m *metricsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.addr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics")
}

// start attaches a Collector to cfg (taking its handshake event callback)
// and serves /metrics on --metrics's address until stop is called. With no
// --metrics it does nothing.
func (m *metricsFlags) start(cfg *s2n.Config, stderr io.Writer) (stop func(), err error) {
	if m.addr == "" {
		return func() {}, nil
	}
	col := s2nmetrics.New(s2nmetrics.Options{})
	if err := col.Attach(cfg); err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(col, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	l, err := net.Listen("tcp", m.addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "s2nd: --metrics: %v\n", err)
		}
	}()
	fmt.Fprintf(stderr, "s2nd: metrics on http://%s/metrics\n", l.Addr())
	return func() {
		srv.Close()
		<-done
	}, nil
}
