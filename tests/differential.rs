//! Differential testing of the Wasm round trip: wasm-smith generates modules in the features
//! WasmIR imports; each goes through WasmIR and back; then every exported function runs in
//! wasmtime on the original and on the round-tripped module with the same arguments, and the
//! results, the traps, and the exported globals and memories afterwards must be identical.
//!
//! `WASMIR_DIFF_CASES` sets the number of generated modules (default 150; the longer
//! run behind the closing note used 5000) and `WASMIR_DIFF_SEED` the first seed;
//! `WASMIR_DIFF_DUMP=DIR` writes each generated module there (`seedN.wasm`) to debug one.

mod common;

use common::Rng;
use wasmtime::{Engine, Instance, Module, Store, Val, ValType};

fn engine() -> Engine {
    let mut c = wasmir::run::wasmtime_config();
    c.consume_fuel(true).cranelift_nan_canonicalization(true);
    Engine::new(&c).expect("engine")
}

/// What one call did: results, or a trap (by message), or it ran out of fuel.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Values(Vec<String>),
    Trap(String),
    OutOfFuel,
}

fn show(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32 {x}"),
        Val::I64(x) => format!("i64 {x}"),
        Val::F32(b) => format!("f32 {b:#x}"),
        Val::F64(b) => format!("f64 {b:#x}"),
        Val::FuncRef(f) => format!("funcref null={}", f.is_none()),
        Val::ExternRef(e) => format!("externref null={}", e.is_none()),
        other => format!("{other:?}"),
    }
}

fn argument(rng: &mut Rng, ty: &ValType) -> Option<Val> {
    Some(match ty {
        ValType::I32 => {
            let random = rng.next() as i32;
            Val::I32(rng.pick(&[0, 1, -1, 7, 255, 65536, i32::MIN, i32::MAX, random]))
        }
        ValType::I64 => {
            let random = rng.next() as i64;
            Val::I64(rng.pick(&[0, 1, -1, 42, i64::MIN, i64::MAX, random]))
        }
        ValType::F32 => {
            Val::F32(rng.pick(&[0.0f32, -0.0, 1.5, -3.25, f32::INFINITY, f32::NAN, 1e30]).to_bits())
        }
        ValType::F64 => {
            Val::F64(rng.pick(&[0.0f64, -0.0, 2.5, -1e300, f64::NEG_INFINITY, f64::NAN]).to_bits())
        }
        ValType::Ref(r) if r.is_nullable() => Val::null_ref(r.heap_type()),
        _ => return None,
    })
}

struct Run {
    store: Store<wasmtime::StoreLimits>,
    instance: Result<Instance, String>,
}

fn instantiate(engine: &Engine, bytes: &[u8]) -> Run {
    // Memories stop growing at 256 MiB, alike before and after the round trip (Wasm lets a
    // grow fail): a generated loop that doubles a 64-bit memory would exhaust the machine.
    let limits = wasmtime::StoreLimitsBuilder::new().memory_size(256 << 20).build();
    let mut store = Store::new(engine, limits);
    store.limiter(|limits| limits);
    store.set_fuel(200_000).expect("fuel enabled");
    let instance = Module::new(engine, bytes)
        .map_err(|e| format!("compile: {e}"))
        .and_then(|m| Instance::new(&mut store, &m, &[]).map_err(|e| format!("{}", e.root_cause())));
    Run { store, instance }
}

fn call(run: &mut Run, name: &str, args: &[Val]) -> Outcome {
    let Ok(instance) = &run.instance else { return Outcome::Trap("no instance".into()) };
    let f = instance.get_func(&mut run.store, name).expect("exported function");
    let ty = f.ty(&run.store);
    let mut results = vec![Val::I32(0); ty.results().len()];
    run.store.set_fuel(100_000).expect("fuel enabled");
    match f.call(&mut run.store, args, &mut results) {
        Ok(()) => Outcome::Values(results.iter().map(show).collect()),
        Err(e) => {
            let trap = e.downcast_ref::<wasmtime::Trap>().copied();
            if matches!(trap, Some(wasmtime::Trap::OutOfFuel | wasmtime::Trap::StackOverflow)) {
                // Resource limits: frame sizes and instruction counts differ, so which limit
                // is hit first is not a behaviour to compare.
                Outcome::OutOfFuel
            } else {
                Outcome::Trap(trap.map_or_else(|| format!("{}", e.root_cause()), |t| t.to_string()))
            }
        }
    }
}

