//! WasmIR to native code through LLVM 19 (inkwell): LLVM IR text (`--emit=llvm`), a JIT
//! instance (`--run --backend=llvm`) and relocatable objects (`--emit=obj --backend=llvm`), at
//! `-O0` to `-O3`. The generated code follows the same contract as the Cranelift backend's
//! (crate::native): the same `vmctx` layout, runtime functions, trap codes and entry
//! trampolines, so both run on the same runtime and must give the same results. The wasm32
//! path (`--backend=llvm-wasm32`, wasm32.rs) compiles the same IR with LLVM's WebAssembly
//! backend and links it with wasm-ld into a `.wasm`.
//!
//! Built only with the `llvm` cargo feature (Debian's llvm-19-dev).

mod translate;
mod wasm32;

use crate::native::layout::{self, Imports, Layout};
use crate::native::runtime::{self, Compiled};
use crate::native::{Instance, Libcall, TrapCode};
use inkwell::OptimizationLevel;
use inkwell::context::Context as LlvmContext;
use inkwell::module::{Linkage, Module as LlvmModule};
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum};
use translate::{
    FunctionTranslator, ModuleRefs, TAIL_CC, Wasm32Refs, calling_convention, function_type, libcall_type,
    llvm_type,
};
use wasmir_ir::{Context, Diagnostic, FxHashMap, Location};

/// LLVM's optimization level, `-O0` to `-O3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LlvmOptLevel {
    O0,
    O1,
    #[default]
    O2,
    O3,
}

impl LlvmOptLevel {
    pub fn parse(text: &str) -> Option<LlvmOptLevel> {
        Some(match text {
            "0" => LlvmOptLevel::O0,
            "1" => LlvmOptLevel::O1,
            "2" | "s" => LlvmOptLevel::O2,
            "3" => LlvmOptLevel::O3,
            _ => return None,
        })
    }

    fn pipeline(self) -> &'static str {
        match self {
            LlvmOptLevel::O0 => "default<O0>",
            LlvmOptLevel::O1 => "default<O1>",
            LlvmOptLevel::O2 => "default<O2>",
            LlvmOptLevel::O3 => "default<O3>",
        }
    }

    fn codegen(self) -> OptimizationLevel {
        match self {
            LlvmOptLevel::O0 => OptimizationLevel::None,
            LlvmOptLevel::O1 => OptimizationLevel::Less,
            LlvmOptLevel::O2 => OptimizationLevel::Default,
            LlvmOptLevel::O3 => OptimizationLevel::Aggressive,
        }
    }
}

fn err(e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(Location::Unknown, format!("internal error in the LLVM backend: {e}"))
}

fn at(mut d: Diagnostic, loc: Location) -> Diagnostic {
    if d.loc == Location::Unknown {
        d.loc = loc;
    }
    d
}

/// A machine for the host, at `opt`.
fn host_machine(opt: LlvmOptLevel) -> Result<TargetMachine, Diagnostic> {
    Target::initialize_native(&InitializationConfig::default()).map_err(err)?;
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(err)?;
    let cpu = TargetMachine::get_host_cpu_name();
    let features = TargetMachine::get_host_cpu_features();
    target
        .create_target_machine(
            &triple,
            &cpu.to_string_lossy(),
            &features.to_string_lossy(),
            opt.codegen(),
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| err("no target machine for the host"))
}

/// A machine for wasm32 with the features the lowering relies on: multi-value results (with
/// the multi-value ABI), tail calls, bulk memory for fill and copy, saturating truncation and
/// sign extension.
fn wasm32_machine(opt: LlvmOptLevel) -> Result<TargetMachine, Diagnostic> {
    Target::initialize_webassembly(&InitializationConfig::default());
    let triple = inkwell::targets::TargetTriple::create("wasm32-unknown-unknown");
    let target = Target::from_triple(&triple).map_err(err)?;
    let options = inkwell::targets::TargetMachineOptions::default()
        .set_cpu("generic")
        .set_features("+multivalue,+tail-call,+bulk-memory,+nontrapping-fptoint,+sign-ext,+mutable-globals")
        .set_abi("experimental-mv")
        .set_level(opt.codegen())
        .set_reloc_mode(RelocMode::Static)
        .set_code_model(CodeModel::Default);
    target
        .create_target_machine_from_options(&triple, options)
        .ok_or_else(|| err("no target machine for wasm32"))
}

/// What `build` produced besides the module: the entry trampolines' names by function index.
struct Built {
    entries: Vec<Option<String>>,
}

const RECORDS_BASE_ENTRY: &str = "wasmir_funcrefs_base";

