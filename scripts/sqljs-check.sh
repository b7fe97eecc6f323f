#!/usr/bin/env bash
# A differential check on a module no test here was written against: SQLite as sql.js 1.12.0
# ships it (Emscripten), run by Node.js on a fixed workload (scripts/sqljs_queries.js) five
# ways: as shipped, after the plain round trip (no passes), after `-O2`, after
# `--passes=bounds-checks-explicit`, and after `--passes=bounds-checks-explicit,bce`. The runs
# must print the same thing (scripts/differential-check.sh). Safe to re-run.
exec "$(dirname "$0")/differential-check.sh" sqljs sql.js@1.12.0 dist/sql-wasm.wasm scripts/sqljs_queries.js \
  --passes= -O2 --passes=bounds-checks-explicit --passes=bounds-checks-explicit,bce
