//! Differential execution across backends: every module of the spec test suite that WasmIR
//! imports and whose only imports are spectest's is instantiated once per backend (wasmtime
//! on the emitted `.wasm`, native code from the Cranelift JIT, and from LLVM's JIT with the
//! `llvm` feature), the script's own calls
//! (`invoke`, `assert_return`, `assert_trap`, `assert_exhaustion`) run on each in order, then
//! every export with numeric parameters runs on generated arguments. Results and traps must be
//! the same, as `wasmir-opt --run` prints them (any NaN is `nan`). Any disagreement fails.
//! A second test does the same for wasm-smith programs (`WASMIR_BACKEND_CASES`, default 300),
//! and a third for 48 programs from proptest-drawn bytes (fixed seed; a failure shrinks).
//!
//! With the `llvm` feature, each module is also compiled by LLVM's wasm32 path
//! (`--backend=llvm-wasm32`: LLVM's WebAssembly backend, wasm-ld) when that path takes it, and
//! run in wasmtime beside the others: its results must be the same, and it must trap where
//! they trap (its traps say "unreachable" for what its code checks itself, such as division by
//! zero, so only memory and stack traps are compared by reason).
//!
//! The suite is read from `$WASMIR_TESTSUITE` (default `../shared/testsuite`);
//! `WASMIR_BACKEND_FILES` limits the run to files whose name contains its value.

mod common;

use rayon::prelude::*;
use std::path::{Path, PathBuf};
use wasmir::run::{Backend, Outcome, Session, ValueKind};
use wast::core::WastArgCore;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, Wat};

/// Every backend this build has (LLVM with the `llvm` feature, which the test command enables).
const BACKENDS: &[Backend] = if cfg!(feature = "llvm") {
    &[Backend::Wasmtime, Backend::Cranelift, Backend::Llvm]
} else {
    &[Backend::Wasmtime, Backend::Cranelift]
};

/// Threads with room for deep recursion: native code nests up to `MAX_CALL_DEPTH` frames
/// before it reports "call stack exhausted".
fn big_stacks() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().stack_size(256 << 20).build().expect("a thread pool")
}

fn suite_dir() -> PathBuf {
    std::env::var_os("WASMIR_TESTSUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/testsuite"))
}

/// One module on every backend, with its exports' parameter kinds.
struct Instances {
    sessions: Vec<Session>,
    /// The module through LLVM's wasm32 path, when that path takes it (dropped once it runs
    /// out of fuel where the others do not: their states may differ from there).
    wasm32: Option<Session>,
    exports: Vec<(String, Vec<ValueKind>)>,
}

#[derive(Default)]
struct Tally {
    modules: usize,
    /// Modules a backend cannot take yet, with the reason.
    unsupported: Vec<String>,
    calls: usize,
    /// Calls not compared because a backend ran out of fuel.
    out_of_fuel: usize,
    mismatches: Vec<String>,
    /// Modules and calls also run through LLVM's wasm32 path, and why modules were not.
    wasm32_modules: usize,
    wasm32_calls: usize,
    wasm32_refused: Vec<String>,
}

impl Tally {
    fn sum(tallies: Vec<Tally>) -> Tally {
        let mut total = Tally::default();
        for t in tallies {
            total.modules += t.modules;
            total.calls += t.calls;
            total.out_of_fuel += t.out_of_fuel;
            total.unsupported.extend(t.unsupported);
            total.mismatches.extend(t.mismatches);
            total.wasm32_modules += t.wasm32_modules;
            total.wasm32_calls += t.wasm32_calls;
            total.wasm32_refused.extend(t.wasm32_refused);
        }
        total
    }
}

