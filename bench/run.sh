#!/usr/bin/env bash
# run.sh: the benchmark suite (make bench), repetitions interleaved family by
# family, then the report (bench/report): one table on stdout, the results
# section of BENCHMARKS.md, and the PNG plots in bench/plots.
#
#   bench/run.sh [-r REPS] [-t BENCHTIME] [-m MEMREPS] [-F FAMILIES] [-f FILTER] [-e] [-s] [-o DIR]
#
#   -r REPS      repetitions of the rate benchmarks (default 3); the native
#                family runs at least 5 pairs (native process, binding process)
#   -t TIME      -test.benchtime of the side-by-side benchmarks, Ns or Nx
#                (default 1s); the native family runs its driver for as long
#   -m MEMREPS   repetitions of the idle-memory runs (default 1)
#   -F FAMILIES  comma-separated families to run (default: all): inproc vs
#                loopback latency idlemem counts native; native is the native
#                driver (bench/native/s2nbench.c, scripts/build-bench) and
#                BenchmarkHandshake/Bulk/Call in processes of their own,
#                alternating benchmark by benchmark and which side goes first
#   -f FILTER    native family: comma-separated substrings of benchmark names
#                (default: TLS 1.3 handshakes, ECDSA and RSA, with no callback,
#                sync, async and offthread key operations, and bulk 1 KiB to
#                1 MiB; with -F native and no -f: every benchmark)
#   -e           native family: also the native references each repetition,
#                in-memory transport (-x mem) and s2n's own allocator (-a s2n)
#   -s           smoke mode (CI): every family once, tiny sizes (1 repetition,
#                3x, concurrency 1 and 4, 50 idle connections; native: three
#                benchmarks unless -f); checks that each family ran and that
#                the report builds
#   -o DIR       output directory (default bench/out/<mode>/run-<time>)
#
# Every benchmark family runs in processes of its own; the latency modes and
# each idle-memory case get a process each (thread and RSS counts are per
# process). Each family's output (Go benchmark format) goes to FAMILY.bench in
# the output directory. BENCHMARKS.md and bench/plots are rewritten by the
# default run only; with -s or -F the report goes into the output directory.
# S2N_LIBCRYPTO selects the build mode as for scripts/build-deps.
set -euo pipefail

main() {
	local root mode reps=3 benchtime=1s memreps=1 smoke=0 out="" opt tags
	local families="inproc,vs,loopback,latency,idlemem,counts,native" chosen="" filter="" extra=0
	root=$(cd "$(dirname "$0")/.." && pwd)
	mode=${S2N_LIBCRYPTO:-awslc}
	while getopts "r:t:m:F:f:eso:" opt; do
		case $opt in
		r) reps=$OPTARG ;;
		t) benchtime=$OPTARG ;;
		m) memreps=$OPTARG ;;
		F) chosen=$OPTARG ;;
		f) filter=$OPTARG ;;
		e) extra=1 ;;
		s) smoke=1 ;;
		o) out=$OPTARG ;;
		*) sed -n '2,35p' "$0" >&2; exit 2 ;;
		esac
	done
	tags=$("$root/scripts/mode-tags" "$mode")
	local conc="1,2,4,8,16,32,64,128,256,512,1024" idle=10000 latTime="" allocTime=2000x
	# The native family's pairs: at least 5 (issue 14), more with -r.
	local nativeReps=$((reps > 5 ? reps : 5))
	if ((smoke)); then
		reps=1 nativeReps=1 memreps=1 benchtime=3x conc="1,4" idle=50 latTime=20x allocTime=3x
		filter=${filter:-BenchmarkHandshake/ecdsa/tls13/none,BenchmarkBulk/16KiB,BenchmarkCall/getter}
	elif [[ -z $chosen ]]; then
		filter=${filter:-tls13/none,tls13/sync,tls13/async,tls13/offthread,BenchmarkBulk/}
	fi
	families=${chosen:-$families}
	local f
	for f in ${families//,/ }; do
		case $f in inproc | vs | loopback | latency | idlemem | counts | native) ;;
		*) echo "run.sh: unknown family '$f'" >&2; exit 2 ;;
		esac
	done
	# The native driver runs for -t SECONDS or -n COUNT ops.
	local nativeTime=()
	if has native; then
		if [[ $benchtime =~ ^[0-9]+x$ ]]; then
			nativeTime=(-n "${benchtime%x}")
		elif [[ $benchtime =~ ^[0-9.]+s$ ]]; then
			nativeTime=(-t "${benchtime%s}")
		else
			echo "run.sh: the native family needs -t Ns or Nx, not '$benchtime'" >&2
			exit 2
		fi
	fi
	out=${out:-$root/bench/out/$mode/run-$(date +%Y%m%d-%H%M%S)}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)

	S2N_LIBCRYPTO=$mode "$root/scripts/build-deps" >&2
	log "building the benchmark binaries"
	(cd "$root" && go test ${tags:+-tags "$tags"} -c -o "$out/bench.test" ./bench)
	if has counts; then
		(cd "$root" && go test -tags "s2n_cgocount${tags:+,$tags}" -c -o "$out/bench-count.test" ./bench)
	fi
	local native="" names=()
	if has native; then
		native=$(S2N_LIBCRYPTO=$mode "$root/scripts/build-bench")
		mapfile -t names < <("$native" -l ${filter:+-f "$filter"})
		[[ ${#names[@]} -gt 0 ]] || { echo "run.sh: no native benchmark matches '$filter'" >&2; exit 2; }
	fi
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
		echo "run:      bench/run.sh $* (families $families, reps $reps, benchtime $benchtime, concurrency $conc, idle conns $idle)"
		echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) at start"
	} >"$out/info.txt"

	local r m name rounds=$reps
	has native && ((nativeReps > rounds)) && rounds=$nativeReps
	for ((r = 1; r <= rounds; r++)); do
		log "repetition $r/$rounds (load $(cut -d' ' -f1-3 /proc/loadavg))"
		if ((r <= reps)); then
			run_families
		fi
		if has native; then
			for name in "${names[@]}"; do
				if ((r % 2)); then
					run_native "$name"
					run_binding "$name"
				else
					run_binding "$name"
					run_native "$name"
				fi
				if ((extra)); then
					run_native "$name" -x mem
					run_native "$name" -a s2n
				fi
			done
		fi
	done
	if has idlemem; then
		for ((r = 1; r <= memreps; r++)); do
			for m in cryptotls binding binding-release; do
				S2N_BENCH_IDLE_CONNS=$idle bench idlemem "^BenchmarkIdleMemory\$/^$m\$" 1x
			done
		done
	fi
	# Counts, not rates: one run, with the crossing counter built in.
	if has counts; then
		bin=bench-count.test bench counts '^Benchmark(Handshake|Bulk|ConnIO)$' "$allocTime" -test.benchmem
	fi
	echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) at end" >>"$out/info.txt"

	if ((smoke)) || [[ -n $chosen ]]; then
		report "$out/BENCHMARKS.md" "$out/plots"
	else
		report "$root/BENCHMARKS.md" "$root/bench/plots"
	fi
	if ((smoke)); then
		local fam
		for f in ${families//,/ }; do
			case $f in
			inproc) fam=InProcess ;; vs) fam=VsCryptoTLS ;; loopback) fam=Loopback ;;
			latency) fam=Latency ;; idlemem) fam=IdleMemory ;; counts) fam="Handshake Bulk ConnIO" ;;
			native) fam="" ;;
			esac
			for m in $fam; do
				grep -q "^Benchmark$m/" "$out/$f.bench" || { echo "run.sh: no Benchmark$m results" >&2; exit 1; }
			done
		done
		if has native; then
			grep -q '^### Binding vs native C, separate processes' "$out/BENCHMARKS.md" ||
				{ echo "run.sh: the report has no table of the native family" >&2; exit 1; }
		fi
		log "smoke run passed: every family ran, report in $out"
	elif [[ -n $chosen ]]; then
		log "results and report in $out"
	else
		log "results in $out; BENCHMARKS.md and bench/plots updated"
	fi
}

