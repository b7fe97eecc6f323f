//! `mono-merge`: functions that are the same become one. Monomorphized generics leave many
//! copies of one function (for `u32` and `i32`, for `usize` and `u32` on wasm32, ...) that
//! lowering makes equal op for op; merging them is "thin monomorphization".
//!
//! - `identical`: functions whose bodies are equal op for op, up to references to functions
//!   that are themselves equal, merge into one. "Equal" is the greatest such equivalence, found
//!   by partition refinement (first by body, then split until every class calls, pair by pair,
//!   into the same classes), so two copies of a recursive function, or of a group of mutually
//!   recursive ones, are equal too. (Congruence closure, as an e-graph computes it, is the
//!   least fixpoint: it would never equate the copies of a recursive function.) References to
//!   a merged function (calls, `refs.func`, exports, the start function, element segments)
//!   go to the one kept; an exported copy stays exported under its name, as an alias.
//! - `constants`: functions equal up to the values of some constants merge behind extra
//!   parameters: the shared body takes the constants as arguments, and each function becomes
//!   a call of it with its own, when that saves bytes.
//! - `callees`: functions that also differ in the functions they call directly merge the same
//!   way, the shared body calling through a private table whose slot each passes: a new table,
//!   or the end of the module's one private funcref table when only `call_indirect` uses it (a
//!   second table would need reference types).
//!
//! A public function that nothing exports is a symbol for the library's users: it keeps its
//! name and becomes a call of the merged body. Types must be equal: types of the same layout
//! but different names (two regions of Pod elements of one size) become equal when lowering
//! to Wasm makes them one Wasm type, which is why `-Os` runs mono-merge after legalization too.

use crate::rules::PassRule;
use wasmir_ir::pass::{ModulePass, PassImpl, PassInfo, PassOptions};
use wasmir_ir::{
    Attr, AttrData, Block, Body, Builder, Context, Diagnostic, FxHashMap, FxHashSet, Module, Op, Region,
    Type, Value, is_private_symbol, symbol_name,
};

/// The rules of `mono-merge`, for `--list-rewrites` and the contract verifier.
pub const RULES: &[PassRule] = &[
    PassRule {
        name: "identical",
        identity: "f == g when their bodies are equal op for op up to references to equal functions (the greatest such equivalence): references to g go to f, g goes",
        citations: &["INV-CORE-009", "INV-CORE-008", "INV-CORE-007"],
    },
    PassRule {
        name: "constants",
        identity: "f_i(x) == m(x, c_i) when f_1..f_n are equal up to constants c_i and m is their body taking the constants as parameters; applied when it saves bytes",
        citations: &["INV-CORE-009", "INV-ARITH-006", "INV-CORE-008"],
    },
    PassRule {
        name: "callees",
        identity: "f_i(x) == m(x, k_i) when f_1..f_n are equal up to the functions g_i they call directly, m calls through slot k_i of a private table nothing writes, which holds g_i; applied when it saves bytes",
        citations: &["INV-CORE-009", "INV-REF-007", "INV-REF-006"],
    },
];

pub(crate) const INFO: PassInfo = PassInfo {
    name: "mono-merge",
    summary: "Merge functions that are equal (up to equal callees) or equal up to constants",
    options: &[crate::rules::RULES_OPTION],
    create: |o: &PassOptions| {
        let rules = crate::rules::selected_rules(o, "mono-merge", RULES)?;
        Ok(PassImpl::Module(Box::new(MonoMerge { rules })))
    },
};

/// `mono-merge`, with the rules it may apply.
#[derive(Debug, Clone)]
pub struct MonoMerge {
    pub rules: Vec<&'static str>,
}

/// At most this many constants become parameters of a merged body.
const MAX_CONSTANT_PARAMS: usize = 8;

fn rule(name: &str) -> &'static PassRule {
    RULES.iter().find(|r| r.name == name).expect("a declared rule")
}

impl ModulePass for MonoMerge {
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic> {
        let mut remarks = Vec::new();
        if self.rules.contains(&"identical") {
            merge_identical(ctx, module, &mut remarks);
        }
        let constants = self.rules.contains(&"constants");
        let callees = self.rules.contains(&"callees");
        if constants || callees {
            merge_similar(ctx, module, &mut remarks, constants, callees);
        }
        remarks
    }
}

