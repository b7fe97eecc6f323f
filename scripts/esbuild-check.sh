#!/usr/bin/env bash
# A differential check on the largest module of the benchmark set: esbuild.wasm (Go) as the
# esbuild-wasm 0.28.2 package ships it, run by Node.js through the package's own API on a fixed
# workload (scripts/esbuild_workload.js: TypeScript transforms, minification, bundles, a syntax
# error) three ways: as shipped, after the plain round trip (no passes), and after `-O2`. The
# runs must print the same thing (scripts/differential-check.sh). Safe to re-run.
exec "$(dirname "$0")/differential-check.sh" esbuild esbuild-wasm@0.28.2 esbuild.wasm scripts/esbuild_workload.js \
  --passes= -O2
