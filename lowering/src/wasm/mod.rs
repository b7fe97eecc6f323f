//! WasmIR to a `.wasm` binary through wasm-encoder. Index spaces are assigned in module order
//! (imports before definitions in each), function types are deduplicated, names are written
//! back into the `name` section, and the output is validated before it is returned: an invalid
//! output is an internal error naming the function, never a file.

mod cleanup;
mod encode;
mod func;
mod insn;
mod liveness;
mod simd;
pub mod size;

use indexmap::IndexMap;
use std::sync::Arc;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, CustomSection, DataCountSection, DataSection, ElementSection,
    Elements, EntityType, ExportKind, ExportSection, FunctionSection, GlobalSection, GlobalType, HeapType,
    ImportSection, MemorySection, MemoryType, NameMap, NameSection, RefType, StartSection, TableSection,
    TableType, TypeSection, ValType,
};
use wasmir_dialects::refs::{self, Heap};
use wasmir_ir::{Body, Context, Diagnostic, FxHashMap, Location, Module, Op, OpRef, Region, Type};

/// Deduplicated function types, in the order they are first needed. A table made by
/// `overlay` reads the module's types shared and numbers the ones it adds after them, so
/// functions can be emitted in parallel; `added` then lists those for renumbering.
#[derive(Default)]
pub(crate) struct TypeTable {
    base: Option<Arc<IndexMap<Type, u32>>>,
    indices: IndexMap<Type, u32>,
}

impl TypeTable {
    /// A table that starts with every type of `self` and adds to a copy-free layer of its own.
    fn overlay(base: &Arc<IndexMap<Type, u32>>) -> TypeTable {
        TypeTable { base: Some(base.clone()), indices: IndexMap::new() }
    }

    /// How many types the base layer holds.
    fn base_len(&self) -> u32 {
        self.base.as_ref().map_or(0, |b| b.len() as u32)
    }

    /// The types this layer added, by index from `base_len()` on.
    fn added(&self) -> impl Iterator<Item = Type> + '_ {
        self.indices.keys().copied()
    }

    /// The type index of the IR function type `fty`.
    pub(crate) fn index(&mut self, ctx: &Context, fty: Type) -> Result<u32, Diagnostic> {
        if let Some(&i) = self.base.as_ref().and_then(|b| b.get(&fty)).or_else(|| self.indices.get(&fty)) {
            return Ok(i);
        }
        let Some((params, results)) = ctx.function_signature(fty) else {
            return Err(Diagnostic::error(
                Location::Unknown,
                "cannot lower a non-function type as a Wasm type",
            ));
        };
        // A type may only refer to earlier types: index the types it mentions first.
        for &t in params.iter().chain(results) {
            if let Some(Heap::Typed(inner)) = refs::ref_type(ctx, t).map(|r| r.heap) {
                self.index(ctx, inner)?;
            }
        }
        let i = self.base_len() + self.indices.len() as u32;
        self.indices.insert(fty, i);
        Ok(i)
    }
}

/// Module-level index spaces, by symbol name.
pub(crate) struct Env<'a> {
    pub ctx: &'a Context,
    pub types: &'a mut TypeTable,
    pub funcs: &'a FxHashMap<String, u32>,
    pub globals: &'a FxHashMap<String, u32>,
    pub memories: &'a FxHashMap<String, u32>,
    pub tables: &'a FxHashMap<String, u32>,
    pub elems: &'a FxHashMap<String, u32>,
    pub datas: &'a FxHashMap<String, u32>,
}

impl Env<'_> {
    /// The same index spaces with another type table (a function's layer when bodies are
    /// emitted in parallel).
    fn with_types<'b>(&'b self, types: &'b mut TypeTable) -> Env<'b> {
        Env {
            ctx: self.ctx,
            types,
            funcs: self.funcs,
            globals: self.globals,
            memories: self.memories,
            tables: self.tables,
            elems: self.elems,
            datas: self.datas,
        }
    }
}

