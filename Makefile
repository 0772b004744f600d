# The README's two set-up commands are scripts/demo and scripts/test; these
# targets are shorthands, plus the benchmark suite.
.PHONY: demo test bench bench-smoke bench-server bench-server-smoke blinding-load integv2 integv2-report

demo:
	scripts/demo

test:
	scripts/test

# The whole suite (about 15 minutes): BENCHMARKS.md's results section and
# bench/plots/*.png are rewritten. REPS=N for more repetitions.
bench:
	bench/run.sh -r $(or $(REPS),3)

# Every benchmark once, tiny sizes: checks they run (CI does this).
bench-smoke:
	bench/run.sh -s -o bench/out/smoke

# cmd/s2nd, s2n-tls's C s2nd and a crypto/tls server under the same load from
# another process (full handshakes, resumptions, 1 KiB request/response, bulk;
# concurrency 1 to 256; ECDSA and RSA), with perf profiles of the two s2nds
# when perf is installed: bench/server-load.md (about 15 minutes). REPS=N rounds.
bench-server:
	bench/server-load.sh -r $(or $(REPS),3) $$(command -v perf >/dev/null && echo -p)

# Every server and scenario of bench-server once, tiny windows (about 30 s).
bench-server-smoke:
	bench/server-load.sh -s

# 60 s of 2,000 failing handshakes a second against a server on the binding
# (blinding held by timers, SetMaxBlindedConns): bench/blinding-load.md.
blinding-load:
	go run ./bench/blindload -rate $(or $(RATE),2000) -for $(or $(FOR),60s) -o bench/blinding-load.md

# s2n-tls's own integration suite (about 52,000 cases; many hours on 2 cores)
# in every pairing of the C reference s2nc/s2nd and ours, then INTEROP.md is
# rewritten from the results in integv2/out/. PAIRINGS="c-c go-go" for a subset
# of pairings, LIST=integv2/interop.txt for a subset of cases (scripts/integv2
# -L); scripts/integv2 -h for one pairing or file.
integv2:
	for p in $(or $(PAIRINGS),c-c go-go go-c c-go); do scripts/integv2 -p $$p $(if $(LIST),-L $(LIST)) || echo "integv2: pairing $$p had failing cases (see INTEROP.md)"; done
	python3 integv2/report.py -o INTEROP.md

# INTEROP.md from whatever integv2/out/ holds (finished or interrupted runs).
integv2-report:
	python3 integv2/report.py -o INTEROP.md
