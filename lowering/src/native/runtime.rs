//! The host side of natively compiled code: the instance's state (memories, tables, globals,
//! segments, the `vmctx` block the code reads), the `wasmir_rt_*` functions the code calls,
//! instantiation (globals, segments, start function) and calls into exported functions.
//!
//! This is the one place in WasmIR with `unsafe` code: calling machine code produced by the
//! JIT, and the runtime functions that machine code calls back with its `vmctx` pointer.
#![allow(unsafe_code)]

use crate::native::layout::{
    DEPTH_SLOT, FUEL_SLOT, Layout, RUNTIME_SLOT, SPECTEST, TRAP_SLOT, eval_const_region,
    eval_const_region_wide,
};
use wasmir_ir::{Body, Context, Diagnostic, Location};

/// Why native code trapped; stored in the `vmctx` trap slot (0 = no trap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum TrapCode {
    Unreachable = 1,
    MemoryOutOfBounds,
    DivisionByZero,
    IntegerOverflow,
    BadConversion,
    UndefinedElement,
    UninitializedElement,
    BadSignature,
    StackExhausted,
    NullReference,
    TableOutOfBounds,
    OutOfFuel,
    UnalignedAtomic,
    AtomicWaitNonShared,
}

impl TrapCode {
    const ALL: [TrapCode; 14] = [
        TrapCode::Unreachable,
        TrapCode::MemoryOutOfBounds,
        TrapCode::DivisionByZero,
        TrapCode::IntegerOverflow,
        TrapCode::BadConversion,
        TrapCode::UndefinedElement,
        TrapCode::UninitializedElement,
        TrapCode::BadSignature,
        TrapCode::StackExhausted,
        TrapCode::NullReference,
        TrapCode::TableOutOfBounds,
        TrapCode::OutOfFuel,
        TrapCode::UnalignedAtomic,
        TrapCode::AtomicWaitNonShared,
    ];

    fn from_slot(code: u64) -> Option<TrapCode> {
        TrapCode::ALL.into_iter().find(|&c| c as u64 == code)
    }

    /// The trap's reason, worded as the Wasm spec interpreter words it (the same words for
    /// every backend, so `--run` output can be compared).
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::DivisionByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversion => "invalid conversion to integer",
            TrapCode::UndefinedElement | TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::StackExhausted => "call stack exhausted",
            TrapCode::NullReference => "null reference",
            TrapCode::OutOfFuel => "fuel exhausted",
            TrapCode::UnalignedAtomic => "unaligned atomic",
            TrapCode::AtomicWaitNonShared => "atomic wait on non-shared memory",
        }
    }
}

/// A linear memory: its bytes and how far it may grow, in pages.
struct HostMemory {
    bytes: Vec<u8>,
    max_pages: u64,
}

/// A table of references (function reference records or null).
struct HostTable {
    entries: Vec<u64>,
    max: u64,
}

/// Everything an instance owns besides its code. Native code reaches it through `vmctx`.
pub(crate) struct Runtime {
    vmctx: Box<[u64]>,
    memories: Vec<HostMemory>,
    tables: Vec<HostTable>,
    datas: Vec<Option<Vec<u8>>>,
    elems: Vec<Option<Vec<u64>>>,
    base_slots: Vec<(usize, usize)>,
    table_slots: Vec<(usize, usize)>,
}

const PAGE: u64 = 65536;

impl Runtime {
    fn sync_memory(&mut self, m: usize) {
        let (base, len) = self.base_slots[m];
        self.vmctx[base] = self.memories[m].bytes.as_mut_ptr() as u64;
        self.vmctx[len] = self.memories[m].bytes.len() as u64;
    }

    fn sync_table(&mut self, t: usize) {
        let (base, len) = self.table_slots[t];
        self.vmctx[base] = self.tables[t].entries.as_mut_ptr() as u64;
        self.vmctx[len] = self.tables[t].entries.len() as u64;
    }

    fn trap(&mut self, code: TrapCode) {
        self.vmctx[(TRAP_SLOT / 8) as usize] = code as u64;
    }

    fn memory_range(&self, m: usize, start: u64, len: u64) -> Option<std::ops::Range<usize>> {
        let end = start.checked_add(len)?;
        (end <= self.memories[m].bytes.len() as u64).then_some(start as usize..end as usize)
    }

