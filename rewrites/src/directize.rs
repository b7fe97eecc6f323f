//! `directize`: reference-table elision. A table that is neither imported nor exported and
//! that no code writes holds, for the whole run, exactly what its active element segments put
//! there at instantiation; a `call_indirect` through it at a constant index whose slot holds a
//! function of the call's type is a direct call. And a `table.get` right after a `table.set`
//! of the same slot, with nothing between that could write the table, is the stored value.

use crate::constant_of;
use crate::rules::PassRule;
use wasmir_ir::pass::{ModulePass, PassImpl, PassInfo, PassOptions};
use wasmir_ir::{
    AttrData, Body, Builder, Context, Diagnostic, FxHashMap, Module, NewOp, Op, Traits, Type, Value,
};

/// The rules, for `--list-rewrites` and the contract verifier.
pub const RULES: &[PassRule] = &[
    PassRule {
        name: "call-indirect",
        identity: "call_indirect t[c] : sig == call f when t is private and unwritten, its segments put f (of type sig) at c",
        citations: &["INV-REF-006", "INV-REF-007"],
    },
    PassRule {
        name: "get-after-set",
        identity: "table.set t[i] = v; quiet ops; table.get t[i] == v",
        citations: &["INV-REF-007", "INV-CORE-006"],
    },
];

pub(crate) const INFO: PassInfo = PassInfo {
    name: "directize",
    summary: "Direct calls for call_indirect through private unwritten tables; table.get after table.set",
    options: &[crate::rules::RULES_OPTION],
    create: |o: &PassOptions| {
        let rules = crate::rules::selected_rules(o, "directize", RULES)?;
        Ok(PassImpl::Module(Box::new(Directize { rules })))
    },
};

/// The pass, with the rules it may apply.
#[derive(Debug, Clone)]
pub struct Directize {
    pub rules: Vec<&'static str>,
}

const TABLE_WRITES: &[&str] =
    &["refs.table_set", "refs.table_fill", "refs.table_copy", "refs.table_init", "refs.table_grow"];

impl ModulePass for Directize {
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic> {
        let mut remarks = Vec::new();
        let contents = if self.rules.contains(&"call-indirect") {
            static_tables(ctx, module)
        } else {
            FxHashMap::default()
        };
        let signatures = function_types(ctx, module);
        let funcs: Vec<Op> = {
            let body = module.body();
            body.block_ops(module.block()).filter(|&op| body.child(op).is_some()).collect()
        };
        for func in funcs {
            let Some(body) = module.body_mut().child_mut(func) else { continue };
            if self.rules.contains(&"call-indirect") {
                direct_calls(ctx, body, &contents, &signatures, &mut remarks);
            }
            if self.rules.contains(&"get-after-set") {
                forward_sets(ctx, body, &mut remarks);
            }
        }
        remarks
    }
}

fn explain(ctx: &Context, body: &Body, op: Op, rule_name: &str, remarks: &mut Vec<Diagnostic>) {
    if ctx.explain_rewrites() {
        let r = RULES.iter().find(|r| r.name == rule_name).expect("a declared rule");
        remarks.push(Diagnostic::remark(
            body.op_loc(op),
            format!("directize.{}: {} [{}]", r.name, r.identity, r.citations.join(", ")),
        ));
    }
}

/// The function type of every function symbol.
fn function_types(ctx: &Context, module: &Module) -> FxHashMap<String, Type> {
    let body = module.body();
    let mut out = FxHashMap::default();
    for op in body.block_ops(module.block()) {
        let attrs = body.op_attrs(op);
        if ctx.op_def(body.op_kind(op)).name == "func.func"
            && let Some(name) = ctx.dict_get(attrs, "sym_name").and_then(|a| ctx.attr_as_str(a))
            && let Some(ty) = ctx.dict_get(attrs, "function_type").and_then(|a| ctx.attr_as_type(a))
        {
            out.insert(name.to_string(), ty);
        }
    }
    out
}

/// For each table that is private, unwritten and filled only by active segments with constant
/// offsets that fit: what each slot holds (`Some(function)` or `None` for null).
fn static_tables(ctx: &Context, module: &Module) -> FxHashMap<String, Vec<Option<String>>> {
    let body = module.body();
    let block = module.block();
    let mut tables: FxHashMap<String, Vec<Option<String>>> = FxHashMap::default();
    let mut excluded: Vec<String> = Vec::new();
    let name_of = |op: Op, attr: &str| {
        ctx.dict_get(body.op_attrs(op), attr)
            .and_then(|a| ctx.attr_as_symbol(a).or_else(|| ctx.attr_as_str(a)))
            .map(str::to_string)
    };
    for op in body.block_ops(block) {
        let def = ctx.op_def(body.op_kind(op));
        match def.name {
            "refs.table" => {
                let Some(name) = name_of(op, "sym_name") else { continue };
                let attrs = body.op_attrs(op);
                let has_init =
                    body.op_regions(op).first().is_some_and(|&r| !body.region_blocks(r).is_empty());
                let min = ctx.dict_get(attrs, "min").and_then(|a| ctx.attr_as_int(a)).unwrap_or(0);
                if ctx.dict_get(attrs, "import").is_some() || has_init || min > 1 << 20 {
                    excluded.push(name);
                } else {
                    tables.insert(name, vec![None; min as usize]);
                }
            }
            "wasm.export" => excluded.extend(name_of(op, "target")),
            _ => {}
        }
    }
    // Code that writes a table (in any function) disqualifies it.
    body.for_each_body(&mut |b| {
        for op in b.preorder() {
            if TABLE_WRITES.contains(&ctx.op_def(b.op_kind(op)).name)
                && let Some(t) = ctx.dict_get(b.op_attrs(op), "table").and_then(|a| ctx.attr_as_symbol(a))
            {
                excluded.push(t.to_string());
            }
        }
    });
    for name in &excluded {
        tables.remove(name);
    }
    // Active segments, in order, as instantiation applies them.
    for op in body.block_ops(block) {
        if ctx.op_def(body.op_kind(op)).name != "refs.elem" {
            continue;
        }
        let Some(table) = name_of(op, "table") else { continue };
        let Some(slots) = tables.get_mut(&table) else { continue };
        let regions = body.op_regions(op);
        let yielded = |r: usize| {
            let block = *body.region_blocks(regions[r]).first()?;
            Some(body.operands(body.block_last(block)?).to_vec())
        };
        let offset = yielded(1)
            .and_then(|v| v.first().and_then(|&o| constant_of(ctx, body, o)))
            .and_then(|a| ctx.attr_as_int(a));
        let items: Option<Vec<Option<String>>> =
            yielded(0).and_then(|values| values.iter().map(|&v| func_of(ctx, body, v)).collect());
        match (offset, items) {
            (Some(offset), Some(items))
                if offset >= 0
                    && (offset as usize).checked_add(items.len()).is_some_and(|end| end <= slots.len()) =>
            {
                for (i, item) in items.into_iter().enumerate() {
                    slots[offset as usize + i] = item;
                }
            }
            // An offset we cannot read, or a segment that does not fit (instantiation traps).
            _ => {
                tables.remove(&table);
            }
        }
    }
    tables
}