/// The Wasm value type of an IR type.
pub(crate) fn val_type(ctx: &Context, ty: Type, types: &mut TypeTable) -> Result<ValType, Diagnostic> {
    Ok(match ty {
        Type::I32 => ValType::I32,
        Type::I64 => ValType::I64,
        Type::F32 => ValType::F32,
        Type::F64 => ValType::F64,
        _ if wasmir_dialects::simd::is_v128(ctx, ty) => ValType::V128,
        _ => match refs::ref_type(ctx, ty) {
            Some(r) => ValType::Ref(RefType { nullable: r.nullable, heap_type: heap_type(ctx, ty, types)? }),
            None => {
                return Err(Diagnostic::error(
                    Location::Unknown,
                    format!(
                        "the type `{}` has no Wasm equivalent",
                        wasmir_ir::printer::type_to_string(ctx, ty)
                    ),
                ));
            }
        },
    })
}

/// The Wasm heap type of an IR reference type.
pub(crate) fn heap_type(ctx: &Context, ty: Type, types: &mut TypeTable) -> Result<HeapType, Diagnostic> {
    let r = refs::ref_type(ctx, ty)
        .ok_or_else(|| Diagnostic::error(Location::Unknown, "expected a reference type"))?;
    let abs = |ty| HeapType::Abstract { shared: false, ty };
    Ok(match r.heap {
        Heap::Func => abs(wasm_encoder::AbstractHeapType::Func),
        Heap::Extern => abs(wasm_encoder::AbstractHeapType::Extern),
        Heap::NoFunc => abs(wasm_encoder::AbstractHeapType::NoFunc),
        Heap::NoExtern => abs(wasm_encoder::AbstractHeapType::NoExtern),
        Heap::Typed(fty) => HeapType::Concrete(types.index(ctx, fty)?),
    })
}

fn ref_type(ctx: &Context, ty: Type, types: &mut TypeTable) -> Result<RefType, Diagnostic> {
    match val_type(ctx, ty, types)? {
        ValType::Ref(r) => Ok(r),
        _ => Err(Diagnostic::error(Location::Unknown, "expected a reference type")),
    }
}

/// A block type for `params -> results`.
pub(crate) fn block_type(
    ctx: &Context,
    params: &[Type],
    results: &[Type],
    types: &mut TypeTable,
) -> Result<BlockType, Diagnostic> {
    Ok(match (params, results) {
        ([], []) => BlockType::Empty,
        ([], [r]) => BlockType::Result(val_type(ctx, *r, types)?),
        _ => BlockType::FunctionType(types.index(ctx, ctx.function_type(params, results))?),
    })
}

struct Item {
    op: Op,
    name: String,
    import: Option<(String, String)>,
}

