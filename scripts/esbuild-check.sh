#!/usr/bin/env bash
# A differential check on the largest module of the benchmark set: esbuild.wasm (Go) as the
# esbuild-wasm 0.28.2 package ships it, run by Node.js through the package's own API on a fixed
# workload (scripts/esbuild_workload.js: TypeScript transforms, minification, a bundle of
# several modules) three ways: as shipped, after the plain round trip (no passes), and after
# `-O2`. The runs must print the same thing. Needs node and npm (the npm registry); safe to
# re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "esbuild-check: node is not installed" >&2; exit 1; }
cargo build --quiet --release --bin wasmir-opt
work=target/esbuild-check
mkdir -p "$work"
if [ ! -s "$work/shipped/esbuild.wasm" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent esbuild-wasm@0.28.2 >/dev/null && tar xzf ./*.tgz)
  rm -rf "$work/shipped" && mv "$tmp/package" "$work/shipped"
  rm -rf "$tmp"
fi
expected=$(node scripts/esbuild_workload.js "$PWD/$work/shipped")
echo "shipped: $expected"
for passes in --passes= -O2; do
  variant="$work/variant"
  rm -rf "$variant" && cp -r "$work/shipped" "$variant"
  target/release/wasmir-opt "$work/shipped/esbuild.wasm" "$passes" --emit=wasm -o "$variant/esbuild.wasm"
  got=$(node scripts/esbuild_workload.js "$PWD/$variant")
  echo "$passes: $got"
  if [ "$got" != "$expected" ]; then
    echo "esbuild-check: $passes changed what esbuild computes" >&2
    exit 1
  fi
done
echo "esbuild-check: identical"
