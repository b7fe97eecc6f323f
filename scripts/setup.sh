#!/usr/bin/env bash
# Installs what building and testing WasmIR needs beyond the Rust toolchain, from Debian's
# packages: LLVM's FileCheck and `not` (llvm-19-tools) for the FileCheck suite, LLVM 19's
# libraries and headers (llvm-19-dev) for the LLVM backend (the `llvm` feature), and clang 19
# with wasm-ld, wasi-libc, compiler-rt and libc++ for wasm32 to build the real C and C++
# programs of tests/programs; Binaryen (wasm-opt) for the asyncify builds of those programs and
# the benchmarks' comparisons; and Rust's wasm32-wasip1 standard library (rustup) for the Rust
# program of tests/programs; Node.js for the differential checks on sql.js and esbuild. Safe to
# re-run: it installs only what is missing.
set -euo pipefail

packages=(llvm-19-tools llvm-19-dev clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 libc++-19-dev-wasm32
  libc++abi-19-dev-wasm32 binaryen)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in /usr/bin/wasm-opt /usr/lib/llvm-19/bin/FileCheck /usr/lib/llvm-19/bin/not /usr/bin/clang-19 /usr/lib/wasm32-wasi/libc.a \
  /usr/lib/llvm-19/bin/llvm-config; do
  [ -e "$tool" ] || { echo "setup: $tool is still missing" >&2; exit 1; }
done
# Node.js and npm run the sql.js and esbuild differential checks (the machine image usually
# has them; Debian's packages otherwise).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: installing nodejs npm"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
command -v node >/dev/null || { echo "setup: node is still missing" >&2; exit 1; }
sysroot=$(rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/wasm32-wasip1" ]; then
  echo "setup: installing the Rust target wasm32-wasip1"
  rustup target add wasm32-wasip1
fi
[ -d "$sysroot/lib/rustlib/wasm32-wasip1" ] || { echo "setup: Rust's wasm32-wasip1 target is still missing" >&2; exit 1; }
