//! Parse, verify and print throughput of the textual IR on a generated module of over a
//! million ops and on a 10k-line file, single-threaded, reported in MB/s and ops/s.
//!
//! Run: `cargo bench --bench text_throughput` (add `-- --quick` for one repetition).

mod support;
use support::best_of;

use std::time::Duration;
use wasmir::ir::parser::{ParseOptions, parse_module};
use wasmir::ir::printer::{PrintOptions, print_module};

/// A module of `funcs` functions, each a dependent chain of `ops_per_func` arithmetic ops
/// mixing constants, integer and float ops, comparisons, selects and calls.
fn generate(funcs: usize, ops_per_func: usize) -> String {
    let mut s = String::with_capacity(funcs * ops_per_func * 40);
    s.push_str("module {\n  func.func private @ext(i32, i64) -> i32\n");
    for f in 0..funcs {
        s.push_str(&format!("  func.func @f{f}(%a: i32, %b: i64, %x: f64) -> i32 {{\n"));
        s.push_str("    %v0 = arith.constant 1 : i32\n");
        let mut last = 0;
        let mut n = 1;
        while n < ops_per_func - 1 {
            let line = match n % 8 {
                0 => format!("    %v{n} = arith.addi %v{last}, %a : i32\n"),
                1 => format!("    %v{n} = arith.muli %v{last}, %v{last} : i32\n"),
                2 => format!("    %v{n} = arith.constant {n} : i32\n"),
                3 => format!("    %v{n} = arith.cmpi slt, %v{last}, %v{} : i32\n", n - 1),
                4 => format!("    %v{n} = arith.select %v{last}, %a, %v{} : i32\n", n - 2),
                5 => format!("    %v{n} = func.call @ext(%v{last}, %b) : (i32, i64) -> i32\n"),
                6 => format!(
                    "    %f{n} = arith.mulf %x, %x : f64\n    %v{n} = arith.xori %v{last}, %a : i32\n"
                ),
                _ => format!("    %v{n} = arith.shrui %v{last}, %a : i32\n"),
            };
            s.push_str(&line);
            if n % 8 != 6 {
                last = n;
            } else {
                n += 1;
                last = n - 1;
                continue;
            }
            n += 1;
        }
        s.push_str(&format!("    func.return %v{last} : i32\n  }}\n"));
    }
    s.push_str("}\n");
    s
}

fn report(name: &str, bytes: usize, ops: usize, d: Duration) {
    let secs = d.as_secs_f64();
    println!(
        "  {name:<22} {:>9.1} ms {:>9.1} MB/s {:>8.2} M ops/s",
        secs * 1e3,
        bytes as f64 / secs / 1e6,
        ops as f64 / secs / 1e6
    );
}

fn bench(label: &str, text: &str, reps: usize) {
    let ctx = wasmir::context();
    let file = ctx.sources().add(label, text);
    let opts = ParseOptions::default();
    let (parse_time, module) =
        best_of(reps, || parse_module(&ctx, file, 0..text.len(), &opts).expect("generated IR parses"));
    let ops = module.root().total_op_count();
    let lines = text.lines().count();
    println!("{label}: {:.1} MB, {lines} lines, {ops} ops", text.len() as f64 / 1e6);
    report("parse", text.len(), ops, parse_time);
    let (verify_time, errors) = best_of(reps, || wasmir::verifier::verify_module(&ctx, &module));
    assert!(errors.is_empty());
    report("verify", text.len(), ops, verify_time);
    let (print_time, printed) = best_of(reps, || print_module(&ctx, &module, PrintOptions::default()));
    report("print (custom)", printed.len(), ops, print_time);
    let (generic_time, generic) =
        best_of(reps, || print_module(&ctx, &module, PrintOptions { generic: true, debug_info: false }));
    report("print (generic)", generic.len(), ops, generic_time);
    let gfile = ctx.sources().add("generic", generic.clone());
    let (gparse_time, _) =
        best_of(reps, || parse_module(&ctx, gfile, 0..generic.len(), &opts).expect("generic parses"));
    report("parse (generic)", generic.len(), ops, gparse_time);
    let (pipeline_time, _) = best_of(reps, || {
        let mut m = module.clone();
        wasmir::run_pipeline(&ctx, &mut m, "canonicalize,cse,dce").expect("pipeline");
        m
    });
    report("canonicalize,cse,dce", text.len(), ops, pipeline_time);
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = if quick { 1 } else { 5 };
    // Parse, verify and print are single-threaded; the pipeline uses every core.
    println!("wasmir text throughput (best of {reps}; parse/verify/print on one core)\n");
    bench("large module", &generate(2_500, 420), reps);
    println!();
    bench("10k-line file", &generate(20, 500), reps.max(3));
}
