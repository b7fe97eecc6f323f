//! The LLVM backend's wasm32 path: what a module must be for it (`Plan`), the module-level
//! LLVM IR it needs (Wasm globals, export wrappers, an init function), linking the object with
//! wasm-ld, and finishing the linked binary with the module's own memory, data segments and
//! start function, which LLVM IR cannot place.

use crate::native::layout::{Layout, eval_const_region};
use inkwell::context::Context as LlvmContext;
use inkwell::module::{Linkage, Module as LlvmModule};
use inkwell::values::{BasicMetadataValueEnum, BasicValue, FunctionValue, GlobalValue};
use wasmir_ir::{Context, Diagnostic, Location, Module, OpRef, Type};

/// The export that names the init function until `finish` makes it the start function.
pub const INIT_EXPORT: &str = "__wasmir_init";

/// What the linked module gets besides the code, read from the WasmIR module (which must have
/// at most one memory, 32-bit and unshared, nothing imported but functions, and only
/// functions and its memory exported).
#[derive(Debug, Clone)]
pub struct Plan {
    /// The memory's limits in pages.
    pub memory: Option<(u64, Option<u64>)>,
    /// The names the memory is exported under.
    pub memory_exports: Vec<String>,
    /// Active data segments: offset and bytes.
    pub segments: Vec<(u32, Vec<u8>)>,
    /// Each table's function indices after instantiation.
    pub tables: Vec<Vec<Option<usize>>>,
    /// Each global's initial value (raw bits).
    pub global_inits: Vec<u64>,
}

pub fn refuse(loc: Location, what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(loc, format!("{what} is not supported by the LLVM wasm32 path"))
}

impl Plan {
    pub fn of(ctx: &Context, module: &Module, layout: &Layout) -> Result<Plan, Diagnostic> {
        let body = module.body();
        let decls = wasmir_dialects::memory::memory_decls(ctx, module);
        let mut plan = Plan {
            memory: None,
            memory_exports: Vec::new(),
            segments: Vec::new(),
            tables: Vec::new(),
            global_inits: Vec::new(),
        };
        for (i, m) in layout.memories.iter().enumerate() {
            let at = layout_loc(ctx, module, &m.name);
            if i > 0 {
                return Err(refuse(at, "a second memory"));
            }
            if m.is64 {
                return Err(refuse(at, "a 64-bit memory"));
            }
            if m.import.is_some() {
                return Err(refuse(at, "an imported memory"));
            }
            if decls.get(&m.name).is_some_and(|d| d.kind != "linear") {
                return Err(refuse(at, "a shared memory"));
            }
            plan.memory = Some((m.min, m.max));
        }
        for f in &layout.funcs {
            let Some((params, results)) = ctx.function_signature(f.ty) else { continue };
            if params
                .iter()
                .chain(results)
                .any(|&t| !matches!(t, Type::I32 | Type::I64 | Type::F32 | Type::F64))
            {
                let what = if params.iter().chain(results).any(|&t| wasmir_dialects::simd::is_v128(ctx, t)) {
                    "v128"
                } else {
                    "reference"
                };
                return Err(refuse(body.op_loc(f.op), format!("@{}'s {what} parameters or results", f.name)));
            }
        }
        let func_ref = |i: usize| i as u64 + 1;
        let mut globals = Vec::new();
        for g in &layout.globals {
            let at = body.op_loc(g.op);
            if g.import.is_some() {
                return Err(refuse(at, "an imported global"));
            }
            if !matches!(g.ty, Type::I32 | Type::I64 | Type::F32 | Type::F64) {
                let what = if wasmir_dialects::simd::is_v128(ctx, g.ty) {
                    "a v128 global"
                } else {
                    "a global of reference type"
                };
                return Err(refuse(at, what));
            }
            let init = match body.op_regions(g.op).first() {
                Some(&r) => eval_const_region(ctx, body, r, layout, &globals, &func_ref)?.pop().unwrap_or(0),
                None => 0,
            };
            globals.push(u128::from(init));
        }
        for t in &layout.tables {
            let at = body.op_loc(t.op);
            if t.import.is_some() {
                return Err(refuse(at, "an imported table"));
            }
            let init = match body.op_regions(t.op).first() {
                Some(&r) => eval_const_region(ctx, body, r, layout, &globals, &func_ref)?.pop().unwrap_or(0),
                None => 0,
            };
            let slot = init.checked_sub(1).map(|i| i as usize);
            plan.tables.push(vec![slot; t.min.min(1 << 20) as usize]);
        }
        for e in &layout.elems {
            let v = OpRef::new(ctx, body, e.op);
            let Some(table) = v.attr("table").and_then(|a| ctx.attr_as_symbol(a)) else { continue };
            let t = layout.table_index[table];
            let regions = body.op_regions(e.op);
            let items = eval_const_region(ctx, body, regions[0], layout, &globals, &func_ref)?;
            let offset =
                eval_const_region(ctx, body, regions[1], layout, &globals, &func_ref)?.pop().unwrap_or(0);
            let slots = &mut plan.tables[t];
            let end = (offset as usize).checked_add(items.len()).filter(|&end| end <= slots.len());
            let Some(end) = end else {
                return Err(refuse(v.loc(), "an element segment out of range (instantiation traps)"));
            };
            for (slot, item) in slots[offset as usize..end].iter_mut().zip(items) {
                *slot = item.checked_sub(1).map(|i| i as usize);
            }
        }
        let memory_bytes = plan.memory.map_or(0, |(min, _)| min.saturating_mul(65536));
        for d in &layout.datas {
            let v = OpRef::new(ctx, body, d.op);
            if v.attr("memory").is_none() {
                // Passive: only memory.init reads it, which this path refuses.
                continue;
            }
            let bytes = v.attr("data").and_then(|a| ctx.attr_as_bytes(a)).unwrap_or_default().to_vec();
            let offset = eval_const_region(ctx, body, body.op_regions(d.op)[0], layout, &globals, &func_ref)?
                .pop()
                .unwrap_or(0)
                & 0xFFFF_FFFF;
            if offset + bytes.len() as u64 > memory_bytes {
                return Err(refuse(v.loc(), "a data segment out of range (instantiation traps)"));
            }
            plan.segments.push((offset as u32, bytes));
        }
        for op in body.block_ops(module.block()) {
            let v = OpRef::new(ctx, body, op);
            if v.name() != "wasm.export" {
                continue;
            }
            let target = v.attr("target").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
            let name = v.attr_str("name").unwrap_or_default().to_string();
            if layout.memory_index.contains_key(target) {
                plan.memory_exports.push(name);
            } else if !layout.func_index.contains_key(target) {
                return Err(refuse(v.loc(), format!("exporting @{target} (only functions and the memory)")));
            }
        }
        plan.global_inits = globals.iter().map(|&g| g as u64).collect();
        Ok(plan)
    }
}