/// Imports, legalizes and instantiates a module on every backend. `Err` is why a backend
/// cannot take it (not a disagreement); instantiation traps are compared.
fn instantiate(bytes: &[u8], tally: &mut Tally, at: &str) -> Result<Instances, String> {
    let mut sessions = Vec::new();
    let mut traps = Vec::new();
    let mut exports = Vec::new();
    for &backend in BACKENDS {
        let ctx = wasmir::context();
        let mut module = wasmir::frontends::import_wasm(&ctx, "spec.wasm", bytes).map_err(|d| d.message)?;
        let target = wasmir::lowering::Target::parse(backend.target()).expect("a known target");
        wasmir::lowering::legalize(&ctx, &mut module, &target)
            .map_err(|d| d.into_iter().map(|d| d.message).collect::<Vec<_>>().join("; "))?;
        if exports.is_empty() {
            for (name, fty) in wasmir::lowering::cranelift::Layout::of_exports(&ctx, &module) {
                if let Ok((params, _)) = wasmir::run::signature_kinds(&ctx, fty) {
                    exports.push((name, params));
                }
            }
        }
        let (session, trap) = Session::metered(&ctx, &module, backend).map_err(|d| d.message)?;
        sessions.push(session);
        traps.push(trap);
    }
    if traps.iter().any(|t| t.as_deref() == Some("fuel exhausted")) {
        // The start function ran out of fuel somewhere: nothing to compare.
        tally.out_of_fuel += 1;
        return Err("the start function ran out of fuel".into());
    }
    if traps.windows(2).any(|w| w[0] != w[1]) {
        tally.mismatches.push(format!("{at}: instantiation differs: {traps:?}"));
    }
    let wasm32 =
        if cfg!(feature = "llvm") && traps[0].is_none() { wasm32_session(bytes, tally, at) } else { None };
    Ok(Instances { sessions, wasm32, exports })
}

/// The module through LLVM's wasm32 path, or `None` when the path refuses it (counted by
/// reason). Any other error is a failure of the path: a disagreement. Exports of globals and
/// tables, which the path refuses and the comparison never reads, are dropped first.
fn wasm32_session(bytes: &[u8], tally: &mut Tally, at: &str) -> Option<Session> {
    let ctx = wasmir::context();
    let mut module = wasmir::frontends::import_wasm(&ctx, "spec.wasm", bytes).ok()?;
    let body = module.body();
    let kept: std::collections::HashSet<String> = body
        .block_ops(module.block())
        .filter_map(|op| {
            let v = wasmir::ir::OpRef::new(&ctx, body, op);
            matches!(v.name(), "func.func" | "memory.memory")
                .then(|| v.attr_str("sym_name").unwrap_or_default().to_string())
        })
        .collect();
    let dropped: Vec<_> = body
        .block_ops(module.block())
        .filter(|&op| {
            let v = wasmir::ir::OpRef::new(&ctx, body, op);
            let target = v.attr("target").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
            v.name() == "wasm.export" && !kept.contains(target)
        })
        .collect();
    for op in dropped {
        module.body_mut().erase_op(op);
    }
    let target = wasmir::lowering::Target::parse(Backend::LlvmWasm32.target()).expect("a known target");
    wasmir::lowering::legalize(&ctx, &mut module, &target).ok()?;
    match Session::metered(&ctx, &module, Backend::LlvmWasm32) {
        Ok((session, None)) => {
            tally.wasm32_modules += 1;
            Some(session)
        }
        Ok((_, Some(trap))) => {
            tally
                .mismatches
                .push(format!("{at}: instantiation traps only through LLVM's wasm32 path: {trap}"));
            None
        }
        Err(d) if d.message.contains("not supported by the LLVM wasm32 path") => {
            tally.wasm32_refused.push(d.message);
            None
        }
        Err(d) => {
            tally.mismatches.push(format!("{at}: LLVM's wasm32 path failed: {}", d.message));
            None
        }
    }
}

/// An argument's slots: one for scalars, two for a v128 (the low half first).
fn arg_bits(arg: &WastArg<'_>) -> Option<Vec<u64>> {
    match arg {
        WastArg::Core(WastArgCore::I32(x)) => Some(vec![*x as u32 as u64]),
        WastArg::Core(WastArgCore::I64(x)) => Some(vec![*x as u64]),
        WastArg::Core(WastArgCore::F32(x)) => Some(vec![u64::from(x.bits)]),
        WastArg::Core(WastArgCore::F64(x)) => Some(vec![x.bits]),
        WastArg::Core(WastArgCore::V128(v)) => {
            let bytes = u128::from_le_bytes(v.to_le_bytes());
            Some(vec![bytes as u64, (bytes >> 64) as u64])
        }
        _ => None,
    }
}

/// Fuel for each call of the script (its loops run up to a few million times) and for each
/// call with generated arguments, which can make a loop run for ever (a count of 2^63). A call
/// where any backend runs out proves nothing and is not compared.
const SCRIPT_FUEL: u64 = 50_000_000;
const GENERATED_FUEL: u64 = 100_000;