/// Builds the LLVM module of `module`, optimized at `opt`: host code, or wasm32 code when
/// `wasm32` holds the module's plan.
fn build<'l>(
    ll: &'l LlvmContext,
    ctx: &Context,
    module: &wasmir_ir::Module,
    layout: &Layout,
    machine: &TargetMachine,
    opt: LlvmOptLevel,
    wasm32: Option<&wasm32::Plan>,
) -> Result<(LlvmModule<'l>, Built), Diagnostic> {
    let m = ll.create_module("wasmir");
    m.set_triple(&machine.get_triple());
    m.set_data_layout(&machine.get_target_data().get_data_layout());
    let body = module.body();
    let mut functions = Vec::new();
    for (i, f) in layout.funcs.iter().enumerate() {
        let ty = function_type(ll, ctx, f.ty, wasm32.is_none()).map_err(|d| at(d, body.op_loc(f.op)))?;
        let function = match &f.import {
            Some((module_name, field)) if wasm32.is_some() => {
                let import =
                    m.add_function(&format!("import.{module_name}.{field}"), ty, Some(Linkage::External));
                wasm32::set_wasm_attr(ll, import, "wasm-import-module", module_name);
                wasm32::set_wasm_attr(ll, import, "wasm-import-name", field);
                import
            }
            Some((module_name, field)) if module_name != layout::SPECTEST => {
                m.add_function(&format!("{module_name}.{field}"), ty, Some(Linkage::External))
            }
            _ => m.add_function(&format!("wasm_{i}_{}", f.name), ty, Some(Linkage::Internal)),
        };
        function.set_call_conventions(calling_convention(wasm32.is_some()));
        functions.push(function);
    }
    if let Some(plan) = wasm32 {
        let globals = wasm32::declare_globals(ll, &m, ctx, layout)?;
        let refs = ModuleRefs {
            layout,
            functions: &functions,
            records: None,
            libcalls: &FxHashMap::default(),
            wasm32: Some(Wasm32Refs { globals: globals.clone(), tables: plan.tables.clone() }),
        };
        for (f, &function) in layout.funcs.iter().zip(&functions) {
            if f.import.is_some() {
                continue;
            }
            // Address 0 is memory like any other, and a switch must not become a table of
            // constants in linear memory, which belongs to the module.
            wasm32::set_wasm_attr(ll, function, "null-pointer-is-valid", "true");
            wasm32::set_wasm_attr(ll, function, "no-jump-tables", "true");
            let child = body.child(f.op).ok_or_else(|| err(format!("@{} has no body", f.name)))?;
            FunctionTranslator::translate(ll, &m, ctx, child, f.ty, &refs, function)
                .map_err(|d| at(d, body.op_loc(f.op)))?;
        }
        wasm32::add_exports_and_init(ll, &m, layout, plan, &functions, &globals)?;
        return finish_module(m, machine, opt, Built { entries: Vec::new() });
    }
    let i64t = ll.i64_type();
    let mut libcalls = FxHashMap::default();
    for call in Libcall::ALL {
        libcalls.insert(call, m.add_function(call.symbol(), libcall_type(ll, call), Some(Linkage::External)));
    }
    // Function reference records: { code address, type id } per function.
    let ptr = ll.ptr_type(inkwell::AddressSpace::default());
    let record = ll.struct_type(&[ptr.into(), i64t.into()], false);
    let items: Vec<_> = layout
        .funcs
        .iter()
        .zip(&functions)
        .map(|(f, func)| {
            let id = layout.type_ids.get(&f.ty).copied().unwrap_or(u32::MAX);
            record.const_named_struct(&[
                func.as_global_value().as_pointer_value().into(),
                i64t.const_int(u64::from(id), false).into(),
            ])
        })
        .collect();
    let records = m.add_global(record.array_type(items.len() as u32), None, "wasmir_funcrefs");
    records.set_initializer(&record.const_array(&items));
    records.set_constant(true);
    records.set_linkage(Linkage::Internal);
    let refs = ModuleRefs {
        layout,
        functions: &functions,
        records: Some(records),
        libcalls: &libcalls,
        wasm32: None,
    };
    for (f, &function) in layout.funcs.iter().zip(&functions) {
        if runtime::is_spectest(&f.import) {
            // spectest's print functions: they print nothing here, on every backend.
            let b = ll.create_builder();
            b.position_at_end(ll.append_basic_block(function, "entry"));
            let zeros: Vec<BasicValueEnum<'_>> =
                function.get_type().get_return_type().map(|t| vec![t.const_zero()]).unwrap_or_default();
            match zeros.first() {
                Some(z) => b.build_return(Some(z)),
                None => b.build_return(None),
            }
            .map_err(err)?;
            continue;
        }
        if f.import.is_some() {
            continue;
        }
        let child = body.child(f.op).ok_or_else(|| err(format!("@{} has no body", f.name)))?;
        FunctionTranslator::translate(ll, &m, ctx, child, f.ty, &refs, function)
            .map_err(|d| at(d, body.op_loc(f.op)))?;
    }
    // Entry trampolines `(vmctx, values)` for the exports and the start function, and one that
    // reports where the records are.
    let entry_type = ll.void_type().fn_type(&[i64t.into(), i64t.into()], false);
    let mut entries = vec![None; layout.funcs.len()];
    let wanted: Vec<usize> = layout.exports.iter().map(|&(_, i)| i).chain(layout.start).collect();
    for i in wanted {
        if entries[i].is_some() {
            continue;
        }
        let name = format!("wasmir_entry_{i}");
        let entry = m.add_function(&name, entry_type, Some(Linkage::External));
        let b = ll.create_builder();
        b.position_at_end(ll.append_basic_block(entry, "entry"));
        let vmctx = entry.get_nth_param(0).ok_or_else(|| err("no vmctx"))?;
        let values = entry.get_nth_param(1).ok_or_else(|| err("no values"))?.into_int_value();
        let (params, results) =
            ctx.function_signature(layout.funcs[i].ty).ok_or_else(|| err("not a function type"))?;
        let slot = |k: usize| -> Result<inkwell::values::PointerValue<'_>, Diagnostic> {
            let a = b.build_int_add(values, i64t.const_int(8 * k as u64, false), "").map_err(err)?;
            b.build_int_to_ptr(a, ptr, "").map_err(err)
        };
        // A vector takes two 8-byte slots, aligned to 8 only.
        let slots = |ty: inkwell::types::BasicTypeEnum<'_>| if ty.is_vector_type() { 2 } else { 1 };
        let mut args: Vec<BasicMetadataValueEnum<'_>> = vec![vmctx.into()];
        let mut k = 0;
        for &p in params {
            let ty = llvm_type(ll, ctx, p).ok_or_else(|| err("an unsupported parameter type"))?;
            let loaded = b.build_load(ty, slot(k)?, "").map_err(err)?;
            if let Some(i) = inkwell::values::BasicValue::as_instruction_value(&loaded) {
                let _ = i.set_alignment(8);
            }
            args.push(loaded.into());
            k += slots(ty);
        }
        let site = b.build_call(functions[i], &args, "").map_err(err)?;
        site.set_call_convention(TAIL_CC);
        let outs: Vec<BasicValueEnum<'_>> = match (site.try_as_basic_value(), results.len()) {
            (_, 0) => Vec::new(),
            (inkwell::values::ValueKind::Basic(v), 1) => vec![v],
            (inkwell::values::ValueKind::Basic(v), n) => (0..n)
                .map(|k| b.build_extract_value(v.into_struct_value(), k as u32, "").map_err(err))
                .collect::<Result<_, _>>()?,
            _ => return Err(err("a call without its results")),
        };
        let mut k = 0;
        for v in outs {
            let store = b.build_store(slot(k)?, v).map_err(err)?;
            let _ = store.set_alignment(8);
            k += slots(v.get_type());
        }
        b.build_return(None).map_err(err)?;
        entries[i] = Some(name);
    }
    let base = m.add_function(RECORDS_BASE_ENTRY, entry_type, Some(Linkage::External));
    let b = ll.create_builder();
    b.position_at_end(ll.append_basic_block(base, "entry"));
    let values = base.get_nth_param(1).ok_or_else(|| err("no values"))?.into_int_value();
    let address = b.build_ptr_to_int(records.as_pointer_value(), i64t, "").map_err(err)?;
    b.build_store(b.build_int_to_ptr(values, ptr, "").map_err(err)?, address).map_err(err)?;
    b.build_return(None).map_err(err)?;
    finish_module(m, machine, opt, Built { entries })
}

