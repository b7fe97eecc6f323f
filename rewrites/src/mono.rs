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
        if self.rules.contains(&"constants") {
            merge_constants(ctx, module, &mut remarks);
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
/// keys are equal and their callees, slot by slot, share classes (a function without a body
/// is a class of its own).
fn refine(funcs: &[Candidate], key: impl Fn(&Candidate) -> (Type, &[u32])) -> Vec<u32> {
    let index: FxHashMap<&str, usize> = funcs.iter().enumerate().map(|(i, f)| (f.name.as_str(), i)).collect();
    let mut class: Vec<u32> = Vec::with_capacity(funcs.len());
    let mut first: FxHashMap<(Type, &[u32]), u32> = FxHashMap::default();
    for f in funcs {
        let next = first.len() as u32;
        class.push(*first.entry(key(f)).or_insert(next));
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
    let class = refine(&funcs, |f| (f.ty, f.print.exact.as_slice()));
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

fn merge_constants(ctx: &Context, module: &mut Module, remarks: &mut Vec<Diagnostic>) {
    let funcs = candidates(ctx, module);
    // The shared body is the first member's, callees included, so the members must call the
    // very same functions: callees equal only up to constants would differ in behaviour.
    // (`identical` ran first, so functions that are equal already have one name.)
    type Key<'f> = (Type, &'f [u32], &'f [String]);
    let mut members: FxHashMap<Key<'_>, Vec<usize>> = FxHashMap::default();
    for (i, f) in funcs.iter().enumerate() {
        members.entry((f.ty, f.print.shape.as_slice(), f.print.callees.as_slice())).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = members.into_values().filter(|m| m.len() > 1).collect();
    groups.sort_by_key(|m| m[0]);
    let symbols = wasmir_ir::SymbolTable::build(ctx, module.body(), module.block());
    let mut taken: FxHashSet<String> = symbols.iter().map(|(n, _)| n.to_string()).collect();
    for group in groups {
        let first = &funcs[group[0]];
        let count = first.print.constants.len();
        // The positions where the members' constants differ become parameters.
        let differing: Vec<usize> = (0..count)
            .filter(|&k| group.iter().any(|&i| funcs[i].print.constants[k].1 != first.print.constants[k].1))
            .collect();
        if differing.is_empty() || differing.len() > MAX_CONSTANT_PARAMS {
            continue;
        }
        let Some((params, results)) = ctx.function_signature(first.ty).map(|(p, r)| (p.to_vec(), r.to_vec()))
        else {
            continue;
        };
        let Some(first_body) = module.body().child(first.op) else { continue };
        let size = body_bytes(first_body);
        let thunk = 6 + 2 * params.len() + 4 * differing.len();
        if (group.len() - 1) * size <= group.len() * thunk + 4 {
            continue;
        }
        // The shared body: the first member's, with the differing constants as parameters.
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
        let mut name = format!("{}$merged", first.name);
        let mut n = 1;
        while taken.contains(&name) {
            name = format!("{}$merged{n}", first.name);
            n += 1;
        }
        taken.insert(name.clone());
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
            let constants: Vec<Attr> = differing.iter().map(|&k| f.print.constants[k].1).collect();
            let loc = module.body().op_loc(f.op);
            remark(ctx, remarks, loc, "constants", format!("@{} calls @{name} with its constants", f.name));
            make_thunk(ctx, module, f.op, f.ty, &name, &constants);
        }
    }
}
