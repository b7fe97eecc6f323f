#!/usr/bin/env bash
# A differential check on resvg (Rust by wasm-bindgen) as the @resvg/resvg-wasm 2.6.2 package
# ships it, run on a fixed workload (scripts/resvg_workload.js: SVGs with paths, gradients,
# patterns, clipping, masks and filters rendered to PNG at several sizes, bounding boxes, a
# malformed document) as shipped, after the plain round trip, after `-O2`, and after
# `--passes=bounds-checks-explicit,bce`. The runs must print the same thing
# (scripts/differential-check.sh). Safe to re-run.
exec "$(dirname "$0")/differential-check.sh" resvg @resvg/resvg-wasm@2.6.2 index_bg.wasm \
  scripts/resvg_workload.js --passes= -O2 --passes=bounds-checks-explicit,bce
