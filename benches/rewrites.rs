//! The rewriters on real modules: e-graph time per 1k ops and memory per e-node; the share of
//! inserted bounds checks that `bce` removes, statically and, for WASI commands, in a run
//! (counted by the `count-checks` pass); and the run time of a loop-heavy kernel with explicit
//! checks, with them after `bce`, and without checks, in wasmtime.
//!
//! Run: `cargo bench --bench rewrites -- [FILE.wasm ...]`. Without files it reads
//! `target/bench-data/*.wasm` (`scripts/bench.sh` fetches esbuild.wasm, brotli, sql.js,
//! web-tree-sitter and resvg-wasm and builds the Rust programs of tests/programs) and builds
//! the C and C++ programs of tests/programs with clang 19 at -O2 when clang is installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use wasmir::ir::{Context, Module};

/// Peak resident memory since the last reset, and the current resident memory, in bytes.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
            .map(|kb| kb * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn inputs(args: &[String]) -> Vec<PathBuf> {
    if !args.is_empty() {
        return args.iter().map(PathBuf::from).collect();
    }
    let data = PathBuf::from("target/bench-data");
    let _ = std::fs::create_dir_all(&data);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .collect()
        })
        .unwrap_or_default();
    // The C and C++ programs at -O2, as tests/programs.rs builds them.
    for source in ["sort_and_format.c", "interpreter.c", "text_and_hashes.c", "containers.cpp"] {
        let (program, cxx) = match source.strip_suffix(".cpp") {
            Some(program) => (program, true),
            None => (source.trim_end_matches(".c"), false),
        };
        let out = data.join(format!("{program}.O2.wasm"));
        let built = Command::new(if cxx { "clang++-19" } else { "clang-19" })
            .args([
                "--target=wasm32-wasi",
                "--sysroot=/usr",
                "-O2",
                if cxx { "-fno-exceptions" } else { "-lm" },
            ])
            .arg(format!("tests/programs/{source}"))
            .arg("-o")
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
        if built && !files.contains(&out) {
            files.push(out);
        }
    }
    files.sort();
    files
}

fn import(ctx: &Context, path: &Path) -> Option<Module> {
    let bytes = std::fs::read(path).ok()?;
    wasmir::frontends::import_wasm(ctx, &path.display().to_string(), &bytes).ok()
}

fn count_ops(module: &Module, name: &str, ctx: &Context) -> usize {
    let mut n = 0;
    module.root().for_each_body(&mut |b| {
        n += b.preorder().into_iter().filter(|&op| ctx.op_def(b.op_kind(op)).name == name).count();
    });
    n
}

fn egraph(ctx: &Context, path: &Path) {
    let Some(mut module) = import(ctx, path) else { return };
    let ops = module.root().total_op_count();
    let limits =
        wasmir::rewrites::egraph::Limits { nodes: 20_000, iterations: 8, time: Duration::from_millis(200) };
    let rules: Vec<&'static str> = wasmir::rewrites::egraph::RULES.iter().map(|r| r.name).collect();
    let (mut nodes, mut rewritten, mut peak_per_node) = (0usize, 0usize, 0f64);
    let start = Instant::now();
    let funcs: Vec<_> = {
        let body = module.body();
        body.block_ops(module.block()).filter(|&op| body.child(op).is_some()).collect()
    };
    for func in funcs {
        let Some(body) = module.body_mut().child_mut(func) else { continue };
        reset_peak();
        let before = memory();
        let report = wasmir::rewrites::egraph::simplify_body(ctx, body, limits, &rules);
        if let (Some((_, rss)), Some((peak, _))) = (before, memory())
            && report.nodes > 2_000
        {
            peak_per_node = peak_per_node.max(peak.saturating_sub(rss) as f64 / report.nodes as f64);
        }
        nodes += report.nodes;
        rewritten += report.rewritten;
    }
    let time = start.elapsed();
    println!(
        "  egraph-simplify (1 thread): {:>8.3} s for {ops} ops = {:.3} ms per 1k ops; {nodes} e-nodes, {rewritten} ops rewritten; peak memory {:.0} B per e-node (largest functions)",
        time.as_secs_f64(),
        time.as_secs_f64() * 1e6 / ops as f64,
        peak_per_node
    );
}

fn bce(ctx: &Context, path: &Path) {
    let Some(mut module) = import(ctx, path) else { return };
    if wasmir::run_pipeline(ctx, &mut module, "bounds-checks-explicit").is_err() {
        return;
    }
    let inserted = count_ops(&module, "memory.check", ctx);
    let before = module.clone();
    let start = Instant::now();
    if wasmir::run_pipeline(ctx, &mut module, "bce").is_err() {
        return;
    }
    let time = start.elapsed();
    let kept = count_ops(&module, "memory.check", ctx);
    if inserted > 0 {
        println!(
            "  bce: {inserted} checks inserted, {kept} kept: {:.1}% removed statically ({:.3} s)",
            (inserted - kept) as f64 * 100.0 / inserted as f64,
            time.as_secs_f64()
        );
    }
    // Dynamically: a WASI command's run, instrumented by count-checks, with and without bce.
    if let (Some(all), Some(left)) = (executed_checks(ctx, before), executed_checks(ctx, module)) {
        println!(
            "  bce: {all} checks executed in a run, {left} after bce: {:.1}% removed dynamically",
            (all - left) as f64 * 100.0 / all.max(1) as f64
        );
    }
}

