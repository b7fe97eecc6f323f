#!/usr/bin/env bash
# Fetches and builds the benchmark inputs (setup.sh installs binaryen), then runs every benchmark
# (round trip and function merging against `wasm-opt`, text throughput, rewrites, native
# backends). The inputs are not committed: they go to target/bench-data/. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

data=target/bench-data
mkdir -p "$data"
# Modules as their npm packages ship them. esbuild.wasm (Go) is the large input module;
# brotli_wasm_bg.wasm (1.06 MB, Rust) from brotli-wasm is the large module the native backends'
# compile-time benchmark compiles; sql.js (SQLite by Emscripten), web-tree-sitter (Emscripten)
# and resvg-wasm (Rust by wasm-bindgen) are inputs of the bce benchmark that no test of this
# repository was written against.
fetch_npm() { # package version path-in-package output
  if [ ! -s "$data/$4" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz)
    cp "$tmp/package/$3" "$data/$4"
    rm -rf "$tmp"
  fi
}
fetch_npm esbuild-wasm 0.28.2 esbuild.wasm esbuild.wasm
fetch_npm brotli-wasm 3.0.1 pkg.web/brotli_wasm_bg.wasm brotli_wasm_bg.wasm
fetch_npm sql.js 1.12.0 dist/sql-wasm.wasm sqljs.wasm
fetch_npm web-tree-sitter 0.22.6 tree-sitter.wasm tree_sitter.wasm
fetch_npm @resvg/resvg-wasm 2.6.2 index_bg.wasm resvg_bg.wasm
# A large SIMD module: TensorFlow.js's WebAssembly backend (XNNPACK kernels, Emscripten) in its
# SIMD build.
fetch_npm @tensorflow/tfjs-backend-wasm 4.22.0 dist/tfjs-backend-wasm-simd.wasm tfjs_simd.wasm
# tests/programs/generics (many instantiations of std's collections and sorts) built for
# wasm32-wasip1 in debug and release: the Rust inputs of the rewrites and mono-merge benchmarks.
for profile in dev release; do
  dir=$([ "$profile" = dev ] && echo debug || echo release)
  cargo build --quiet --offline --target wasm32-wasip1 --profile "$profile" \
    --manifest-path tests/programs/generics/Cargo.toml --target-dir "$data/generics-target"
  cp "$data/generics-target/wasm32-wasip1/$dir/generics.wasm" "$data/rust_generics.$dir.wasm"
done
# tests/programs/parsers (the wat parser and wasmparser's validator) in release: a Rust input
# of the bce benchmark built on real libraries.
cargo build --quiet --offline --target wasm32-wasip1 --release \
  --manifest-path tests/programs/parsers/Cargo.toml --target-dir "$data/parsers-target"
cp "$data/parsers-target/wasm32-wasip1/release/parsers.wasm" "$data/rust_parsers.release.wasm"
# C programs built by clang 19 for wasm32-wasi at -O2 (tests/programs, plus a bytecode loop
# over a 400-case switch), and each after `wasm-opt --asyncify -O2`, the pattern of TinyGo's
# goroutines and Emscripten's ASYNCIFY: inputs of the round-trip benchmark from two more
# toolchains.
for src in tests/programs/*.c tests/programs/*.cpp scripts/bench_switch.c; do
  stem=$(basename "${src%.*}")
  out="$data/clang_$stem.wasm"
  if [ ! -s "$out" ]; then
    compiler=clang-19
    extra=(-lm)
    case "$src" in *.cpp) compiler=clang++-19; extra=(-fno-exceptions) ;; esac
    "$compiler" --target=wasm32-wasi --sysroot=/usr -O2 "${extra[@]}" -o "$out" "$src"
  fi
  [ -s "$data/asyncify_$stem.wasm" ] || wasm-opt --asyncify -O2 "$out" -o "$data/asyncify_$stem.wasm"
done
cargo bench --locked --bench wasm_roundtrip -- "$@"
cargo bench --locked --bench text_throughput -- "$@"
cargo bench --locked --bench rewrites -- "$@"
cargo bench --locked --bench mono -- "$@"
cargo bench --locked --features llvm --bench native
