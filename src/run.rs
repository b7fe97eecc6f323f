//! Running an exported function of a legalized module on a backend (`wasmir-opt --run`):
//! wasmtime on the emitted `.wasm`, native code from the Cranelift or LLVM JIT, or wasmtime on
//! the `.wasm` of LLVM's wasm32 path. Arguments are parsed
//! from text by the function's parameter types; results print as `<type> <value>` and traps as
//! `trap: <reason>`, in the same words on every backend so that runs can be compared.

use wasmir_ir::{Context, Diagnostic, Location, Module, Type};
use wasmir_lowering::cranelift::{self, CraneliftOptions, TrapCode};

/// The error for `--backend=llvm` in a build without the `llvm` feature.
#[cfg(not(feature = "llvm"))]
pub fn without_llvm() -> Diagnostic {
    Diagnostic::error(
        Location::Unknown,
        "this build of WasmIR has no LLVM backend: build with `--features llvm` (needs llvm-19-dev)",
    )
}

/// Where a function runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The `.wasm` lowering, run by wasmtime.
    Wasmtime,
    /// Native code from the Cranelift JIT.
    Cranelift,
    /// Native code from LLVM (with the `llvm` feature).
    Llvm,
    /// LLVM's WebAssembly backend and wasm-ld, run by wasmtime (with the `llvm` feature).
    LlvmWasm32,
}

impl Backend {
    pub fn parse(name: &str) -> Result<Backend, String> {
        match name {
            "wasmtime" => Ok(Backend::Wasmtime),
            "cranelift" => Ok(Backend::Cranelift),
            "llvm" => Ok(Backend::Llvm),
            "llvm-wasm32" => Ok(Backend::LlvmWasm32),
            other => {
                Err(format!("unknown backend `{other}` (expected wasmtime, cranelift, llvm or llvm-wasm32)"))
            }
        }
    }

    /// The target legalization prepares a module for before this backend runs it. The native
    /// backends run atomics themselves, as wasmtime does on one thread (and refuse shared
    /// memories); the wasm32 path has no threads, so atomics become plain accesses there.
    pub fn target(self) -> &'static str {
        match self {
            Backend::Wasmtime | Backend::Cranelift | Backend::Llvm => "wasmtime",
            Backend::LlvmWasm32 => "wasmtime,-threads",
        }
    }
}

/// A value a function returned: its type and raw bits (an f32 in the low 32 bits; a v128's
/// low 64 bits, its high ones in `high`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunValue {
    pub kind: ValueKind,
    pub bits: u64,
    /// The upper 64 bits of a v128 (0 for the other kinds).
    pub high: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    I32,
    I64,
    F32,
    F64,
    /// A reference; only its nullness is printed (addresses differ between backends).
    Ref,
    /// A vector: two 64-bit slots in argument and result lists, the low half first.
    V128,
}

impl ValueKind {
    fn of(ctx: &Context, ty: Type) -> Option<ValueKind> {
        Some(match ty {
            Type::I32 => ValueKind::I32,
            Type::I64 => ValueKind::I64,
            Type::F32 => ValueKind::F32,
            Type::F64 => ValueKind::F64,
            _ if wasmir_dialects::refs::ref_type(ctx, ty).is_some() => ValueKind::Ref,
            _ if wasmir_dialects::simd::is_v128(ctx, ty) => ValueKind::V128,
            _ => return None,
        })
    }

    /// How many 64-bit slots a value of this kind takes in argument and result lists.
    pub fn slots(self) -> usize {
        if self == ValueKind::V128 { 2 } else { 1 }
    }
}

impl std::fmt::Display for RunValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ValueKind::I32 => write!(f, "i32 {}", self.bits as u32 as i32),
            ValueKind::I64 => write!(f, "i64 {}", self.bits as i64),
            ValueKind::F32 => {
                let x = f32::from_bits(self.bits as u32);
                if x.is_nan() { write!(f, "f32 nan") } else { write!(f, "f32 {x}") }
            }
            ValueKind::F64 => {
                let x = f64::from_bits(self.bits);
                if x.is_nan() { write!(f, "f64 nan") } else { write!(f, "f64 {x}") }
            }
            ValueKind::Ref => write!(f, "ref {}", if self.bits == 0 { "null" } else { "non-null" }),
            ValueKind::V128 => write!(f, "v128 0x{:016x}{:016x}", self.high, self.bits),
        }
    }
}