    fn table_range(&self, t: usize, start: u64, len: u64) -> Option<std::ops::Range<usize>> {
        let end = start.checked_add(len)?;
        (end <= self.tables[t].entries.len() as u64).then_some(start as usize..end as usize)
    }
}

/// The runtime behind a `vmctx` pointer.
///
/// # Safety
/// `vmctx` must be the context block of a live instance, and no other reference to its runtime
/// may be in use (native code calls at most one runtime function at a time).
unsafe fn runtime<'a>(vmctx: *mut u64) -> &'a mut Runtime {
    // SAFETY: the caller guarantees `vmctx` is an instance's block; its runtime slot holds the
    // `Box<Runtime>` pointer set by `Instance::new`, alive as long as the instance.
    unsafe { &mut *(*vmctx.add((RUNTIME_SLOT / 8) as usize) as *mut Runtime) }
}

extern "C" fn wasmir_rt_memory_grow(vmctx: *mut u64, m: u32, delta: u64) -> u64 {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    let m = m as usize;
    let old = rt.memories[m].bytes.len() as u64 / PAGE;
    let Some(new) = old.checked_add(delta).filter(|&n| n <= rt.memories[m].max_pages) else {
        return u64::MAX;
    };
    // A fresh zeroed allocation (calloc: pages are zeroed lazily by the OS, as a reserved
    // Wasm memory is) and a copy, rather than writing zeros over the whole new size.
    let Ok(len) = usize::try_from(new * PAGE) else { return u64::MAX };
    let mut grown: Vec<u8> = Vec::new();
    if grown.try_reserve_exact(len).is_err() {
        return u64::MAX;
    }
    drop(grown);
    let mut grown = vec![0u8; len];
    let bytes = &mut rt.memories[m].bytes;
    grown[..bytes.len()].copy_from_slice(bytes);
    *bytes = grown;
    rt.sync_memory(m);
    old
}

extern "C" fn wasmir_rt_memory_fill(vmctx: *mut u64, m: u32, dst: u64, value: u32, len: u64) {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    match rt.memory_range(m as usize, dst, len) {
        Some(r) => rt.memories[m as usize].bytes[r].fill(value as u8),
        None => rt.trap(TrapCode::MemoryOutOfBounds),
    }
}

extern "C" fn wasmir_rt_memory_copy(vmctx: *mut u64, dm: u32, sm: u32, dst: u64, src: u64, len: u64) {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    let (Some(d), Some(s)) = (rt.memory_range(dm as usize, dst, len), rt.memory_range(sm as usize, src, len))
    else {
        return rt.trap(TrapCode::MemoryOutOfBounds);
    };
    if dm == sm {
        rt.memories[dm as usize].bytes.copy_within(s, d.start);
    } else {
        let bytes = rt.memories[sm as usize].bytes[s].to_vec();
        rt.memories[dm as usize].bytes[d].copy_from_slice(&bytes);
    }
}

extern "C" fn wasmir_rt_memory_init(vmctx: *mut u64, m: u32, segment: u32, dst: u64, src: u32, len: u32) {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    let data = rt.datas[segment as usize].clone().unwrap_or_default();
    let source =
        (u64::from(src) + u64::from(len) <= data.len() as u64).then(|| src as usize..(src + len) as usize);
    match (rt.memory_range(m as usize, dst, u64::from(len)), source) {
        (Some(d), Some(s)) => rt.memories[m as usize].bytes[d].copy_from_slice(&data[s]),
        _ => rt.trap(TrapCode::MemoryOutOfBounds),
    }
}

extern "C" fn wasmir_rt_data_drop(vmctx: *mut u64, segment: u32) {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    rt.datas[segment as usize] = None;
}

extern "C" fn wasmir_rt_table_grow(vmctx: *mut u64, t: u32, init: u64, delta: u32) -> u32 {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    let t = t as usize;
    let old = rt.tables[t].entries.len() as u64;
    let new = old + u64::from(delta);
    if new > rt.tables[t].max || new > u64::from(u32::MAX) {
        return u32::MAX;
    }
    rt.tables[t].entries.resize(new as usize, init);
    rt.sync_table(t);
    old as u32
}

extern "C" fn wasmir_rt_table_fill(vmctx: *mut u64, t: u32, dst: u32, value: u64, len: u32) {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    match rt.table_range(t as usize, u64::from(dst), u64::from(len)) {
        Some(r) => rt.tables[t as usize].entries[r].fill(value),
        None => rt.trap(TrapCode::TableOutOfBounds),
    }
}

