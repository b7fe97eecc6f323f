//! Nesting depth: every registered pass, the optimization levels, the verifier, the text form
//! and every backend handle the deepest code the Wasm importer accepts, on a thread with a
//! small stack (rayon's workers and cargo's test threads have 2 MiB), without overflowing it.
//! Three shapes: 20,000 nested constructs (blocks, ifs and loops writing locals), a
//! 10,000-case `br_table` (a C `switch` as clang lays it out) and 5,000-deep expressions (a
//! left-deep chain and a right-deep tree). Each result must behave as the input does in
//! wasmtime. `scripts/test.sh` runs this test in a debug and in a release build.

use std::fmt::Write as _;
use wasmir::ir::{Context, Module};
use wasmir::run::{Backend, Outcome};

/// The stack a rayon worker gets by default.
const SMALL_STACK: usize = 2 << 20;

/// The kind of construct at `level` of `nested_constructs`: blocks and ifs alternate, and
/// every 500th level is a loop (deeper loop nests make wasmtime's own compiler, the oracle,
/// quadratic: Cranelift's loop analysis walks the loop tree).
fn construct_kind(level: usize) -> usize {
    if level % 500 == 499 { 2 } else { level % 2 }
}

/// 20,000 nested constructs: blocks, `if`s and loops that run twice; each writes `$acc` on
/// the way out and may leave early with `br_if`.
fn nested_constructs(depth: usize) -> String {
    let mut w = String::from(
        "(module (func (export \"f\") (param $x i32) (result i32) (local $acc i32) (local $n i32)\n\
         local.get $x local.set $acc\n",
    );
    for level in 0..depth {
        match construct_kind(level) {
            0 => w.push_str("block\n"),
            1 => w.push_str("local.get $x i32.const 3 i32.ne if\n"),
            _ => w.push_str("i32.const 0 local.set $n loop\n"),
        }
    }
    w.push_str("local.get $acc i32.const 7 i32.add local.set $acc\n");
    for level in (0..depth).rev() {
        match construct_kind(level) {
            0 => {
                let _ = writeln!(w, "local.get $acc i32.const {} i32.xor local.set $acc", level);
                w.push_str("local.get $x i32.const 5 i32.eq br_if 0 end\n");
            }
            1 => w.push_str("local.get $acc i32.const 1 i32.add local.set $acc end\n"),
            _ => w.push_str(
                "local.get $n i32.const 1 i32.add local.tee $n i32.const 2 i32.lt_u br_if 0 end\n\
                 local.get $acc local.get $n i32.add local.set $acc\n",
            ),
        }
    }
    w.push_str("local.get $acc))\n");
    w
}

/// A `switch` of `cases` cases: one `br_table` into as many nested blocks, each case setting
/// the result and leaving through the outermost block.
fn switch(cases: usize) -> String {
    let mut w = String::from(
        "(module (func (export \"f\") (param $i i32) (result i32) (local $r i32)\n\
         i32.const -1 local.set $r\nblock $out\n",
    );
    w.push_str(&"block\n".repeat(cases + 1));
    w.push_str("local.get $i br_table");
    for case in 0..=cases {
        let _ = write!(w, " {case}");
    }
    w.push('\n');
    for case in 0..cases {
        let _ = writeln!(w, "end i32.const {} local.set $r br {}", case * 31 + 1, cases - case);
    }
    w.push_str("end end local.get $r))\n");
    w
}

/// 5,000-deep expressions: `((x + 1) * 3) ^ ...` (left-deep), and `x - (x - (x - ...))`
/// with every operand on the stack before the first operator (right-deep).
fn deep_expressions(depth: usize) -> String {
    let mut w = String::from("(module (func (export \"f\") (param $x i32) (result i32)\nlocal.get $x\n");
    for level in 0..depth {
        let op = ["i32.add", "i32.mul", "i32.xor", "i32.rotl"][level % 4];
        let _ = writeln!(w, "i32.const {} {op}", level % 17 + 1);
    }
    w.push_str(")\n(func (export \"g\") (param $x i32) (result i32)\n");
    w.push_str(&"local.get $x\n".repeat(depth + 1));
    w.push_str(&"i32.sub\n".repeat(depth));
    w.push_str("))\n");
    w
}

