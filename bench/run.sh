#!/usr/bin/env bash
# run.sh: the whole benchmark suite (make bench), repetitions interleaved
# family by family, then the report: one table on stdout, the results
# section of BENCHMARKS.md, and the PNG plots in bench/plots.
#
#   bench/run.sh [-r REPS] [-t BENCHTIME] [-m MEMREPS] [-s] [-o DIR]
#
#   -r REPS      repetitions of the rate benchmarks (default 3)
#   -t TIME      -test.benchtime of the side-by-side benchmarks (default 1s)
#   -m MEMREPS   repetitions of the idle-memory runs (default 1)
#   -s           smoke mode (CI): every benchmark once, tiny sizes
#                (1 repetition, 3x, concurrency 1 and 4, 50 idle connections);
#                checks that each family ran and that the report builds, and
#                writes the report into the output directory, not the repo
#   -o DIR       output directory (default bench/out/<mode>/run-<time>)
#
# Every benchmark family runs in processes of its own; the latency modes and
# each idle-memory case get a process each (thread and RSS counts are per
# process). S2N_LIBCRYPTO selects the build mode as for scripts/build-deps.
set -euo pipefail

main() {
	local root mode reps=3 benchtime=1s memreps=1 smoke=0 out="" opt tags
	root=$(cd "$(dirname "$0")/.." && pwd)
	mode=${S2N_LIBCRYPTO:-awslc}
	while getopts "r:t:m:so:" opt; do
		case $opt in
		r) reps=$OPTARG ;;
		t) benchtime=$OPTARG ;;
		m) memreps=$OPTARG ;;
		s) smoke=1 ;;
		o) out=$OPTARG ;;
		*) sed -n '2,20p' "$0" >&2; exit 2 ;;
		esac
	done
	tags=$("$root/scripts/mode-tags" "$mode")
	local conc="1,2,4,8,16,32,64,128,256,512,1024" idle=10000 latTime="" allocTime=2000x
	if ((smoke)); then
		reps=1 memreps=1 benchtime=3x conc="1,4" idle=50 latTime=20x allocTime=3x
	fi
	out=${out:-$root/bench/out/$mode/run-$(date +%Y%m%d-%H%M%S)}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)

	S2N_LIBCRYPTO=$mode "$root/scripts/build-deps" >&2
	log "building the benchmark binaries"
	(cd "$root" && go test ${tags:+-tags "$tags"} -c -o "$out/bench.test" ./bench)
	(cd "$root" && go test -tags "s2n_cgocount${tags:+,$tags}" -c -o "$out/bench-count.test" ./bench)
	certs=$(mktemp -d)
	trap 'rm -rf "$certs"' EXIT
	"$root/bench/gencerts.sh" "$certs" >/dev/null 2>&1
	export S2N_BENCH_CERTS=$certs

	{
		echo "date:     $(date -u +%FT%TZ)"
		echo "machine:  $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB"
		echo "go:       $(go version)"
		echo "binding:  $(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?'), mode $mode"
		echo "s2n-tls:  $(awk '$1 == "s2n-tls-sys" {print "s2n-tls-sys", $2, $5, $6, $7, $8}' "$root/third_party/deps.lock")"
		echo "run:      bench/run.sh $* (reps $reps, benchtime $benchtime, concurrency $conc, idle conns $idle)"
		echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) at start"
	} >"$out/info.txt"

	local r m
	for ((r = 1; r <= reps; r++)); do
		log "repetition $r/$reps (load $(cut -d' ' -f1-3 /proc/loadavg))"
		bench inproc "^BenchmarkInProcess\$" "$benchtime"
		bench vs "^BenchmarkVsCryptoTLS\$" "$benchtime"
		bench loopback "^BenchmarkLoopback\$" "$benchtime"
		for m in cryptotls async blocking cpubound; do
			S2N_BENCH_CONC=$conc bench latency "^BenchmarkLatency\$/^$m\$" "$latTime"
		done
	done
	for ((r = 1; r <= memreps; r++)); do
		for m in cryptotls binding binding-release; do
			S2N_BENCH_IDLE_CONNS=$idle bench idlemem "^BenchmarkIdleMemory\$/^$m\$" 1x
		done
	done
	# Counts, not rates: one run, with the crossing counter built in.
	bin=bench-count.test bench counts '^Benchmark(Handshake|Bulk|ConnIO)$' "$allocTime" -test.benchmem
	echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) at end" >>"$out/info.txt"

	if ((smoke)); then
		local fam
		for fam in InProcess VsCryptoTLS Loopback Latency IdleMemory Handshake Bulk ConnIO; do
			grep -q "^Benchmark$fam/" "$out"/*.bench || { echo "run.sh: no Benchmark$fam results" >&2; exit 1; }
		done
		report "$out/BENCHMARKS.md" "$out/plots"
		log "smoke run passed: every family ran, report in $out"
	else
		report "$root/BENCHMARKS.md" "$root/bench/plots"
		log "results in $out; BENCHMARKS.md and bench/plots updated"
	fi
}

log() { echo "== bench: $*" >&2; }

# bench FILE REGEX BENCHTIME [ARGS...]: one go test -bench process; its
# benchmark lines are appended to $out/FILE.bench, everything to FILE.log.
bench() {
	local file=$1 regex=$2 time=$3
	shift 3
	local args=(-test.run '^$' -test.bench "$regex" -test.timeout 30m)
	[[ -n $time ]] && args+=(-test.benchtime "$time")
	log "$file: $regex"
	if ! "$out/${bin:-bench.test}" "${args[@]}" "$@" >"$out/last.log" 2>&1; then
		cat "$out/last.log" >&2
		exit 1
	fi
	cat "$out/last.log" >>"$out/$file.log"
	grep '^Benchmark' "$out/last.log" >>"$out/$file.bench" || true
}

# report MD PLOTS: tables to stdout and into MD, plots into PLOTS.
report() {
	mkdir -p "$2"
	(cd "$root/bench/report" && go run . -in "$out" -md "$1" -plots "$2")
}

main "$@"
exit