/// What a run did: returned values, or trapped with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Returned(Vec<RunValue>),
    Trapped(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Returned(values) => values.iter().try_for_each(|v| writeln!(f, "{v}")),
            Outcome::Trapped(reason) => writeln!(f, "trap: {reason}"),
        }
    }
}

/// Parses one argument for a parameter of `kind`: integers wrap (18446744073709551615 is -1
/// as an i64), floats take decimals, `nan`, `inf` and `-inf`.
pub fn parse_arg(text: &str, kind: ValueKind) -> Result<u64, String> {
    let text = text.trim();
    let int = |bits: u32| -> Result<u64, String> {
        let v: i128 = text.parse().map_err(|_| format!("`{text}` is not an integer"))?;
        let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << bits) - 1);
        if v < lo || v > hi {
            return Err(format!("`{text}` does not fit in {bits} bits"));
        }
        Ok((v as u128 as u64) & if bits == 64 { u64::MAX } else { (1 << bits) - 1 })
    };
    let float = || -> Result<f64, String> {
        match text {
            "nan" => Ok(f64::NAN),
            "-nan" => Ok(-f64::NAN),
            "inf" | "+inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => text.parse::<f64>().map_err(|_| format!("`{text}` is not a number")),
        }
    };
    match kind {
        ValueKind::I32 => int(32),
        ValueKind::I64 => int(64),
        ValueKind::F32 => Ok(u64::from((float()? as f32).to_bits())),
        ValueKind::F64 => Ok(float()?.to_bits()),
        ValueKind::Ref => Err("reference arguments cannot be given on the command line".into()),
        ValueKind::V128 => Err("a v128 argument is two slots: use `parse_arg_slots`".into()),
    }
}

/// Parses one argument into its slots: one for scalars, two for a v128, written as 32
/// hexadecimal digits with `0x` (`0x000000040000000300000002000000010` is `i32x4 1 2 3 4`).
pub fn parse_arg_slots(text: &str, kind: ValueKind) -> Result<Vec<u64>, String> {
    if kind != ValueKind::V128 {
        return parse_arg(text, kind).map(|bits| vec![bits]);
    }
    let digits = text.trim().strip_prefix("0x").unwrap_or(text.trim());
    let v = u128::from_str_radix(digits, 16)
        .ok()
        .filter(|_| digits.len() == 32)
        .ok_or_else(|| format!("`{text}` is not a v128: 0x and 32 hexadecimal digits"))?;
    Ok(vec![v as u64, (v >> 64) as u64])
}

/// The parameter and result kinds of the function exported as `name`.
pub fn export_signature(
    ctx: &Context,
    module: &Module,
    name: &str,
) -> Result<(Vec<ValueKind>, Vec<ValueKind>), Diagnostic> {
    let layout = cranelift::Layout::of_exports(ctx, module);
    let fty =
        layout.into_iter().find(|(n, _)| n == name).map(|(_, ty)| ty).ok_or_else(|| {
            Diagnostic::error(Location::Unknown, format!("no exported function \"{name}\""))
        })?;
    signature_kinds(ctx, fty)
}

