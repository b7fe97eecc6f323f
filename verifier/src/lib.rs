//! The WasmIR verifier: checks IR against the op declarations and the core invariants,
//! collects every error with its location, never mutates the IR and never panics.
//!
//! Checked, in this order, for every op of every body:
//!
//! 1. The op kind is registered, and an op has a child body exactly when it is declared
//!    `ISOLATED_FROM_ABOVE` (isolation holds by construction: handles are body-local).
//! 2. Operand and result counts fit the declared groups; every value satisfies its type
//!    constraint, including `SameAs` constraints between operands, results and attributes.
//! 3. Required attributes are present and every declared attribute has the declared kind;
//!    undeclared attributes must be dialect-prefixed (`dialect.name`), as MLIR's discardable
//!    attributes are.
//! 4. The region count matches; each region holds exactly one block (none is allowed only
//!    where the declaration says so: structured control flow has no CFG).
//! 5. Blocks of ops without `NO_TERMINATOR` end in a `TERMINATOR` op, and a terminator is
//!    always the last op of its block.
//! 6. SSA dominance: every operand is a live value of the same body, defined earlier in the
//!    same block or in an enclosing block before the op holding the region, or a block
//!    argument of an enclosing block.
//! 7. Symbols: names are unique within a symbol table, symbol ops carry `sym_name`, and every
//!    symbol reference attribute resolves in an enclosing symbol table.
//! 8. The op's own verifier hook, run only when the generic checks above passed for the op
//!    and for everything nested in it: hooks only ever see structurally valid IR, so they
//!    need no defensive code (a function's return-type check is skipped while its body has
//!    other errors).
//!
//! 9. Values of types with traits (`Context::type_traits`): an opaque value (ExternRef) is
//!    only passed to calls, branches, returns and yields, forwarded by pure ops such as
//!    `select`, or used by its own dialect's ops; a linear value (an `own` resource) is used
//!    exactly once on every path through structured control flow: a second use, a path
//!    that returns, yields or branches away without consuming it, or a consumption inside a
//!    loop that continues is an error at that op (`values.rs`). Run per body once everything
//!    above passed for it.
//!
//! Not checked yet: types of values yielded by structured control (arrives with the control
//! dialect). The contract invariants of rewrites are checked by `contracts.rs` (citations) and
//! tests/rule_semantics.rs (behaviour), not per module.

pub mod contracts;
mod values;

use rayon::prelude::*;
use std::sync::Arc;
use wasmir_ir::registry::{AttrConstraint, SymbolInfo, SymbolResolver, TypeConstraint, ValueSpec};
use wasmir_ir::{
    AttrData, Body, Context, Diagnostic, EnclosingLabels, FxHashMap, Module, Op, OpRef, SymbolTable, Traits,
    Type, Value, ValueDef, group_ranges, printer::type_to_string, symbol_name,
};

/// The symbol tables enclosing a body, outermost first (shared by the bodies verified in
/// parallel).
type Tables<'a> = Vec<(&'a Body, Arc<SymbolTable>)>;

/// Verifies a whole module; returns every error found (empty means valid).
pub fn verify_module(ctx: &Context, module: &Module) -> Vec<Diagnostic> {
    let mut v = Verifier { ctx, errors: Vec::new() };
    v.verify_body(module.root(), &mut Vec::new());
    sorted_by_location(v.errors)
}

/// Checks only that every op has its declared shape (operand, result and region counts,
/// required attributes): what passes and lowerings index by. `wasmir-opt --no-verify` runs this
/// instead of the full verifier before it transforms or lowers IR, so unverified IR gives a
/// located error there rather than a crash.
pub fn verify_shapes(ctx: &Context, module: &Module) -> Vec<Diagnostic> {
    sorted_by_location(body_shapes(ctx, module.root()))
}

/// The shape errors of a body and, in parallel, of the bodies nested in it (one walk each).
fn body_shapes(ctx: &Context, body: &Body) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut children = Vec::new();
    for op in body.preorder() {
        if let Some(problem) = OpRef::new(ctx, body, op).shape_problem() {
            errors.push(op_error(ctx, body, op, problem));
        }
        children.extend(body.child(op));
    }
    errors.par_extend(children.par_iter().flat_map_iter(|child| body_shapes(ctx, child)));
    errors
}

