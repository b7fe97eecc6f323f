//! The memories a module declares, read once from their `memory.memory` ops: what
//! legalization, bounds-check elimination and the backends ask about a memory by name.

use wasmir_ir::{Context, FxHashMap, Module, Type};

/// One `memory.memory` declaration.
#[derive(Clone, Debug)]
pub struct MemoryDecl {
    pub address_type: Type,
    /// `linear`, `shared` or `managed`.
    pub kind: String,
    /// The declared minimum, in pages.
    pub min_pages: u64,
    pub panic_handler: Option<String>,
    pub stack_pointer: Option<String>,
}

impl MemoryDecl {
    /// The smallest size the memory can have, in bytes (INV-MEM-008: it never shrinks).
    pub fn min_bytes(&self) -> u64 {
        self.min_pages.saturating_mul(65536)
    }
}

/// The memories of a module, by name.
pub fn memory_decls(ctx: &Context, module: &Module) -> FxHashMap<String, MemoryDecl> {
    let body = module.body();
    let mut out = FxHashMap::default();
    for op in body.block_ops(module.block()) {
        if ctx.op_def(body.op_kind(op)).name != "memory.memory" {
            continue;
        }
        let attrs = body.op_attrs(op);
        let get = |name: &str| ctx.dict_get(attrs, name);
        let Some(name) = get("sym_name").and_then(|a| ctx.attr_as_str(a)) else { continue };
        out.insert(
            name.to_string(),
            MemoryDecl {
                address_type: get("address_type").and_then(|a| ctx.attr_as_type(a)).unwrap_or(Type::I32),
                kind: get("kind").and_then(|a| ctx.attr_as_str(a)).unwrap_or("linear").to_string(),
                min_pages: get("min").and_then(|a| ctx.attr_as_int(a)).unwrap_or(0) as u64,
                panic_handler: get("panic_handler").and_then(|a| ctx.attr_as_symbol(a)).map(str::to_string),
                stack_pointer: get("stack_pointer").and_then(|a| ctx.attr_as_symbol(a)).map(str::to_string),
            },
        );
    }
    out
}
