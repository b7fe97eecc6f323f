#!/usr/bin/env bash
# Runs the whole test suite: unit, integration, FileCheck, round-trip, robustness, the Wasm
# spec suite through WasmIR, and doc tests. Installs what it needs first.
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
awk '/^test result:/ { passed += $4; failed += $6 } /^spec: / { passed += $2; failed += $4 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
