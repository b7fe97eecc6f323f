#!/usr/bin/env bash
# A differential check on a module no test here was written against: SQLite as sql.js 1.12.0
# ships it (Emscripten), run by Node.js five ways: as shipped, after the plain round trip
# (no passes), after `-O2`, after `--passes=bounds-checks-explicit`, and after
# `--passes=bounds-checks-explicit,bce`. The runs must print the same thing. Needs node and npm
# (the npm registry); safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "sqljs-check: node is not installed" >&2; exit 1; }
cargo build --quiet --release --bin wasmir-opt
work=target/sqljs-check
mkdir -p "$work"
if [ ! -s "$work/shipped/dist/sql-wasm.wasm" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent sql.js@1.12.0 >/dev/null && tar xzf ./*.tgz)
  rm -rf "$work/shipped" && mv "$tmp/package" "$work/shipped"
  rm -rf "$tmp"
fi
expected=$(node scripts/sqljs_queries.js "$PWD/$work/shipped")
echo "shipped: $expected"
for passes in --passes= -O2 --passes=bounds-checks-explicit --passes=bounds-checks-explicit,bce; do
  variant="$work/variant"
  rm -rf "$variant" && cp -r "$work/shipped" "$variant"
  target/release/wasmir-opt "$work/shipped/dist/sql-wasm.wasm" "$passes" --emit=wasm \
    -o "$variant/dist/sql-wasm.wasm"
  got=$(node scripts/sqljs_queries.js "$PWD/$variant")
  echo "$passes: $got"
  if [ "$got" != "$expected" ]; then
    echo "sqljs-check: $passes changed what SQLite computes" >&2
    exit 1
  fi
done
echo "sqljs-check: identical"
