#!/usr/bin/env bash
# A differential check on a real SIMD module: TensorFlow.js's WebAssembly backend (XNNPACK
# kernels, Emscripten) in its SIMD build, dist/tfjs-backend-wasm-simd.wasm of
# @tensorflow/tfjs-backend-wasm 4.22.0, run by Node.js with tfjs-core on a fixed workload
# (scripts/tfjs_workload.js: matrix products, convolutions, pooling, activations, softmax,
# normalization, resizing, reductions) as shipped, after the plain round trip, after `-O2`,
# after `--passes=bounds-checks-explicit,bce`, and through the scalar fallback
# (`--target=wasmtime,-simd`: no SIMD instruction left). The runs must print the same bits
# (scripts/differential-check.sh). Safe to re-run.
DIFFERENTIAL_EXTRA_INSTALL="@tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0" \
  exec "$(dirname "$0")/differential-check.sh" tfjs @tensorflow/tfjs-backend-wasm@4.22.0 \
  dist/tfjs-backend-wasm-simd.wasm scripts/tfjs_workload.js --passes= -O2 --passes=bounds-checks-explicit,bce \
  --target=wasmtime,-simd