/// A function of the module with a body, as the merging sees it.
struct Candidate {
    op: Op,
    name: String,
    ty: Type,
    /// Private, or public but exported: nothing outside the module names it but its exports.
    removable: bool,
    print: Fingerprint,
}

/// A body encoded for comparison: ops, attributes (interned, so equal attributes are equal
/// numbers), types, operands by definition order and region structure; references to
/// functions are slots whose names are listed apart. `shape` is the same with the values of
/// constants left out, which are listed apart too.
#[derive(Default)]
struct Fingerprint {
    exact: Vec<u32>,
    shape: Vec<u32>,
    callees: Vec<String>,
    /// For each callee slot, the `func.call` whose callee it is (None for other references).
    call_sites: Vec<Option<Op>>,
    /// Each constant, in order: its op and its value.
    constants: Vec<(Op, Attr)>,
}

const SLOT: u32 = u32::MAX;
const END: u32 = u32::MAX - 1;

struct Encoder<'a> {
    ctx: &'a Context,
    body: &'a Body,
    functions: &'a FxHashSet<String>,
    numbers: FxHashMap<Value, u32>,
    out: Fingerprint,
}

impl Encoder<'_> {
    fn both(&mut self, x: u32) {
        self.out.exact.push(x);
        self.out.shape.push(x);
    }

    fn define(&mut self, v: Value) {
        let n = self.numbers.len() as u32;
        self.numbers.insert(v, n);
        self.both(self.body.value_type(v).as_u32());
    }

    fn region(&mut self, region: Region) {
        let blocks = self.body.region_blocks(region).to_vec();
        self.both(blocks.len() as u32);
        for block in blocks {
            self.block(block);
        }
    }

    fn block(&mut self, block: Block) {
        stacker::maybe_grow(64 * 1024, 4 * 1024 * 1024, || {
            let args = self.body.block_args(block).to_vec();
            self.both(args.len() as u32);
            for a in args {
                self.define(a);
            }
            let ops: Vec<Op> = self.body.block_ops(block).collect();
            for op in ops {
                self.op(op);
            }
            self.both(END);
        });
    }

    fn op(&mut self, op: Op) {
        let (ctx, body) = (self.ctx, self.body);
        let def = ctx.op_def(body.op_kind(op));
        self.both(body.op_kind(op).index() as u32);
        let attrs = body.op_attrs(op);
        if let AttrData::Dict(entries) = ctx.attr_data(attrs) {
            self.both(entries.len() as u32);
            for &(key, value) in entries.iter() {
                self.both(key.as_u32());
                match ctx.attr_data(value) {
                    AttrData::SymbolRef(path)
                        if path.len() == 1 && self.functions.contains(ctx.ident_str(path[0])) =>
                    {
                        self.both(SLOT);
                        self.out.callees.push(ctx.ident_str(path[0]).to_string());
                        let call = def.name == "func.call" && ctx.ident_str(key) == "callee";
                        self.out.call_sites.push(call.then_some(op));
                    }
                    _ if def.has(wasmir_ir::Traits::CONSTANT_LIKE) && ctx.ident_str(key) == "value" => {
                        self.out.exact.push(value.as_u32());
                        self.out.shape.push(SLOT);
                        self.out.constants.push((op, value));
                    }
                    _ => self.both(value.as_u32()),
                }
            }
        }
        let operands = body.operands(op).to_vec();
        self.both(operands.len() as u32);
        for v in operands {
            // Values from outside the body cannot occur: functions are isolated.
            let n = self.numbers.get(&v).copied().unwrap_or(SLOT - 1);
            self.both(n);
        }
        let results = body.results(op).to_vec();
        self.both(results.len() as u32);
        for r in results {
            self.define(r);
        }
        let regions = body.op_regions(op).to_vec();
        self.both(regions.len() as u32);
        for r in regions {
            self.region(r);
        }
    }
}

fn fingerprint(ctx: &Context, body: &Body, functions: &FxHashSet<String>) -> Fingerprint {
    let mut e = Encoder { ctx, body, functions, numbers: FxHashMap::default(), out: Fingerprint::default() };
    for &root in body.roots() {
        e.region(root);
    }
    e.out
}

