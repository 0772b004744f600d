#!/usr/bin/env bash
# profile.sh NAME COUNT: profile one benchmark (its Go name, which the native
# driver uses too) on both sides with perf, for the same numbers of ops, and
# split each side's CPU into classes in microseconds per op (see perfsplit.py
# --diff); then a Go CPU profile (pprof top) of the binding side.
#
#   bench/profile.sh BenchmarkHandshake/ecdsa/tls13/none 3000
#   bench/profile.sh BenchmarkBulk/16KiB 20000
#
# Needs perf (linux-perf). Outputs land in bench/out/<mode>/profile-<name>/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${S2N_LIBCRYPTO:-awslc}
name=${1:?usage: profile.sh NAME COUNT}
count=${2:?usage: profile.sh NAME COUNT}
freq=${PERF_FREQ:-2000}
tags=$("$root/scripts/mode-tags" "$mode")
native=$(S2N_LIBCRYPTO=$mode "$root/scripts/build-bench")
out="$root/bench/out/$mode/profile-${name//\//_}"
mkdir -p "$out"
gobin="$out/bench.test"
(cd "$root" && go test ${tags:+-tags "$tags"} -c -o "$gobin" ./bench)
certs=$(mktemp -d)
trap 'rm -rf "$certs"' EXIT
"$root/bench/gencerts.sh" "$certs"
export S2N_BENCH_CERTS=$certs

regex=""
IFS=/ read -ra parts <<<"$name"
for p in "${parts[@]}"; do regex+="${regex:+/}^$p\$"; done

# Each side runs COUNT ops and 3*COUNT ops under perf; the difference of the
# two profiles is the CPU of 2*COUNT ops with setup, start-up and warm-up
# cancelled out (native: one warm-up op then exactly n ops; Go: a round of
# b.N=1 then one of COUNT, each after one warm-up op).
long=$((3 * count))
for n in "$count" "$long"; do
	perf record -q -F "$freq" -g -o "$out/native-$n.perf" "$native" -c "$certs" -w 0 -n "$n" -f "$name" | grep -v '^#'
	perf record -q -F "$freq" -g -o "$out/go-$n.perf" "$gobin" -test.run '^$' -test.bench "$regex" \
		-test.benchtime "${n}x" -test.cpuprofile "$out/go-$n.cpu.prof" | grep '^Benchmark'
done
python3 "$root/bench/perfsplit.py" --diff "$out/native-$count.perf" "$count" "$out/native-$long.perf" "$long" "$freq" 10 |
	tee "$out/native.split"
python3 "$root/bench/perfsplit.py" --diff "$out/go-$count.perf" "$count" "$out/go-$long.perf" "$long" "$freq" 15 |
	tee "$out/go.split"
go tool pprof -top -nodecount 25 "$gobin" "$out/go-$long.cpu.prof" 2>/dev/null | tee "$out/go.pprof.top"
echo "profile.sh: outputs in $out" >&2
