#!/usr/bin/env python3
"""Markdown tables for compare.sh.

table.py RESULTS
    RESULTS has one line per measurement, "side name value unit", side being
    native, go, native-mem, native-s2nalloc, or go-allocs/go-bytes/go-cgocalls
    for the Go benchmark's per-op counts. For each rate: min, median and max
    of each side, and the ratios binding/native of the medians and of the
    maxima (the best runs, the least disturbed on a shared machine).

table.py --inproc RAW
    RAW is `go test -bench BenchmarkInProcess` output, several runs. For each
    benchmark: the native and binding rates (median over runs) and the
    binding/native ratios (each run's ratio is itself the median of per-round
    ratios), min and median over runs.
"""
import re
import statistics
import sys
from collections import defaultdict


def fmt(v):
    return "%.1f" % v if v is not None else ""


def results_table(path):
    rows = defaultdict(list)  # (side, name, unit) -> values
    order = []                # (name, unit) of the rates, in order of appearance
    for line in open(path):
        if not line.strip():
            continue
        side, name, value, unit = line.split()
        rows[(side, name, unit)].append(float(value))
        if side == "native" and (name, unit) not in order:
            order.append((name, unit))

    def stats(side, name, unit):
        v = rows.get((side, name, unit))
        return (min(v), statistics.median(v), max(v), len(v)) if v else None

    hdr = ("| benchmark | unit | native min | native median | binding min | binding median | ratio (median) "
           "| ratio (max) | allocs/op | B/op | cgo calls/op |")
    extra = any(k[0].startswith("native-") for k in rows)
    if extra:
        hdr += " native mem median | native s2n-alloc median |"
    print(hdr)
    print("|" + "---|" * (hdr.count("|") - 1))
    for name, unit in order:
        n, g = stats("native", name, unit), stats("go", name, unit)
        if not n or not g:
            continue
        a, b, c = (stats(s, name, u) for s, u in
                   (("go-allocs", "allocs/op"), ("go-bytes", "B/op"), ("go-cgocalls", "cgocalls/op")))
        line = "| %s | %s | %.1f | %.1f | %.1f | %.1f | **%.3f** | %.3f | %s | %s | %s |" % (
            name, unit, n[0], n[1], g[0], g[1], g[1] / n[1], g[2] / n[2],
            "%.0f" % a[1] if a else "", "%.0f" % b[1] if b else "", "%.1f" % c[1] if c else "")
        if extra:
            m, s = stats("native-mem", name, unit), stats("native-s2nalloc", name, unit)
            line += " %s | %s |" % (fmt(m[1]) if m else "", fmt(s[1]) if s else "")
        print(line)


def inproc_table(path):
    runs = defaultdict(lambda: defaultdict(list))  # name -> metric -> values
    order = []
    for line in open(path):
        if not line.startswith("BenchmarkInProcess/"):
            continue
        f = line.split()
        name = re.sub(r"-\d+$", "", f[0][len("BenchmarkInProcess/"):])
        if name not in order:
            order.append(name)
        for i in range(2, len(f) - 1):
            if re.match(r"^[A-Za-z-]+(/s)?$", f[i + 1]) and re.match(r"^[0-9.e+-]+$", f[i]):
                runs[name][f[i + 1]].append(float(f[i]))
    print("| benchmark | native rate (median) | binding rate (median) | unit | ratio wall (min) "
          "| ratio wall (median) | ratio cpu (min) | ratio cpu (median) | runs |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in order:
        m = runs[name]
        unit = "handshakes/s" if name.startswith("handshake/") else "MB/s"
        nat, bnd = m.get("native-" + unit, []), m.get("binding-" + unit, [])
        rw, rc = m.get("ratio-native-wall", []), m.get("ratio-native-cpu", [])
        med = lambda v: statistics.median(v) if v else None
        print("| %s | %s | %s | %s | %s | **%s** | %s | %s | %d |" % (
            name, fmt(med(nat)), fmt(med(bnd)), unit,
            "%.3f" % min(rw) if rw else "", "%.3f" % med(rw) if rw else "",
            "%.3f" % min(rc) if rc else "", "%.3f" % med(rc) if rc else "", len(rw)))


if __name__ == "__main__":
    if sys.argv[1] == "--inproc":
        inproc_table(sys.argv[2])
    else:
        results_table(sys.argv[1])
