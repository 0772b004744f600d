# The README's two set-up commands are scripts/demo and scripts/test; these
# targets are shorthands, plus the benchmark suite.
.PHONY: demo test bench bench-smoke blinding-load

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

# 60 s of 2,000 failing handshakes a second against a server on the binding
# (blinding held by timers, SetMaxBlindedConns): bench/blinding-load.md.
blinding-load:
	go run ./bench/blindload -rate $(or $(RATE),2000) -for $(or $(FOR),60s) -o bench/blinding-load.md