/// Orders errors by where they point in the source (stable, so equal places keep the order
/// in which they were found), which is the order a reader goes through the file.
fn sorted_by_location(mut errors: Vec<Diagnostic>) -> Vec<Diagnostic> {
    errors.sort_by_key(|d| match d.loc {
        wasmir_ir::Location::Span { file, start, .. } => (0, file.0, start),
        wasmir_ir::Location::Offset { file, offset } => (0, file.0, offset),
        wasmir_ir::Location::LineCol { line, col, .. } => (1, line, col),
        wasmir_ir::Location::Unknown => (2, 0, 0),
    });
    errors
}

/// Verifies one body (and the bodies nested in it) without enclosing symbol tables.
pub fn verify_body(ctx: &Context, body: &Body) -> Vec<Diagnostic> {
    let mut v = Verifier { ctx, errors: Vec::new() };
    v.verify_body(body, &mut Vec::new());
    sorted_by_location(v.errors)
}

struct Scopes<'a, 'b> {
    tables: &'b [(&'a Body, Arc<SymbolTable>)],
    /// The labels enclosing the op being verified, outermost first.
    labels: &'b [Op],
}

impl SymbolResolver for Scopes<'_, '_> {
    fn resolve(&self, name: &str) -> Option<SymbolInfo> {
        self.tables.iter().rev().find_map(|(body, table)| {
            table.lookup(name).map(|op| SymbolInfo {
                kind: body.op_kind(op),
                attrs: body.op_attrs(op),
                loc: body.op_loc(op),
            })
        })
    }

    fn enclosing_labels(&self) -> Option<&[Op]> {
        Some(self.labels)
    }
}

impl Scopes<'_, '_> {
    fn resolves(&self, path: &[&str]) -> bool {
        // A nested reference (`@outer::@inner`) is checked by its first component: the
        // nested table belongs to another body, which hooks that need it resolve themselves.
        path.first().is_some_and(|first| self.resolve(first).is_some())
    }
}

struct Verifier<'a> {
    ctx: &'a Context,
    errors: Vec<Diagnostic>,
}

fn op_error(ctx: &Context, body: &Body, op: Op, msg: impl AsRef<str>) -> Diagnostic {
    let name = ctx.op_def(body.op_kind(op)).name;
    Diagnostic::error(body.op_loc(op), format!("'{name}' op {}", msg.as_ref()))
}

impl<'a> Verifier<'a> {
    fn error(&mut self, body: &Body, op: Op, msg: impl AsRef<str>) {
        self.errors.push(op_error(self.ctx, body, op, msg));
    }

    fn verify_body(&mut self, body: &'a Body, tables: &mut Tables<'a>) {
        let before_body = self.errors.len();
        self.check_dominance_and_terminators(body);
        let order = body.preorder();
        // Isolated bodies (functions) share nothing but the symbol tables around them, so
        // they are verified in parallel; their errors join in the order a sequential walk
        // finds them.
        let isolated: Vec<Op> = order.iter().copied().filter(|&op| body.child(op).is_some()).collect();
        let mut nested: FxHashMap<Op, Vec<Diagnostic>> = FxHashMap::default();
        if isolated.len() > 1 {
            let ctx = self.ctx;
            nested = isolated
                .par_iter()
                .map(|&op| {
                    let mut v = Verifier { ctx, errors: Vec::new() };
                    v.verify_child(body, op, &mut tables.clone());
                    (op, v.errors)
                })
                .collect();
        }
        let mut scopes = EnclosingLabels::new(body);
        for op in order {
            let labels = scopes.visit(body, op, self.ctx.op_def(body.op_kind(op)).has(Traits::LABEL));
            let before = self.errors.len();
            self.check_signature(body, op);
            self.check_regions(body, op);
            self.check_symbols(body, op, tables);
            let ctx = self.ctx;
            let def = ctx.op_def(body.op_kind(op));
            match nested.remove(&op) {
                Some(errors) => self.errors.extend(errors),
                None => self.verify_child(body, op, tables),
            }
            // Hooks only ever see structurally valid IR: the op's own checks and everything
            // nested in it passed, and every operand is a value of this body.
            let operands_known = body.operands(op).iter().all(|&v| body.contains_value(v));
            if self.errors.len() == before
                && operands_known
                && let Some(hook) = def.verify
            {
                let scopes = Scopes { tables, labels };
                hook(OpRef::new(ctx, body, op), &scopes, &mut self.errors);
            }
        }
        if self.errors.len() == before_body {
            values::check_values(self.ctx, body, &mut self.errors);
        }
    }

