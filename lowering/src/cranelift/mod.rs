//! WasmIR to native code through Cranelift: CLIF text (`--emit=clif`), a JIT instance that
//! runs exported functions (`--run --backend=cranelift`), and relocatable objects
//! (`--emit=obj`). The module must be legalized first (regions, checks and handle ops are
//! then plain core ops); its only imports may be spectest's, which the backend provides.
//!
//! Native code keeps Wasm's semantics without guard pages or signals: every access is checked
//! against the memory's current length, division and truncation check their operands, and a
//! trap is a code stored in the instance's context block followed by returns up to the host
//! (see translate.rs).

mod translate;

pub use crate::native::{CallOutcome, Imports, Instance, Layout, MAX_CALL_DEPTH, TrapCode};
use crate::native::{layout, runtime};

use crate::native::Libcall;
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, types};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, FuncId, Linkage, Module};
use translate::{FunctionTranslator, ModuleRefs, WASM_CALL_CONV, clif_type, libcall_signature, signature};
use wasmir_ir::{Context, Diagnostic, FxHashMap, Location};

/// How hard Cranelift optimizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptLevel {
    None,
    #[default]
    Speed,
}

/// Options of the Cranelift backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct CraneliftOptions {
    pub opt_level: OptLevel,
}

fn internal(what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(Location::Unknown, format!("internal error in the Cranelift backend: {what}"))
}

/// `d`, placed at `loc` when it has no location of its own.
fn at(mut d: Diagnostic, loc: Location) -> Diagnostic {
    if d.loc == Location::Unknown {
        d.loc = loc;
    }
    d
}

/// The host's ISA with our settings.
pub fn host_isa(options: CraneliftOptions) -> Result<OwnedTargetIsa, Diagnostic> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| f.set(k, v).map_err(internal);
    set(&mut flags, "opt_level", if options.opt_level == OptLevel::Speed { "speed" } else { "none" })?;
    set(&mut flags, "preserve_frame_pointers", "true")?;
    set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
    // Wasm leaves a NaN result's bits open; canonical NaNs make every backend agree.
    set(&mut flags, "enable_nan_canonicalization", "true")?;
    // The JIT places code anywhere in the address space.
    set(&mut flags, "is_pic", "false")?;
    let isa_builder = cranelift_native::builder().map_err(internal)?;
    isa_builder.finish(settings::Flags::new(flags)).map_err(internal)
}

/// What `define_module` produced: the entry trampolines by function index, and the data
/// object holding the function reference records.
struct Defined {
    entries: Vec<Option<FuncId>>,
    records: cranelift_module::DataId,
}

