//! Import-plus-emit throughput of the Wasm round trip on a large real module, next to
//! Binaryen's `wasm-opt in.wasm -o out.wasm` on the same file.
//!
//! Run: `bash scripts/bench.sh` (fetches the module and binaryen, then runs this), or
//! `cargo bench --bench wasm_roundtrip -- [--quick] [FILE.wasm ...]`. Without files it reads
//! `target/bench-data/*.wasm`, which `scripts/bench.sh` fills.

mod support;
use support::best_of;

use std::path::Path;
use std::time::Duration;

fn report(name: &str, bytes: usize, d: Duration) {
    let secs = d.as_secs_f64();
    println!("  {name:<28} {:>9.1} ms {:>9.1} MB/s", secs * 1e3, bytes as f64 / secs / 1e6);
}

fn bench(path: &Path, reps: usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.display().to_string();
    println!("{name}: {:.2} MB", bytes.len() as f64 / 1e6);
    let (import_time, (ctx, module)) = best_of(reps, || {
        let ctx = wasmir::context();
        let module = wasmir::frontends::import_wasm(&ctx, &name, &bytes).expect("module imports");
        (ctx, module)
    });
    println!("  {} ops", module.root().total_op_count());
    report("import (validate + SSA)", bytes.len(), import_time);
    let (verify_time, errors) = best_of(reps, || wasmir::verifier::verify_module(&ctx, &module));
    assert!(errors.is_empty(), "imported module does not verify");
    report("verify", bytes.len(), verify_time);
    let (emit_time, out) =
        best_of(reps, || wasmir::lowering::emit_wasm(&ctx, &module).expect("module emits"));
    report("emit (incl. output validation)", bytes.len(), emit_time);
    let round_trip = import_time + emit_time;
    report("import + emit", bytes.len(), round_trip);
    println!(
        "  output {} bytes ({:+.1}% of input {} bytes)",
        out.len(),
        (out.len() as f64 / bytes.len() as f64 - 1.0) * 100.0,
        bytes.len()
    );
    match support::wasm_opt(&["-all"], path, reps) {
        Some((time, out)) => {
            let size = out.len();
            report("wasm-opt -all in -o out", bytes.len(), time);
            println!(
                "  wasm-opt output {size} bytes; WasmIR import + emit takes {:.2}x wasm-opt's time",
                round_trip.as_secs_f64() / time.as_secs_f64()
            );
        }
        None => println!("  wasm-opt: not installed or cannot read this file (skipped)"),
    }
}

fn main() {
    let (reps, mut files) = support::args();
    if files.is_empty() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
        files = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
    }
    if files.is_empty() {
        println!("wasm_roundtrip: no input modules. Run `bash scripts/bench.sh` to fetch them.");
        return;
    }
    println!("wasmir wasm round trip (best of {reps}; single-threaded)\n");
    for f in &files {
        bench(f, reps);
        println!();
    }
}
