//! What the Cranelift backend needs to know about a module before translating its functions:
//! its functions, memories, tables, globals and segments in index order, the canonical id of
//! each function type (for `call_indirect`'s signature check), and where each piece of state
//! lives in the instance's context block (`vmctx`).

use indexmap::IndexMap;
use wasmir_dialects::refs;
use wasmir_ir::{Body, Context, Diagnostic, FxHashMap, Location, Module, Op, OpRef, Region, Type};

/// The `vmctx` block is an array of 8-byte slots: the trap code, the call depth, the runtime
/// pointer, the fuel left, then two slots per memory (base, byte length), two per table (base,
/// length in elements) and one per global.
pub const TRAP_SLOT: i32 = 0;
pub const DEPTH_SLOT: i32 = 8;
pub const RUNTIME_SLOT: i32 = 16;
pub const FUEL_SLOT: i32 = 24;
const FIRST_FREE_SLOT: usize = 4;

/// How deep calls may nest before the call stack counts as exhausted.
pub const MAX_CALL_DEPTH: i64 = 20_000;

/// An import the backend provides itself: spectest's host module.
pub const SPECTEST: &str = "spectest";

#[derive(Debug, Clone)]
pub struct FuncInfo {
    pub op: Op,
    pub name: String,
    pub ty: Type,
    pub import: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct MemoryInfo {
    pub name: String,
    pub min: u64,
    pub max: Option<u64>,
    pub is64: bool,
    pub import: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct TableInfo {
    pub op: Op,
    pub name: String,
    pub is64: bool,
    pub min: u64,
    pub max: Option<u64>,
    pub import: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct GlobalInfo {
    pub op: Op,
    pub name: String,
    pub ty: Type,
    pub import: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct SegmentInfo {
    pub op: Op,
    pub name: String,
}

/// A module's index spaces and its `vmctx` layout.
#[derive(Debug)]
pub struct Layout {
    pub funcs: Vec<FuncInfo>,
    pub memories: Vec<MemoryInfo>,
    pub tables: Vec<TableInfo>,
    pub globals: Vec<GlobalInfo>,
    pub elems: Vec<SegmentInfo>,
    pub datas: Vec<SegmentInfo>,
    /// Exported functions: export name and function index.
    pub exports: Vec<(String, usize)>,
    pub start: Option<usize>,
    /// Canonical ids of function types (structural: WasmIR function types are interned).
    pub type_ids: IndexMap<Type, u32>,
    pub func_index: FxHashMap<String, usize>,
    pub memory_index: FxHashMap<String, usize>,
    pub table_index: FxHashMap<String, usize>,
    pub global_index: FxHashMap<String, usize>,
    pub elem_index: FxHashMap<String, usize>,
    pub data_index: FxHashMap<String, usize>,
    /// Each global's first 8-byte slot after the tables' (a v128 takes two), and the total.
    pub global_slots: Vec<usize>,
}

/// Which imports a layout accepts: running needs every import provided (spectest's are), an
/// object file leaves them to the linker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imports {
    SpectestOnly,
    Any,
}

impl Layout {
    pub fn of(ctx: &Context, module: &Module, imports: Imports) -> Result<Layout, Diagnostic> {
        let body = module.body();
        let view = |op| OpRef::new(ctx, body, op);
        let mut layout = Layout {
            funcs: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            elems: Vec::new(),
            datas: Vec::new(),
            exports: Vec::new(),
            start: None,
            type_ids: IndexMap::new(),
            func_index: FxHashMap::default(),
            memory_index: FxHashMap::default(),
            table_index: FxHashMap::default(),
            global_index: FxHashMap::default(),
            elem_index: FxHashMap::default(),
            data_index: FxHashMap::default(),
            global_slots: Vec::new(),
        };
        let mut exports = Vec::new();
        let mut start = None;
        for op in body.block_ops(module.block()) {
            let v = view(op);
            let name = v.attr_str("sym_name").unwrap_or_default().to_string();
            let import = wasmir_dialects::global::import_names(v);
            let int = |key: &str| v.attr(key).and_then(|a| ctx.attr_as_int(a)).map(|i| i as u64);
            if let Some((module_name, field)) = &import
                && module_name != SPECTEST
                && imports == Imports::SpectestOnly
            {
                return Err(Diagnostic::error(
                    v.loc(),
                    format!(
                        "the native backends run modules whose only imports are spectest's; @{name} imports \"{module_name}\" \"{field}\""
                    ),
                ));
            }
            match v.name() {
                "func.func" => {
                    let ty = v.attr("function_type").and_then(|a| ctx.attr_as_type(a)).unwrap_or(Type::NONE);
                    layout.funcs.push(FuncInfo { op, name, ty, import });
                }
                "memory.memory" => {
                    let is64 = v.attr("address_type").and_then(|a| ctx.attr_as_type(a)) == Some(Type::I64);
                    match v.attr_str("kind") {
                        Some("managed") => {
                            return Err(Diagnostic::error(
                                v.loc(),
                                "a managed memory needs its host; legalize first",
                            ));
                        }
                        // Other threads could see it, and a native instance runs one.
                        Some("shared") => {
                            return Err(Diagnostic::error(
                                v.loc(),
                                "a shared memory needs threads, which the native backends do not run",
                            ));
                        }
                        _ => {}
                    }
                    layout.memories.push(MemoryInfo {
                        name,
                        min: int("min").unwrap_or(0),
                        max: int("max"),
                        is64,
                        import,
                    });
                }
                "refs.table" => {
                    let is64 = v.attr("address_type").and_then(|a| ctx.attr_as_type(a)) == Some(Type::I64);
                    layout.tables.push(TableInfo {
                        op,
                        name,
                        is64,
                        min: int("min").unwrap_or(0),
                        max: int("max"),
                        import,
                    });
                }
                "global.global" => {
                    let ty = v.attr("type").and_then(|a| ctx.attr_as_type(a)).unwrap_or(Type::NONE);
                    layout.globals.push(GlobalInfo { op, name, ty, import });
                }
                "refs.elem" => layout.elems.push(SegmentInfo { op, name }),
                "memory.data" => layout.datas.push(SegmentInfo { op, name }),
                "wasm.export" => exports.push(op),
                "wasm.start" => start = Some(op),
                "wasm.custom" => {}
                other => {
                    return Err(Diagnostic::error(
                        v.loc(),
                        format!("`{other}` cannot appear at the top of a module"),
                    ));
                }
            }
        }
        // Imports come first in every index space, as in Wasm.
        layout.funcs.sort_by_key(|f| f.import.is_none());
        layout.memories.sort_by_key(|m| m.import.is_none());
        layout.tables.sort_by_key(|t| t.import.is_none());
        layout.globals.sort_by_key(|g| g.import.is_none());
        layout.func_index = layout.funcs.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect();
        layout.memory_index = layout.memories.iter().enumerate().map(|(i, m)| (m.name.clone(), i)).collect();
        layout.table_index = layout.tables.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        layout.global_index = layout.globals.iter().enumerate().map(|(i, g)| (g.name.clone(), i)).collect();
        let mut slot = 0;
        for g in &layout.globals {
            layout.global_slots.push(slot);
            slot += if wasmir_dialects::simd::is_v128(ctx, g.ty) { 2 } else { 1 };
        }
        layout.global_slots.push(slot);
        layout.elem_index = layout.elems.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        layout.data_index = layout.datas.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        for f in &layout.funcs {
            let next = layout.type_ids.len() as u32;
            layout.type_ids.entry(f.ty).or_insert(next);
        }
        for e in exports {
            let v = view(e);
            let target = v.attr("target").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
            if let Some(&i) = layout.func_index.get(target) {
                layout.exports.push((v.attr_str("name").unwrap_or_default().to_string(), i));
            }
        }
        if let Some(s) = start {
            let f = view(s).attr("function").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
            layout.start = layout.func_index.get(f).copied();
        }
        Ok(layout)
    }

    pub fn memory_base_offset(&self, memory: usize) -> i32 {
        ((FIRST_FREE_SLOT + 2 * memory) * 8) as i32
    }

    pub fn memory_len_offset(&self, memory: usize) -> i32 {
        self.memory_base_offset(memory) + 8
    }

    pub fn table_base_offset(&self, table: usize) -> i32 {
        ((FIRST_FREE_SLOT + 2 * self.memories.len() + 2 * table) * 8) as i32
    }

    pub fn table_len_offset(&self, table: usize) -> i32 {
        self.table_base_offset(table) + 8
    }

    pub fn global_offset(&self, global: usize) -> i32 {
        ((FIRST_FREE_SLOT + 2 * self.memories.len() + 2 * self.tables.len() + self.global_slots[global]) * 8)
            as i32
    }

    /// How many 8-byte slots the `vmctx` block has.
    pub fn vmctx_slots(&self) -> usize {
        FIRST_FREE_SLOT
            + 2 * self.memories.len()
            + 2 * self.tables.len()
            + self.global_slots.last().copied().unwrap_or(0)
    }
}

/// The values a constant region (global initializer, segment offset, element items) yields,
/// evaluated with the globals read so far (`globals`, as raw bits) and each function's
/// reference (`func_ref`).
pub fn eval_const_region(
    ctx: &Context,
    body: &Body,
    region: Region,
    layout: &Layout,
    globals: &[u128],
    func_ref: &dyn Fn(usize) -> u64,
) -> Result<Vec<u64>, Diagnostic> {
    Ok(eval_const_region_wide(ctx, body, region, layout, globals, func_ref)?
        .into_iter()
        .map(|v| v as u64)
        .collect())
}

/// [`eval_const_region`] with 128 bits per value, for v128 globals (the other types use the
/// low 64).
pub fn eval_const_region_wide(
    ctx: &Context,
    body: &Body,
    region: Region,
    layout: &Layout,
    globals: &[u128],
    func_ref: &dyn Fn(usize) -> u64,
) -> Result<Vec<u128>, Diagnostic> {
    let Some(&block) = body.region_blocks(region).first() else { return Ok(Vec::new()) };
    // 128 bits, for v128 constants (the other types use the low 64).
    let mut values: FxHashMap<wasmir_ir::Value, u128> = FxHashMap::default();
    let mut out = Vec::new();
    for op in body.block_ops(block) {
        let v = OpRef::new(ctx, body, op);
        let arg = |i: usize| values.get(&body.operands(op)[i]).copied().unwrap_or(0) as u64;
        let narrow = |x: u64| -> u128 {
            u128::from(if body.results(op).first().map(|&r| body.value_type(r)) == Some(Type::I32) {
                x & 0xFFFF_FFFF
            } else {
                x
            })
        };
        let value: u128 = match v.name() {
            "arith.constant" => match *ctx.attr_data(v.attr("value").expect("verified")) {
                wasmir_ir::AttrData::Int { value, .. } => narrow(value as u64),
                wasmir_ir::AttrData::Float { bits, .. } => u128::from(bits),
                _ => return Err(Diagnostic::error(v.loc(), "unsupported constant")),
            },
            "simd.const" => v
                .attr_str("value")
                .and_then(wasmir_dialects::simd::parse_bytes)
                .map(u128::from_le_bytes)
                .ok_or_else(|| Diagnostic::error(v.loc(), "unsupported constant"))?,
            "arith.addi" => narrow(arg(0).wrapping_add(arg(1))),
            "arith.subi" => narrow(arg(0).wrapping_sub(arg(1))),
            "arith.muli" => narrow(arg(0).wrapping_mul(arg(1))),
            "global.get" => {
                let g = v.attr("global").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
                let i = *layout
                    .global_index
                    .get(g)
                    .ok_or_else(|| Diagnostic::error(v.loc(), "unknown global"))?;
                globals.get(i).copied().unwrap_or(0)
            }
            "refs.func" => {
                let f = v.attr("function").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
                let i = *layout
                    .func_index
                    .get(f)
                    .ok_or_else(|| Diagnostic::error(v.loc(), "unknown function"))?;
                u128::from(func_ref(i))
            }
            "refs.null" => 0,
            "control.yield" => {
                out = body.operands(op).iter().map(|x| values.get(x).copied().unwrap_or(0)).collect();
                continue;
            }
            other => {
                return Err(Diagnostic::error(
                    v.loc(),
                    format!("`{other}` in a constant expression is not supported by the native backends yet"),
                ));
            }
        };
        if let Some(&r) = body.results(op).first() {
            values.insert(r, value);
        }
    }
    Ok(out)
}

/// Whether a type is a reference (a pointer-sized value in native code).
pub fn is_ref(ctx: &Context, ty: Type) -> bool {
    refs::ref_type(ctx, ty).is_some()
}

pub fn unsupported(loc: Location, what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(loc, format!("{what} is not supported by the native backends yet"))
}

impl Layout {
    /// The exported functions of a module, by export name, with their function types (for
    /// callers that only need signatures, whatever the module imports).
    pub fn of_exports(ctx: &Context, module: &Module) -> Vec<(String, Type)> {
        let body = module.body();
        let mut types: FxHashMap<&str, Type> = FxHashMap::default();
        let mut out = Vec::new();
        for op in body.block_ops(module.block()) {
            let v = OpRef::new(ctx, body, op);
            if v.name() == "func.func" {
                let ty = v.attr("function_type").and_then(|a| ctx.attr_as_type(a)).unwrap_or(Type::NONE);
                types.insert(v.attr_str("sym_name").unwrap_or_default(), ty);
            }
        }
        for op in body.block_ops(module.block()) {
            let v = OpRef::new(ctx, body, op);
            if v.name() != "wasm.export" {
                continue;
            }
            let target = v.attr("target").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
            if let Some(&ty) = types.get(target) {
                out.push((v.attr_str("name").unwrap_or_default().to_string(), ty));
            }
        }
        out
    }
}