/// The exported globals and memories, as text, to compare state after calls.
fn state(run: &mut Run) -> Vec<String> {
    let Ok(instance) = run.instance.clone() else { return Vec::new() };
    let exports: Vec<(String, wasmtime::Extern)> =
        instance.exports(&mut run.store).map(|e| (e.name().to_string(), e.into_extern())).collect();
    let mut out = Vec::new();
    for (name, ext) in exports {
        match ext {
            wasmtime::Extern::Global(g) => out.push(format!("{name} = {}", show(&g.get(&mut run.store)))),
            wasmtime::Extern::Memory(m) => {
                let data = m.data(&run.store);
                let hash = data
                    .iter()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
                out.push(format!("{name}: {} bytes, fnv {hash:x}", data.len()));
            }
            // Its bytes are only reachable through `UnsafeCell`s (other threads may write),
            // which this crate's `forbid(unsafe_code)` rules out: compare the size.
            wasmtime::Extern::SharedMemory(m) => out.push(format!("{name}: shared, {} bytes", m.data_size())),
            _ => {}
        }
    }
    out
}

fn round_trip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let ctx = wasmir::context();
    let module = wasmir::frontends::import_wasm(&ctx, "smith.wasm", bytes).map_err(|d| d.to_string())?;
    wasmir::verify(&ctx, &module).map_err(|e| format!("{e:?}"))?;
    let text = wasmir::print(&ctx, &module);
    let reparsed = wasmir::parse(&ctx, "smith.wir", &text).map_err(|d| d.to_string())?;
    wasmir::lowering::emit_wasm(&ctx, &reparsed).map_err(|d| d.to_string())
}

/// The module with an explicit check before every access, then bounds-check elimination,
/// legalized (checks become compare and trap) and emitted.
fn with_explicit_checks(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let ctx = wasmir::context();
    let mut module = wasmir::frontends::import_wasm(&ctx, "smith.wasm", bytes).map_err(|d| d.to_string())?;
    wasmir::run_pipeline(&ctx, &mut module, "bounds-checks-explicit,bce").map_err(|e| format!("{e:?}"))?;
    wasmir::compile_to_wasm(&ctx, &module, &wasmir::lowering::Target::default()).map_err(|e| format!("{e:?}"))
}

/// An explicit check fails with `unreachable` where the access would have failed with an
/// out-of-bounds trap (or, for a misaligned atomic out of bounds, a misalignment trap): the
/// same point, another message.
fn trap_class(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Trap(m)
            if m.contains("out of bounds memory access")
                || m.contains("unreachable")
                || m.contains("unaligned atomic") =>
        {
            Outcome::Trap("out of bounds or unreachable".into())
        }
        other => other,
    }
}