/// Declares and defines every function of `module` in `m` (a JIT or an object module),
/// appending each function's CLIF to `clif` when asked.
fn define_module<M: Module>(
    ctx: &Context,
    module: &wasmir_ir::Module,
    layout: &Layout,
    m: &mut M,
    mut clif: Option<&mut String>,
) -> Result<Defined, Diagnostic> {
    let host_cc = m.isa().default_call_conv();
    let mut libcalls = FxHashMap::default();
    for call in Libcall::ALL {
        let id = m
            .declare_function(call.symbol(), Linkage::Import, &libcall_signature(call, host_cc))
            .map_err(internal)?;
        libcalls.insert(call, id);
    }
    let mut func_ids = Vec::new();
    for (i, f) in layout.funcs.iter().enumerate() {
        let sig = signature(ctx, f.ty, WASM_CALL_CONV).map_err(|d| at(d, module.body().op_loc(f.op)))?;
        let id = match &f.import {
            Some((module_name, field)) if module_name != layout::SPECTEST => m
                .declare_function(&format!("{module_name}.{field}"), Linkage::Import, &sig)
                .map_err(internal)?,
            _ => {
                m.declare_function(&format!("wasm_{i}_{}", f.name), Linkage::Local, &sig).map_err(internal)?
            }
        };
        func_ids.push(id);
    }
    // Function reference records: 16 bytes each, the code address then the type id.
    let records = m.declare_data("wasmir_funcrefs", Linkage::Local, false, false).map_err(internal)?;
    let mut desc = DataDescription::new();
    let mut bytes = vec![0u8; 16 * layout.funcs.len().max(1)];
    for (i, f) in layout.funcs.iter().enumerate() {
        let id = u64::from(layout.type_ids.get(&f.ty).copied().unwrap_or(u32::MAX));
        bytes[16 * i + 8..16 * i + 16].copy_from_slice(&id.to_le_bytes());
    }
    desc.define(bytes.into_boxed_slice());
    for (i, &id) in func_ids.iter().enumerate() {
        let fref = m.declare_func_in_data(id, &mut desc);
        desc.write_function_addr((16 * i) as u32, fref);
    }
    m.define_data(records, &desc).map_err(internal)?;
    let refs = ModuleRefs { layout, func_ids: &func_ids, funcs_data: records, libcalls: &libcalls };
    let body = module.body();
    let mut builder_ctx = FunctionBuilderContext::new();
    let mut code_ctx = m.make_context();
    for (i, f) in layout.funcs.iter().enumerate() {
        code_ctx.func.signature = signature(ctx, f.ty, WASM_CALL_CONV)?;
        let b = FunctionBuilder::new(&mut code_ctx.func, &mut builder_ctx);
        if runtime::is_spectest(&f.import) {
            // spectest's print functions: they print nothing here, on every backend.
            stub(b, m.isa().frontend_config());
        } else if f.import.is_some() {
            // Another module's function: the linker (or host) provides it.
            continue;
        } else {
            let child = body.child(f.op).ok_or_else(|| internal(format!("@{} has no body", f.name)))?;
            FunctionTranslator::translate(ctx, child, f.ty, &refs, m, b)
                .map_err(|d| at(d, body.op_loc(f.op)))?;
        }
        if let Some(out) = clif.as_deref_mut() {
            out.push_str(&format!("; @{}\n{}\n", f.name, code_ctx.func.display()));
        }
        m.define_function(func_ids[i], &mut code_ctx).map_err(|e| internal(format!("@{}: {e:?}", f.name)))?;
        m.clear_context(&mut code_ctx);
    }
    // Entry trampolines for the exports and the start function.
    let mut entries = vec![None; layout.funcs.len()];
    let wanted: Vec<usize> = layout.exports.iter().map(|&(_, i)| i).chain(layout.start).collect();
    for i in wanted {
        if entries[i].is_some() {
            continue;
        }
        let mut sig = cranelift_codegen::ir::Signature::new(host_cc);
        sig.params.push(AbiParam::new(types::I64));
        sig.params.push(AbiParam::new(types::I64));
        let id = m.declare_function(&format!("wasmir_entry_{i}"), Linkage::Export, &sig).map_err(internal)?;
        code_ctx.func.signature = sig;
        let mut b = FunctionBuilder::new(&mut code_ctx.func, &mut builder_ctx);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        let (vmctx, values) = (b.block_params(block)[0], b.block_params(block)[1]);
        let (params, _) = ctx.function_signature(layout.funcs[i].ty).expect("a function type");
        // `values` is the host's array of 8-byte slots, never out of bounds: aligned for the
        // scalars, and a vector takes two slots (8-byte aligned only).
        let flags = |ty: types::Type| {
            if ty.is_vector() { MemFlagsData::new().with_notrap() } else { MemFlagsData::trusted() }
        };
        let mut call_args = vec![vmctx];
        let mut slot = 0;
        for &p in params {
            let ty = clif_type(ctx, p).expect("checked by the signature");
            call_args.push(b.ins().load(ty, flags(ty), values, 8 * slot));
            slot += if ty.is_vector() { 2 } else { 1 };
        }
        let callee = m.declare_func_in_func(func_ids[i], b.func);
        let inst = b.ins().call(callee, &call_args);
        let outs = b.inst_results(inst).to_vec();
        let mut slot = 0;
        for &v in &outs {
            let ty = b.func.dfg.value_type(v);
            b.ins().store(flags(ty), v, values, 8 * slot);
            slot += if ty.is_vector() { 2 } else { 1 };
        }
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(m.isa().frontend_config());
        if let Some(out) = clif.as_deref_mut() {
            out.push_str(&format!("; entry of @{}\n{}\n", layout.funcs[i].name, code_ctx.func.display()));
        }
        m.define_function(id, &mut code_ctx).map_err(|e| internal(format!("entry {i}: {e:?}")))?;
        m.clear_context(&mut code_ctx);
        entries[i] = Some(id);
    }
    Ok(Defined { entries, records })
}