/// Verifies the module and runs the optimization pipeline of `opt`.
fn finish_module<'l>(
    m: LlvmModule<'l>,
    machine: &TargetMachine,
    opt: LlvmOptLevel,
    built: Built,
) -> Result<(LlvmModule<'l>, Built), Diagnostic> {
    m.verify().map_err(|e| err(format!("invalid LLVM IR: {}", e.to_string())))?;
    m.run_passes(opt.pipeline(), machine, PassBuilderOptions::create()).map_err(|e| err(e.to_string()))?;
    Ok((m, built))
}

/// The LLVM IR of a module, after the optimization pipeline of `opt`.
pub fn emit_llvm_ir(
    ctx: &Context,
    module: &wasmir_ir::Module,
    opt: LlvmOptLevel,
) -> Result<String, Diagnostic> {
    let layout = Layout::of(ctx, module, Imports::Any)?;
    let machine = host_machine(opt)?;
    let ll = LlvmContext::create();
    let (m, _) = build(&ll, ctx, module, &layout, &machine, opt, None)?;
    Ok(m.print_to_string().to_string())
}

/// A relocatable object for the host, like the Cranelift backend's.
pub fn emit_object(
    ctx: &Context,
    module: &wasmir_ir::Module,
    opt: LlvmOptLevel,
) -> Result<Vec<u8>, Diagnostic> {
    let layout = Layout::of(ctx, module, Imports::Any)?;
    let machine = host_machine(opt)?;
    let ll = LlvmContext::create();
    let (m, _) = build(&ll, ctx, module, &layout, &machine, opt, None)?;
    let buffer = machine.write_to_memory_buffer(&m, FileType::Object).map_err(|e| err(e.to_string()))?;
    Ok(buffer.as_slice().to_vec())
}