/// Calls `name` on every backend and compares.
fn compare(instances: &mut Instances, name: &str, args: &[u64], fuel: u64, tally: &mut Tally, at: &str) {
    let outcomes: Vec<Result<Outcome, String>> = instances
        .sessions
        .iter_mut()
        .map(|s| {
            s.set_fuel(fuel);
            s.call(name, args).map_err(|d| d.message)
        })
        .collect();
    if outcomes.iter().any(|o| matches!(o, Ok(Outcome::Trapped(r)) if r == "fuel exhausted")) {
        tally.out_of_fuel += 1;
        return;
    }
    tally.calls += 1;
    let text: Vec<String> = outcomes
        .iter()
        .map(|o| match o {
            Ok(outcome) => outcome.to_string(),
            Err(e) => format!("error: {e}"),
        })
        .collect();
    if text.windows(2).any(|w| w[0] != w[1]) {
        let shown: Vec<String> =
            BACKENDS.iter().zip(&text).map(|(b, t)| format!("{b:?}: {}", t.trim())).collect();
        tally.mismatches.push(format!("{at}: {name}({args:x?}): {}", shown.join(" | ")));
    }
    let Some(session) = &mut instances.wasm32 else { return };
    session.set_fuel(fuel);
    let outcome = match session.call(name, args) {
        Ok(Outcome::Trapped(r)) if r == "fuel exhausted" => {
            instances.wasm32 = None;
            return;
        }
        Ok(outcome) => outcome,
        Err(e) => {
            tally.mismatches.push(format!("{at}: {name}({args:x?}): LLVM wasm32: error: {}", e.message));
            return;
        }
    };
    if matches!(&outcomes[0], Ok(Outcome::Trapped(r)) if r == "call stack exhausted") {
        // How deep calls may nest is the engine's choice, and LLVM's inlining changes how
        // deep a wasm32 call goes: not comparable.
        return;
    }
    tally.wasm32_calls += 1;
    let agrees = match (&outcomes[0], &outcome) {
        (Ok(Outcome::Trapped(expected)), Outcome::Trapped(got)) => {
            got == expected
                || got == "unreachable" && !expected.contains("memory") && !expected.contains("stack")
        }
        (Ok(expected), got) => expected.to_string() == got.to_string(),
        (Err(_), _) => true,
    };
    if !agrees {
        tally.mismatches.push(format!(
            "{at}: {name}({args:x?}): {} | LlvmWasm32: {}",
            text[0].trim(),
            outcome.to_string().trim()
        ));
    }
}

