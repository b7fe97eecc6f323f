//! Function merging (`mono-merge`) on real Rust builds: duplicated code and code-section bytes
//! before and after, next to Binaryen's `wasm-opt --duplicate-function-elimination
//! --merge-similar-functions` on the same input, and the time the pass takes.
//!
//! Run: `bash scripts/bench.sh`, or `cargo bench --bench mono -- [--quick] [FILE.wasm ...]`.
//! Without files it reads the Rust modules `scripts/bench.sh` puts in `target/bench-data`:
//! tests/programs/generics built for wasm32-wasip1 in debug and release, and brotli-wasm.
//! All sizes come from the size report (`wasmir-opt --emit=size-report`), so the same
//! definition of a duplicate is applied to every column.

mod support;
use support::best_of;

use std::path::Path;
use wasmir::lowering::{SizeReport, size_report};

/// The `wasm-opt` passes that do what mono-merge does, with the features Rust's output uses.
const WASM_OPT_ARGS: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-multivalue",
    "--duplicate-function-elimination",
    "--merge-similar-functions",
];

fn row(what: &str, report: &SizeReport, input: &SizeReport) {
    let d = &report.duplicates;
    println!(
        "  {what:<34} code {:>10} ({:+6.1}%)  identical {:>4} fns {:>9} B  similar {:>4} fns {:>9} B",
        report.code_bytes,
        (report.code_bytes as f64 / input.code_bytes as f64 - 1.0) * 100.0,
        d.identical_functions,
        d.identical_bytes,
        d.similar_functions,
        d.similar_bytes
    );
}

fn bench(path: &Path, reps: usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.display().to_string();
    println!("{name}: {} bytes", bytes.len());
    let input = size_report(&bytes).expect("the input parses");
    row("input", &input, &input);
    let ctx = wasmir::context();
    let imported = wasmir::frontends::import_wasm(&ctx, &name, &bytes).expect("module imports");
    let emit = |module: &wasmir::ir::Module| wasmir::lowering::emit_wasm(&ctx, module).expect("module emits");
    let plain = size_report(&emit(&imported)).expect("our output parses");
    row("WasmIR round trip (no passes)", &plain, &input);
    let (time, merged) = best_of(reps, || {
        let mut module = imported.clone();
        wasmir::run_pipeline(&ctx, &mut module, "mono-merge").expect("mono-merge runs");
        module
    });
    let after = size_report(&emit(&merged)).expect("our output parses");
    row("WasmIR mono-merge", &after, &input);
    let (rules_time, identical_only) = best_of(reps, || {
        let mut module = imported.clone();
        wasmir::run_pipeline(&ctx, &mut module, "mono-merge{rules=identical}").expect("mono-merge runs");
        module
    });
    row("WasmIR mono-merge{rules=identical}", &size_report(&emit(&identical_only)).expect("parses"), &input);
    println!(
        "  mono-merge: {:.1} ms (identical only: {:.1} ms); duplicated bytes (similar) {} -> {} ({:+.1}%)",
        time.as_secs_f64() * 1e3,
        rules_time.as_secs_f64() * 1e3,
        plain.duplicates.similar_bytes,
        after.duplicates.similar_bytes,
        (after.duplicates.similar_bytes as f64 / plain.duplicates.similar_bytes.max(1) as f64 - 1.0) * 100.0
    );
    match support::wasm_opt(WASM_OPT_ARGS, path, reps) {
        Some((time, out)) => {
            let theirs = size_report(&out).expect("wasm-opt's output parses");
            row("wasm-opt DFE + merge-similar", &theirs, &input);
            println!(
                "  wasm-opt: {:.1} ms; WasmIR's code section is {:+.1}% of wasm-opt's",
                time.as_secs_f64() * 1e3,
                (after.code_bytes as f64 / theirs.code_bytes as f64 - 1.0) * 100.0
            );
        }
        None => println!("  wasm-opt: not installed or cannot read this file (skipped)"),
    }
}

fn main() {
    let (reps, mut files) = support::args();
    if files.is_empty() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
        files = ["rust_generics.debug.wasm", "rust_generics.release.wasm", "brotli_wasm_bg.wasm"]
            .iter()
            .map(|f| data.join(f))
            .filter(|p| p.exists())
            .collect();
    }
    if files.is_empty() {
        println!("mono: no input modules. Run `bash scripts/bench.sh` to build and fetch them.");
        return;
    }
    println!("mono-merge: duplicated code before and after (best of {reps} for times)\n");
    for f in &files {
        bench(f, reps);
        println!();
    }
}