/// `Some(Some(f))` for `refs.func @f`, `Some(None)` for `refs.null`, `None` for anything else.
fn func_of(ctx: &Context, body: &Body, v: Value) -> Option<Option<String>> {
    let op = body.defining_op(v)?;
    match ctx.op_def(body.op_kind(op)).name {
        "refs.func" => {
            let f = ctx.dict_get(body.op_attrs(op), "function").and_then(|a| ctx.attr_as_symbol(a))?;
            Some(Some(f.to_string()))
        }
        "refs.null" => Some(None),
        _ => None,
    }
}

fn direct_calls(
    ctx: &Context,
    body: &mut Body,
    contents: &FxHashMap<String, Vec<Option<String>>>,
    signatures: &FxHashMap<String, Type>,
    remarks: &mut Vec<Diagnostic>,
) {
    for op in body.preorder() {
        let name = ctx.op_def(body.op_kind(op)).name;
        if !matches!(name, "refs.call_indirect" | "refs.return_call_indirect") {
            continue;
        }
        let attrs = body.op_attrs(op);
        let Some(table) = ctx.dict_get(attrs, "table").and_then(|a| ctx.attr_as_symbol(a)) else { continue };
        let Some(slots) = contents.get(table) else { continue };
        let index = body.operands(op)[0];
        let Some(k) = constant_of(ctx, body, index).and_then(|a| match ctx.attr_data(a) {
            AttrData::Int { value, ty } => {
                Some(if *ty == Type::I32 { u64::from(*value as u32) } else { *value as u64 })
            }
            _ => None,
        }) else {
            continue;
        };
        // Out of range, null or of another type: the call traps, and stays.
        let Some(Some(callee)) = slots.get(k as usize) else { continue };
        let callee_type = ctx.dict_get(attrs, "callee_type").and_then(|a| ctx.attr_as_type(a));
        if signatures.get(callee) != callee_type.as_ref() {
            continue;
        }
        explain(ctx, body, op, "call-indirect", remarks);
        let args = body.operands(op)[1..].to_vec();
        let result_types: Vec<Type> = body.results(op).iter().map(|&r| body.value_type(r)).collect();
        let direct = if name == "refs.call_indirect" { "func.call" } else { "control.return_call" };
        let mut b = Builder::before(ctx, body, op);
        b.loc = b.body.op_loc(op);
        let mut new = NewOp::new(b.kind(direct), b.loc);
        new.operands = args.into();
        new.result_types = result_types.into();
        new.attrs = b.attrs(&[("callee", ctx.symbol_ref_attr(callee))]);
        let call = b.create(new);
        let results = b.body.results(call).to_vec();
        body.replace_op(op, &results);
    }
}

/// `get-after-set` within each block.
fn forward_sets(ctx: &Context, body: &mut Body, remarks: &mut Vec<Diagnostic>) {
    let blocks: Vec<_> = body
        .preorder()
        .into_iter()
        .flat_map(|op| body.op_regions(op).to_vec())
        .chain(body.roots().to_vec())
        .flat_map(|r| body.region_blocks(r).to_vec())
        .collect();
    for block in blocks {
        // The last store per table: (index, value).
        let mut stored: FxHashMap<String, (Value, Value)> = FxHashMap::default();
        for op in body.block_ops(block).collect::<Vec<_>>() {
            let def = ctx.op_def(body.op_kind(op));
            let table = ctx
                .dict_get(body.op_attrs(op), "table")
                .and_then(|a| ctx.attr_as_symbol(a))
                .map(str::to_string);
            match (def.name, table) {
                ("refs.table_set", Some(t)) => {
                    let operands = body.operands(op);
                    stored.insert(t, (operands[0], operands[1]));
                }
                ("refs.table_get", Some(t)) => {
                    if let Some(&(index, value)) = stored.get(&t)
                        && body.operands(op)[0] == index
                    {
                        explain(ctx, body, op, "get-after-set", remarks);
                        let result = body.results(op)[0];
                        body.replace_all_uses(result, value);
                        body.erase_op(op);
                    }
                }
                // Anything else that may write a table forgets what was stored.
                _ if def.has(Traits::PURE)
                    || matches!(def.name, "memory.load" | "global.get" | "refs.table_size") => {}
                _ => stored.clear(),
            }
        }
    }
}
