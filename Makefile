# The README's two set-up commands are scripts/demo and scripts/test; these
# targets are shorthands, plus the benchmark suite.
.PHONY: demo test bench bench-smoke

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