extern "C" fn wasmir_rt_table_copy(vmctx: *mut u64, dt: u32, st: u32, dst: u32, src: u32, len: u32) {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    let len = u64::from(len);
    let (Some(d), Some(s)) =
        (rt.table_range(dt as usize, u64::from(dst), len), rt.table_range(st as usize, u64::from(src), len))
    else {
        return rt.trap(TrapCode::TableOutOfBounds);
    };
    let items = rt.tables[st as usize].entries[s].to_vec();
    rt.tables[dt as usize].entries[d].copy_from_slice(&items);
}

extern "C" fn wasmir_rt_table_init(vmctx: *mut u64, t: u32, segment: u32, dst: u32, src: u32, len: u32) {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    let items = rt.elems[segment as usize].clone().unwrap_or_default();
    let source =
        (u64::from(src) + u64::from(len) <= items.len() as u64).then(|| src as usize..(src + len) as usize);
    match (rt.table_range(t as usize, u64::from(dst), u64::from(len)), source) {
        (Some(d), Some(s)) => rt.tables[t as usize].entries[d].copy_from_slice(&items[s]),
        _ => rt.trap(TrapCode::TableOutOfBounds),
    }
}

extern "C" fn wasmir_rt_elem_drop(vmctx: *mut u64, segment: u32) {
    // SAFETY: called only by native code with its own vmctx.
    let rt = unsafe { runtime(vmctx) };
    rt.elems[segment as usize] = None;
}

/// The runtime functions by symbol, for the JIT's symbol lookup.
pub(crate) fn libcall_symbols() -> Vec<(&'static str, *const u8)> {
    use crate::native::Libcall as L;
    vec![
        (L::MemoryGrow.symbol(), wasmir_rt_memory_grow as *const u8),
        (L::MemoryFill.symbol(), wasmir_rt_memory_fill as *const u8),
        (L::MemoryCopy.symbol(), wasmir_rt_memory_copy as *const u8),
        (L::MemoryInit.symbol(), wasmir_rt_memory_init as *const u8),
        (L::DataDrop.symbol(), wasmir_rt_data_drop as *const u8),
        (L::TableGrow.symbol(), wasmir_rt_table_grow as *const u8),
        (L::TableFill.symbol(), wasmir_rt_table_fill as *const u8),
        (L::TableCopy.symbol(), wasmir_rt_table_copy as *const u8),
        (L::TableInit.symbol(), wasmir_rt_table_init as *const u8),
        (L::ElemDrop.symbol(), wasmir_rt_elem_drop as *const u8),
    ]
}

/// An entry trampoline: `(vmctx, values)` reads the arguments from `values` (8 bytes each)
/// and writes the results back there.
type Entry = extern "C" fn(*mut u64, *mut u64);

/// The outcome of a call: results as raw bits (f32 in the low 32 bits), or a trap.
pub type CallOutcome = Result<Vec<u64>, TrapCode>;

/// Machine code an instance runs, released when the instance goes.
pub(crate) trait NativeCode {
    fn release(self: Box<Self>);
}

/// Code from the Cranelift JIT.
pub(crate) struct CraneliftCode(pub cranelift_jit::JITModule);

impl NativeCode for CraneliftCode {
    fn release(self: Box<Self>) {
        // SAFETY: no code of this module runs any more (its instance is going), and no pointer
        // into it survives the instance.
        unsafe { self.0.free_memory() };
    }
}

/// A compiled and instantiated module.
pub struct Instance {
    code: Option<Box<dyn NativeCode>>,
    runtime: *mut Runtime,
    /// Entry trampolines by function index.
    entries: Vec<Option<*const u8>>,
    /// Number of parameters and results by function index.
    arity: Vec<(usize, usize)>,
    exports: Vec<(String, usize)>,
    /// Fuel each call starts with (calls plus loop iterations).
    fuel: i64,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("exports", &self.exports).finish_non_exhaustive()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: `runtime` came from `Box::into_raw` in `Instance::new` and is freed once.
        drop(unsafe { Box::from_raw(self.runtime) });
        if let Some(code) = self.code.take() {
            code.release();
        }
    }
}

/// What `Instance::new` needs from compilation.
pub(crate) struct Compiled {
    /// Fuel for the start function (`i64::MAX`: unlimited).
    pub start_fuel: i64,
    pub code: Box<dyn NativeCode>,
    pub entries: Vec<Option<*const u8>>,
    pub records: *const u8,
}

