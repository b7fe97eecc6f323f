#!/usr/bin/env bash
# The main job end to end on the bundled example: build wasmir-opt, parse and verify
# examples/checksum.wir, run the -O pipeline with timing, print the result, and show that the
# output and its generic form round-trip.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked --bin wasmir-opt
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
