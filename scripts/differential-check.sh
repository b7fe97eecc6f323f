#!/usr/bin/env bash
# Runs a real program from another toolchain, as its npm package ships it and after WasmIR,
# and compares what it prints. Usage:
#   scripts/differential-check.sh NAME PACKAGE@VERSION WASM-IN-PACKAGE WORKLOAD.js OPTION...
# fetches the package into target/NAME-check/shipped, runs `node WORKLOAD.js PACKAGE-DIR` on it
# as shipped, then once per OPTION (`--passes=`, `-O2`, ...) with the module replaced by
# `wasmir-opt MODULE OPTION --emit=wasm`; every run must print the same thing. Needs node and
# npm (the npm registry); safe to re-run. scripts/sqljs-check.sh and scripts/esbuild-check.sh
# name the programs.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 package=$2 module=$3 workload=$4
shift 4
command -v node >/dev/null || { echo "$name-check: node is not installed" >&2; exit 1; }
cargo build --quiet --release --bin wasmir-opt
work=target/$name-check
mkdir -p "$work"
if [ ! -s "$work/shipped/$module" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$package" >/dev/null && tar xzf ./*.tgz)
  rm -rf "$work/shipped" && mv "$tmp/package" "$work/shipped"
  rm -rf "$tmp"
fi
expected=$(node "$workload" "$PWD/$work/shipped")
echo "shipped: $expected"
for option in "$@"; do
  variant="$work/variant"
  rm -rf "$variant" && cp -r "$work/shipped" "$variant"
  target/release/wasmir-opt "$work/shipped/$module" "$option" --emit=wasm -o "$variant/$module"
  got=$(node "$workload" "$PWD/$variant")
  echo "$option: $got"
  if [ "$got" != "$expected" ]; then
    echo "$name-check: $option changed what $name computes" >&2
    exit 1
  fi
done
echo "$name-check: identical"
