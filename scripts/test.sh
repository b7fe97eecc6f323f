#!/usr/bin/env bash
# Runs the whole test suite: unit, integration, FileCheck, round-trip, robustness, spec and
# doc tests, and checks that the benchmarks still build. Installs what it needs first.
# The last line sums up every test binary's result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo bench --workspace --locked --no-run
cargo test --workspace --locked 2>&1 | tee "$log"
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