fn layout_loc(ctx: &Context, module: &Module, symbol: &str) -> Location {
    let body = module.body();
    body.block_ops(module.block())
        .find(|&op| OpRef::new(ctx, body, op).attr_str("sym_name") == Some(symbol))
        .map_or(Location::Unknown, |op| body.op_loc(op))
}

/// One Wasm global (LLVM address space 1) per WasmIR global; the init function sets them.
pub fn declare_globals<'l>(
    ll: &'l LlvmContext,
    m: &LlvmModule<'l>,
    ctx: &Context,
    layout: &Layout,
) -> Result<Vec<GlobalValue<'l>>, Diagnostic> {
    let mut out = Vec::new();
    for (i, g) in layout.globals.iter().enumerate() {
        let ty = super::translate::llvm_type(ll, ctx, g.ty)
            .ok_or_else(|| refuse(Location::Unknown, "a global type"))?;
        let ty = super::translate::bits_type(ll, ty);
        let global =
            m.add_global(ty, Some(inkwell::AddressSpace::from(1u16)), &format!("wasm_global_{i}_{}", g.name));
        global.set_linkage(Linkage::Internal);
        global.set_initializer(&ty.const_zero());
        // The init function sets it: LLVM must not assume the zero, or GlobalOpt shrinks the
        // global to a flag in linear memory.
        global.set_externally_initialized(true);
        out.push(global);
    }
    Ok(out)
}