/// The parameter and result kinds of a function type.
pub fn signature_kinds(ctx: &Context, fty: Type) -> Result<(Vec<ValueKind>, Vec<ValueKind>), Diagnostic> {
    let (params, results) = ctx
        .function_signature(fty)
        .ok_or_else(|| Diagnostic::error(Location::Unknown, "not a function type"))?;
    let kinds = |tys: &[Type]| {
        tys.iter()
            .map(|&t| {
                ValueKind::of(ctx, t).ok_or_else(|| {
                    Diagnostic::error(
                        Location::Unknown,
                        format!(
                            "--run: the type `{}` cannot be passed or printed",
                            wasmir_ir::printer::type_to_string(ctx, t)
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok((kinds(params)?, kinds(results)?))
}

/// Runs export `name` of a legalized `module` with `args` (raw bits) on `backend`, in a
/// fresh instance.
pub fn run(
    ctx: &Context,
    module: &Module,
    name: &str,
    args: &[u64],
    backend: Backend,
) -> Result<Outcome, Diagnostic> {
    match Session::new(ctx, module, backend)? {
        (_, Some(trap)) => Ok(Outcome::Trapped(trap)),
        (mut session, None) => session.call(name, args),
    }
}

/// An instantiated module on one backend; calls share its state (memories, globals, tables),
/// as the calls of a spec test script do.
pub struct Session {
    exports: Vec<(String, Vec<ValueKind>)>,
    /// `None` when instantiation trapped.
    instance: Option<Instance>,
}

enum Instance {
    Wasmtime(wasmtime::Store<wasmtime::StoreLimits>, wasmtime::Instance),
    /// Cranelift's or LLVM's code on the native runtime.
    Native(wasmir_lowering::native::Instance),
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("exports", &self.exports).finish_non_exhaustive()
    }
}

impl Session {
    /// Instantiates a legalized module. A trap while instantiating (a segment out of range,
    /// a trapping start function) comes back as its reason beside the session.
    pub fn new(
        ctx: &Context,
        module: &Module,
        backend: Backend,
    ) -> Result<(Session, Option<String>), Diagnostic> {
        Session::create(ctx, module, backend, false)
    }

    /// As `new`, with fuel metering in wasmtime too (which slows it), so that `set_fuel`
    /// bounds every backend; the start function gets `START_FUEL`.
    pub fn metered(
        ctx: &Context,
        module: &Module,
        backend: Backend,
    ) -> Result<(Session, Option<String>), Diagnostic> {
        Session::create(ctx, module, backend, true)
    }

    fn create(
        ctx: &Context,
        module: &Module,
        backend: Backend,
        metered: bool,
    ) -> Result<(Session, Option<String>), Diagnostic> {
        let start_fuel = metered.then_some(START_FUEL);
        let mut exports = Vec::new();
        for (name, fty) in cranelift::Layout::of_exports(ctx, module) {
            if let Ok((_, results)) = signature_kinds(ctx, fty) {
                exports.push((name, results));
            }
        }
        match backend {
            Backend::Cranelift => {
                let (instance, trap) =
                    cranelift::instantiate(ctx, module, CraneliftOptions::default(), start_fuel)?;
                let instance = trap.is_none().then_some(Instance::Native(instance));
                Ok((Session { exports, instance }, trap.map(|t| t.message().to_string())))
            }
            Backend::Wasmtime | Backend::LlvmWasm32 => {
                let wasm = if backend == Backend::Wasmtime {
                    wasmir_lowering::emit_wasm(ctx, module)?
                } else {
                    emit_llvm_wasm32(ctx, module)?
                };
                let (store, instance) = instantiate_wasmtime(&wasm, metered)?;
                Ok(match instance {
                    Ok(instance) => {
                        (Session { exports, instance: Some(Instance::Wasmtime(store, instance)) }, None)
                    }
                    Err(trap) => (Session { exports, instance: None }, Some(trap)),
                })
            }
            #[cfg(feature = "llvm")]
            Backend::Llvm => {
                let (instance, trap) =
                    wasmir_lowering::llvm::instantiate(ctx, module, Default::default(), start_fuel)?;
                let instance = trap.is_none().then_some(Instance::Native(instance));
                Ok((Session { exports, instance }, trap.map(|t| t.message().to_string())))
            }
            #[cfg(not(feature = "llvm"))]
            Backend::Llvm => Err(without_llvm()),
        }
    }

    /// Limits every later call: wasmtime (in a `metered` session) counts `fuel` in
    /// instructions, the native backends in calls and loop iterations, so only whether a call
    /// runs out is comparable, not where.
    pub fn set_fuel(&mut self, fuel: u64) {
        match &mut self.instance {
            Some(Instance::Native(instance)) => instance.set_fuel(fuel.min(i64::MAX as u64) as i64),
            Some(Instance::Wasmtime(store, _)) => {
                let _ = store.set_fuel(fuel.saturating_mul(WASMTIME_FUEL_PER_UNIT));
            }
            None => {}
        }
    }

    /// Calls export `name` with raw argument bits.
    pub fn call(&mut self, name: &str, args: &[u64]) -> Result<Outcome, Diagnostic> {
        let results =
            self.exports.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone()).ok_or_else(|| {
                Diagnostic::error(Location::Unknown, format!("no exported function \"{name}\""))
            })?;
        let raw = match &mut self.instance {
            Some(Instance::Native(instance)) => {
                instance.call(name, args)?.map_err(|t| t.message().to_string())
            }
            Some(Instance::Wasmtime(store, instance)) => call_wasmtime(store, instance, name, args)?,
            None => {
                return Err(Diagnostic::error(Location::Unknown, "the module trapped while instantiating"));
            }
        };
        Ok(match raw {
            Ok(slots) => {
                let mut slots = slots.into_iter();
                let mut next = || slots.next().unwrap_or(0);
                Outcome::Returned(
                    results
                        .iter()
                        .map(|&kind| {
                            let bits = next();
                            let high = if kind == ValueKind::V128 { next() } else { 0 };
                            RunValue { kind, bits, high }
                        })
                        .collect(),
                )
            }
            Err(reason) => Outcome::Trapped(reason),
        })
    }
}

type Trapped<T> = Result<T, String>;

/// The `.wasm` of LLVM's wasm32 path at LLVM's default level.
fn emit_llvm_wasm32(ctx: &Context, module: &Module) -> Result<Vec<u8>, Diagnostic> {
    #[cfg(feature = "llvm")]
    return wasmir_lowering::llvm::emit_wasm32(
        ctx,
        module,
        Default::default(),
        wasmir_lowering::llvm::Wasm32Output::Wasm,
    );
    #[cfg(not(feature = "llvm"))]
    {
        let _ = (ctx, module);
        Err(without_llvm())
    }
}

/// The largest memory any backend grows to (the native runtime's limit).
const MAX_MEMORY_BYTES: usize = 4 << 30;

/// Fuel for a metered session's start function (native units).
pub const START_FUEL: u64 = 1_000_000;

/// Wasmtime's fuel is per instruction; a unit of native fuel is a call or a loop iteration.
const WASMTIME_FUEL_PER_UNIT: u64 = 64;

/// A wasmtime configuration with every proposal WasmIR imports and emits (Wasm 3.0 without
/// SIMD and exceptions, plus threads), for running what the Wasm lowering produces.
pub fn wasmtime_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config
        .wasm_multi_memory(true)
        .wasm_memory64(true)
        .wasm_tail_call(true)
        .wasm_function_references(true)
        .wasm_gc(true)
        .wasm_extended_const(true)
        .wasm_threads(true)
        .shared_memory(true)
        // Relaxed SIMD computes one way on every backend (specs/simd.md).
        .relaxed_simd_deterministic(true);
    config
}

/// Instantiates a `.wasm` binary in wasmtime with spectest's imports.
fn instantiate_wasmtime(
    wasm: &[u8],
    metered: bool,
) -> Result<(wasmtime::Store<wasmtime::StoreLimits>, Trapped<wasmtime::Instance>), Diagnostic> {
    use wasmtime::{
        Engine, Func, Global, GlobalType, Linker, Memory, MemoryType, Module as WModule, Mutability, Ref,
        RefType, Store, Table, TableType, Val, ValType,
    };
    let mut config = wasmtime_config();
    config
        .consume_fuel(metered)
        // As the native backends do: a NaN result is the canonical NaN.
        .cranelift_nan_canonicalization(true);
    let engine = Engine::new(&config).map_err(wasmtime_error)?;
    let module = WModule::new(&engine, wasm).map_err(wasmtime_error)?;
    // The native runtime's limit (memories of at most 4 GiB), so that a `memory.grow` past it
    // fails on every backend alike (Wasm lets it fail).
    let limits = wasmtime::StoreLimitsBuilder::new().memory_size(MAX_MEMORY_BYTES).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits| limits);
    if metered {
        store.set_fuel(START_FUEL * WASMTIME_FUEL_PER_UNIT).map_err(wasmtime_error)?;
    }
    let mut linker: Linker<wasmtime::StoreLimits> = Linker::new(&engine);
    for (field, params) in [
        ("print", vec![]),
        ("print_i32", vec![ValType::I32]),
        ("print_i64", vec![ValType::I64]),
        ("print_f32", vec![ValType::F32]),
        ("print_f64", vec![ValType::F64]),
        ("print_i32_f32", vec![ValType::I32, ValType::F32]),
        ("print_f64_f64", vec![ValType::F64, ValType::F64]),
    ] {
        let ty = wasmtime::FuncType::new(&engine, params, []);
        let f = Func::new(&mut store, ty, |_, _, _| Ok(()));
        linker.define(&store, "spectest", field, f).map_err(wasmtime_error)?;
    }
    for (field, val) in [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(666.6f32.to_bits())),
        ("global_f64", Val::F64(666.6f64.to_bits())),
    ] {
        let ty = GlobalType::new(val.ty(&store).map_err(wasmtime_error)?, Mutability::Const);
        let g = Global::new(&mut store, ty, val).map_err(wasmtime_error)?;
        linker.define(&store, "spectest", field, g).map_err(wasmtime_error)?;
    }
    let table = Table::new(&mut store, TableType::new(RefType::FUNCREF, 10, Some(20)), Ref::Func(None))
        .map_err(wasmtime_error)?;
    linker.define(&store, "spectest", "table", table).map_err(wasmtime_error)?;
    let memory = Memory::new(&mut store, MemoryType::new(1, Some(2))).map_err(wasmtime_error)?;
    linker.define(&store, "spectest", "memory", memory).map_err(wasmtime_error)?;
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(i) => Ok(i),
        Err(e) => Err(trap_reason(&e).ok_or_else(|| wasmtime_error(e))?),
    };
    Ok((store, instance))
}

fn wasmtime_error(e: wasmtime::Error) -> Diagnostic {
    Diagnostic::error(Location::Unknown, format!("wasmtime: {e:#}"))
}

/// Calls an export in wasmtime; `Err` inside is a trap's reason in the shared wording.
fn call_wasmtime(
    store: &mut wasmtime::Store<wasmtime::StoreLimits>,
    instance: &wasmtime::Instance,
    name: &str,
    args: &[u64],
) -> Result<Trapped<Vec<u64>>, Diagnostic> {
    use wasmtime::{Val, ValType};
    let func = instance
        .get_func(&mut *store, name)
        .ok_or_else(|| Diagnostic::error(Location::Unknown, format!("no exported function \"{name}\"")))?;
    let ty = func.ty(&*store);
    // Arguments in slots: a v128 takes two, the low half first.
    let mut slots = args.iter().copied();
    let mut next = || slots.next().unwrap_or(0);
    let params: Vec<Val> = ty
        .params()
        .map(|t| match t {
            ValType::I32 => Val::I32(next() as u32 as i32),
            ValType::I64 => Val::I64(next() as i64),
            ValType::F32 => Val::F32(next() as u32),
            ValType::F64 => Val::F64(next()),
            ValType::V128 => {
                let low = next();
                Val::V128((u128::from(next()) << 64 | u128::from(low)).into())
            }
            _ => {
                next(); // a reference's slot: not passed from here
                Val::I32(0)
            }
        })
        .collect();
    let mut results = vec![Val::I32(0); ty.results().len()];
    match func.call(&mut *store, &params, &mut results) {
        Ok(()) => Ok(Ok(results
            .iter()
            .flat_map(|v| match v {
                Val::I32(x) => vec![*x as u32 as u64],
                Val::I64(x) => vec![*x as u64],
                Val::F32(x) => vec![u64::from(*x)],
                Val::F64(x) => vec![*x],
                Val::V128(x) => vec![x.as_u128() as u64, (x.as_u128() >> 64) as u64],
                Val::FuncRef(f) => vec![u64::from(f.is_some())],
                Val::ExternRef(r) => vec![u64::from(r.is_some())],
                Val::AnyRef(r) => vec![u64::from(r.is_some())],
                _ => vec![0],
            })
            .collect())),
        Err(e) => Ok(Err(trap_reason(&e).ok_or_else(|| wasmtime_error(e))?)),
    }
}

/// A wasmtime trap in the words `TrapCode::message` uses.
fn trap_reason(e: &wasmtime::Error) -> Option<String> {
    use wasmtime::Trap as T;
    let trap = e.downcast_ref::<T>()?;
    let code = match trap {
        T::UnreachableCodeReached => TrapCode::Unreachable,
        T::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        T::IntegerDivisionByZero => TrapCode::DivisionByZero,
        T::IntegerOverflow => TrapCode::IntegerOverflow,
        T::BadConversionToInteger => TrapCode::BadConversion,
        T::TableOutOfBounds => TrapCode::TableOutOfBounds,
        T::IndirectCallToNull => TrapCode::UninitializedElement,
        T::BadSignature => TrapCode::BadSignature,
        T::StackOverflow => TrapCode::StackExhausted,
        T::NullReference => TrapCode::NullReference,
        T::OutOfFuel => TrapCode::OutOfFuel,
        T::HeapMisaligned => TrapCode::UnalignedAtomic,
        T::AtomicWaitNonSharedMemory => TrapCode::AtomicWaitNonShared,
        other => return Some(other.to_string()),
    };
    Some(code.message().to_string())
}