/// Emits a module as a Wasm binary, validated.
pub fn emit_wasm(ctx: &Context, module: &Module) -> Result<Vec<u8>, Diagnostic> {
    let body = module.body();
    let ops: Vec<Op> = body.block_ops(module.block()).collect();
    let view = |op| OpRef::new(ctx, body, op);
    let mut funcs: Vec<Item> = Vec::new();
    let mut globals: Vec<Item> = Vec::new();
    let mut memories: Vec<Item> = Vec::new();
    let mut tables: Vec<Item> = Vec::new();
    let mut elems: Vec<Op> = Vec::new();
    let mut datas: Vec<Op> = Vec::new();
    let mut exports: Vec<Op> = Vec::new();
    let mut start: Option<Op> = None;
    let mut customs: Vec<Op> = Vec::new();
    for &op in &ops {
        let v = view(op);
        let item = || Item {
            op,
            name: v.attr_str("sym_name").unwrap_or_default().to_string(),
            import: wasmir_dialects::global::import_names(v),
        };
        match v.name() {
            "func.func" => funcs.push(item()),
            "global.global" => globals.push(item()),
            "memory.memory" => memories.push(item()),
            "refs.table" => tables.push(item()),
            "refs.elem" => elems.push(op),
            "memory.data" => datas.push(op),
            "wasm.export" => exports.push(op),
            "wasm.start" => start = Some(op),
            "wasm.custom" => customs.push(op),
            other => {
                return Err(Diagnostic::error(
                    v.loc(),
                    format!("`{other}` cannot appear at the top of a Wasm module"),
                ));
            }
        }
    }
    // Imports come first in every index space.
    for items in [&mut funcs, &mut globals, &mut memories, &mut tables] {
        items.sort_by_key(|i| i.import.is_none());
    }
    let space =
        |items: &[Item]| items.iter().enumerate().map(|(i, it)| (it.name.clone(), i as u32)).collect();
    let named = |ops: &[Op]| {
        ops.iter()
            .enumerate()
            .map(|(i, &op)| (view(op).attr_str("sym_name").unwrap_or_default().to_string(), i as u32))
            .collect()
    };
    let mut types = TypeTable::default();
    let (func_space, global_space, memory_space) = (space(&funcs), space(&globals), space(&memories));
    let (table_space, elem_space, data_space) = (space(&tables), named(&elems), named(&datas));
    let mut env = Env {
        ctx,
        types: &mut types,
        funcs: &func_space,
        globals: &global_space,
        memories: &memory_space,
        tables: &table_space,
        elems: &elem_space,
        datas: &data_space,
    };
    let fty_of = |op| view(op).attr("function_type").and_then(|a| ctx.attr_as_type(a)).unwrap_or(Type::NONE);
    for f in &funcs {
        env.types.index(ctx, fty_of(f.op))?;
    }

    let mut imports = ImportSection::new();
    let mut import_order: Vec<(Op, EntityType)> = Vec::new();
    for f in funcs.iter().filter(|f| f.import.is_some()) {
        import_order.push((f.op, EntityType::Function(env.types.index(ctx, fty_of(f.op))?)));
    }
    for t in tables.iter().filter(|t| t.import.is_some()) {
        import_order.push((t.op, EntityType::Table(table_type(ctx, view(t.op), env.types)?)));
    }
    for m in memories.iter().filter(|m| m.import.is_some()) {
        import_order.push((m.op, EntityType::Memory(memory_type(view(m.op)))));
    }
    for g in globals.iter().filter(|g| g.import.is_some()) {
        import_order.push((g.op, EntityType::Global(global_type(ctx, view(g.op), env.types)?)));
    }
    // Keep the imports in module order across kinds.
    import_order.sort_by_key(|(op, _)| ops.iter().position(|o| o == op));
    for (op, ty) in &import_order {
        let (m, n) = wasmir_dialects::global::import_names(view(*op)).expect("an import");
        imports.import(&m, &n, *ty);
    }

    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    let defined: Vec<&Item> = funcs.iter().filter(|f| f.import.is_none()).collect();
    for f in &defined {
        functions.function(env.types.index(ctx, fty_of(f.op))?);
        let child = body.child(f.op).expect("functions own a body");
        if child.roots().first().is_none_or(|&r| child.region_blocks(r).is_empty()) {
            return Err(Diagnostic::error(
                body.op_loc(f.op),
                format!("function @{} has neither a body nor an import", f.name),
            ));
        }
    }
    // Function bodies are emitted in parallel, each adding the types it needs (block types,
    // mostly) to a layer of its own; then, in function order, those types join the module's
    // table and each body's indices are renumbered: the bytes do not depend on the threads.
    // A body that added no type has its final indices already and is encoded right away, in
    // parallel too (and holds bytes instead of instructions until the section is written).
    enum Emitted {
        Encoded(wasm_encoder::Function),
        Renumber(encode::EmittedFunction, TypeTable),
    }
    let shared = Arc::new(env.types.indices.clone());
    let emitted: Vec<Result<(Emitted, bool), Diagnostic>> = {
        use rayon::prelude::*;
        defined
            .par_iter()
            .map(|f| {
                let mut layer = TypeTable::overlay(&shared);
                let mut fenv = env.with_types(&mut layer);
                let child = body.child(f.op).expect("functions own a body");
                let emitted = func::emit_function(&mut fenv, child, fty_of(f.op), &f.name)?;
                let uses_data = emitted.uses_data_segments();
                if layer.added().next().is_none() {
                    Ok((Emitted::Encoded(emitted.encode()), uses_data))
                } else {
                    Ok((Emitted::Renumber(emitted, layer), uses_data))
                }
            })
            .collect()
    };
    // A data count section is needed when code names data segments (memory.init, data.drop).
    let mut uses_data_in_code = false;
    for result in emitted {
        let (function, uses_data) = result?;
        uses_data_in_code |= uses_data;
        match function {
            Emitted::Encoded(encoded) => {
                code.function(&encoded);
            }
            Emitted::Renumber(mut function, layer) => {
                let renumbered = layer
                    .added()
                    .map(|fty| env.types.index(ctx, fty))
                    .collect::<Result<Vec<u32>, Diagnostic>>()?;
                function.renumber_types(layer.base_len(), &renumbered);
                code.function(&function.encode());
            }
        }
    }

    let mut table_section = TableSection::new();
    for t in tables.iter().filter(|t| t.import.is_none()) {
        let ty = table_type(ctx, view(t.op), env.types)?;
        match const_exprs(&mut env, body, body.op_regions(t.op)[0])?.pop() {
            Some(init) => table_section.table_with_init(ty, &init),
            None => table_section.table(ty),
        };
    }
    let mut memory_section = MemorySection::new();
    for m in memories.iter().filter(|m| m.import.is_none()) {
        memory_section.memory(memory_type(view(m.op)));
    }
    let mut global_section = GlobalSection::new();
    for g in globals.iter().filter(|g| g.import.is_none()) {
        let ty = global_type(ctx, view(g.op), env.types)?;
        let init = const_exprs(&mut env, body, body.op_regions(g.op)[0])?.pop().ok_or_else(|| {
            Diagnostic::error(body.op_loc(g.op), format!("global @{} has no initializer", g.name))
        })?;
        global_section.global(ty, &init);
    }
    let mut export_section = ExportSection::new();
    for &e in &exports {
        let v = view(e);
        let target = v.attr("target").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
        let name = v.attr_str("name").unwrap_or_default();
        let (kind, index) = if let Some(&i) = env.funcs.get(target) {
            (ExportKind::Func, i)
        } else if let Some(&i) = env.globals.get(target) {
            (ExportKind::Global, i)
        } else if let Some(&i) = env.memories.get(target) {
            (ExportKind::Memory, i)
        } else if let Some(&i) = env.tables.get(target) {
            (ExportKind::Table, i)
        } else {
            return Err(Diagnostic::error(v.loc(), format!("export of unknown symbol @{target}")));
        };
        export_section.export(name, kind, index);
    }
    let start_section = match start {
        Some(s) => {
            let f = view(s).attr("function").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
            let function_index = *env
                .funcs
                .get(f)
                .ok_or_else(|| Diagnostic::error(view(s).loc(), "unknown start function"))?;
            Some(StartSection { function_index })
        }
        None => None,
    };
    let mut element_section = ElementSection::new();
    for &e in &elems {
        let v = view(e);
        let elem_ty = v.attr("elem_type").and_then(|a| ctx.attr_as_type(a)).unwrap_or(Type::NONE);
        let regions = body.op_regions(e);
        let items = element_items(&mut env, body, regions[0], elem_ty)?;
        let elements = match &items {
            ElemItems::Functions(f) => Elements::Functions(f.clone().into()),
            ElemItems::Expressions(rt, exprs) => Elements::Expressions(*rt, exprs.clone().into()),
        };
        if let Some(table) = v.attr("table").and_then(|a| ctx.attr_as_symbol(a)) {
            let index = *env.tables.get(table).ok_or_else(|| Diagnostic::error(v.loc(), "unknown table"))?;
            let offset = const_exprs(&mut env, body, regions[1])?
                .pop()
                .ok_or_else(|| Diagnostic::error(v.loc(), "missing offset"))?;
            // The MVP encoding (no table index) only for table 0 of funcref with functions.
            let mvp = index == 0 && matches!(items, ElemItems::Functions(_)) && elem_ty == refs::funcref(ctx);
            element_section.active(if mvp { None } else { Some(index) }, &offset, elements);
        } else if v.attr("declarative").is_some() {
            element_section.declared(elements);
        } else {
            element_section.passive(elements);
        }
    }
    let mut data_section = DataSection::new();
    for &d in &datas {
        let v = view(d);
        let bytes = v.attr("data").and_then(|a| ctx.attr_as_bytes(a)).unwrap_or_default().to_vec();
        match v.attr("memory").and_then(|a| ctx.attr_as_symbol(a)) {
            Some(mem) => {
                let index =
                    *env.memories.get(mem).ok_or_else(|| Diagnostic::error(v.loc(), "unknown memory"))?;
                let offset = const_exprs(&mut env, body, body.op_regions(d)[0])?
                    .pop()
                    .ok_or_else(|| Diagnostic::error(v.loc(), "missing offset"))?;
                data_section.active(index, &offset, bytes);
            }
            None => {
                data_section.passive(bytes);
            }
        }
    }
    let mut type_section = TypeSection::new();
    for (&fty, _) in &env.types.indices {
        let (params, results) = ctx.function_signature(fty).expect("function types only");
        let mut table = TypeTable { base: None, indices: env.types.indices.clone() };
        let p = params.iter().map(|&t| val_type(ctx, t, &mut table)).collect::<Result<Vec<_>, _>>()?;
        let r = results.iter().map(|&t| val_type(ctx, t, &mut table)).collect::<Result<Vec<_>, _>>()?;
        type_section.ty().function(p, r);
    }

    let mut wasm = wasm_encoder::Module::new();
    if !env.types.indices.is_empty() {
        wasm.section(&type_section);
    }
    if !import_order.is_empty() {
        wasm.section(&imports);
    }
    if !functions.is_empty() {
        wasm.section(&functions);
    }
    if !table_section.is_empty() {
        wasm.section(&table_section);
    }
    if !memory_section.is_empty() {
        wasm.section(&memory_section);
    }
    if !global_section.is_empty() {
        wasm.section(&global_section);
    }
    if !export_section.is_empty() {
        wasm.section(&export_section);
    }
    if let Some(s) = &start_section {
        wasm.section(s);
    }
    if !element_section.is_empty() {
        wasm.section(&element_section);
    }
    if uses_data_in_code {
        wasm.section(&DataCountSection { count: datas.len() as u32 });
    }
    if !code.is_empty() {
        wasm.section(&code);
    }
    if !data_section.is_empty() {
        wasm.section(&data_section);
    }
    for &c in &customs {
        let v = view(c);
        let name = v.attr_str("name").unwrap_or_default();
        let data = v.attr("data").and_then(|a| ctx.attr_as_bytes(a)).unwrap_or_default();
        wasm.section(&CustomSection { name: name.into(), data: data.into() });
    }
    wasm.section(&name_section(ctx, module, &funcs, &globals, &memories, &tables, &elems, &datas));
    let bytes = wasm.finish();
    validate(&bytes, &funcs)?;
    Ok(bytes)
}