/// Prints why modules were not taken, most common first (offsets and names stripped).
fn print_reasons(what: &str, reasons: &[String]) {
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for u in reasons {
        let why = u.split_once(": ").map_or(u.as_str(), |(_, w)| w);
        let why: String =
            why.split(" at offset").next().unwrap_or(why).split(" @").next().unwrap_or(why).to_string();
        *counts.entry(why).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (why, n) in counts {
        eprintln!("  {n:5} modules not taken{what}: {why}");
    }
}

/// Arguments for generated calls: edge values of each kind, picked by `rng`.
fn generated_args(kinds: &[ValueKind], rng: &mut common::Rng) -> Option<Vec<u64>> {
    let slots: Option<Vec<Vec<u64>>> = kinds
        .iter()
        .map(|k| {
            Some(vec![match k {
                ValueKind::V128 => {
                    // Lanes of every width at their edges, or random bits.
                    let edge = rng.pick(&[
                        0u64,
                        u64::MAX,
                        0x8000_0000_8000_0000,
                        0x7F80_0000_FF80_0000,
                        0x0080_7F01,
                    ]);
                    return Some(vec![edge, rng.next()]);
                }
                ValueKind::I32 => {
                    let random = rng.next() & 0xFFFF_FFFF;
                    rng.pick(&[0u64, 1, 2, 7, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF, 65536, random])
                }
                ValueKind::I64 => {
                    let random = rng.next();
                    rng.pick(&[0u64, 1, 3, u64::MAX, 1 << 63, (1 << 63) - 1, 1 << 32, random])
                }
                ValueKind::F32 => u64::from(
                    rng.pick(&[0.0f32, -0.0, 1.5, -2.5, f32::NAN, f32::INFINITY, 3e9, -1e30]).to_bits(),
                ),
                ValueKind::F64 => rng
                    .pick(&[0.0f64, -0.0, 1.5, -2.5, f64::NAN, f64::NEG_INFINITY, 1e19, 4294967296.5])
                    .to_bits(),
                ValueKind::Ref => return None,
            }])
        })
        .collect();
    slots.map(|s| s.concat())
}

fn run_file(path: &Path) -> Tally {
    let mut tally = Tally::default();
    let Ok(text) = std::fs::read_to_string(path) else { return tally };
    let mut lexer = wast::lexer::Lexer::new(&text);
    lexer.allow_confusing_unicode(true);
    let Ok(buf) = ParseBuffer::new_with_lexer(lexer) else { return tally };
    let Ok(wast) = parser::parse::<Wast<'_>>(&buf) else { return tally };
    let file = path.file_name().unwrap_or_default().to_string_lossy().to_string();
    let line = |offset: usize| text[..offset].lines().count() + 1;
    let mut current: Option<usize> = None;
    let mut named: Vec<(String, usize)> = Vec::new();
    let mut modules: Vec<Option<Instances>> = Vec::new();
    let mut rng = common::Rng(0x5eed ^ text.len() as u64);
    for directive in wast.directives {
        let invoke: Option<WastInvoke<'_>> = match directive {
            WastDirective::Module(mut module) => {
                let at = format!("{file}:{}", line(module.span().offset()));
                let id = match &module {
                    QuoteWat::Wat(Wat::Module(m)) => m.id.map(|id| id.name().to_string()),
                    _ => None,
                };
                let instances = match module.encode() {
                    Ok(bytes) => match instantiate(&bytes, &mut tally, &at) {
                        Ok(i) => {
                            tally.modules += 1;
                            Some(i)
                        }
                        Err(why) => {
                            tally.unsupported.push(format!("{at}: {why}"));
                            None
                        }
                    },
                    Err(_) => None,
                };
                modules.push(instances);
                current = Some(modules.len() - 1);
                if let Some(id) = id {
                    named.push((id, modules.len() - 1));
                }
                None
            }
            WastDirective::Invoke(i) => Some(i),
            WastDirective::AssertReturn { exec: WastExecute::Invoke(i), .. }
            | WastDirective::AssertTrap { exec: WastExecute::Invoke(i), .. }
            | WastDirective::AssertExhaustion { call: i, .. } => Some(i),
            _ => None,
        };
        let Some(invoke) = invoke else { continue };
        let index = match invoke.module {
            Some(id) => named.iter().rev().find(|(n, _)| n == id.name()).map(|&(_, i)| i),
            None => current,
        };
        let Some(Some(instances)) = index.map(|i| &mut modules[i]) else { continue };
        let Some(args) = invoke.args.iter().map(arg_bits).collect::<Option<Vec<_>>>() else { continue };
        let args = args.concat();
        let at = format!("{file}:{}", line(invoke.span.offset()));
        compare(instances, invoke.name, &args, SCRIPT_FUEL, &mut tally, &at);
    }
    // Generated arguments, after the script's own calls.
    for instances in modules.iter_mut().flatten() {
        let exports = instances.exports.clone();
        for (name, kinds) in exports {
            for _ in 0..3 {
                let Some(args) = generated_args(&kinds, &mut rng) else { break };
                compare(instances, &name, &args, GENERATED_FUEL, &mut tally, &format!("{file} (generated)"));
            }
        }
    }
    tally
}

#[test]
fn spec_functions_agree_on_every_backend() {
    let dir = suite_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("\n*** SKIPPED: no spec test suite at {} (set WASMIR_TESTSUITE) ***\n", dir.display());
        return;
    };
    let filter = std::env::var("WASMIR_BACKEND_FILES").unwrap_or_default();
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(&filter)))
        .collect();
    files.sort();
    let tallies: Vec<Tally> = big_stacks().install(|| files.par_iter().map(|p| run_file(p)).collect());
    let total = Tally::sum(tallies);
    eprintln!(
        "backends: {} files, {} modules on {} backends, {} calls compared ({} not: out of fuel), {} modules not taken by a backend",
        files.len(),
        total.modules,
        BACKENDS.len(),
        total.calls,
        total.out_of_fuel,
        total.unsupported.len()
    );
    print_reasons("", &total.unsupported);
    eprintln!(
        "backends: LLVM's wasm32 path took {} of those modules, {} calls compared",
        total.wasm32_modules, total.wasm32_calls
    );
    print_reasons(" by the wasm32 path", &total.wasm32_refused);
    assert!(
        total.mismatches.is_empty(),
        "{} disagreements:\n{}",
        total.mismatches.len(),
        total.mismatches.join("\n")
    );
    if filter.is_empty() {
        // The share of the suite compared must not silently collapse.
        assert!(total.calls > 20_000, "only {} calls compared", total.calls);
        if cfg!(feature = "llvm") {
            assert!(
                total.wasm32_calls > 10_000,
                "only {} calls compared on the wasm32 path",
                total.wasm32_calls
            );
        }
    }
}

