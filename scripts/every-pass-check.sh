#!/usr/bin/env bash
# Runs every registered pass on its own, and -O2, on every module of the benchmark set
# (target/bench-data, which scripts/bench.sh fills), emitting Wasm each time: no pipeline may
# fail or panic on real modules from other toolchains (issue 15). Prints one line per failure
# and a summary; exits non-zero if anything failed. Takes about ten minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin wasmir-opt
shopt -s nullglob
modules=(target/bench-data/*.wasm)
[ ${#modules[@]} -gt 0 ] || { echo "every-pass-check: no modules; run scripts/bench.sh first" >&2; exit 1; }
passes=$(target/release/wasmir-opt --list-passes | awk '/^[a-z]/ { print $1 }')
out=$(mktemp)
trap 'rm -f "$out"' EXIT
runs=0 failures=0
for module in "${modules[@]}"; do
  for pass in $passes -O2; do
    case $pass in -O2) option=-O2 ;; *) option=--passes=$pass ;; esac
    runs=$((runs + 1))
    if ! timeout 600 target/release/wasmir-opt "$module" "$option" --emit=wasm -o "$out" >/dev/null 2>"$out.err" \
      || grep -q panicked "$out.err"; then
      failures=$((failures + 1))
      echo "FAILED: $(basename "$module") $option: $(head -3 "$out.err")"
    fi
  done
  rm -f "$out.err"
done
echo "every-pass-check: $runs runs on ${#modules[@]} modules, $failures failed"
[ "$failures" -eq 0 ]