/// How many checks a WASI command (a module exporting `_start`) executes when run once.
fn executed_checks(ctx: &Context, mut module: Module) -> Option<u64> {
    let is_command = {
        let body = module.body();
        body.block_ops(module.block()).any(|op| {
            let view = wasmir::ir::OpRef::new(ctx, body, op);
            view.name() == "wasm.export" && view.attr_str("name") == Some("_start")
        })
    };
    if !is_command {
        return None;
    }
    wasmir::run_pipeline(ctx, &mut module, "count-checks").ok()?;
    let wasm = wasmir::compile_to_wasm(ctx, &module, &wasmir::lowering::Target::default()).ok()?;
    let engine = wasmtime::Engine::default();
    let compiled = wasmtime::Module::new(&engine, &wasm).ok()?;
    let mut linker = wasmtime::Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).ok()?;
    let output = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 20);
    let wasi = wasmtime_wasi::WasiCtxBuilder::new().args(&["program"]).stdout(output.clone()).build_p1();
    let mut store = wasmtime::Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &compiled).ok()?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start").ok()?;
    // A command may end by calling proc_exit, which arrives as an error.
    let _ = start.call(&mut store, ());
    let counter = instance.get_global(&mut store, wasmir::rewrites::CHECK_COUNTER)?;
    counter.get(&mut store).i64().map(|n| n as u64)
}

const KERNEL: &str = r#"
memory.memory @mem : i32 {min = 16 : u64}
func.func @sum(%p: i32, %n: i32, %rounds: i32) -> i64 {
  %s = memory.make_slice %p, %n : !memory.slice<i32, @mem>
  %len = memory.len %s : !memory.slice<i32, @mem>
  %zero = arith.constant 0 : i32
  %zero64 = arith.constant 0 : i64
  %total = control.loop (%r: i32 = %zero, %outer: i64 = %zero64) -> i64 {
    %inner = control.loop (%i: i32 = %zero, %acc: i64 = %outer) -> i64 {
      %x = memory.elem_load %s[%i] : !memory.slice<i32, @mem> -> i32
      %wide = arith.extend_s %x : i32 to i64
      %acc2 = arith.addi %acc, %wide : i64
      %one = arith.constant 1 : i32
      %next = arith.addi %i, %one : i32
      %more = arith.cmpi ult, %next, %len : i32
      control.br_if %more, 0 (%next, %acc2 : i32, i64)
      control.yield %acc2 : i64
    }
    %one = arith.constant 1 : i32
    %r2 = arith.addi %r, %one : i32
    %again = arith.cmpi ult, %r2, %rounds : i32
    control.br_if %again, 0 (%r2, %inner : i32, i64)
    control.yield %inner : i64
  }
  func.return %total : i64
}
wasm.export "sum" @sum
"#;

fn kernel_time(pipeline: &str) -> Duration {
    let ctx = wasmir::context();
    let mut module = wasmir::parse(&ctx, "kernel.wir", KERNEL).expect("kernel parses");
    wasmir::run_pipeline(&ctx, &mut module, pipeline).expect("pipeline");
    let wasm =
        wasmir::compile_to_wasm(&ctx, &module, &wasmir::lowering::Target::default()).expect("compiles");
    let engine = wasmtime::Engine::default();
    let m = wasmtime::Module::new(&engine, &wasm).expect("wasmtime compiles");
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &m, &[]).expect("instantiates");
    let sum = instance.get_typed_func::<(i32, i32, i32), i64>(&mut store, "sum").expect("sum");
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let total = sum.call(&mut store, (0, 250_000, 40)).expect("runs");
        best = best.min(start.elapsed());
        assert_eq!(total, 0, "the memory is zeroed");
    }
    best
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let ctx = wasmir::context();
    for path in inputs(&args) {
        println!("{}", path.display());
        egraph(&ctx, &path);
        bce(&ctx, &path);
    }
    println!(
        "loop kernel: 10M checked element loads (a 250k-element SharedSlice, 40 rounds), wasmtime, best of 5"
    );
    let checked = kernel_time("bounds-checks-explicit");
    let eliminated = kernel_time("bounds-checks-explicit,bce");
    println!("  explicit checks:           {:>8.1} ms", checked.as_secs_f64() * 1e3);
    println!("  explicit checks after bce: {:>8.1} ms", eliminated.as_secs_f64() * 1e3);
}
