#!/usr/bin/env bash
# A differential check on brotli_wasm_bg.wasm (Rust by wasm-bindgen) as the brotli-wasm 3.0.1
# package ships it for Node.js, run on a fixed workload (scripts/brotli_workload.js:
# compression at several qualities, streaming, round trips, a corrupt stream) as shipped, after
# the plain round trip, after `-O2`, and after `--passes=bounds-checks-explicit,bce`. The runs
# must print the same thing (scripts/differential-check.sh). Safe to re-run.
exec "$(dirname "$0")/differential-check.sh" brotli brotli-wasm@3.0.1 pkg.node/brotli_wasm_bg.wasm \
  scripts/brotli_workload.js --passes= -O2 --passes=bounds-checks-explicit,bce