/// The module's functions with bodies, fingerprinted, in module order.
fn candidates(ctx: &Context, module: &Module) -> Vec<Candidate> {
    let body = module.body();
    let ops: Vec<Op> = body.block_ops(module.block()).collect();
    let mut exported: FxHashSet<String> = FxHashSet::default();
    let mut functions: FxHashSet<String> = FxHashSet::default();
    for &op in &ops {
        let view = wasmir_ir::OpRef::new(ctx, body, op);
        if view.name() == "wasm.export"
            && let Some(target) = view.attr("target").and_then(|a| ctx.attr_as_symbol(a))
        {
            exported.insert(target.to_string());
        }
        if view.def().has(wasmir_ir::Traits::FUNCTION_LIKE)
            && let Some(name) = symbol_name(ctx, body, op)
        {
            functions.insert(name.to_string());
        }
    }
    ops.iter()
        .filter_map(|&op| {
            let child = body.child(op)?;
            // An imported function has no body to compare.
            if ctx.dict_get(body.op_attrs(op), "import").is_some() || child.roots().is_empty() {
                return None;
            }
            let name = symbol_name(ctx, body, op)?.to_string();
            let ty = ctx.dict_get(body.op_attrs(op), "function_type").and_then(|a| ctx.attr_as_type(a))?;
            let removable = is_private_symbol(ctx, body, op) || exported.contains(&name);
            Some(Candidate { op, name, ty, removable, print: fingerprint(ctx, child, &functions) })
        })
        .collect()
}

/// The coarsest partition of `funcs` in which two functions share a class only when their
/// types and exact encodings are equal and their callees, slot by slot, share classes (a
/// function without a body is a class of its own).
fn refine(funcs: &[Candidate]) -> Vec<u32> {
    let index: FxHashMap<&str, usize> = funcs.iter().enumerate().map(|(i, f)| (f.name.as_str(), i)).collect();
    let mut class: Vec<u32> = Vec::with_capacity(funcs.len());
    let mut first: FxHashMap<(Type, &[u32]), u32> = FxHashMap::default();
    for f in funcs {
        let next = first.len() as u32;
        class.push(*first.entry((f.ty, f.print.exact.as_slice())).or_insert(next));
    }
    let mut count = first.len();
    loop {
        // A callee without a body (an import) stands for itself, after every class.
        let mut outside: FxHashMap<&str, u32> = FxHashMap::default();
        let mut signatures: FxHashMap<(u32, Vec<u32>), u32> = FxHashMap::default();
        let mut next_class = Vec::with_capacity(funcs.len());
        for (i, f) in funcs.iter().enumerate() {
            let callees: Vec<u32> = f
                .print
                .callees
                .iter()
                .map(|c| match index.get(c.as_str()) {
                    Some(&j) => class[j],
                    None => {
                        let n = outside.len() as u32;
                        u32::MAX - *outside.entry(c.as_str()).or_insert(n)
                    }
                })
                .collect();
            let n = signatures.len() as u32;
            next_class.push(*signatures.entry((class[i], callees)).or_insert(n));
        }
        class = next_class;
        if signatures.len() == count {
            return class;
        }
        count = signatures.len();
    }
}

/// Rewrites every reference to a key of `to` in `attr` to its value.
fn redirect_attr(ctx: &Context, attr: Attr, to: &FxHashMap<String, String>) -> Attr {
    match ctx.attr_data(attr) {
        AttrData::SymbolRef(path) => match path.first().and_then(|&first| to.get(ctx.ident_str(first))) {
            Some(target) if path.len() == 1 => ctx.symbol_ref_attr(target),
            _ => attr,
        },
        AttrData::Array(items) => {
            let items = items.clone();
            let mapped: Vec<Attr> = items.iter().map(|&i| redirect_attr(ctx, i, to)).collect();
            if mapped[..] == items[..] { attr } else { ctx.array_attr(mapped) }
        }
        AttrData::Dict(entries) => {
            let entries = entries.clone();
            let mapped: Vec<(wasmir_ir::Ident, Attr)> =
                entries.iter().map(|&(k, v)| (k, redirect_attr(ctx, v, to))).collect();
            if mapped[..] == entries[..] { attr } else { ctx.dict_attr(mapped) }
        }
        _ => attr,
    }
}

fn redirect_body(ctx: &Context, body: &mut Body, to: &FxHashMap<String, String>) {
    for op in body.preorder() {
        let attrs = body.op_attrs(op);
        let mapped = redirect_attr(ctx, attrs, to);
        if mapped != attrs {
            body.set_attrs(op, mapped);
        }
    }
}

