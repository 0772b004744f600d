#!/usr/bin/env python3
"""perfsplit.py PERF_DATA [TOP [OPS FREQ]]: split a `perf record` profile of the native
driver or of the Go benchmark binary into where the CPU went:

  go-runtime   the Go runtime: cgo call/callback machinery, scheduler, GC, malloc
  go-binding   package s2n (the binding) and its cgo stubs (_cgo_*, go_s2n_*)
  go-other     the benchmark itself and other Go packages
  kernel       system calls (socketpair reads/writes), scheduling
  c            s2n-tls, libcrypto, libc: the work native s2n does too

and print the top symbols of each Go class; class c is also split into
s2n-tls (s2n_* symbols), libc and libcrypto (the rest). Run it on a native profile and
a binding profile of the same benchmark to see what the binding adds. With
OPS (how many ops the profiled run did) and FREQ (perf record -F), each class
is also given in microseconds of CPU per op.
"""
import re
import subprocess
import sys
from collections import Counter

GO_PREFIX = re.compile(
    r"^(runtime|internal|sync|weak|unique|iter|errors|fmt|strconv|time|os|reflect|regexp|sort|bytes|strings|"
    r"testing|syscall|math|crypto|encoding|io|bufio|context|flag|slices|maps|unicode|path|cmp|type:|go:|gc|aeshash)"
    r"[./:]|^runtime\b")


def classify(sym, dso):
    if dso.startswith("[kernel") or sym.startswith("[k]"):
        return "kernel"
    s = sym
    if s.startswith("github.com/s2n-go/s2n/bench"):
        return "go-other"
    if s.startswith("github.com/s2n-go/s2n.") or s.startswith("_cgo_") or s.startswith("go_s2n_") or \
            s.startswith("_cgoexp_") or s.startswith("crosscall") or s == "x_cgo_getstackbound":
        return "go-binding"
    if s.startswith("runtime.") or s.startswith("runtime/") or s in ("gcWriteBarrier", "aeshashbody"):
        return "go-runtime"
    if GO_PREFIX.match(s) or s.startswith("github.com/") or s.startswith("go.uber.org/"):
        return "go-other"
    return "c"


def c_part(sym, dso):
    """The part of class "c" a symbol is in: s2n-tls (s2n_*), libc (its
    shared objects) or libcrypto (AWS-LC or OpenSSL, linked in statically)."""
    if sym.startswith("s2n_"):
        return "s2n-tls"
    if dso.startswith("libc.") or dso.startswith("libc-") or dso.startswith("ld-linux") or dso.startswith("libpthread"):
        return "libc"
    return "libcrypto"


def split(data):
    """Samples per class and per (class, symbol) of one perf.data file."""
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "-g", "none", "-n",
                          "--sort", "dso,sym", "--percent-limit", "0"],
                         capture_output=True, text=True, check=True).stdout
    line_re = re.compile(r"^\s+([0-9.]+)%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$")
    classes, syms = Counter(), Counter()
    for line in out.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        n, dso, kind, sym = int(m.group(2)), m.group(3), m.group(4), m.group(5)
        cls = "kernel" if kind == "k" else classify(sym, dso)
        classes[cls] += n
        syms[(cls, sym)] += n
    return classes, syms


def diff_main(args):
    """--diff SHORT.perf SHORT_OPS LONG.perf LONG_OPS FREQ [TOP]: the CPU per op
    of the ops the long run did beyond the short one, which cancels setup."""
    short, short_ops, long_, long_ops, freq = args[0], int(args[1]), args[2], int(args[3]), float(args[4])
    top = int(args[5]) if len(args) > 5 else 12
    (c1, s1), (c2, s2) = split(short), split(long_)
    ops = long_ops - short_ops
    us = lambda n: n / freq * 1e6 / ops
    total = sum(c2.values()) - sum(c1.values())
    print("%s minus %s: %.1f us/op over %d ops" % (long_, short, us(total), ops))
    for cls in ("c", "kernel", "go-runtime", "go-binding", "go-other"):
        print("  %-11s %8.1f us/op" % (cls, us(c2[cls] - c1[cls])))
    d = Counter({k: s2[k] - s1.get(k, 0) for k in s2})
    for cls in ("go-runtime", "go-binding", "kernel", "c"):
        items = [(k[1], n) for k, n in d.most_common() if k[0] == cls and n > 0][:top]
        if items:
            print("  top %s:" % cls)
            for sym, n in items:
                print("    %8.2f us/op  %s" % (us(n), sym))


def main():
    if sys.argv[1] == "--diff":
        return diff_main(sys.argv[2:])
    data = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    ops = float(sys.argv[3]) if len(sys.argv) > 4 else 0
    freq = float(sys.argv[4]) if len(sys.argv) > 4 else 0
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "-g", "none", "-n",
                          "--sort", "dso,sym", "--percent-limit", "0"],
                         capture_output=True, text=True, check=True).stdout
    line_re = re.compile(r"^\s+([0-9.]+)%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$")
    classes, syms, total, c_parts = Counter(), {}, 0, Counter()
    for line in out.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        samples, dso, kind, sym = int(m.group(2)), m.group(3), m.group(4), m.group(5)
        pct = samples  # normalised below
        total += samples
        cls = "kernel" if kind == "k" else classify(sym, dso)
        classes[cls] += pct
        syms.setdefault(cls, Counter())[sym] += pct
        if cls == "c":
            c_parts[c_part(sym, dso)] += pct
    total = total or 1
    us = (lambda n: " %8.1f us/op" % (n / freq * 1e6 / ops)) if ops and freq else (lambda n: "")
    print("%s: %d samples%s" % (data, total, us(total)))
    for cls in ("c", "kernel", "go-runtime", "go-binding", "go-other"):
        print("  %-11s %6.2f%%%s" % (cls, 100.0 * classes[cls] / total, us(classes[cls])))
        if cls == "c":
            for part in ("s2n-tls", "libcrypto", "libc"):
                print("    of which %-9s %6.2f%%%s" % (part, 100.0 * c_parts[part] / total, us(c_parts[part])))
    for cls in ("go-runtime", "go-binding", "kernel", "c"):
        if cls in syms:
            print("  top %s:" % cls)
            for sym, n in syms[cls].most_common(top):
                print("    %6.2f%%%s  %s" % (100.0 * n / total, us(n), sym))


if __name__ == "__main__":
    main()