/// The three shapes at `1 / divisor` of their full size.
fn shapes_scaled(divisor: usize) -> Vec<(String, String, Vec<i32>)> {
    let (nest, cases, expr) = (20_000 / divisor, 10_000 / divisor, 5_000 / divisor);
    vec![
        (format!("{nest} nested constructs"), nested_constructs(nest), vec![0, 3, 5, 9]),
        (
            format!("a {cases}-case br_table"),
            switch(cases),
            vec![0, 1, 77, cases as i32 - 1, cases as i32, -1],
        ),
        (format!("{expr}-deep expressions"), deep_expressions(expr), vec![0, 1, -7, 123_456]),
    ]
}

fn shapes() -> Vec<(String, String, Vec<i32>)> {
    shapes_scaled(1)
}

fn import(ctx: &Context, wat: &str) -> Module {
    let bytes = wat::parse_str(wat).expect("the test's module is valid text");
    wasmir::frontends::import_wasm(ctx, "deep.wasm", &bytes).expect("imports")
}

/// What every export does on every argument, on `backend`.
fn outcomes(ctx: &Context, module: &Module, backend: Backend, args: &[i32]) -> Result<Vec<String>, String> {
    let mut seen = Vec::new();
    for name in ["f", "g"] {
        if !module_exports(ctx, module, name) {
            continue;
        }
        for &a in args {
            let outcome = wasmir::run::run(ctx, module, name, &[a as u32 as u64], backend)
                .map_err(|d| format!("{name}({a}) on {backend:?}: {}", d.message))?;
            seen.push(match outcome {
                Outcome::Returned(values) => format!("{name}({a}) = {}", values[0].bits as i32),
                Outcome::Trapped(t) => format!("{name}({a}) traps: {t}"),
            });
        }
    }
    Ok(seen)
}

/// What every export does on LLVM's JIT at -O0.
#[cfg(feature = "llvm")]
fn llvm_outcomes(ctx: &Context, module: &Module, args: &[i32]) -> Vec<String> {
    let mut seen = Vec::new();
    for name in ["f", "g"] {
        if !module_exports(ctx, module, name) {
            continue;
        }
        let (mut instance, trap) =
            wasmir::lowering::llvm::instantiate(ctx, module, wasmir::lowering::llvm::LlvmOptLevel::O0, None)
                .unwrap_or_else(|d| panic!("LLVM: {}", d.message));
        assert!(trap.is_none(), "instantiation trapped");
        for &a in args {
            seen.push(match instance.call(name, &[a as u32 as u64]).expect("the export exists") {
                Ok(bits) => format!("{name}({a}) = {}", bits[0] as i32),
                Err(t) => format!("{name}({a}) traps: {}", t.message()),
            });
        }
    }
    seen
}

fn module_exports(ctx: &Context, module: &Module, name: &str) -> bool {
    wasmir::lowering::cranelift::Layout::of_exports(ctx, module).iter().any(|(n, _)| n == name)
}

/// Runs `check` on a thread with a rayon worker's stack.
fn on_small_stack(check: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(check)
        .expect("spawn a thread")
        .join()
        .expect("the check ran without a panic");
}

fn pipelines() -> Vec<String> {
    let mut pipelines: Vec<String> =
        wasmir::pass_registry().passes().iter().map(|p| p.name.to_string()).collect();
    // Checks explicit first, so that bce and count-checks have something to work on; then the
    // optimization levels' pipelines.
    pipelines.push("bounds-checks-explicit,bce,count-checks".into());
    pipelines.push(wasmir::driver::level_pipeline("2").into());
    pipelines.push(wasmir::driver::level_pipeline("s").into());
    pipelines
}

/// Whether the output of `pipeline` is also run in wasmtime (not only verified after each
/// pass): the optimization levels and bce, which hold every other pass that rewrites. The
/// single passes' outputs are verified, and in a release build also emitted as validated Wasm
/// (wasmtime's compile of each at this depth would take most of CI's time budget).
fn runs_everything(pipeline: &str) -> bool {
    pipeline.contains(',')
}

#[test]
fn every_pass_handles_the_deepest_nesting_on_a_small_stack() {
    for (shape, wat, args) in shapes() {
        on_small_stack(move || {
            let ctx = wasmir::context();
            let module = import(&ctx, &wat);
            wasmir::verify(&ctx, &module).unwrap_or_else(|e| panic!("{shape}: {}", e[0].message));
            let expected = outcomes(&ctx, &module, Backend::Wasmtime, &args).expect("the input runs");
            for pipeline in pipelines() {
                let mut m = module.clone();
                wasmir::run_pipeline(&ctx, &mut m, &pipeline)
                    .unwrap_or_else(|e| panic!("{shape}, {pipeline}: {}", e[0].message));
                if !runs_everything(&pipeline) {
                    if !cfg!(debug_assertions) {
                        wasmir::lowering::emit_wasm(&ctx, &m)
                            .unwrap_or_else(|e| panic!("{shape}, {pipeline}: {}", e.message));
                    }
                    continue;
                }
                // count-checks adds a global; the exports' results stay the same.
                let got = outcomes(&ctx, &m, Backend::Wasmtime, &args).expect("the output runs");
                assert_eq!(got, expected, "{shape} after {pipeline}");
            }
        });
    }
}

