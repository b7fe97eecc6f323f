//! The SIMD scalar fallback's cost: kernels (benches/support/simd_kernels.c) built by clang
//! -O3 with SIMD (intrinsics and auto-vectorized loops), run on wasmtime as built, and after
//! `lower-simd` on a wasmtime without SIMD; beside them the scalar twin (the same source built
//! without -msimd128), which is what a toolchain gives a host without SIMD today. The issue's
//! bar: the fallback within 4x of native SIMD.
//!
//! Then the SIMD build's kernels on the three backends (wasmtime, the Cranelift JIT and, with
//! the `llvm` feature, LLVM's JIT), and the same fallback comparison on a real SIMD program: TensorFlow.js's WebAssembly backend
//! (XNNPACK), whose package ships a SIMD build and its scalar twin, timed by
//! scripts/tfjs_speed.js in Node.js on matrix products, convolutions and elementwise kernels.
//!
//! Run: `cargo bench --features llvm --bench simd` (needs clang-19 with the wasm32 target, from
//! scripts/setup.sh; the tfjs part needs node and the package `bash scripts/tfjs-check.sh`
//! fetches into target/tfjs-check, and is skipped with a note without them).

mod support;
use support::best_of;

use std::process::Command;
use wasmtime::{Config, Engine, Instance, Module, Store};

const KERNELS: &[(&str, i32)] = &[
    ("saxpy", 200),
    ("blend", 200),
    ("sum", 200),
    ("q15", 200),
    ("find", 200),
    ("swizzle", 200),
    ("matmul", 100),
];

fn build(simd: bool) -> Vec<u8> {
    let out = std::env::temp_dir().join(format!("wasmir-simd-bench-{simd}-{}.wasm", std::process::id()));
    let mut cmd = Command::new("clang-19");
    cmd.args(["--target=wasm32", "-O3", "-nostdlib", "-Wl,--no-entry", "-o"]).arg(&out);
    if simd {
        cmd.arg("-msimd128");
    }
    cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/support/simd_kernels.c"));
    let status = cmd.status().expect("clang-19 runs (scripts/setup.sh installs it)");
    assert!(status.success(), "clang-19 failed");
    let bytes = std::fs::read(&out).expect("built");
    let _ = std::fs::remove_file(&out);
    bytes
}

fn lower_without_simd(bytes: &[u8]) -> Vec<u8> {
    let ctx = wasmir::context();
    let module = wasmir::frontends::import_wasm(&ctx, "kernels.wasm", bytes).expect("imports");
    let target = wasmir::lowering::Target::parse("wasmtime,-simd").expect("target");
    wasmir::compile_to_wasm(&ctx, &module, &target).expect("lowers")
}

struct Runner {
    store: Store<()>,
    instance: Instance,
}

