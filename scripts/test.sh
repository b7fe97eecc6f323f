#!/usr/bin/env bash
# Runs the whole test suite: unit, integration, FileCheck, round-trip, robustness, spec and
# doc tests, then checks that the benchmarks still build. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked
cargo bench --workspace --locked --no-run