#[test]
fn the_text_form_holds_the_deepest_nesting_on_a_small_stack() {
    for (shape, wat, args) in shapes() {
        on_small_stack(move || {
            let ctx = wasmir::context();
            let module = import(&ctx, &wat);
            let expected = outcomes(&ctx, &module, Backend::Wasmtime, &args).expect("the input runs");
            for printed in [
                wasmir::print(&ctx, &module),
                wasmir::ir::printer::print_module(
                    &ctx,
                    &module,
                    wasmir::ir::printer::PrintOptions { generic: true, debug_info: false },
                ),
            ] {
                let file = ctx.sources().add("deep.wir", &printed);
                let opts = wasmir::ir::parser::ParseOptions { max_nesting: 20_064 };
                let parsed = wasmir::ir::parser::parse_module(&ctx, file, 0..printed.len(), &opts)
                    .unwrap_or_else(|d| panic!("{shape}: {}", d.message));
                wasmir::verify(&ctx, &parsed).unwrap_or_else(|e| panic!("{shape}: {}", e[0].message));
                assert_eq!(wasmir::print(&ctx, &parsed), wasmir::print(&ctx, &module), "{shape}");
                // The same text is the same module; a release build runs it as well.
                if !cfg!(debug_assertions) {
                    let got =
                        outcomes(&ctx, &parsed, Backend::Wasmtime, &args).expect("the parsed text runs");
                    assert_eq!(got, expected, "{shape} through the text form");
                }
            }
        });
    }
}

/// Cranelift at full depth. LLVM's own code generator is superlinear in nesting (a machine
/// function pass takes many minutes on 20,000 levels even at -O0), so the LLVM JIT and the
/// wasm32 path run the shapes at a tenth of their size, still far past any recursion limit of
/// a 2 MiB stack; `WASMIR_DEPTH_LLVM_FULL=1` runs them at full size too.
#[test]
fn every_backend_runs_the_deepest_nesting_on_a_small_stack() {
    for (shape, wat, args) in shapes() {
        on_small_stack(move || {
            let ctx = wasmir::context();
            let module = import(&ctx, &wat);
            let expected = outcomes(&ctx, &module, Backend::Wasmtime, &args).expect("the input runs");
            let got =
                outcomes(&ctx, &module, Backend::Cranelift, &args).unwrap_or_else(|e| panic!("{shape}: {e}"));
            assert_eq!(got, expected, "{shape} on Cranelift");
        });
    }
}

#[cfg(feature = "llvm")]
#[test]
fn llvm_runs_deep_nesting_on_a_small_stack() {
    let divisor = if std::env::var_os("WASMIR_DEPTH_LLVM_FULL").is_some() { 1 } else { 10 };
    for (shape, wat, args) in shapes_scaled(divisor) {
        on_small_stack(move || {
            let ctx = wasmir::context();
            let module = import(&ctx, &wat);
            let expected = outcomes(&ctx, &module, Backend::Wasmtime, &args).expect("the input runs");
            {
                // LLVM at -O0: what is tested here is the translation, not LLVM's optimizer.
                let got = llvm_outcomes(&ctx, &module, &args);
                assert_eq!(got, expected, "{shape} on LLVM");
                let wasm = wasmir::lowering::llvm::emit_wasm32(
                    &ctx,
                    &module,
                    wasmir::lowering::llvm::LlvmOptLevel::O0,
                    wasmir::lowering::llvm::Wasm32Output::Wasm,
                )
                .unwrap_or_else(|d| panic!("{shape} through LLVM's wasm32 backend: {}", d.message));
                let imported = wasmir::frontends::import_wasm(&ctx, "wasm32.wasm", &wasm)
                    .expect("LLVM's wasm32 output imports");
                let got =
                    outcomes(&ctx, &imported, Backend::Wasmtime, &args).expect("LLVM's wasm32 output runs");
                assert_eq!(got, expected, "{shape} through LLVM's wasm32 backend");
            }
        });
    }
}