/// Emits a module as WebAssembly text (wasmprinter over the validated binary).
pub fn emit_wat(ctx: &Context, module: &Module) -> Result<String, Diagnostic> {
    print_wat(&emit_wasm(ctx, module)?)
}

/// The text form of a binary this crate emitted.
pub fn print_wat(bytes: &[u8]) -> Result<String, Diagnostic> {
    wasmprinter::print_bytes(bytes).map_err(|e| {
        Diagnostic::error(Location::Unknown, format!("internal error: cannot print the emitted module: {e}"))
    })
}

fn validate(bytes: &[u8], funcs: &[Item]) -> Result<(), Diagnostic> {
    let Err(e) =
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(bytes)
    else {
        return Ok(());
    };
    // Name the function whose body holds the offending byte.
    let mut defined = funcs.iter().filter(|f| f.import.is_none());
    let mut culprit = None;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            let f = defined.next();
            if body.range().contains(&e.offset()) {
                culprit = f.map(|f| f.name.clone());
            }
        }
    }
    let place = culprit.map_or_else(String::new, |n| format!(" in function @{n}"));
    Err(Diagnostic::error(
        Location::Unknown,
        format!(
            "internal error: the emitted module is invalid{place}: {} (at offset {}); nothing was written",
            e.message(),
            e.offset()
        ),
    ))
}