/// Points every reference to a key of `to`, anywhere in the module, at its value.
fn redirect_module(ctx: &Context, module: &mut Module, to: &FxHashMap<String, String>) {
    if to.is_empty() {
        return;
    }
    let block = module.block();
    let ops: Vec<Op> = module.body().block_ops(block).collect();
    for op in ops {
        let body = module.body_mut();
        let attrs = body.op_attrs(op);
        let mapped = redirect_attr(ctx, attrs, to);
        if mapped != attrs {
            body.set_attrs(op, mapped);
        }
        let regions = body.op_regions(op).to_vec();
        for region in regions {
            for inner in body.preorder_region(region) {
                let attrs = body.op_attrs(inner);
                let mapped = redirect_attr(ctx, attrs, to);
                if mapped != attrs {
                    body.set_attrs(inner, mapped);
                }
            }
        }
        if let Some(child) = body.child_mut(op) {
            redirect_body(ctx, child, to);
        }
    }
}

/// Replaces the body of function `op` (of type `ty`) with a call of `target` with its
/// parameters followed by `extra` constants, returning what it returns.
fn make_thunk(ctx: &Context, module: &mut Module, op: Op, ty: Type, target: &str, extra: &[Attr]) {
    let Some((params, results)) = ctx.function_signature(ty).map(|(p, r)| (p.to_vec(), r.to_vec())) else {
        return;
    };
    let (mut thunk, entry) = Body::with_root_block();
    let mut args: Vec<Value> = params.iter().map(|&t| thunk.add_block_arg(entry, t)).collect();
    {
        let mut b = Builder::at_end(ctx, &mut thunk, entry);
        b.loc = module.body().op_loc(op);
        for &c in extra {
            let t = ctx.attr_type(c).unwrap_or(Type::I32);
            args.push(b.op1("arith.constant", &[], t, &[("value", c)]));
        }
        let call = b.op("func.call", &args, &results, &[("callee", ctx.symbol_ref_attr(target))]);
        let values: Vec<Value> = b.body.results(call).to_vec();
        b.op("func.return", &values, &[], &[]);
    }
    if let Some(body) = module.body_mut().child_mut(op) {
        *body = thunk;
    }
}

fn remark(
    ctx: &Context,
    remarks: &mut Vec<Diagnostic>,
    at: wasmir_ir::Location,
    rule_name: &str,
    what: String,
) {
    if ctx.explain_rewrites() {
        let r = rule(rule_name);
        remarks.push(Diagnostic::remark(
            at,
            format!("mono-merge.{}: {what} ({}) [{}]", r.name, r.identity, r.citations.join(", ")),
        ));
    }
}

fn merge_identical(ctx: &Context, module: &mut Module, remarks: &mut Vec<Diagnostic>) {
    let funcs = candidates(ctx, module);
    let class = refine(&funcs);
    let mut members: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    for (i, &c) in class.iter().enumerate() {
        members.entry(c).or_default().push(i);
    }
    let mut to: FxHashMap<String, String> = FxHashMap::default();
    let mut erase: Vec<Op> = Vec::new();
    let mut thunks: Vec<(Op, Type, String)> = Vec::new();
    // Classes in module order of their first member, so the output does not depend on hashing.
    let mut groups: Vec<&Vec<usize>> = members.values().filter(|m| m.len() > 1).collect();
    groups.sort_by_key(|m| m[0]);
    for group in groups {
        // Keep a function that must stay (a public one nothing exports), else the first.
        let keep = group.iter().copied().find(|&i| !funcs[i].removable).unwrap_or(group[0]);
        for &i in group {
            if i == keep {
                continue;
            }
            let f = &funcs[i];
            to.insert(f.name.clone(), funcs[keep].name.clone());
            let at = module.body().op_loc(f.op);
            remark(ctx, remarks, at, "identical", format!("@{} is @{}", f.name, funcs[keep].name));
            if f.removable {
                erase.push(f.op);
            } else {
                thunks.push((f.op, f.ty, funcs[keep].name.clone()));
            }
        }
    }
    redirect_module(ctx, module, &to);
    for (op, ty, target) in thunks {
        make_thunk(ctx, module, op, ty, &target, &[]);
    }
    for op in erase {
        module.body_mut().erase_op(op);
    }
}

/// Roughly the bytes a body takes in Wasm: a couple per op.
fn body_bytes(body: &Body) -> usize {
    3 * body.live_op_count()
}