    /// Verifies the child body of `op`, if it has one, inside its own symbol table when it
    /// declares one.
    fn verify_child(&mut self, body: &'a Body, op: Op, tables: &mut Tables<'a>) {
        let Some(child) = body.child(op) else { return };
        let pushed = self.ctx.op_def(body.op_kind(op)).has(Traits::SYMBOL_TABLE);
        if pushed {
            let table = child
                .roots()
                .first()
                .and_then(|&r| child.region_blocks(r).first())
                .map(|&b| self.check_symbol_table(child, b))
                .unwrap_or_default();
            tables.push((child, Arc::new(table)));
        }
        self.verify_body(child, tables);
        if pushed {
            tables.pop();
        }
    }

    fn check_symbol_table(&mut self, body: &Body, block: wasmir_ir::Block) -> SymbolTable {
        let mut seen: FxHashMap<&str, Op> = FxHashMap::default();
        for op in body.block_ops(block) {
            if let Some(name) = symbol_name(self.ctx, body, op)
                && let Some(&first) = seen.get(name)
            {
                let d = op_error(self.ctx, body, op, format!("redefinition of symbol `@{name}`"))
                    .with_note(body.op_loc(first), "the first definition is here");
                self.errors.push(d);
            } else if let Some(name) = symbol_name(self.ctx, body, op) {
                seen.insert(name, op);
            }
        }
        SymbolTable::build(self.ctx, body, block)
    }

    fn check_values(
        &mut self,
        body: &Body,
        op: Op,
        what: &str,
        specs: &[ValueSpec],
        values: &[Value],
    ) -> bool {
        let ctx = self.ctx;
        let Some(ranges) = group_ranges(specs, values.len()) else {
            let fixed = specs.iter().filter(|s| !s.variadic).count();
            let expected = if specs.iter().any(|s| s.variadic) {
                format!("at least {fixed}")
            } else {
                fixed.to_string()
            };
            self.error(body, op, format!("expects {expected} {what}s, but has {}", values.len()));
            return false;
        };
        let mut ok = true;
        for (spec, range) in specs.iter().zip(ranges) {
            for (offset, &v) in values[range.clone()].iter().enumerate() {
                if !body.contains_value(v) {
                    continue; // reported by the dominance check
                }
                let ty = body.value_type(v);
                let index = range.start + offset;
                if !spec.ty.accepts(ctx, ty) {
                    self.error(
                        body,
                        op,
                        format!(
                            "{what} #{index} (`{}`) must be {}, but got `{}`",
                            spec.name,
                            spec.ty.describe(Some(ctx)),
                            type_to_string(ctx, ty)
                        ),
                    );
                    ok = false;
                }
                // `SameAs` allows a subtype either way: Wasm's typed `select` and friends take
                // operands that are subtypes of one declared type.
                if let TypeConstraint::SameAs(other) = spec.ty
                    && let Some(expected) = self.named_type(body, op, other)
                    && !ctx.is_subtype(ty, expected)
                    && !ctx.is_subtype(expected, ty)
                {
                    self.error(
                        body,
                        op,
                        format!(
                            "{what} #{index} (`{}`) must have the same type as `{other}` (`{}`), but got `{}`",
                            spec.name,
                            type_to_string(ctx, expected),
                            type_to_string(ctx, ty)
                        ),
                    );
                    ok = false;
                }
            }
        }
        ok
    }

    /// The type of the first value of the named operand or result group, or of the named
    /// typed attribute.
    fn named_type(&self, body: &Body, op: Op, name: &str) -> Option<Type> {
        let view = OpRef::new(self.ctx, body, op);
        let value = view.operand_group(name).first().or_else(|| view.result_group(name).first());
        match value {
            Some(&v) if body.contains_value(v) => Some(body.value_type(v)),
            Some(_) => None,
            None => view.attr(name).and_then(|a| self.ctx.attr_type(a)),
        }
    }