impl Instance {
    /// Sets up memories, tables, globals and segments, then runs the start function.
    pub(crate) fn new(
        ctx: &Context,
        module: &wasmir_ir::Module,
        layout: &Layout,
        compiled: Compiled,
    ) -> Result<(Instance, Option<TrapCode>), Diagnostic> {
        let body: &Body = module.body();
        let records = compiled.records as u64;
        let func_ref = |i: usize| records + 16 * i as u64;
        let mut vmctx = vec![0u64; layout.vmctx_slots()].into_boxed_slice();
        // Globals, in order (an initializer may read earlier globals).
        let mut globals = vec![0u128; layout.globals.len()];
        for (i, g) in layout.globals.iter().enumerate() {
            globals[i] = match &g.import {
                Some((_, field)) => spectest_global(field, g.ty).map(u128::from).ok_or_else(|| {
                    Diagnostic::error(
                        body.op_loc(g.op),
                        format!("spectest has no global \"{field}\" of this type"),
                    )
                })?,
                None => {
                    let region = *body.op_regions(g.op).first().ok_or_else(|| {
                        Diagnostic::error(body.op_loc(g.op), "a global without an initializer")
                    })?;
                    eval_const_region_wide(ctx, body, region, layout, &globals, &func_ref)?.pop().unwrap_or(0)
                }
            };
            // A v128 takes two slots, the low half first.
            let slot = (layout.global_offset(i) / 8) as usize;
            vmctx[slot] = globals[i] as u64;
            if wasmir_dialects::simd::is_v128(ctx, g.ty) {
                vmctx[slot + 1] = (globals[i] >> 64) as u64;
            }
        }
        let memories = layout
            .memories
            .iter()
            .map(|m| {
                let (min, max) = match &m.import {
                    Some(_) => (1, Some(2)),
                    None => (m.min, m.max),
                };
                // At most 4 GiB, for 64-bit memories too (a host limit, as wasmtime has one).
                let cap = 65536;
                HostMemory { bytes: vec![0; (min * PAGE) as usize], max_pages: max.unwrap_or(cap).min(cap) }
            })
            .collect();
        let mut tables = Vec::new();
        for t in &layout.tables {
            let (min, max) = match &t.import {
                Some(_) => (10, Some(20)),
                None => (t.min, t.max),
            };
            let init = match body.op_regions(t.op).first() {
                Some(&r) if t.import.is_none() => {
                    eval_const_region(ctx, body, r, layout, &globals, &func_ref)?.pop().unwrap_or(0)
                }
                _ => 0,
            };
            tables.push(HostTable {
                entries: vec![init; min as usize],
                max: max.unwrap_or(u64::from(u32::MAX)),
            });
        }
        let mut runtime = Box::new(Runtime {
            vmctx,
            memories,
            tables,
            datas: Vec::new(),
            elems: Vec::new(),
            base_slots: (0..layout.memories.len())
                .map(|m| {
                    ((layout.memory_base_offset(m) / 8) as usize, (layout.memory_len_offset(m) / 8) as usize)
                })
                .collect(),
            table_slots: (0..layout.tables.len())
                .map(|t| {
                    ((layout.table_base_offset(t) / 8) as usize, (layout.table_len_offset(t) / 8) as usize)
                })
                .collect(),
        });
        for m in 0..layout.memories.len() {
            runtime.sync_memory(m);
        }
        for t in 0..layout.tables.len() {
            runtime.sync_table(t);
        }
        let runtime_ptr: *mut Runtime = &mut *runtime;
        runtime.vmctx[(RUNTIME_SLOT / 8) as usize] = runtime_ptr as u64;
        let arity = layout
            .funcs
            .iter()
            .map(|f| {
                // In 8-byte slots: a v128 takes two.
                let slots = |tys: &[wasmir_ir::Type]| -> usize {
                    tys.iter().map(|&t| if wasmir_dialects::simd::is_v128(ctx, t) { 2 } else { 1 }).sum()
                };
                ctx.function_signature(f.ty).map_or((0, 0), |(p, r)| (slots(p), slots(r)))
            })
            .collect();
        let mut instance = Instance {
            code: Some(compiled.code),
            runtime: Box::into_raw(runtime),
            entries: compiled.entries,
            arity,
            exports: layout.exports.clone(),
            fuel: compiled.start_fuel,
        };
        // Segments: active ones are applied in order and then dropped; a segment out of
        // range traps instantiation, as in Wasm.
        // SAFETY: the runtime is alive and no native code runs.
        let rt = unsafe { &mut *instance.runtime };
        for e in &layout.elems {
            let v = wasmir_ir::OpRef::new(ctx, body, e.op);
            let regions = body.op_regions(e.op);
            let items = eval_const_region(ctx, body, regions[0], layout, &globals, &func_ref)?;
            match v.attr("table").and_then(|a| ctx.attr_as_symbol(a)) {
                Some(table) => {
                    let t = *layout
                        .table_index
                        .get(table)
                        .ok_or_else(|| Diagnostic::error(v.loc(), "unknown table"))?;
                    let offset = eval_const_region(ctx, body, regions[1], layout, &globals, &func_ref)?
                        .pop()
                        .unwrap_or(0);
                    let offset = if layout.tables[t].is64 { offset } else { offset & 0xFFFF_FFFF };
                    match rt.table_range(t, offset, items.len() as u64) {
                        Some(r) => rt.tables[t].entries[r].copy_from_slice(&items),
                        None => return Ok((instance, Some(TrapCode::TableOutOfBounds))),
                    }
                    rt.elems.push(None);
                }
                None if v.attr("declarative").is_some() => rt.elems.push(None),
                None => rt.elems.push(Some(items)),
            }
        }
        for d in &layout.datas {
            let v = wasmir_ir::OpRef::new(ctx, body, d.op);
            let bytes = v.attr("data").and_then(|a| ctx.attr_as_bytes(a)).unwrap_or_default().to_vec();
            match v.attr("memory").and_then(|a| ctx.attr_as_symbol(a)) {
                Some(memory) => {
                    let m = *layout
                        .memory_index
                        .get(memory)
                        .ok_or_else(|| Diagnostic::error(v.loc(), "unknown memory"))?;
                    let offset =
                        eval_const_region(ctx, body, body.op_regions(d.op)[0], layout, &globals, &func_ref)?
                            .pop()
                            .unwrap_or(0);
                    let offset = if layout.memories[m].is64 { offset } else { offset & 0xFFFF_FFFF };
                    match rt.memory_range(m, offset, bytes.len() as u64) {
                        Some(r) => rt.memories[m].bytes[r].copy_from_slice(&bytes),
                        None => return Ok((instance, Some(TrapCode::MemoryOutOfBounds))),
                    }
                    rt.datas.push(None);
                }
                None => rt.datas.push(Some(bytes)),
            }
        }
        let started = match layout.start {
            Some(start) => instance.call_index(start, &[]).err(),
            None => None,
        };
        instance.fuel = i64::MAX;
        Ok((instance, started))
    }