/// `constants` and `callees`: functions equal up to constants, and (with `callees`) up to the
/// functions they call directly, call one shared body that takes the constants and the
/// callees' slots in a private table as parameters.
fn merge_similar(
    ctx: &Context,
    module: &mut Module,
    remarks: &mut Vec<Diagnostic>,
    constants: bool,
    callees: bool,
) {
    let funcs = candidates(ctx, module);
    // The shared body is the first member's, so without `callees` the members must call the
    // very same functions: callees equal only up to constants would differ in behaviour.
    // (`identical` ran first, so functions that are equal already have one name.)
    type Key<'f> = (Type, &'f [u32], &'f [String]);
    let mut members: FxHashMap<Key<'_>, Vec<usize>> = FxHashMap::default();
    for (i, f) in funcs.iter().enumerate() {
        let called: &[String] = if callees { &[] } else { &f.print.callees };
        members.entry((f.ty, f.print.shape.as_slice(), called)).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = members.into_values().filter(|m| m.len() > 1).collect();
    groups.sort_by_key(|m| m[0]);
    let symbols = wasmir_ir::SymbolTable::build(ctx, module.body(), module.block());
    let mut taken: FxHashSet<String> = symbols.iter().map(|(n, _)| n.to_string()).collect();
    // The callees' table: each function's slot, in order of first need, and its index.
    let mut slots: Vec<String> = Vec::new();
    let mut slot_of: FxHashMap<String, usize> = FxHashMap::default();
    let plan = if callees { callee_table_plan(ctx, module, &mut taken) } else { None };
    for group in groups {
        let first = &funcs[group[0]];
        // The positions where the members' constants, and callees, differ become parameters.
        let differing: Vec<usize> = (0..first.print.constants.len())
            .filter(|&k| group.iter().any(|&i| funcs[i].print.constants[k].1 != first.print.constants[k].1))
            .collect();
        let differing_callees: Vec<usize> = (0..first.print.callees.len())
            .filter(|&k| group.iter().any(|&i| funcs[i].print.callees[k] != first.print.callees[k]))
            .collect();
        if (differing.is_empty() && differing_callees.is_empty())
            || (!differing.is_empty() && !constants)
            || (!differing_callees.is_empty() && plan.is_none())
            || differing.len() + differing_callees.len() > MAX_CONSTANT_PARAMS
            || differing_callees.iter().any(|&k| first.print.call_sites[k].is_none())
        {
            continue;
        }
        let Some((params, results)) = ctx.function_signature(first.ty).map(|(p, r)| (p.to_vec(), r.to_vec()))
        else {
            continue;
        };
        let Some(first_body) = module.body().child(first.op) else { continue };
        let size = body_bytes(first_body);
        // A thunk pushes its parameters and each constant or slot; an indirect call costs a
        // few bytes more than a direct one.
        let thunk = 6 + 2 * params.len() + 4 * differing.len() + 3 * differing_callees.len();
        let indirect = 5 * differing_callees.len();
        if (group.len() - 1) * size <= group.len() * thunk + indirect + 4 {
            continue;
        }
        // The shared body: the first member's, with the differing constants as parameters and
        // the differing calls through the table.
        let mut shared = first_body.clone();
        let entry = shared.region_blocks(shared.roots()[0])[0];
        let mut extra_types = Vec::new();
        for &k in &differing {
            let (const_op, value) = first.print.constants[k];
            let ty = ctx.attr_type(value).unwrap_or(Type::I32);
            extra_types.push(ty);
            let param = shared.add_block_arg(entry, ty);
            let result = shared.results(const_op)[0];
            shared.replace_all_uses(result, param);
            shared.erase_op(const_op);
        }
        for &k in &differing_callees {
            let call = first.print.call_sites[k].expect("checked: a call");
            extra_types.push(Type::I32);
            let slot = shared.add_block_arg(entry, Type::I32);
            let table = &plan.as_ref().expect("checked: a table").name;
            call_through_table(ctx, &mut shared, call, slot, table);
        }
        let name = unique_name(&mut taken, format!("{}$merged", first.name));
        let all_params: Vec<Type> = params.iter().copied().chain(extra_types).collect();
        let merged_op =
            wasmir_dialects::func::build_func(ctx, module, &name, &all_params, &results, |_, _| {});
        {
            let body = module.body_mut();
            // Next to the functions it came from, not after the exports.
            body.move_op_before(merged_op, first.op);
            let attrs =
                ctx.dict_with(body.op_attrs(merged_op), "sym_visibility", Some(ctx.string_attr("private")));
            body.set_attrs(merged_op, attrs);
            if let Some(b) = body.child_mut(merged_op) {
                *b = shared;
            }
        }
        for &i in &group {
            let f = &funcs[i];
            let mut extra: Vec<Attr> = differing.iter().map(|&k| f.print.constants[k].1).collect();
            for &k in &differing_callees {
                let callee = &f.print.callees[k];
                let slot = *slot_of.entry(callee.clone()).or_insert_with(|| {
                    slots.push(callee.clone());
                    slots.len() - 1
                });
                let base = plan.as_ref().expect("checked: a table").base;
                extra.push(ctx.int_attr((base + slot as u64) as i64, Type::I32));
            }
            let loc = module.body().op_loc(f.op);
            let (rule_name, what) = match (differing.is_empty(), differing_callees.is_empty()) {
                (_, true) => ("constants", "its constants"),
                (true, false) => ("callees", "its callees' table slots"),
                (false, false) => ("callees", "its constants and its callees' table slots"),
            };
            remark(ctx, remarks, loc, rule_name, format!("@{} calls @{name} with {what}", f.name));
            make_thunk(ctx, module, f.op, f.ty, &name, &extra);
        }
    }
    if let Some(plan) = plan.filter(|_| !slots.is_empty())
        && let Err(e) = add_callee_table(ctx, module, &plan, &slots, &mut taken)
    {
        remarks.push(e);
    }
}

/// Where the `callees` rule puts its slots: a new private table when the module has none (a
/// second table would need reference types), or the end of the module's one table when that
/// table is private, holds funcrefs, and no code but `call_indirect` uses it (so growing its
/// size cannot be observed; INV-REF-007).
struct CalleeTable {
    name: String,
    /// The slot of the first callee.
    base: u64,
    /// The existing table to extend, or None to create `name`.
    existing: Option<Op>,
}

fn callee_table_plan(ctx: &Context, module: &Module, taken: &mut FxHashSet<String>) -> Option<CalleeTable> {
    let body = module.body();
    let ops: Vec<Op> = body.block_ops(module.block()).collect();
    let tables: Vec<Op> = ops
        .iter()
        .copied()
        .filter(|&op| wasmir_ir::OpRef::new(ctx, body, op).name() == "refs.table")
        .collect();
    match tables[..] {
        [] => {
            Some(CalleeTable { name: unique_name(taken, "__wasmir_callees".into()), base: 0, existing: None })
        }
        [table] => {
            let view = wasmir_ir::OpRef::new(ctx, body, table);
            let name = symbol_name(ctx, body, table)?.to_string();
            let funcref = view.attr("elem_type").and_then(|a| ctx.attr_as_type(a))
                == Some(wasmir_dialects::refs::funcref(ctx));
            let addressed_by_i32 =
                view.attr("address_type").and_then(|a| ctx.attr_as_type(a)) == Some(Type::I32);
            if !is_private_symbol(ctx, body, table)
                || view.attr("import").is_some()
                || !funcref
                || !addressed_by_i32
            {
                return None;
            }
            let min = view.attr("min").and_then(|a| ctx.attr_as_int(a))? as u64;
            // Only calls through it and element segments may name it.
            let mut used_otherwise = false;
            for &op in &ops {
                if op == table {
                    continue;
                }
                let top = wasmir_ir::OpRef::new(ctx, body, op).name();
                let mut check = |b: &Body, inner: Op| {
                    let kind = wasmir_ir::OpRef::new(ctx, b, inner).name();
                    crate::for_each_symbol_ref(ctx, b.op_attrs(inner), &mut |n| {
                        if n == name
                            && !matches!(
                                kind,
                                "refs.call_indirect" | "refs.return_call_indirect" | "refs.elem"
                            )
                        {
                            used_otherwise = true;
                        }
                    });
                };
                if top != "refs.elem" {
                    check(body, op);
                }
                if let Some(child) = body.child(op) {
                    child.for_each_body(&mut |b| {
                        for inner in b.preorder() {
                            check(b, inner);
                        }
                    });
                }
            }
            (!used_otherwise).then_some(CalleeTable { name, base: min, existing: Some(table) })
        }
        _ => None,
    }
}

/// `base`, or `base` with a number, whichever no symbol has; taken from then on.
fn unique_name(taken: &mut FxHashSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 1;
    while taken.contains(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// Replaces the direct call `call` in `body` with a `call_indirect` through slot `slot` of
/// `table`.
fn call_through_table(ctx: &Context, body: &mut Body, call: Op, slot: Value, table: &str) {
    let operands: Vec<Value> = body.operands(call).to_vec();
    let result_types: Vec<Type> = body.results(call).iter().map(|&r| body.value_type(r)).collect();
    let param_types: Vec<Type> = operands.iter().map(|&v| body.value_type(v)).collect();
    let sig = ctx.function_type(&param_types, &result_types);
    let mut args = vec![slot];
    args.extend(operands);
    let loc = body.op_loc(call);
    let indirect = {
        let mut b = Builder::before(ctx, body, call);
        b.loc = loc;
        b.op(
            "refs.call_indirect",
            &args,
            &result_types,
            &[("table", ctx.symbol_ref_attr(table)), ("callee_type", ctx.type_attr(sig))],
        )
    };
    let results: Vec<Value> = body.results(indirect).to_vec();
    body.replace_op(call, &results);
}

/// Puts `slots` (function names) in the plan's table from its base, with an active element
/// segment: a new private table, or the existing one grown to hold them. `taken` holds every
/// symbol of the module, the merged functions' included.
fn add_callee_table(
    ctx: &Context,
    module: &mut Module,
    plan: &CalleeTable,
    slots: &[String],
    taken: &mut FxHashSet<String>,
) -> Result<(), Diagnostic> {
    // Symbols as the printer spells them (quoted when not bare, as C++ names are).
    let table = wasmir_ir::printer::attr_to_string(ctx, ctx.symbol_ref_attr(&plan.name));
    let body = module.body();
    let symbols = wasmir_ir::SymbolTable::build(ctx, body, module.block());
    let mut refs = String::new();
    let mut values = Vec::new();
    let mut types = Vec::new();
    for (i, name) in slots.iter().enumerate() {
        let ty = symbols
            .lookup(name)
            .and_then(|op| ctx.dict_get(body.op_attrs(op), "function_type"))
            .and_then(|a| ctx.attr_as_type(a))
            .ok_or_else(|| {
                Diagnostic::error(
                    wasmir_ir::Location::Unknown,
                    format!("internal error: mono-merge: no function @{name}"),
                )
            })?;
        let ref_ty = format!("!refs.ref<{}>", wasmir_ir::printer::type_to_string(ctx, ty));
        let symbol = wasmir_ir::printer::attr_to_string(ctx, ctx.symbol_ref_attr(name));
        refs.push_str(&format!("  %{i} = refs.func {symbol} : {ref_ty}\n"));
        values.push(format!("%{i}"));
        types.push(ref_ty);
    }
    let n = plan.base + slots.len() as u64;
    let new_table = match plan.existing {
        None => format!(
            "refs.table private {table} : i32, !refs.ref<null, func> {{max = {n} : u64, min = {n} : u64}}\n"
        ),
        Some(existing) => {
            let body = module.body_mut();
            let mut attrs =
                ctx.dict_with(body.op_attrs(existing), "min", Some(ctx.int_attr(n as i64, Type::U64)));
            if let Some(max) = ctx.dict_get(attrs, "max").and_then(|a| ctx.attr_as_int(a)) {
                attrs = ctx.dict_with(attrs, "max", Some(ctx.int_attr(max.max(n as i64), Type::U64)));
            }
            body.set_attrs(existing, attrs);
            String::new()
        }
    };
    let segment = unique_name(taken, "__wasmir_merged_callees".to_string());
    let text = format!(
        "{new_table}refs.elem private @{segment} : !refs.ref<null, func> attributes {{table = {table}}} {{\n{refs}  control.yield {} : {}\n}} offset {{\n  %0 = arith.constant {} : i32\n  control.yield %0 : i32\n}}\n",
        values.join(", "),
        types.join(", "),
        plan.base
    );
    let parsed = wasmir_ir::parser::parse_str(ctx, "<mono-merge callee table>", &text).map_err(|e| {
        Diagnostic::error(
            wasmir_ir::Location::Unknown,
            format!("internal error: mono-merge's callee table: {}", e.message),
        )
    })?;
    let from = parsed.body();
    let mut map = FxHashMap::default();
    let block = module.block();
    for op in from.block_ops(parsed.block()) {
        let copied = module.body_mut().copy_op_from(from, op, &mut map);
        module.body_mut().append_op(block, copied);
    }
    Ok(())
}