    fn check_signature(&mut self, body: &Body, op: Op) {
        let ctx = self.ctx;
        let def = ctx.op_def(body.op_kind(op));
        let isolated = def.has(Traits::ISOLATED_FROM_ABOVE);
        if isolated != body.child(op).is_some() {
            let msg = if isolated {
                "is isolated from above but does not own a body"
            } else {
                "owns a separate body but is not declared isolated from above"
            };
            self.error(body, op, msg);
        }
        self.check_values(body, op, "operand", def.operands, body.operands(op));
        self.check_values(body, op, "result", def.results, body.results(op));
        let attrs = body.op_attrs(op);
        for spec in def.attrs {
            match ctx.dict_get(attrs, spec.name) {
                None if !spec.optional => {
                    self.error(body, op, format!("requires attribute `{}`", spec.name));
                }
                None => {}
                Some(a) if !attr_matches(ctx, spec.kind, a) => {
                    self.error(
                        body,
                        op,
                        format!(
                            "attribute `{}` must be {}, but got `{}`",
                            spec.name,
                            spec.kind.describe(),
                            wasmir_ir::printer::attr_to_string(ctx, a)
                        ),
                    );
                }
                Some(_) => {}
            }
        }
        for &(key, _) in ctx.dict_entries(attrs) {
            let key = ctx.ident_str(key);
            if def.attr_spec(key).is_none() && !key.contains('.') {
                self.error(
                    body,
                    op,
                    format!(
                        "has unknown attribute `{key}` (undeclared attributes must be dialect-prefixed, like `mydialect.{key}`)"
                    ),
                );
            }
        }
        if def.has(Traits::SYMBOL) && symbol_name(ctx, body, op).is_none() {
            self.error(body, op, "defines a symbol but has no string attribute `sym_name`");
        }
    }

    fn check_regions(&mut self, body: &Body, op: Op) {
        let ctx = self.ctx;
        let def = ctx.op_def(body.op_kind(op));
        let view = OpRef::new(ctx, body, op);
        let (rbody, regions) = view.regions();
        if regions.len() != def.regions.len() {
            self.error(body, op, format!("expects {} regions, but has {}", def.regions.len(), regions.len()));
            return;
        }
        for (i, (&r, spec)) in regions.iter().zip(def.regions).enumerate() {
            let blocks = rbody.region_blocks(r).len();
            if blocks > 1 {
                self.error(
                    body,
                    op,
                    format!("region #{i} (`{}`) has {blocks} blocks; structured regions hold one", spec.name),
                );
            } else if blocks == 0 && !spec.may_be_empty {
                self.error(body, op, format!("region #{i} (`{}`) must not be empty", spec.name));
            }
        }
    }

