//! The native backends: compile time of a large real module to a native object through
//! Cranelift and through LLVM at -O0 and -O2 (the ratio is the issue's requirement: Cranelift
//! at least 5x faster than LLVM -O2), and the run time of compute kernels on wasmtime, the
//! Cranelift JIT and LLVM's JIT.
//!
//! Run: `cargo bench --features llvm --bench native -- [FILE.wasm ...]`. Without files it
//! reads `target/bench-data/brotli_wasm_bg.wasm` (1.06 MB, Rust; `scripts/bench.sh` fetches it
//! from the npm package brotli-wasm 3.0.1). Without the `llvm` feature only Cranelift runs.

mod support;
use support::best_of;

use std::path::PathBuf;
use wasmir::ir::Context;
use wasmir::run::{Backend, Outcome, Session};

fn legalized(ctx: &Context, bytes: &[u8], target: &str) -> wasmir::ir::Module {
    let mut module =
        wasmir::frontends::import_wasm(ctx, "bench.wasm", bytes).expect("a module WasmIR imports");
    let target = wasmir::lowering::Target::parse(target).expect("a target");
    wasmir::lowering::legalize(ctx, &mut module, &target).expect("legalizes");
    module
}

fn compile_times(path: &PathBuf) {
    let Ok(bytes) = std::fs::read(path) else {
        println!("compile: cannot read {} (scripts/bench.sh fetches it)", path.display());
        return;
    };
    let ctx = wasmir::context();
    let module = legalized(&ctx, &bytes, Backend::Cranelift.target());
    let mb = bytes.len() as f64 / 1e6;
    println!(
        "compile {} ({:.2} MB, {} ops), best of 3, one thread:",
        path.display(),
        mb,
        module.root().total_op_count()
    );
    let (cranelift, object) = best_of(3, || {
        wasmir::lowering::cranelift::emit_object(&ctx, &module, Default::default()).expect("compiles")
    });
    println!(
        "  cranelift (opt speed): {:>8.3} s  {:>6.2} MB/s  object {} bytes",
        cranelift.as_secs_f64(),
        mb / cranelift.as_secs_f64(),
        object.len()
    );
    #[cfg(feature = "llvm")]
    {
        use wasmir::lowering::llvm::{LlvmOptLevel, emit_object};
        for (name, level) in [("llvm -O0", LlvmOptLevel::O0), ("llvm -O2", LlvmOptLevel::O2)] {
            let (t, object) = best_of(3, || emit_object(&ctx, &module, level).expect("compiles"));
            println!(
                "  {name:<21}: {:>8.3} s  {:>6.2} MB/s  object {} bytes  ({:.1}x Cranelift's time)",
                t.as_secs_f64(),
                mb / t.as_secs_f64(),
                object.len(),
                t.as_secs_f64() / cranelift.as_secs_f64()
            );
        }
    }
}

