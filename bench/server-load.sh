#!/usr/bin/env bash
# server-load.sh: make bench-server. Builds cmd/s2nd (on the binding),
# bench/tlsserver (crypto/tls) and the load generator bench/serverload, makes
# throwaway certificates (bench/gencerts.sh), and runs the three servers
# against the same load; see bench/serverload/main.go for what is measured.
#
#   bench/server-load.sh [-s] [-p] [-r ROUNDS] [-o REPORT] [-- SERVERLOAD FLAGS]
#
#   -s         smoke (about 30 s): one tiny round of every server and scenario,
#              fails unless each ran without errors; the report goes to
#              bench/out/serverload/smoke.md unless -o
#   -p         also profile the two s2nds with perf (linux-perf)
#   -r ROUNDS  rounds (default 3)
#   -o REPORT  the Markdown report (default bench/server-load.md)
#
# s2n-tls's C s2nd comes from scripts/build-s2n-utils
# (third_party/dist/s2n-utils/bin/s2nd); it is built if missing.
# S2N_LIBCRYPTO selects the binding's build mode as for scripts/build-deps.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${S2N_LIBCRYPTO:-awslc}
smoke=0 perf=0 rounds=3 report=""
while getopts "spr:o:" opt; do
	case $opt in
	s) smoke=1 ;;
	p) perf=1 ;;
	r) rounds=$OPTARG ;;
	o) report=$OPTARG ;;
	*) sed -n '2,19p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
out="$root/bench/out/serverload"
mkdir -p "$out/bin"
if ((smoke)); then
	report=${report:-$out/smoke.md}
else
	report=${report:-$root/bench/server-load.md}
fi
cs2nd="$root/third_party/dist/s2n-utils/bin/s2nd"
if [[ ! -x $cs2nd ]]; then
	"$root/scripts/build-s2n-utils"
fi
tags=$("$root/scripts/mode-tags" "$mode")
(cd "$root" && go build ${tags:+-tags "$tags"} -o "$out/bin/s2nd" ./cmd/s2nd &&
	go build -o "$out/bin/tlsserver" ./bench/tlsserver &&
	go build -o "$out/bin/serverload" ./bench/serverload)
certs=$(mktemp -d)
trap 'rm -rf "$certs"' EXIT
"$root/bench/gencerts.sh" "$certs"
args=(-ours "$out/bin/s2nd" -c "$cs2nd" -tlsserver "$out/bin/tlsserver" -certs "$certs" -o "$report" -rounds "$rounds")
((smoke)) && args+=(-s)
((perf)) && args+=(-perf -perfdata "$out/perf")
cd "$root"
"$out/bin/serverload" "${args[@]}" "$@"
echo "server-load: report in ${report#"$root"/}" >&2
