#!/usr/bin/env bash
# compare.sh: run the native driver and the Go benchmarks side by side,
# interleaved benchmark by benchmark, and print min, median and max of each
# and the ratios binding/native per pair.
#
#   bench/compare.sh [-r REPS] [-t SECONDS] [-f FILTER] [-e] [-i] [-o DIR]
#
#   -r REPS     repetitions (default 3); each alternates which side runs first
#   -t SECONDS  measuring time per run, native -t and go -test.benchtime (default 1)
#   -f FILTER   comma-separated substrings of names, e.g. "ecdsa/tls13,bulk"
#   -e          also run the native references each repetition: in-memory
#               transport (-x mem) and s2n's default mlock allocator (-a s2n)
#   -i          also run BenchmarkInProcess REPS times: native and binding in
#               one process, alternating op by op (steadier on a busy machine)
#   -o DIR      keep raw outputs and tables in DIR (default bench/out/<mode>/run-<time>)
#
# S2N_LIBCRYPTO selects the build mode (awslc, openssl, awslc-fips) as for
# scripts/build-deps. Certificates are generated per run into a temporary
# directory and removed at exit.
set -euo pipefail

usage() {
	sed -n '2,19p' "$0" >&2
	exit 2
}

# All the work is in main, which bash has read whole before running it: the
# script can be edited while a long comparison runs.
main() {
	local root mode reps=3 secs=1 filter="" extra=0 inproc=0 outdir="" tags opt
	root=$(cd "$(dirname "$0")/.." && pwd)
	mode=${S2N_LIBCRYPTO:-awslc}
	while getopts "r:t:f:eio:" opt; do
		case $opt in
		r) reps=$OPTARG ;;
		t) secs=$OPTARG ;;
		f) filter=$OPTARG ;;
		e) extra=1 ;;
		i) inproc=1 ;;
		o) outdir=$OPTARG ;;
		*) usage ;;
		esac
	done
	tags=$("$root/scripts/mode-tags" "$mode")

	native=$(S2N_LIBCRYPTO=$mode "$root/scripts/build-bench")
	gobin="$root/bench/out/$mode/bench.test"
	(cd "$root" && go test ${tags:+-tags "$tags"} -c -o "$gobin" ./bench)
	outdir=${outdir:-$root/bench/out/$mode/run-$(date +%Y%m%d-%H%M%S)}
	mkdir -p "$outdir"
	certs=$(mktemp -d)
	trap 'rm -rf "$certs"' EXIT
	"$root/bench/gencerts.sh" "$certs"
	export S2N_BENCH_CERTS=$certs

	# All names, in the native driver's order, narrowed by the filter.
	local names
	mapfile -t names < <("$native" -l ${filter:+-f "$filter"})
	[[ ${#names[@]} -gt 0 ]] || { echo "compare.sh: no benchmark matches '$filter'" >&2; exit 2; }

	results="$outdir/results.txt" # lines: side name value unit
	: >"$results"
	{
		echo "# $(date -u +%FT%TZ) $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
		echo "# $(go version), mode $mode, binding $(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?'), reps $reps, $secs s per run"
		echo "# load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	} >"$outdir/info.txt"

	local r name
	for ((r = 1; r <= reps; r++)); do
		echo "compare.sh: repetition $r/$reps (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
		for name in "${names[@]}"; do
			if ((r % 2)); then
				run_native "$name" native
				run_go "$name"
			else
				run_go "$name"
				run_native "$name" native
			fi
			if ((extra)); then
				run_native "$name" native-mem -x mem
				run_native "$name" native-s2nalloc -a s2n
			fi
		done
	done
	echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$outdir/info.txt"
	python3 "$root/bench/table.py" "$results" >"$outdir/table.md"
	cat "$outdir/info.txt" "$outdir/table.md"

	if ((inproc)); then
		local regex p parts
		for ((r = 1; r <= reps; r++)); do
			echo "compare.sh: in-process repetition $r/$reps (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
			for name in "${names[@]}"; do
				[[ $name == call/* ]] && continue
				regex='^BenchmarkInProcess$'
				IFS=/ read -ra parts <<<"$name"
				for p in "${parts[@]}"; do regex+="/^$p\$"; done
				"$gobin" -test.run '^$' -test.bench "$regex" -test.benchtime "${secs}s" >"$outdir/go.last" 2>&1 ||
					{ cat "$outdir/go.last" >&2; exit 1; }
				grep '^Benchmark' "$outdir/go.last" >>"$outdir/inproc.raw"
			done
		done
		python3 "$root/bench/table.py" --inproc "$outdir/inproc.raw" >"$outdir/inproc.md"
		echo
		cat "$outdir/inproc.md"
	fi
	echo "compare.sh: raw outputs and tables in $outdir" >&2
}

run_native() { # run_native NAME LABEL ARGS...
	local name=$1 label=$2 out
	shift 2
	out=$("$native" -c "$certs" -t "$secs" -f "$name" "$@" 2>&1) || { echo "$out" >&2; exit 1; }
	echo "$out" >>"$outdir/native.raw"
	echo "$out" | awk -v n="$name" -v s="$label" '$1 == n { print s, $1, $2, $3 }' >>"$results"
}

run_go() { # run_go NAME
	local name=$1 kind regex p parts
	kind=${name%%/*}
	case $kind in
	handshake) regex="^BenchmarkHandshake\$" ;;
	bulk) regex="^BenchmarkBulk\$" ;;
	call) regex="^BenchmarkCall\$" ;;
	esac
	IFS=/ read -ra parts <<<"${name#*/}"
	for p in "${parts[@]}"; do regex+="/^$p\$"; done
	"$gobin" -test.run '^$' -test.bench "$regex" -test.benchtime "${secs}s" -test.count 1 >"$outdir/go.last" 2>&1 ||
		{ cat "$outdir/go.last" >&2; exit 1; }
	cat "$outdir/go.last" >>"$outdir/go.raw"
	awk -v n="$name" '
		/^Benchmark/ {
			bn = $1; sub(/^Benchmark(Handshake|Bulk|Call)\//, "", bn); sub(/-[0-9]+$/, "", bn)
			kind = ($1 ~ /^BenchmarkHandshake/) ? "handshake/" : ($1 ~ /^BenchmarkBulk/) ? "bulk/" : "call/"
			if (kind bn != n) next
			for (i = 3; i < NF; i++) {
				u = $(i+1)
				if (u ~ /^(handshakes|MB|calls)\/(cpu-)?s$/) print "go", n, $i, u
				if (u == "allocs/op") allocs = $i
				if (u == "B/op") bytes = $i
				if (u == "cgocalls/op") calls = $i
			}
			print "go-allocs", n, allocs, "allocs/op"
			print "go-bytes", n, bytes, "B/op"
			print "go-cgocalls", n, calls, "cgocalls/op"
		}' "$outdir/go.last" >>"$results"
}

main "$@"
exit