fn limits(v: OpRef<'_>) -> (u64, Option<u64>) {
    (v.attr_int("min").unwrap_or(0) as u64, v.attr_int("max").map(|m| m as u64))
}

fn memory_type(v: OpRef<'_>) -> MemoryType {
    let (minimum, maximum) = limits(v);
    let memory64 = v.attr("address_type").and_then(|a| v.ctx.attr_as_type(a)) == Some(Type::I64);
    MemoryType {
        minimum,
        maximum,
        memory64,
        shared: v.attr_str("kind") == Some("shared"),
        page_size_log2: None,
    }
}

fn table_type(ctx: &Context, v: OpRef<'_>, types: &mut TypeTable) -> Result<TableType, Diagnostic> {
    let (minimum, maximum) = limits(v);
    let elem = v.attr("elem_type").and_then(|a| ctx.attr_as_type(a)).unwrap_or(Type::NONE);
    let table64 = v.attr("address_type").and_then(|a| ctx.attr_as_type(a)) == Some(Type::I64);
    Ok(TableType { element_type: ref_type(ctx, elem, types)?, table64, minimum, maximum, shared: false })
}

fn global_type(ctx: &Context, v: OpRef<'_>, types: &mut TypeTable) -> Result<GlobalType, Diagnostic> {
    let ty = v.attr("type").and_then(|a| ctx.attr_as_type(a)).unwrap_or(Type::NONE);
    Ok(GlobalType {
        val_type: val_type(ctx, ty, types)?,
        mutable: v.attr("mutable").is_some(),
        shared: false,
    })
}