    /// Limits each later call to `fuel` units (one per call and per loop iteration); a call
    /// that runs out traps with `TrapCode::OutOfFuel`.
    pub fn set_fuel(&mut self, fuel: i64) {
        self.fuel = fuel;
    }

    /// The exported functions, by export name and function index.
    pub fn exports(&self) -> &[(String, usize)] {
        &self.exports
    }

    /// Calls an exported function with raw argument bits.
    pub fn call(&mut self, export: &str, args: &[u64]) -> Result<CallOutcome, Diagnostic> {
        let index = self.exports.iter().find(|(n, _)| n == export).map(|&(_, i)| i).ok_or_else(|| {
            Diagnostic::error(Location::Unknown, format!("no exported function \"{export}\""))
        })?;
        Ok(self.call_index(index, args))
    }

    fn call_index(&mut self, index: usize, args: &[u64]) -> CallOutcome {
        let (params, results) = self.arity[index];
        let entry = self.entries[index].expect("an entry trampoline for exports and the start function");
        let mut values = vec![0u64; params.max(results).max(1)];
        values[..args.len().min(params)].copy_from_slice(&args[..args.len().min(params)]);
        // SAFETY: the runtime is alive; no native code runs while Rust holds this reference.
        let rt = unsafe { &mut *self.runtime };
        rt.vmctx[(TRAP_SLOT / 8) as usize] = 0;
        rt.vmctx[(DEPTH_SLOT / 8) as usize] = 0;
        rt.vmctx[(FUEL_SLOT / 8) as usize] = self.fuel as u64;
        let vmctx = rt.vmctx.as_mut_ptr();
        // SAFETY: `entry` is this module's trampoline of type `Entry` (defined with the host's
        // default calling convention and the `(i64, i64)` signature), `vmctx` is this
        // instance's context block and `values` holds max(params, results) slots.
        let f: Entry = unsafe { std::mem::transmute::<*const u8, Entry>(entry) };
        // 20,000 nested frames (the depth limit) must fit whatever stack the caller runs on:
        // with less than that left, the call runs on a stack of its own.
        let values_ptr = values.as_mut_ptr();
        stacker::maybe_grow(NATIVE_STACK, NATIVE_STACK, || f(vmctx, values_ptr));
        // SAFETY: as above; the call has returned.
        let rt = unsafe { &mut *self.runtime };
        match TrapCode::from_slot(rt.vmctx[0]) {
            Some(trap) => Err(trap),
            None => {
                values.truncate(results);
                Ok(values)
            }
        }
    }
}

