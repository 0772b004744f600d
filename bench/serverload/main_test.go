package main

import (
	"bytes"
	"io"
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var lats []time.Duration
	for i := 1; i <= 100; i++ {
		lats = append(lats, time.Duration(i))
	}
	if got := percentile(lats, 0.50); got != 50 {
		t.Errorf("p50 of 1..100 = %v, want 50", got)
	}
	if got := percentile(lats, 0.99); got != 99 {
		t.Errorf("p99 of 1..100 = %v, want 99", got)
	}
	if got := percentile(lats[:1], 0.99); got != 1 {
		t.Errorf("p99 of one sample = %v, want it", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("p50 of none = %v, want 0", got)
	}
}

func TestMedianAndRatio(t *testing.T) {
	a := agg{rs: []result{{ops: 30}, {ops: 10}, {ops: 20}}}
	mid, lo, hi := a.med(func(r result) float64 { return float64(r.ops) })
	if mid != 20 || lo != 10 || hi != 30 {
		t.Errorf("med = %v [%v, %v], want 20 [10, 30]", mid, lo, hi)
	}
	b := agg{rs: []result{{ops: 10}, {ops: 20}}}
	if mid, _, _ := b.med(func(r result) float64 { return float64(r.ops) }); mid != 15 {
		t.Errorf("median of two = %v, want 15", mid)
	}
	ops := func(r result) float64 { return float64(r.ops) }
	if r := ratio(a, b, ops); r != 20.0/15 {
		t.Errorf("ratio = %v", r)
	}
	if r := ratio(a, agg{rs: []result{{}}}, ops); !math.IsNaN(r) {
		t.Errorf("ratio to nothing measured = %v, want NaN", r)
	}
}

// The relay answers each 1 KiB of request bytes on the server's stdout with
// 1 KiB on its stdin, whatever the status lines around them and however the
// pipe splits them.
func TestRelay(t *testing.T) {
	outR, outW := io.Pipe()
	var in bytes.Buffer
	r := &relay{stdin: nopCloser{&in}, stdout: outR}
	done := make(chan struct{})
	go func() { r.run(); close(done) }()
	outW.Write([]byte("CONNECTED:\nCipher negotiated: TLS_AES_128_GCM_SHA256\ns2n is ready\n"))
	outW.Write(request[:700])
	outW.Write(request[700:])
	outW.Write(request[:1000])
	outW.Close()
	<-done
	if !bytes.Equal(in.Bytes(), response) {
		t.Errorf("relay wrote %d bytes, want one response of %d", in.Len(), len(response))
	}
	for _, b := range request {
		if b < 0x80 {
			t.Fatalf("request byte %#x is ASCII: the status lines could contain it", b)
		}
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestParseSplit(t *testing.T) {
	text := `x.perf.data: 725 samples    304.4 us/op
  c            40.41%    123.0 us/op
    of which s2n-tls     8.55%     26.0 us/op
    of which libcrypto  26.76%     81.5 us/op
    of which libc        5.10%     15.5 us/op
  kernel       39.31%    119.7 us/op
  go-runtime   13.79%     42.0 us/op
  go-binding    1.79%      5.5 us/op
  go-other      4.69%     14.3 us/op
  top go-runtime:
      0.83%      2.5 us/op  runtime.mallocgcSmallScanNoHeader
`
	got := parseSplit(text)
	want := map[string][2]float64{
		"total": {100, 304.4}, "c": {40.41, 123.0}, "s2n-tls": {8.55, 26.0}, "libcrypto": {26.76, 81.5},
		"libc": {5.10, 15.5}, "kernel": {39.31, 119.7}, "go-runtime": {13.79, 42.0}, "go-binding": {1.79, 5.5},
		"go-other": {4.69, 14.3},
	}
	if len(got) != len(want) {
		t.Errorf("parsed %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}
