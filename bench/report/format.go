package main

import (
	"math"
	"strconv"
	"strings"
)

// isRatio reports whether a metric is a ratio (ratio-wall, ratio-native-wall,
// ratio-cryptotls-cpu, ...): those are shown with 3 significant digits.
func isRatio(metric string) bool { return strings.HasPrefix(metric, "ratio") }

// countMetrics are counts, shown without a decimal when integral (37
// allocs/op, 0 callbacks/op, 6 threads).
var countMetrics = map[string]bool{
	"allocs/op": true, "B/op": true, "cgocalls/op": true, "callbacks/op": true,
	"threads": true, "rounds": true, "gomaxprocs": true,
}

// fmtValue formats one value of metric: ratios with 3 significant digits
// (0.967, 1.04), anything else as an integer when >= 100 (or an integral
// count), with one decimal otherwise.
func fmtValue(metric string, v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case isRatio(metric):
		return sig3(v)
	case math.Abs(v) >= 100 || countMetrics[metric] && v == math.Trunc(v):
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
}

// sig3 formats v with 3 significant digits, never in exponent form.
func sig3(v float64) string {
	if v == 0 {
		return "0.00"
	}
	mag := int(math.Floor(math.Log10(math.Abs(v))))
	dec := 2 - mag
	// Rounding may carry into the next power of ten (0.9996 → 1.000).
	if r := math.Abs(roundTo(v, dec)); r != 0 && int(math.Floor(math.Log10(r))) > mag {
		dec--
	}
	if dec < 0 {
		return strconv.FormatFloat(roundTo(v, dec), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

func roundTo(v float64, dec int) float64 {
	p := math.Pow10(dec)
	return math.Round(v*p) / p
}

// fmtTarget formats a target as written in the brief (0.95, 1.2).
func fmtTarget(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// mdEscape keeps a cell from breaking a Markdown table.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