impl Runner {
    fn new(simd: bool, bytes: &[u8]) -> Runner {
        let mut config = Config::new();
        config.wasm_simd(simd).wasm_relaxed_simd(simd);
        let engine = Engine::new(&config).expect("engine");
        let module = Module::new(&engine, bytes).expect("compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let init = instance.get_typed_func::<(), ()>(&mut store, "init").expect("init");
        init.call(&mut store, ()).expect("init runs");
        Runner { store, instance }
    }

    fn run(&mut self, kernel: &str, reps: i32) -> (f64, i32) {
        let f = self.instance.get_typed_func::<i32, i32>(&mut self.store, kernel).expect("kernel");
        let (t, r) = best_of(5, || f.call(&mut self.store, reps).expect("runs"));
        (t.as_secs_f64() * 1e3, r)
    }
}

fn main() {
    let simd = build(true);
    let twin = build(false);
    let fallback = lower_without_simd(&simd);
    println!(
        "kernels (best of 5; sizes: SIMD build {} B, its fallback {} B, scalar twin {} B):",
        simd.len(),
        fallback.len(),
        twin.len()
    );
    println!(
        "  {:<8} {:>11} {:>11} {:>11} {:>15} {:>15}",
        "kernel", "SIMD ms", "fallback", "twin ms", "fallback/SIMD", "fallback/twin"
    );
    let (mut native, mut scalar, mut reference) =
        (Runner::new(true, &simd), Runner::new(false, &fallback), Runner::new(false, &twin));
    let mut worst: f64 = 0.0;
    for &(kernel, reps) in KERNELS {
        let (t_simd, r_simd) = native.run(kernel, reps);
        let (t_fallback, r_fallback) = scalar.run(kernel, reps);
        let (t_twin, r_twin) = reference.run(kernel, reps);
        assert_eq!(r_simd, r_fallback, "{kernel}: the fallback computes something else");
        let note = if r_twin == r_simd { "" } else { "  (twin's float rounding differs)" };
        worst = worst.max(t_fallback / t_simd);
        println!(
            "  {kernel:<8} {t_simd:>11.3} {t_fallback:>11.3} {t_twin:>11.3} {:>14.2}x {:>14.2}x{note}",
            t_fallback / t_simd,
            t_fallback / t_twin
        );
    }
    println!("  slowest fallback: {worst:.2}x native SIMD");
    backends(&simd);
    tfjs();
}

/// The SIMD build's kernels on every backend, through `wasmir::run` (instantiation not
/// counted): wasmtime runs the emitted Wasm, the native backends their own vector code.
fn backends(simd: &[u8]) {
    use wasmir::run::{Backend, Session};
    let mut list = vec![Backend::Wasmtime, Backend::Cranelift];
    if cfg!(feature = "llvm") {
        list.push(Backend::Llvm);
    }
    println!("the SIMD build on each backend, best of 5, ms:");
    println!(
        "  {:<8}{}",
        "kernel",
        list.iter().map(|b| format!("{:>12}", format!("{b:?}"))).collect::<String>()
    );
    let ctx = wasmir::context();
    let mut module = wasmir::frontends::import_wasm(&ctx, "kernels.wasm", simd).expect("imports");
    wasmir::lowering::legalize(&ctx, &mut module, &wasmir::lowering::Target::default()).expect("legalizes");
    let mut sessions: Vec<Session> = list
        .iter()
        .map(|&b| {
            let (mut s, trap) = Session::new(&ctx, &module, b).expect("instantiates");
            assert!(trap.is_none(), "{b:?}: instantiation trapped");
            s.call("init", &[]).expect("init runs");
            s
        })
        .collect();
    for &(kernel, reps) in KERNELS {
        let mut line = format!("  {kernel:<8}");
        let mut outcomes = Vec::new();
        for s in &mut sessions {
            let (t, out) = best_of(5, || s.call(kernel, &[reps as u64]).expect("runs"));
            line.push_str(&format!("{:>12.3}", t.as_secs_f64() * 1e3));
            outcomes.push(out.to_string());
        }
        assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "{kernel}: backends disagree: {outcomes:?}");
        println!("{line}");
    }
}

/// tfjs-backend-wasm: its SIMD build, that build through the fallback, and its scalar build,
/// each loaded in the SIMD build's place.
fn tfjs() {
    let work = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target/tfjs-check"));
    let (shipped, modules) = (work.join("shipped"), work.join("install/node_modules"));
    let simd_name = "dist/tfjs-backend-wasm-simd.wasm";
    let Ok(simd) = std::fs::read(shipped.join(simd_name)) else {
        println!("tfjs: skipped (run `bash scripts/tfjs-check.sh` first to fetch the package)");
        return;
    };
    let variants = [
        ("SIMD build", simd.clone()),
        ("its fallback", lower_without_simd(&simd)),
        (
            "scalar twin",
            std::fs::read(shipped.join("dist/tfjs-backend-wasm.wasm")).expect("the scalar build"),
        ),
    ];
    let mut rows: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    for (name, bytes) in &variants {
        let dir = std::env::temp_dir().join(format!(
            "wasmir-tfjs-{}-{}",
            name.replace(' ', "-"),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let copied = Command::new("cp").arg("-r").arg(&shipped).arg(&dir).status().is_ok_and(|s| s.success());
        assert!(copied, "copying the package");
        std::fs::write(dir.join(simd_name), bytes).expect("written");
        let out = Command::new("node")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/tfjs_speed.js"))
            .arg(&dir)
            .arg(&modules)
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        let Ok(out) = out else {
            println!("tfjs: skipped (node is not installed)");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        // {"matMul":1.03,"conv2d":1.18,...}
        let times = text
            .trim()
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .filter_map(|kv| {
                let (k, v) = kv.split_once(':')?;
                Some((k.trim_matches('"').to_string(), v.parse::<f64>().ok()?))
            })
            .collect();
        rows.push((format!("{name} ({} B)", bytes.len()), times));
    }
    println!("tfjs-backend-wasm 4.22.0 in Node.js, best of 5, ms:");
    let kernels: Vec<String> = rows[0].1.iter().map(|(k, _)| k.clone()).collect();
    println!("  {:<28}{}", "", kernels.iter().map(|k| format!("{k:>12}")).collect::<String>());
    for (name, times) in &rows {
        println!("  {name:<28}{}", times.iter().map(|(_, t)| format!("{t:>12.3}")).collect::<String>());
    }
    let ratio = |row: usize, base: usize| -> String {
        rows[row].1.iter().zip(&rows[base].1).map(|((_, a), (_, b))| format!("{:>11.2}x", a / b)).collect()
    };
    println!("  {:<28}{}", "fallback / SIMD", ratio(1, 0));
    println!("  {:<28}{}", "fallback / scalar twin", ratio(1, 2));
}
