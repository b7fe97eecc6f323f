#!/usr/bin/env bash
# The main job end to end on the bundled example: build wasmir-opt, parse and verify
# examples/checksum.wir, run the -O pipeline with timing, print the result, and show that the
# output and its generic form round-trip; then a C program through WasmIR, functions on three
# backends, native objects, hello world's size report and the C program at -Os in the
# streaming layout.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked --features llvm --bin wasmir-opt
opt=target/release/wasmir-opt
out=$(mktemp -d)
echo "== input: examples/checksum.wir"
echo "== wasmir-opt examples/checksum.wir --passes=canonicalize,cse,dce,symbol-dce --timing"
"$opt" examples/checksum.wir --passes=canonicalize,cse,dce,symbol-dce --timing -o "$out/opt.wir"
cat "$out/opt.wir"
"$opt" "$out/opt.wir" > "$out/again.wir"
"$opt" "$out/opt.wir" --emit=generic | "$opt" - > "$out/from-generic.wir"
cmp "$out/opt.wir" "$out/again.wir"
cmp "$out/opt.wir" "$out/from-generic.wir"
echo "== the optimized module round-trips through the custom and the generic form"

# The Wasm round trip on a real program: clang builds tests/programs/sort_and_format.c for
# wasm32-wasi; wasmir-opt imports it, prints IR, and emits validated Wasm again, directly and
# through the .wir text form. (cargo test --test programs runs both outputs in wasmtime.)
echo "== clang-19 --target=wasm32-wasi -O2 tests/programs/sort_and_format.c -o $out/prog.wasm"
clang-19 --target=wasm32-wasi --sysroot=/usr -O2 tests/programs/sort_and_format.c -lm -o "$out/prog.wasm"
echo "== wasmir-opt prog.wasm -o prog.wir (first lines)"
"$opt" "$out/prog.wasm" -o "$out/prog.wir"
head -n 12 "$out/prog.wir"
echo "== wasmir-opt prog.wasm --emit=wasm -o out.wasm; wasmir-opt prog.wir --emit=wasm -o out2.wasm"
"$opt" "$out/prog.wasm" --emit=wasm -o "$out/out.wasm"
"$opt" "$out/prog.wir" --emit=wasm -o "$out/out2.wasm"
cmp "$out/out.wasm" "$out/out2.wasm"
echo "input $(stat -c %s "$out/prog.wasm") bytes, output $(stat -c %s "$out/out.wasm") bytes; both routes give identical bytes"
"$opt" "$out/prog.wasm" --emit=wat | sed -n '1,/(func/p' | head -n 20

# The Wasm-native abstractions: a SharedSlice, a Local frame and an ExternRef, legalized for
# two host profiles (with reference types the ExternRef is an externref; on `embedded` it is a
# host-table handle, and nothing needs bulk memory).
echo "== wasmir-opt examples/regions.wir --emit=wat --target=browser (the sum's signature and checks)"
"$opt" examples/regions.wir --emit=wat --target=browser | grep -E '\(type|\(import|call \$oob' | head -n 12
echo "== wasmir-opt examples/regions.wir --emit=wasm --target=embedded"
"$opt" examples/regions.wir --emit=wat --target=embedded | grep -E '\(type|\(import' | head -n 8
"$opt" examples/regions.wir --emit=wasm --target=embedded -o "$out/regions-embedded.wasm"
echo "== a shared memory's atomics on a target without threads are an error naming the op, the capability and the target:"
printf 'memory.memory @m shared : i32 {max = 1 : u64, min = 1 : u64}\nfunc.func @f(%%a: i32) -> i32 {\n  %%0 = memory.atomic_load @m, %%a : i32\n  func.return %%0 : i32\n}\n' > "$out/shared.wir"
if "$opt" "$out/shared.wir" --emit=wasm --target=browser -o "$out/shared.wasm"; then
  echo "expected an error" >&2
  exit 1
fi

# The same function on every backend: wasmtime on the emitted .wasm, native code from the
# Cranelift JIT and from LLVM's JIT; the same lines, traps included (status 2).
echo "== wasmir-opt tests/filecheck/run/run.wir --run=... on wasmtime, cranelift and llvm"
for backend in wasmtime cranelift llvm; do
  echo "-- --backend=$backend"
  "$opt" tests/filecheck/run/run.wir --run=sum --args=100000 --backend=$backend
  "$opt" tests/filecheck/run/run.wir --run=mix --args=-3,18446744073709551615,2.5,-0 --backend=$backend
  status=0
  "$opt" tests/filecheck/run/run.wir --run=div --args=7,0 --backend=$backend || status=$?
  echo "(exit status $status)"
done
echo "== wasmir-opt --emit=obj: native objects from both native backends"
"$opt" tests/filecheck/run/run.wir --emit=obj --backend=cranelift -o "$out/run.cranelift.o"
"$opt" tests/filecheck/run/run.wir --emit=obj --backend=llvm -O2 -o "$out/run.llvm.o"
file "$out/run.cranelift.o" "$out/run.llvm.o" 2>/dev/null || ls -l "$out"/run.*.o
echo "== hello world: examples/hello.wir (WASI fd_write) to a small module, and where its bytes go"
"$opt" examples/hello.wir --emit=wasm -o "$out/hello.wasm"
"$opt" examples/hello.wir --emit=size-report | head -n 12
echo "== the C program at -Os (-O2, then mono-merge) in the streaming layout: size report totals"
"$opt" "$out/prog.wasm" -Os --profile=streaming --emit=size-report | grep -E "bytes in|bytes of code|duplicated"