# run_families: one repetition of every family but native and idlemem.
run_families() {
	local m
	has inproc && bench inproc "^BenchmarkInProcess\$" "$benchtime"
	has vs && bench vs "^BenchmarkVsCryptoTLS\$" "$benchtime"
	has loopback && bench loopback "^BenchmarkLoopback\$" "$benchtime"
	if has latency; then
		for m in cryptotls async blocking cpubound; do
			S2N_BENCH_CONC=$conc bench latency "^BenchmarkLatency\$/^$m\$" "$latTime"
		done
	fi
	return 0
}

log() { echo "== bench: $*" >&2; }

# has FAMILY: whether FAMILY is to run.
has() { [[ ,$families, == *,$1,* ]]; }

# bench FILE REGEX BENCHTIME [ARGS...]: one go test -bench process; its
# standard output (Go benchmark format) is appended to $out/FILE.bench,
# everything to FILE.log.
bench() {
	local file=$1 regex=$2 time=$3
	shift 3
	local args=(-test.run '^$' -test.bench "$regex" -test.timeout 30m)
	[[ -n $time ]] && args+=(-test.benchtime "$time")
	log "$file: $regex"
	if ! "$out/${bin:-bench.test}" "${args[@]}" "$@" >"$out/last.out" 2>"$out/last.err"; then
		cat "$out/last.out" "$out/last.err" >&2
		exit 1
	fi
	cat "$out/last.out" "$out/last.err" >>"$out/$file.log"
	cat "$out/last.out" >>"$out/$file.bench"
}

# run_native NAME [ARGS...]: the native driver on one benchmark; it prints the
# impl line (native, native-mem, ...) itself.
run_native() {
	local name=$1
	shift
	log "native: $name $*"
	if ! "$native" -c "$certs" "${nativeTime[@]}" -f "$name" "$@" >"$out/last.out" 2>"$out/last.err"; then
		cat "$out/last.out" "$out/last.err" >&2
		exit 1
	fi
	cat "$out/last.out" "$out/last.err" >>"$out/native.log"
	cat "$out/last.out" >>"$out/native.bench"
}

# run_binding NAME: the Go benchmark of that name, after an impl line.
run_binding() {
	local regex="" p parts
	IFS=/ read -ra parts <<<"$1"
	for p in "${parts[@]}"; do regex+="${regex:+/}^$p\$"; done
	echo "impl: binding" >>"$out/native.bench"
	bench native "$regex" "$benchtime" -test.count 1
}

# report MD PLOTS: tables to stdout and into MD, plots into PLOTS.
report() {
	mkdir -p "$2"
	(cd "$root/bench/report" && go run . -in "$out" -md "$1" -plots "$2")
}

main "$@"
exit
