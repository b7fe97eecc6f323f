#!/usr/bin/env bash
# Runs a real program from another toolchain, as its npm package ships it and after WasmIR,
# and compares what it prints. Usage:
#   scripts/differential-check.sh NAME PACKAGE@VERSION WASM-IN-PACKAGE WORKLOAD.js OPTION...
# fetches the package into target/NAME-check/shipped, runs `node WORKLOAD.js PACKAGE-DIR` on it
# as shipped, then once per OPTION (`--passes=`, `-O2`, ...) with the module replaced by
# `wasmir-opt MODULE OPTION --emit=wasm`; every run must print the same thing. With
# DIFFERENTIAL_EXTRA_PACKAGE=PACKAGE@VERSION:DIR, that package is fetched too (into
# target/NAME-check/extra) and its DIR is the workload's second argument (data the program
# loads, such as tree-sitter's grammars); with DIFFERENTIAL_EXTRA_INSTALL="PACKAGE@VERSION ...",
# those are installed with their dependencies into target/NAME-check/install and its
# node_modules is the second argument instead (the JavaScript a module runs under, such as
# tfjs-core). Needs node and npm (the npm registry); safe to re-run. scripts/*-check.sh name
# the programs.
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
extra_args=()
if [ -n "${DIFFERENTIAL_EXTRA_PACKAGE:-}" ]; then
  extra_package=${DIFFERENTIAL_EXTRA_PACKAGE%:*} extra_dir=${DIFFERENTIAL_EXTRA_PACKAGE##*:}
  if [ ! -s "$work/extra/package.json" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$extra_package" >/dev/null && tar xzf ./*.tgz)
    rm -rf "$work/extra" && mv "$tmp/package" "$work/extra"
    rm -rf "$tmp"
  fi
  extra_args=("$PWD/$work/extra/$extra_dir")
fi
if [ -n "${DIFFERENTIAL_EXTRA_INSTALL:-}" ]; then
  if [ ! -s "$work/install/installed" ] || [ "$(cat "$work/install/installed")" != "$DIFFERENTIAL_EXTRA_INSTALL" ]; then
    rm -rf "$work/install" && mkdir -p "$work/install"
    # shellcheck disable=SC2086 # the packages are words
    (cd "$work/install" && npm install --silent --no-save --no-package-lock $DIFFERENTIAL_EXTRA_INSTALL >/dev/null)
    echo "$DIFFERENTIAL_EXTRA_INSTALL" > "$work/install/installed"
  fi
  extra_args=("$PWD/$work/install/node_modules")
fi
expected=$(node "$workload" "$PWD/$work/shipped" "${extra_args[@]}")
echo "shipped: $expected"
for option in "$@"; do
  variant="$work/variant"
  rm -rf "$variant" && cp -r "$work/shipped" "$variant"
  target/release/wasmir-opt "$work/shipped/$module" "$option" --emit=wasm -o "$variant/$module"
  got=$(node "$workload" "$PWD/$variant" "${extra_args[@]}")
  echo "$option: $got"
  if [ "$got" != "$expected" ]; then
    echo "$name-check: $option changed what $name computes" >&2
    exit 1
  fi
done
echo "$name-check: identical"