#[test]
fn generated_modules_behave_identically_after_the_round_trip() {
    let cases: u64 = std::env::var("WASMIR_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
    let first: u64 = std::env::var("WASMIR_DIFF_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let engine = engine();
    let (mut modules, mut calls, mut compared) = (0, 0, 0);
    for seed in first..first + cases {
        let mut rng = Rng(seed);
        let raw: Vec<u8> = (0..16384).map(|_| rng.next() as u8).collect();
        let mut u = arbitrary::Unstructured::new(&raw);
        let module = match wasm_smith::Module::new(common::smith_config(), &mut u) {
            Ok(m) => m,
            Err(e) => {
                if std::env::var_os("WASMIR_DIFF_DEBUG").is_some() {
                    eprintln!("seed {seed}: smith: {e}");
                }
                continue;
            }
        };
        let bytes = module.to_bytes();
        if let Some(dir) = std::env::var_os("WASMIR_DIFF_DUMP") {
            std::fs::write(std::path::Path::new(&dir).join(format!("seed{seed}.wasm")), &bytes)
                .expect("dump");
        }
        if let Err(e) = wasmparser::Validator::new_with_features(wasmir::frontends::supported_features())
            .validate_all(&bytes)
        {
            if std::env::var_os("WASMIR_DIFF_DEBUG").is_some() {
                eprintln!("seed {seed}: scope: {e}");
            }
            continue;
        }
        let out = round_trip(&bytes).unwrap_or_else(|e| panic!("seed {seed}: round trip failed: {e}"));
        let checked = with_explicit_checks(&bytes)
            .unwrap_or_else(|e| panic!("seed {seed}: explicit checks failed: {e}"));
        if let Some(dir) = std::env::var_os("WASMIR_DIFF_DUMP") {
            let dir = std::path::PathBuf::from(dir);
            let _ = std::fs::write(dir.join(format!("{seed}.in.wasm")), &bytes);
            let _ = std::fs::write(dir.join(format!("{seed}.out.wasm")), &out);
        }
        modules += 1;
        let mut a = instantiate(&engine, &bytes);
        let mut b = instantiate(&engine, &out);
        let mut c = instantiate(&engine, &checked);
        match (&a.instance, &b.instance) {
            (Ok(_), Ok(_)) => {}
            (Err(x), Err(y)) => {
                let resource = |e: &str| e.contains("fuel") || e.contains("call stack exhausted");
                if !resource(x) && !resource(y) {
                    assert_eq!(x, y, "seed {seed}: instantiation fails differently");
                }
                continue;
            }
            (Err(e), _) | (_, Err(e)) if e.contains("fuel") || e.contains("call stack exhausted") => continue,
            (x, y) => panic!("seed {seed}: instantiation differs: {:?} vs {:?}", x, y.is_ok()),
        }
        let instance = a.instance.clone().expect("instantiated");
        let funcs: Vec<(String, wasmtime::FuncType)> = instance
            .exports(&mut a.store)
            .filter_map(|e| {
                let name = e.name().to_string();
                e.into_func().map(|f| (name, f))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(n, f)| (n, f.ty(&a.store)))
            .collect();
        'module: for (name, ty) in funcs {
            for _ in 0..3 {
                let Some(args) = ty.params().map(|p| argument(&mut rng, &p)).collect::<Option<Vec<_>>>()
                else {
                    break;
                };
                calls += 1;
                let (x, y) = (call(&mut a, &name, &args), call(&mut b, &name, &args));
                let z = if c.instance.is_ok() { Some(call(&mut c, &name, &args)) } else { None };
                if x == Outcome::OutOfFuel || y == Outcome::OutOfFuel || z == Some(Outcome::OutOfFuel) {
                    // Fuel is counted per instruction, and the instructions differ: one side
                    // may have run further and changed state, so the module's comparison ends.
                    break 'module;
                }
                compared += 1;
                assert_eq!(x, y, "seed {seed}: `{name}` with {args:?} behaves differently");
                assert_eq!(state(&mut a), state(&mut b), "seed {seed}: state differs after `{name}`");
                if let Some(z) = z {
                    assert_eq!(
                        trap_class(x.clone()),
                        trap_class(z),
                        "seed {seed}: `{name}` with {args:?} behaves differently with explicit checks after bce"
                    );
                    assert_eq!(
                        state(&mut a),
                        state(&mut c),
                        "seed {seed}: state differs after `{name}` (explicit checks)"
                    );
                }
            }
        }
    }
    println!("differential: {modules} modules, {calls} calls, {compared} compared");
    assert!(modules >= cases / 3, "only {modules} of {cases} generated modules were usable");
}