/// Compiles `module` with LLVM's JIT and instantiates it on the native runtime (see
/// `crate::cranelift::instantiate` for `start_fuel`).
pub fn instantiate(
    ctx: &Context,
    module: &wasmir_ir::Module,
    opt: LlvmOptLevel,
    start_fuel: Option<u64>,
) -> Result<(Instance, Option<TrapCode>), Diagnostic> {
    let layout = Layout::of(ctx, module, Imports::SpectestOnly)?;
    let machine = host_machine(opt)?;
    let code = runtime::LlvmCode::build(|ll| {
        let (m, built) = build(ll, ctx, module, &layout, &machine, opt, None)?;
        let engine = m.create_jit_execution_engine(opt.codegen()).map_err(|e| err(e.to_string()))?;
        // LLVM's pipeline drops the declarations of runtime functions nothing calls.
        for (name, address) in runtime::libcall_symbols() {
            if let Some(f) = m.get_function(name) {
                engine.add_global_mapping(&f, address as usize);
            }
        }
        let address = |name: &str| engine.get_function_address(name).map(|a| a as *const u8).map_err(err);
        let entries = built
            .entries
            .iter()
            .map(|e| e.as_deref().map(address).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let records_base = address(RECORDS_BASE_ENTRY)?;
        Ok((engine, entries, records_base))
    })?;
    let (code, entries, records_base) = code;
    let records = runtime::call_raw_entry(records_base) as *const u8;
    let start_fuel = start_fuel.map_or(i64::MAX, |f| f.min(i64::MAX as u64) as i64);
    Instance::new(ctx, module, &layout, Compiled { start_fuel, code, entries, records })
}

/// Where `emit_wasm32` output stops: LLVM IR, a wasm32 object, or the linked `.wasm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wasm32Output {
    LlvmIr,
    Object,
    Wasm,
}

/// The wasm32 path: `module` through LLVM's WebAssembly backend at `opt`, as LLVM IR, as an
/// object, or linked by wasm-ld and finished into a `.wasm` that runs in any engine. Modules
/// the path cannot take (references, several or 64-bit or shared memories, imported globals,
/// memories or tables, tables written at run time, passive segments in use) are refused with
/// a located error naming what is missing.
pub fn emit_wasm32(
    ctx: &Context,
    module: &wasmir_ir::Module,
    opt: LlvmOptLevel,
    output: Wasm32Output,
) -> Result<Vec<u8>, Diagnostic> {
    let layout = Layout::of(ctx, module, Imports::Any)?;
    let plan = wasm32::Plan::of(ctx, module, &layout)?;
    let machine = wasm32_machine(opt)?;
    let ll = LlvmContext::create();
    let (m, _) = build(&ll, ctx, module, &layout, &machine, opt, Some(&plan))?;
    wasm32::check_globals(&m)?;
    if output == Wasm32Output::LlvmIr {
        return Ok(m.print_to_string().to_string().into_bytes());
    }
    let object = machine.write_to_memory_buffer(&m, FileType::Object).map_err(|e| err(e.to_string()))?;
    if output == Wasm32Output::Object {
        return Ok(object.as_slice().to_vec());
    }
    let linked = wasm32::link(object.as_slice())?;
    wasm32::finish(&linked, &plan)
}