/// The stack native code runs with at least: room for the 20,000 frames the depth limit
/// allows (reserved, and only touched as deep as calls go).
const NATIVE_STACK: usize = 512 << 20;

/// spectest's globals: 666 in each type.
fn spectest_global(field: &str, ty: wasmir_ir::Type) -> Option<u64> {
    use wasmir_ir::Type as T;
    Some(match (field, ty) {
        ("global_i32", T::I32) => 666,
        ("global_i64", T::I64) => 666,
        ("global_f32", T::F32) => u64::from(666.6f32.to_bits()),
        ("global_f64", T::F64) => 666.6f64.to_bits(),
        _ => return None,
    })
}

/// Whether an import is one the native backends provide (spectest's).
pub fn is_spectest(import: &Option<(String, String)>) -> bool {
    import.as_ref().is_some_and(|(m, _)| m == SPECTEST)
}

/// Code from LLVM's JIT: the execution engine, and the LLVM context it lives in (freed after
/// the engine).
#[cfg(feature = "llvm")]
pub(crate) struct LlvmCode {
    engine: Option<inkwell::execution_engine::ExecutionEngine<'static>>,
    context: *mut inkwell::context::Context,
}

/// What an LLVM JIT build returns: the engine, the entry trampolines and the address of the
/// entry that reports the function reference records.
#[cfg(feature = "llvm")]
pub(crate) type LlvmCompiled = (Box<dyn NativeCode>, Vec<Option<*const u8>>, *const u8);

#[cfg(feature = "llvm")]
pub(crate) type LlvmBuild =
    (inkwell::execution_engine::ExecutionEngine<'static>, Vec<Option<*const u8>>, *const u8);

#[cfg(feature = "llvm")]
impl LlvmCode {
    /// Runs `build` with a fresh LLVM context that lives as long as the returned code.
    pub(crate) fn build(
        build: impl FnOnce(&'static inkwell::context::Context) -> Result<LlvmBuild, Diagnostic>,
    ) -> Result<LlvmCompiled, Diagnostic> {
        let context = Box::into_raw(Box::new(inkwell::context::Context::create()));
        // SAFETY: the context is freed only in `release` (after the engine) or below, once
        // nothing built from it is alive.
        let ll: &'static inkwell::context::Context = unsafe { &*context };
        match build(ll) {
            Ok((engine, entries, base)) => {
                Ok((Box::new(LlvmCode { engine: Some(engine), context }), entries, base))
            }
            Err(e) => {
                // SAFETY: `build` returned, dropping every module and value of the context.
                drop(unsafe { Box::from_raw(context) });
                Err(e)
            }
        }
    }
}

#[cfg(feature = "llvm")]
impl NativeCode for LlvmCode {
    fn release(mut self: Box<Self>) {
        drop(self.engine.take());
        // SAFETY: the engine (the last user of the context) is gone.
        drop(unsafe { Box::from_raw(self.context) });
    }
}

/// Calls an entry trampoline that needs no instance and returns what it wrote to slot 0.
#[cfg(feature = "llvm")]
pub(crate) fn call_raw_entry(entry: *const u8) -> u64 {
    let mut values = [0u64; 1];
    // SAFETY: `entry` is a trampoline of type `Entry` that ignores `vmctx`.
    let f: Entry = unsafe { std::mem::transmute::<*const u8, Entry>(entry) };
    f(std::ptr::null_mut(), values.as_mut_ptr());
    values[0]
}