    fn check_symbols(&mut self, body: &Body, op: Op, tables: &[(&'a Body, Arc<SymbolTable>)]) {
        let ctx = self.ctx;
        let def = ctx.op_def(body.op_kind(op));
        let attrs = body.op_attrs(op);
        for spec in def.attrs.iter().filter(|s| matches!(s.kind, AttrConstraint::SymbolRef)) {
            let Some(a) = ctx.dict_get(attrs, spec.name) else { continue };
            let AttrData::SymbolRef(path) = ctx.attr_data(a) else { continue };
            let path: Vec<&str> = path.iter().map(|&p| ctx.ident_str(p)).collect();
            let scopes = Scopes { tables, labels: &[] };
            if !scopes.resolves(&path) {
                self.error(body, op, format!("references undefined symbol `@{}`", path.join("::@")));
            }
        }
    }

    /// Dominance and terminators for all blocks of `body`, walking each block in order with
    /// the set of values visible at each point. Iterative, so nesting depth cannot overflow.
    fn check_dominance_and_terminators(&mut self, body: &Body) {
        enum Step {
            /// Visit the ops of a block from `next` on.
            Block { block: wasmir_ir::Block, next: Option<Op> },
            /// The regions of this op are done: its results become visible.
            Define(Op),
        }
        let ctx = self.ctx;
        let mut visible: Vec<bool> = Vec::new();
        let mark = |visible: &mut Vec<bool>, v: Value, on: bool| {
            if visible.len() <= v.index() {
                visible.resize(v.index() + 1, false);
            }
            visible[v.index()] = on;
        };
        let roots: Vec<_> = body.roots().iter().flat_map(|&r| body.region_blocks(r).to_vec()).collect();
        let mut stack: Vec<Step> = Vec::new();
        for root in roots.into_iter().rev() {
            for &a in body.block_args(root) {
                mark(&mut visible, a, true);
            }
            stack.push(Step::Block { block: root, next: body.block_first(root) });
        }
        while let Some(step) = stack.last_mut() {
            let op = match step {
                Step::Define(op) => {
                    let op = *op;
                    stack.pop();
                    for &r in body.results(op) {
                        mark(&mut visible, r, true);
                    }
                    continue;
                }
                Step::Block { block, next: None } => {
                    // Leaving a block: its arguments and ops go out of scope.
                    let block = *block;
                    stack.pop();
                    for &a in body.block_args(block) {
                        mark(&mut visible, a, false);
                    }
                    for o in body.block_ops(block) {
                        for &r in body.results(o) {
                            mark(&mut visible, r, false);
                        }
                    }
                    continue;
                }
                Step::Block { block, next: Some(op) } => {
                    let op = *op;
                    *step = Step::Block { block: *block, next: body.next_op(op) };
                    op
                }
            };
            let def = ctx.op_def(body.op_kind(op));
            if def.has(Traits::TERMINATOR) && body.next_op(op).is_some() {
                self.error(body, op, "is a terminator and must be the last op of its block");
            }
            for (i, &v) in body.operands(op).iter().enumerate() {
                if !body.contains_value(v) {
                    self.error(body, op, format!("operand #{i} is not a value of this function (isolated scopes cannot share values)"));
                    continue;
                }
                let dead_def = match body.value_def(v) {
                    ValueDef::Result { op: d, .. } => !body.is_alive(d),
                    ValueDef::BlockArg { .. } => false,
                };
                if dead_def {
                    self.error(body, op, format!("operand #{i} uses a value whose defining op was erased"));
                } else if !visible.get(v.index()).copied().unwrap_or(false) {
                    let mut d = op_error(ctx, body, op, format!("operand #{i} does not dominate this use"));
                    if let Some(def_op) = body.defining_op(v) {
                        d = d.with_note(body.op_loc(def_op), "the operand is defined here");
                    }
                    self.errors.push(d);
                }
            }
            if !def.has(Traits::NO_TERMINATOR) {
                self.check_terminators(body, op);
            }
            // The op's results become visible once its regions are done: values an op
            // defines are not visible inside its own regions.
            stack.push(Step::Define(op));
            for &r in body.op_regions(op).iter().rev() {
                for &b in body.region_blocks(r).iter().rev() {
                    for &a in body.block_args(b) {
                        mark(&mut visible, a, true);
                    }
                    stack.push(Step::Block { block: b, next: body.block_first(b) });
                }
            }
        }
    }

    fn check_terminators(&mut self, body: &Body, op: Op) {
        let ctx = self.ctx;
        let view = OpRef::new(ctx, body, op);
        let (rbody, regions) = view.regions();
        for &r in regions {
            for &b in rbody.region_blocks(r) {
                let last = rbody.block_last(b);
                if !last.is_some_and(|l| ctx.op_def(rbody.op_kind(l)).has(Traits::TERMINATOR)) {
                    let msg = match last {
                        Some(_) => "region's block must end with a terminator op",
                        None => "region's block is empty; it must end with a terminator op",
                    };
                    self.error(body, op, msg);
                }
            }
        }
    }
}

fn attr_matches(ctx: &Context, kind: AttrConstraint, a: wasmir_ir::Attr) -> bool {
    let data = ctx.attr_data(a);
    match kind {
        AttrConstraint::Any => true,
        AttrConstraint::Int => matches!(data, AttrData::Int { .. }),
        AttrConstraint::IntOf(t) => matches!(data, AttrData::Int { ty, .. } if *ty == t),
        AttrConstraint::Float => matches!(data, AttrData::Float { .. }),
        AttrConstraint::Number => matches!(data, AttrData::Int { .. } | AttrData::Float { .. }),
        AttrConstraint::String | AttrConstraint::SymbolName => matches!(data, AttrData::String(_)),
        AttrConstraint::Bytes => matches!(data, AttrData::String(_) | AttrData::Bytes(_)),
        AttrConstraint::Bool => matches!(data, AttrData::Bool(_)),
        AttrConstraint::Unit => matches!(data, AttrData::Unit),
        AttrConstraint::SymbolRef => matches!(data, AttrData::SymbolRef(_)),
        AttrConstraint::Type => matches!(data, AttrData::Type(_)),
        AttrConstraint::FunctionType => {
            matches!(data, AttrData::Type(t) if ctx.function_signature(*t).is_some())
        }
        AttrConstraint::Enum(keys) => matches!(data, AttrData::String(s) if keys.contains(&&**s)),
        AttrConstraint::Array => matches!(data, AttrData::Array(_)),
        AttrConstraint::Dict => matches!(data, AttrData::Dict(_)),
    }
}