enum ElemItems {
    Functions(Vec<u32>),
    Expressions(RefType, Vec<ConstExpr>),
}

fn element_items(
    env: &mut Env<'_>,
    body: &Body,
    region: Region,
    elem_ty: Type,
) -> Result<ElemItems, Diagnostic> {
    let ctx = env.ctx;
    let Some(&block) = body.region_blocks(region).first() else {
        return Ok(ElemItems::Functions(Vec::new()));
    };
    let yielded: Vec<wasmir_ir::Value> =
        body.block_last(block).map(|y| body.operands(y).to_vec()).unwrap_or_default();
    if elem_ty == refs::funcref(ctx) {
        let funcs: Option<Vec<u32>> = yielded
            .iter()
            .map(|&v| {
                let d = body.defining_op(v)?;
                (ctx.op_def(body.op_kind(d)).name == "refs.func")
                    .then(|| ctx.dict_get(body.op_attrs(d), "function").and_then(|a| ctx.attr_as_symbol(a)))
                    .flatten()
                    .and_then(|f| env.funcs.get(f).copied())
            })
            .collect();
        if let Some(funcs) = funcs {
            return Ok(ElemItems::Functions(funcs));
        }
    }
    let rt = ref_type(ctx, elem_ty, env.types)?;
    let exprs = yielded.iter().map(|&v| const_expr(env, body, v)).collect::<Result<Vec<_>, _>>()?;
    Ok(ElemItems::Expressions(rt, exprs))
}

/// The constant expressions a region yields (empty for a region without a block).
fn const_exprs(env: &mut Env<'_>, body: &Body, region: Region) -> Result<Vec<ConstExpr>, Diagnostic> {
    let Some(&block) = body.region_blocks(region).first() else { return Ok(Vec::new()) };
    let yielded: Vec<wasmir_ir::Value> =
        body.block_last(block).map(|y| body.operands(y).to_vec()).unwrap_or_default();
    yielded.iter().map(|&v| const_expr(env, body, v)).collect()
}

/// A constant expression computing `v`, emitted as an expression tree.
fn const_expr(env: &mut Env<'_>, body: &Body, v: wasmir_ir::Value) -> Result<ConstExpr, Diagnostic> {
    let mut insns = Vec::new();
    const_tree(env, body, v, &mut insns, 0)?;
    Ok(ConstExpr::extended(insns))
}

