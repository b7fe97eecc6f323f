//! The Wasm round trip on real modules from several toolchains, next to Binaryen's
//! `wasm-opt in.wasm -o out.wasm` on the same file: code section bytes in and out, and the
//! time of import plus emit on one and on two threads (the output must be the same bytes).
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
    println!("  {name:<34} {:>9.1} ms {:>9.1} MB/s", secs * 1e3, bytes as f64 / secs / 1e6);
}

/// Code section bytes of a binary (the body sizes the round trip is judged by).
fn code_bytes(wasm: &[u8]) -> u64 {
    wasmir::lowering::size_report(wasm).map_or(0, |r| r.code_bytes)
}

/// Runs `f` on a rayon pool of `threads` threads (the importer and the emitter work per
/// function in parallel on the current pool).
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool").install(f)
}

fn bench(path: &Path, reps: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.display().to_string();
    println!("{name}: {:.2} MB", bytes.len() as f64 / 1e6);
    let round_trip = || {
        let ctx = wasmir::context();
        let module = wasmir::frontends::import_wasm(&ctx, &name, &bytes).expect("module imports");
        wasmir::lowering::emit_wasm(&ctx, &module).expect("module emits")
    };
    let (import_time, (ctx, module)) = on_threads(1, || {
        best_of(reps, || {
            let ctx = wasmir::context();
            let module = wasmir::frontends::import_wasm(&ctx, &name, &bytes).expect("module imports");
            (ctx, module)
        })
    });
    println!("  {} ops", module.root().total_op_count());
    report("import (validate + SSA), 1 thread", bytes.len(), import_time);
    let (verify_time, errors) = best_of(reps, || wasmir::verifier::verify_module(&ctx, &module));
    assert!(errors.is_empty(), "imported module does not verify");
    report("verify", bytes.len(), verify_time);
    let (emit_time, out) =
        on_threads(1, || best_of(reps, || wasmir::lowering::emit_wasm(&ctx, &module).expect("module emits")));
    report("emit (incl. validation), 1 thread", bytes.len(), emit_time);
    let (one, _) = on_threads(1, || best_of(reps, round_trip));
    report("import + emit, 1 thread", bytes.len(), one);
    let (two, out2) = on_threads(2, || best_of(reps, round_trip));
    report("import + emit, 2 threads", bytes.len(), two);
    assert_eq!(out, out2, "the output depends on the thread count");
    let (code_in, code_out) = (code_bytes(&bytes), code_bytes(&out));
    let change = |after: u64| (after as f64 / code_in as f64 - 1.0) * 100.0;
    println!(
        "  code section: input {code_in} bytes, WasmIR {code_out} ({:+.1}%); whole module {} -> {}",
        change(code_out),
        bytes.len(),
        out.len()
    );
    let short = path.file_name().map_or(name.clone(), |f| f.to_string_lossy().into_owned());
    match support::wasm_opt(&["-all"], path, reps) {
        Some((time, wasm_opt_out)) => {
            let theirs = code_bytes(&wasm_opt_out);
            report("wasm-opt -all in -o out", bytes.len(), time);
            println!(
                "  wasm-opt code section {theirs} bytes ({:+.1}%); WasmIR import + emit takes {:.2}x its time on 1 thread, {:.2}x on 2",
                change(theirs),
                one.as_secs_f64() / time.as_secs_f64(),
                two.as_secs_f64() / time.as_secs_f64()
            );
            format!(
                "| {short} | {code_in} | {code_out} ({:+.1}%) | {theirs} ({:+.1}%) | {:.3} s | {:.3} s | {:.3} s |",
                change(code_out),
                change(theirs),
                one.as_secs_f64(),
                two.as_secs_f64(),
                time.as_secs_f64()
            )
        }
        None => {
            println!("  wasm-opt: not installed or cannot read this file (skipped)");
            format!(
                "| {short} | {code_in} | {code_out} ({:+.1}%) | - | {:.3} s | {:.3} s | - |",
                change(code_out),
                one.as_secs_f64(),
                two.as_secs_f64()
            )
        }
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
    println!("wasmir wasm round trip (best of {reps})\n");
    let mut rows = Vec::new();
    for f in &files {
        rows.push(bench(f, reps));
        println!();
    }
    println!(
        "| module | code in | WasmIR code out | wasm-opt code out | WasmIR 1 thread | WasmIR 2 threads | wasm-opt |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
