#!/usr/bin/env bash
# Runs the whole test suite: unit, integration, FileCheck, round-trip, robustness, the Wasm
# spec suite through WasmIR, doc tests, and the differential checks on real programs (sql.js,
# esbuild, brotli, resvg, tree-sitter, tfjs).
# Installs what it needs first.
# The last line sums up every test binary's result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The LLVM backend is a cargo feature; the suite runs with it.
cargo test --workspace --locked --features llvm 2>&1 | tee "$log"
# The nesting-depth test again in a release build: optimized frames differ from debug ones,
# and both must hold the deepest code the importer accepts on a small stack.
cargo test --release --locked --features llvm --test depth 2>&1 | tee -a "$log"
# Real programs this repository was not written against, run by Node.js through their npm
# packages after the round trip and -O2 (and bounds-check passes): SQLite (sql.js, Emscripten),
# esbuild (Go, the largest module of the benchmark set), brotli and resvg (Rust by wasm-bindgen),
# tree-sitter (Emscripten, with grammars it links at run time) and TensorFlow.js's SIMD build
# (XNNPACK, Emscripten): every module of the benchmark set that runs on its own. Each prints
# one result line.
for check in sqljs esbuild brotli resvg tree-sitter tfjs; do
  if scripts/$check-check.sh 2>&1 | tee -a "$log" | tail -1 | grep -q identical; then
    echo "test result: ok. 1 passed; 0 failed ($check-check)" | tee -a "$log"
  else
    echo "test result: FAILED. 0 passed; 1 failed ($check-check)" | tee -a "$log"
    exit 1
  fi
done
awk '/^test result:/ { passed += $4; failed += $6 } /^spec: / { passed += $2; failed += $4 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