fn const_tree(
    env: &mut Env<'_>,
    body: &Body,
    v: wasmir_ir::Value,
    out: &mut Vec<wasm_encoder::Instruction<'static>>,
    depth: u32,
) -> Result<(), Diagnostic> {
    use wasm_encoder::Instruction as I;
    let ctx = env.ctx;
    let Some(op) = body.defining_op(v) else {
        return Err(Diagnostic::error(Location::Unknown, "a constant expression uses a block argument"));
    };
    let loc = body.op_loc(op);
    if depth > 1000 {
        return Err(Diagnostic::error(loc, "constant expression is nested too deeply"));
    }
    let v_ = OpRef::new(ctx, body, op);
    let sym = |key: &str| v_.attr(key).and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default().to_string();
    for &operand in body.operands(op) {
        const_tree(env, body, operand, out, depth + 1)?;
    }
    let ty = body.results(op).first().map(|&r| body.value_type(r)).unwrap_or(Type::NONE);
    let insn = match v_.name() {
        "arith.constant" => match *ctx.attr_data(v_.attr("value").expect("verified")) {
            wasmir_ir::AttrData::Int { value, ty: Type::I32 } => I::I32Const(value as i32),
            wasmir_ir::AttrData::Int { value, .. } => I::I64Const(value),
            wasmir_ir::AttrData::Float { bits, ty: Type::F32 } => {
                I::F32Const(wasm_encoder::Ieee32::new(bits as u32))
            }
            wasmir_ir::AttrData::Float { bits, .. } => I::F64Const(wasm_encoder::Ieee64::new(bits)),
            _ => return Err(Diagnostic::error(loc, "unsupported constant")),
        },
        "global.get" => I::GlobalGet(
            *env.globals.get(&sym("global")).ok_or_else(|| Diagnostic::error(loc, "unknown global"))?,
        ),
        "refs.func" => I::RefFunc(
            *env.funcs.get(&sym("function")).ok_or_else(|| Diagnostic::error(loc, "unknown function"))?,
        ),
        "refs.null" => I::RefNull(heap_type(ctx, ty, env.types)?),
        "simd.const" => I::V128Const(i128::from_le_bytes(
            v_.attr("value")
                .and_then(|a| ctx.attr_as_str(a))
                .and_then(wasmir_dialects::simd::parse_bytes)
                .ok_or_else(|| Diagnostic::error(loc, "`simd.const` without a valid `value`"))?,
        )),
        "arith.addi" if ty == Type::I32 => I::I32Add,
        "arith.subi" if ty == Type::I32 => I::I32Sub,
        "arith.muli" if ty == Type::I32 => I::I32Mul,
        "arith.addi" => I::I64Add,
        "arith.subi" => I::I64Sub,
        "arith.muli" => I::I64Mul,
        other => {
            return Err(Diagnostic::error(
                loc,
                format!("`{other}` cannot appear in a Wasm constant expression"),
            ));
        }
    };
    out.push(insn);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn name_section(
    ctx: &Context,
    module: &Module,
    funcs: &[Item],
    globals: &[Item],
    memories: &[Item],
    tables: &[Item],
    elems: &[Op],
    datas: &[Op],
) -> NameSection {
    let mut names = NameSection::new();
    if let Some(name) =
        ctx.dict_get(module.root().op_attrs(module.op()), "sym_name").and_then(|a| ctx.attr_as_str(a))
    {
        names.module(name);
    }
    // A name that is just the importer's default for its index (`func12` for function 12)
    // carries nothing, so it is not written.
    let map = |prefix: &str, names: &mut dyn Iterator<Item = String>| {
        let mut m = NameMap::new();
        for (i, name) in names.enumerate() {
            if name != format!("{prefix}{i}") {
                m.append(i as u32, &name);
            }
        }
        m
    };
    let body = module.body();
    let seg_name = |&op: &Op| OpRef::new(ctx, body, op).attr_str("sym_name").unwrap_or_default().to_string();
    names.functions(&map("func", &mut funcs.iter().map(|f| f.name.clone())));
    names.tables(&map("table", &mut tables.iter().map(|t| t.name.clone())));
    names.memories(&map("memory", &mut memories.iter().map(|m| m.name.clone())));
    names.globals(&map("global", &mut globals.iter().map(|g| g.name.clone())));
    names.elements(&map("elem", &mut elems.iter().map(seg_name)));
    names.data(&map("data", &mut datas.iter().map(seg_name)));
    names
}