/// The module-level functions of wasm32 code: a wrapper per export (LLVM exports a function
/// under one name) and `INIT_EXPORT`, which sets the globals and calls the start function.
pub fn add_exports_and_init<'l>(
    ll: &'l LlvmContext,
    m: &LlvmModule<'l>,
    layout: &Layout,
    plan: &Plan,
    functions: &[FunctionValue<'l>],
    globals: &[GlobalValue<'l>],
) -> Result<(), Diagnostic> {
    let err = |e: inkwell::builder::BuilderError| super::err(e);
    for (k, (name, index)) in layout.exports.iter().enumerate() {
        let target = functions[*index];
        let wrapper =
            m.add_function(&format!("wasmir_export_{k}"), target.get_type(), Some(Linkage::External));
        set_wasm_attr(ll, wrapper, "wasm-export-name", name);
        let b = ll.create_builder();
        b.position_at_end(ll.append_basic_block(wrapper, "entry"));
        let args: Vec<BasicMetadataValueEnum<'l>> = wrapper.get_param_iter().map(Into::into).collect();
        let site = b.build_call(target, &args, "").map_err(err)?;
        site.set_tail_call_kind(inkwell::values::LLVMTailCallKind::LLVMTailCallKindTail);
        match site.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => b.build_return(Some(&v as &dyn BasicValue<'l>)),
            _ => b.build_return(None),
        }
        .map_err(err)?;
    }
    if globals.is_empty() && layout.start.is_none() {
        return Ok(());
    }
    let init = m.add_function("wasmir_init", ll.void_type().fn_type(&[], false), Some(Linkage::External));
    set_wasm_attr(ll, init, "wasm-export-name", INIT_EXPORT);
    let b = ll.create_builder();
    b.position_at_end(ll.append_basic_block(init, "entry"));
    for (global, &bits) in globals.iter().zip(&plan.global_inits) {
        // Globals hold raw bits (see `bits_type`), an i32's in the low half.
        let value = match global.get_value_type() {
            inkwell::types::AnyTypeEnum::IntType(t) => t.const_int(bits, false),
            _ => return Err(refuse(Location::Unknown, "a global type")),
        };
        // Volatile, as every global access in wasm32 code (see `bits_type`).
        let store = b.build_store(global.as_pointer_value(), value).map_err(err)?;
        let _ = store.set_volatile(true);
    }
    if let Some(start) = layout.start {
        b.build_call(functions[start], &[], "").map_err(err)?;
    }
    b.build_return(None).map_err(err)?;
    Ok(())
}

/// Sets a string attribute such as `wasm-import-module` on a function.
pub fn set_wasm_attr(ll: &LlvmContext, f: FunctionValue<'_>, key: &str, value: &str) {
    f.add_attribute(inkwell::attributes::AttributeLoc::Function, ll.create_string_attribute(key, value));
}

/// The wasm-ld to link with: `$WASMIR_WASM_LD`, else LLVM 19's (Debian's lld-19), else
/// `wasm-ld` on the path.
fn wasm_ld() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("WASMIR_WASM_LD") {
        return p.into();
    }
    for p in ["/usr/lib/llvm-19/bin/wasm-ld", "/usr/bin/wasm-ld-19"] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    "wasm-ld".into()
}

/// Links a wasm32 object into a module with wasm-ld (no entry point; the exports are the
/// functions marked `wasm-export-name`).
pub fn link(object: &[u8]) -> Result<Vec<u8>, Diagnostic> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("wasmir-link-{}-{n}", std::process::id()));
    let fail = |what: String| Diagnostic::error(Location::Unknown, what);
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    let input = dir.join("code.o");
    let output = dir.join("code.wasm");
    let result = (|| {
        std::fs::write(&input, object).map_err(|e| fail(format!("cannot write {}: {e}", input.display())))?;
        let ld = wasm_ld();
        let run = std::process::Command::new(&ld)
            .arg("--no-entry")
            .arg("-o")
            .arg(&output)
            .arg(&input)
            .output()
            .map_err(|e| {
                fail(format!(
                    "cannot run {} ({e}): the wasm32 path needs wasm-ld (Debian's lld-19; scripts/setup.sh installs it, WASMIR_WASM_LD names another)",
                    ld.display()
                ))
            })?;
        if !run.status.success() {
            return Err(fail(format!("wasm-ld failed: {}", String::from_utf8_lossy(&run.stderr).trim())));
        }
        std::fs::read(&output).map_err(|e| fail(format!("cannot read {}: {e}", output.display())))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Fails unless every global LLVM kept is one of the Wasm globals (address space 1): anything
/// else would live in linear memory, which belongs to the module.
pub fn check_globals(m: &LlvmModule<'_>) -> Result<(), Diagnostic> {
    for g in m.get_globals() {
        if g.as_pointer_value().get_type().get_address_space() != inkwell::AddressSpace::from(1u16) {
            return Err(super::err(format!(
                "LLVM placed `{}` in linear memory, which belongs to the module",
                g.get_name().to_string_lossy()
            )));
        }
    }
    Ok(())
}

/// The index of wasm-ld's `__stack_pointer` global, from the name section.
fn stack_pointer_index(linked: &[u8]) -> Option<u32> {
    use wasmparser::{KnownCustom, Name, Parser, Payload};
    for payload in Parser::new(0).parse_all(linked).flatten() {
        let Payload::CustomSection(c) = payload else { continue };
        let KnownCustom::Name(names) = c.as_known() else { continue };
        for name in names.into_iter().flatten() {
            if let Name::Global(map) = name {
                for naming in map.into_iter().flatten() {
                    if naming.name == "__stack_pointer" {
                        return Some(naming.index);
                    }
                }
            }
        }
    }
    None
}

/// The linked module with the WasmIR module's memory limits and exports, its data segments
/// and `INIT_EXPORT` as the start function; validated.
pub fn finish(linked: &[u8], plan: &Plan) -> Result<Vec<u8>, Diagnostic> {
    use wasm_encoder::{
        ConstExpr, DataSection, ExportKind, ExportSection, MemorySection, MemoryType, RawSection,
    };
    use wasmparser::{ExternalKind, Parser, Payload};
    let bad = |e: wasmparser::BinaryReaderError| super::err(format!("reading wasm-ld's output: {e}"));
    let mut out = wasm_encoder::Module::new();
    let stack_pointer = stack_pointer_index(linked);
    for payload in Parser::new(0).parse_all(linked) {
        let payload = payload.map_err(bad)?;
        match &payload {
            Payload::MemorySection(_) => {
                if let Some((min, max)) = plan.memory {
                    let mut memories = MemorySection::new();
                    memories.memory(MemoryType {
                        minimum: min,
                        maximum: max,
                        memory64: false,
                        shared: false,
                        page_size_log2: None,
                    });
                    out.section(&memories);
                }
            }
            Payload::ExportSection(reader) => {
                let mut exports = ExportSection::new();
                let mut init = None;
                for export in reader.clone() {
                    let export = export.map_err(bad)?;
                    match export.kind {
                        ExternalKind::Func if export.name == INIT_EXPORT => init = Some(export.index),
                        ExternalKind::Memory if plan.memory.is_some() => {
                            for name in &plan.memory_exports {
                                exports.export(name, ExportKind::Memory, export.index);
                            }
                        }
                        ExternalKind::Func => {
                            exports.export(export.name, ExportKind::Func, export.index);
                        }
                        _ => {}
                    }
                }
                out.section(&exports);
                if let Some(function_index) = init {
                    out.section(&wasm_encoder::StartSection { function_index });
                }
            }
            Payload::CodeSectionStart { range, .. } => {
                out.section(&RawSection { id: 10, data: &linked[range.clone()] });
                if !plan.segments.is_empty() {
                    let mut data = DataSection::new();
                    for (offset, bytes) in &plan.segments {
                        data.active(0, &ConstExpr::i32_const(*offset as i32), bytes.iter().copied());
                    }
                    out.section(&data);
                }
            }
            Payload::DataSection(_) | Payload::DataCountSection { .. } => {
                return Err(super::err(
                    "LLVM placed data in linear memory, where the module's own data lives",
                ));
            }
            Payload::CodeSectionEntry(body) => {
                // A shadow stack would live in linear memory, which belongs to the module.
                if let Some(sp) = stack_pointer {
                    for op in body.get_operators_reader().map_err(bad)? {
                        if let wasmparser::Operator::GlobalGet { global_index }
                        | wasmparser::Operator::GlobalSet { global_index } = op.map_err(bad)?
                            && global_index == sp
                        {
                            return Err(super::err("LLVM's code uses a shadow stack in linear memory"));
                        }
                    }
                }
            }
            Payload::Version { .. } | Payload::End(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    out.section(&RawSection { id, data: &linked[range] });
                }
            }
        }
    }
    let bytes = out.finish();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&bytes)
        .map_err(|e| super::err(format!("the finished wasm32 module is invalid: {e}")))?;
    Ok(bytes)
}