/// A wasm-smith module from `seed`, when it is in the features WasmIR imports (atomics
/// included; a module with a shared memory is not taken by the native backends).
fn generated_module(seed: u64) -> Option<Vec<u8>> {
    let mut rng = common::Rng(seed);
    let raw: Vec<u8> = (0..16384).map(|_| rng.next() as u8).collect();
    let mut u = arbitrary::Unstructured::new(&raw);
    let config = common::smith_config();
    let bytes = wasm_smith::Module::new(config, &mut u).ok()?.to_bytes();
    wasmparser::Validator::new_with_features(wasmir::frontends::supported_features())
        .validate_all(&bytes)
        .ok()?;
    Some(bytes)
}

/// Instantiates a generated module on every backend and compares up to three calls of each
/// export with arguments drawn from `seed`.
fn compare_generated(bytes: &[u8], seed: u64, at: &str) -> Tally {
    let mut tally = Tally::default();
    let mut instances = match instantiate(bytes, &mut tally, at) {
        Ok(i) => i,
        Err(why) => {
            tally.unsupported.push(format!("{at}: {why}"));
            return tally;
        }
    };
    tally.modules += 1;
    let mut rng = common::Rng(seed ^ 0xA5A5);
    for (name, kinds) in instances.exports.clone() {
        for _ in 0..3 {
            let Some(args) = generated_args(&kinds, &mut rng) else { break };
            let before = tally.out_of_fuel;
            compare(&mut instances, &name, &args, GENERATED_FUEL, &mut tally, at);
            if tally.out_of_fuel > before {
                // Fuel runs out at different points: the states may differ from here.
                return tally;
            }
        }
    }
    tally
}

proptest::proptest! {
    // A fixed seed: CI sees the same 48 modules on every run.
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 48,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED),
        ..Default::default()
    })]

    /// proptest's bytes drive wasm-smith: each module that WasmIR imports runs on every
    /// backend with generated arguments, and the backends agree (a failure shrinks the bytes).
    #[test]
    fn proptest_programs_agree_on_every_backend(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 16384), seed in proptest::prelude::any::<u64>()) {
        let mut u = arbitrary::Unstructured::new(&raw);
        let Ok(module) = wasm_smith::Module::new(common::smith_config(), &mut u) else { return Ok(()) };
        let bytes = module.to_bytes();
        if wasmparser::Validator::new_with_features(wasmir::frontends::supported_features()).validate_all(&bytes).is_err() {
            return Ok(());
        }
        let tally = big_stacks().install(|| compare_generated(&bytes, seed, "proptest module"));
        proptest::prop_assert!(tally.mismatches.is_empty(), "{}", tally.mismatches.join("\n"));
    }
}

#[test]
fn generated_programs_agree_on_every_backend() {
    let cases: u64 = std::env::var("WASMIR_BACKEND_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let first: u64 = std::env::var("WASMIR_DIFF_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let seeds: Vec<u64> = (first..first + cases).collect();
    let tallies: Vec<Tally> = big_stacks().install(|| {
        seeds
            .par_iter()
            .map(|&seed| {
                let Some(bytes) = generated_module(seed) else { return Tally::default() };
                if let Some(dir) = std::env::var_os("WASMIR_BACKEND_DUMP") {
                    let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{seed}.wasm")), &bytes);
                }
                compare_generated(&bytes, seed, &format!("seed {seed}"))
            })
            .collect()
    });
    let total = Tally::sum(tallies);
    eprintln!(
        "generated: {} modules on {} backends, {} calls compared ({} not: out of fuel), {} modules not taken; LLVM's wasm32 path: {} modules, {} calls",
        total.modules,
        BACKENDS.len(),
        total.calls,
        total.out_of_fuel,
        total.unsupported.len(),
        total.wasm32_modules,
        total.wasm32_calls
    );
    print_reasons(" by the wasm32 path", &total.wasm32_refused);
    assert!(
        total.mismatches.is_empty(),
        "{} disagreements:\n{}",
        total.mismatches.len(),
        total.mismatches.join("\n")
    );
    assert!(total.calls > 0, "no generated call was compared");
}
