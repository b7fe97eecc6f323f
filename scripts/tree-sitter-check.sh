#!/usr/bin/env bash
# A differential check on tree-sitter.wasm (Emscripten) as the web-tree-sitter 0.22.6 package
# ships it, with the JavaScript, Python, C and JSON grammars of tree-sitter-wasms 0.1.11 (loaded
# by the module's dynamic linker, unchanged), run on a fixed workload
# (scripts/tree_sitter_workload.js: parses, a syntax error, an incremental re-parse, a query,
# cursor walks) as shipped, after the plain round trip, after `-O2`, and after
# `--passes=bounds-checks-explicit,bce`. The runs must print the same thing
# (scripts/differential-check.sh). Safe to re-run.
DIFFERENTIAL_EXTRA_PACKAGE=tree-sitter-wasms@0.1.11:out \
  exec "$(dirname "$0")/differential-check.sh" tree-sitter web-tree-sitter@0.22.6 tree-sitter.wasm \
  scripts/tree_sitter_workload.js --passes= -O2 --passes=bounds-checks-explicit,bce