/// A function that returns zeros (spectest's imports).
fn stub(mut b: FunctionBuilder<'_>, config: cranelift_codegen::isa::TargetFrontendConfig) {
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    let returns: Vec<_> = b.func.signature.returns.iter().map(|r| r.value_type).collect();
    let zeros: Vec<_> = returns
        .into_iter()
        .map(|t| match t {
            types::F32 => b.ins().f32const(0.0),
            types::F64 => b.ins().f64const(0.0),
            _ => b.ins().iconst(t, 0),
        })
        .collect();
    b.ins().return_(&zeros);
    b.seal_all_blocks();
    b.finalize(config);
}

/// The CLIF of every function (before Cranelift's optimizations), with its WasmIR name.
pub fn emit_clif(ctx: &Context, module: &wasmir_ir::Module) -> Result<String, Diagnostic> {
    let layout = Layout::of(ctx, module, Imports::Any)?;
    let isa = host_isa(CraneliftOptions::default())?;
    let builder =
        cranelift_object::ObjectBuilder::new(isa, "wasmir", cranelift_module::default_libcall_names())
            .map_err(internal)?;
    let mut m = cranelift_object::ObjectModule::new(builder);
    let mut out = String::new();
    define_module(ctx, module, &layout, &mut m, Some(&mut out))?;
    Ok(out)
}

/// A relocatable object file for the host (ELF on Linux) with every function; the runtime
/// functions (`wasmir_rt_*`) and imported functions (`module.field`) stay undefined symbols,
/// the entry trampolines are exported.
pub fn emit_object(
    ctx: &Context,
    module: &wasmir_ir::Module,
    options: CraneliftOptions,
) -> Result<Vec<u8>, Diagnostic> {
    let layout = Layout::of(ctx, module, Imports::Any)?;
    let isa = host_isa(options)?;
    let builder =
        cranelift_object::ObjectBuilder::new(isa, "wasmir", cranelift_module::default_libcall_names())
            .map_err(internal)?;
    let mut m = cranelift_object::ObjectModule::new(builder);
    define_module(ctx, module, &layout, &mut m, None)?;
    m.finish().emit().map_err(internal)
}

/// Compiles `module` with the JIT and instantiates it. A trap while instantiating (a segment
/// out of range, a trapping start function, the start function out of `start_fuel`) is
/// returned beside the instance.
pub fn instantiate(
    ctx: &Context,
    module: &wasmir_ir::Module,
    options: CraneliftOptions,
    start_fuel: Option<u64>,
) -> Result<(Instance, Option<TrapCode>), Diagnostic> {
    let layout = Layout::of(ctx, module, Imports::SpectestOnly)?;
    let isa = host_isa(options)?;
    let mut builder = cranelift_jit::JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
    for (name, ptr) in runtime::libcall_symbols() {
        builder.symbol(name, ptr);
    }
    let mut jit = cranelift_jit::JITModule::new(builder);
    let defined = define_module(ctx, module, &layout, &mut jit, None)?;
    jit.finalize_definitions().map_err(internal)?;
    let entries = defined.entries.iter().map(|e| e.map(|id| jit.get_finalized_function(id))).collect();
    let (records, _) = jit.get_finalized_data(defined.records);
    let code = Box::new(runtime::CraneliftCode(jit));
    let start_fuel = start_fuel.map_or(i64::MAX, |f| f.min(i64::MAX as u64) as i64);
    Instance::new(ctx, module, &layout, runtime::Compiled { start_fuel, code, entries, records })
}