/// Compute kernels: name, WAT, export, arguments.
const KERNELS: &[(&str, &str, &str, &[u64])] = &[
    (
        "fib(30), recursive calls",
        r#"(module (func $fib (export "fib") (param i32) (result i32)
             (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
               (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                              (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#,
        "fib",
        &[30],
    ),
    (
        "sieve of 4M, loads and stores",
        r#"(module (memory 64)
           (func (export "sieve") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $count i32)
             (local.set $i (i32.const 2))
             (block $done (loop $outer
               (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
               (if (i32.eqz (i32.load8_u (local.get $i))) (then
                 (local.set $count (i32.add (local.get $count) (i32.const 1)))
                 (local.set $j (i32.add (local.get $i) (local.get $i)))
                 (block $d2 (loop $inner
                   (br_if $d2 (i32.ge_u (local.get $j) (local.get $n)))
                   (i32.store8 (local.get $j) (i32.const 1))
                   (local.set $j (i32.add (local.get $j) (local.get $i)))
                   (br $inner)))))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br $outer)))
             (local.get $count)))"#,
        "sieve",
        &[4_000_000],
    ),
    (
        "matmul 128x128 f64",
        r#"(module (memory 8)
           (func (export "matmul") (param $n i32) (result f64) (local $i i32) (local $j i32) (local $k i32) (local $s f64) (local $sum f64)
             (local.set $i (i32.const 0))
             (loop $fill
               (f64.store (i32.shl (local.get $i) (i32.const 3)) (f64.convert_i32_u (i32.rem_u (local.get $i) (i32.const 7))))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $fill (i32.lt_u (local.get $i) (i32.mul (local.get $n) (local.get $n)))))
             (local.set $i (i32.const 0))
             (loop $li
               (local.set $j (i32.const 0))
               (loop $lj
                 (local.set $s (f64.const 0)) (local.set $k (i32.const 0))
                 (loop $lk
                   (local.set $s (f64.add (local.get $s) (f64.mul
                     (f64.load (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k)) (i32.const 3)))
                     (f64.load (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j)) (i32.const 3))))))
                   (local.set $k (i32.add (local.get $k) (i32.const 1)))
                   (br_if $lk (i32.lt_u (local.get $k) (local.get $n))))
                 (local.set $sum (f64.add (local.get $sum) (local.get $s)))
                 (local.set $j (i32.add (local.get $j) (i32.const 1)))
                 (br_if $lj (i32.lt_u (local.get $j) (local.get $n))))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $li (i32.lt_u (local.get $i) (local.get $n))))
             (local.get $sum)))"#,
        "matmul",
        &[128],
    ),
    (
        "crc32 of 8 MB, table lookups",
        r#"(module (memory 129)
           (func (export "crc") (param $len i32) (result i32) (local $i i32) (local $c i32) (local $k i32) (local $crc i32)
             (loop $table
               (local.set $c (local.get $i)) (local.set $k (i32.const 0))
               (loop $bits
                 (local.set $c (select (i32.xor (i32.const 0xEDB88320) (i32.shr_u (local.get $c) (i32.const 1)))
                                       (i32.shr_u (local.get $c) (i32.const 1)) (i32.and (local.get $c) (i32.const 1))))
                 (local.set $k (i32.add (local.get $k) (i32.const 1)))
                 (br_if $bits (i32.lt_u (local.get $k) (i32.const 8))))
               (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $c))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $table (i32.lt_u (local.get $i) (i32.const 256))))
             (local.set $crc (i32.const -1)) (local.set $i (i32.const 0))
             (loop $bytes
               (local.set $crc (i32.xor (i32.load (i32.shl (i32.and (i32.xor (local.get $crc) (i32.load8_u offset=1024 (local.get $i))) (i32.const 255)) (i32.const 2)))
                                        (i32.shr_u (local.get $crc) (i32.const 8))))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $bytes (i32.lt_u (local.get $i) (local.get $len))))
             (i32.xor (local.get $crc) (i32.const -1))))"#,
        "crc",
        &[8_000_000],
    ),
];

fn kernels() {
    let mut backends = vec![Backend::Wasmtime, Backend::Cranelift];
    if cfg!(feature = "llvm") {
        backends.push(Backend::Llvm);
    }
    println!("kernels, best of 5 calls (instantiation not counted):");
    for &(name, wat, export, args) in KERNELS {
        let mut line = format!("  {name:<32}");
        let mut outcomes: Vec<Outcome> = Vec::new();
        for &backend in &backends {
            let ctx = wasmir::context();
            let bytes = wat::parse_str(wat).expect("kernel WAT parses");
            let module = legalized(&ctx, &bytes, backend.target());
            let (mut session, trap) = Session::new(&ctx, &module, backend).expect("instantiates");
            assert!(trap.is_none(), "{name}: instantiation trapped");
            let (t, outcome) = best_of(5, || session.call(export, args).expect("runs"));
            line.push_str(&format!("  {:?} {:>8.2} ms", backend, t.as_secs_f64() * 1e3));
            outcomes.push(outcome);
        }
        assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "{name}: backends disagree: {outcomes:?}");
        println!("{line}   -> {}", outcomes[0].to_string().trim());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let inputs: Vec<PathBuf> = if args.is_empty() {
        vec![PathBuf::from("target/bench-data/brotli_wasm_bg.wasm")]
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    for input in &inputs {
        compile_times(input);
    }
    kernels();
}
