//! Checks on values whose types declare traits: opaque values are only passed on, and linear
//! (use-once) values are consumed exactly once on every path through structured control flow.
//!
//! Control flow is followed through op traits, not op names: `LABEL` ops open constructs
//! (`LOOP` ones take branches as the next iteration), ops with `branch_depths` jump to
//! enclosing labels, `RETURN_LIKE` terminators leave the function, a terminator that
//! `MAY_TRAP` and neither branches nor returns ends the path (a trap), and any other
//! terminator falls out of its construct with its operands.

use wasmir_ir::printer::type_to_string;
use wasmir_ir::registry::TypeTraits;
use wasmir_ir::{Block, Body, Context, Diagnostic, Location, Op, OpRef, Traits, Value, ValueDef};

/// Runs both checks over one body (not its isolated children).
pub(crate) fn check_values(ctx: &Context, body: &Body, errors: &mut Vec<Diagnostic>) {
    let ops = body.preorder();
    let mut defined: Vec<Value> = Vec::new();
    for &r in body.roots() {
        for &b in body.region_blocks(r) {
            defined.extend_from_slice(body.block_args(b));
        }
    }
    for &op in &ops {
        check_opaque_uses(ctx, body, op, errors);
        defined.extend_from_slice(body.results(op));
        for &r in body.op_regions(op) {
            for &b in body.region_blocks(r) {
                defined.extend_from_slice(body.block_args(b));
            }
        }
    }
    let mut checked_types = wasmir_ir::FxHashMap::default();
    for &v in &defined {
        let ty = body.value_type(v);
        let problem = checked_types.entry(ty).or_insert_with(|| type_problem(ctx, ty));
        if let Some(problem) = problem.clone() {
            let at = match body.value_def(v) {
                ValueDef::Result { op, .. } => body.op_loc(op),
                ValueDef::BlockArg { block, .. } => {
                    body.block_parent_op(block).map_or(Location::Unknown, |op| body.op_loc(op))
                }
            };
            errors.push(Diagnostic::error(at, problem));
        }
    }
    for v in defined {
        if ctx.type_traits(body.value_type(v)).contains(TypeTraits::LINEAR) {
            LinearCheck::new(ctx, body, v).run(errors);
        }
    }
}

/// What is wrong with a type built without the parser (which checks dialect type parameters
/// as it reads them): its dialect's parameter check, applied through function types.
fn type_problem(ctx: &Context, ty: wasmir_ir::Type) -> Option<String> {
    match ctx.type_data(ty) {
        wasmir_ir::TypeData::Dialect { name, params } => {
            let name = ctx.ident_str(*name);
            let def = ctx.registry().lookup_type(name)?;
            let verify = def.verify?;
            verify(ctx, params).err().map(|m| format!("invalid `!{name}`: {m}"))
        }
        wasmir_ir::TypeData::Function { inputs, results } => {
            inputs.iter().chain(results.iter()).find_map(|&t| type_problem(ctx, t))
        }
        _ => None,
    }
}

/// An opaque operand may go to calls, branches, returns and yields, to ops of its type's own
/// dialect, and to pure ops that only forward it (every result has its type, as `select`).
fn check_opaque_uses(ctx: &Context, body: &Body, op: Op, errors: &mut Vec<Diagnostic>) {
    let def = ctx.op_def(body.op_kind(op));
    for &v in body.operands(op) {
        let ty = body.value_type(v);
        if !ctx.type_traits(ty).contains(TypeTraits::OPAQUE) {
            continue;
        }
        let type_dialect = match ctx.type_data(ty) {
            wasmir_ir::TypeData::Dialect { name, .. } => ctx.ident_str(*name).split('.').next().unwrap_or(""),
            _ => "",
        };
        let passes_on =
            def.has(Traits::CALL_LIKE) || def.has(Traits::TERMINATOR) || def.branch_depths.is_some();
        let forwards = def.has(Traits::PURE)
            && body.op_regions(op).is_empty()
            && !body.results(op).is_empty()
            && body.results(op).iter().all(|&r| body.value_type(r) == ty);
        if !(passes_on || forwards || def.dialect() == type_dialect) {
            errors.push(Diagnostic::error(
                body.op_loc(op),
                format!(
                    "'{}' op cannot use a value of opaque type `{}`: it may only be passed to calls, \
                     returned, yielded or given to `{type_dialect}` ops",
                    def.name,
                    type_to_string(ctx, ty)
                ),
            ));
        }
    }
}

/// A construct being walked: where branches to it go, and the states they arrive with.
struct Label {
    is_loop: bool,
    /// Whether the value was consumed when the construct was entered.
    entry: bool,
    /// The states of the paths leaving the construct.
    exits: Vec<(bool, Location)>,
}

/// How a walk through a block ended.
enum Flow {
    /// It fell out of the block (through its terminator) in this state.
    Falls(bool),
    /// Every path branched away, returned or trapped; or an error was reported.
    Ends,
}

struct LinearCheck<'a> {
    ctx: &'a Context,
    body: &'a Body,
    value: Value,
    error: Option<Diagnostic>,
}

impl<'a> LinearCheck<'a> {
    fn new(ctx: &'a Context, body: &'a Body, value: Value) -> Self {
        Self { ctx, body, value, error: None }
    }

    fn run(mut self, errors: &mut Vec<Diagnostic>) {
        let (block, after) = match self.body.value_def(self.value) {
            ValueDef::Result { op, .. } => (self.body.op_block(op), Some(op)),
            ValueDef::BlockArg { block, .. } => (Some(block), None),
        };
        let Some(block) = block else { return };
        let mut labels = Vec::new();
        if let Flow::Falls(consumed) = self.walk(block, after, false, &mut labels)
            && !consumed
            && self.error.is_none()
        {
            let at = self.body.block_last(block).map_or(Location::Unknown, |op| self.body.op_loc(op));
            self.leak(at);
        }
        errors.extend(self.error);
    }

    fn type_name(&self) -> String {
        type_to_string(self.ctx, self.body.value_type(self.value))
    }

    /// Where the value comes from: its op, or the construct whose region argument it is (a
    /// function's parameters have no op in this body, so no location).
    fn definition(&self) -> Location {
        match self.body.value_def(self.value) {
            ValueDef::Result { op, .. } => self.body.op_loc(op),
            ValueDef::BlockArg { block, .. } => {
                self.body.block_parent_op(block).map_or(Location::Unknown, |op| self.body.op_loc(op))
            }
        }
    }

    fn with_definition(&self, d: Diagnostic) -> Diagnostic {
        match self.definition() {
            Location::Unknown => d,
            at => d.with_note(at, "the value is defined here"),
        }
    }

    fn leak(&mut self, at: Location) {
        if self.error.is_none() {
            let msg = format!(
                "a value of linear type `{}` is not consumed on this path (it must be used exactly once)",
                self.type_name()
            );
            self.error = Some(self.with_definition(Diagnostic::error(at, msg)));
        }
    }

    /// A path leaves through a branch of depth `depth` (relative to `labels`) in `consumed`.
    fn branch(&mut self, depth: u32, consumed: bool, at: Location, labels: &mut [Label]) {
        let depth = depth as usize;
        if depth >= labels.len() {
            // Out of the value's scope: it must be gone by now.
            if !consumed {
                self.leak(at);
            }
            return;
        }
        let index = labels.len() - 1 - depth;
        let label = &mut labels[index];
        if label.is_loop {
            if consumed && !label.entry && self.error.is_none() {
                let msg = format!(
                    "a value of linear type `{}` is consumed inside a loop and would be used again on its next iteration",
                    self.type_name()
                );
                self.error = Some(self.with_definition(Diagnostic::error(at, msg)));
            }
        } else {
            label.exits.push((consumed, at));
        }
    }

    fn walk(&mut self, block: Block, after: Option<Op>, mut consumed: bool, labels: &mut Vec<Label>) -> Flow {
        let (ctx, body) = (self.ctx, self.body);
        let mut next = match after {
            Some(op) => body.next_op(op),
            None => body.block_first(block),
        };
        while let Some(op) = next {
            if self.error.is_some() {
                return Flow::Ends;
            }
            next = body.next_op(op);
            let def = ctx.op_def(body.op_kind(op));
            let loc = body.op_loc(op);
            let uses = body.operands(op).iter().filter(|&&v| v == self.value).count();
            if uses > 0 {
                if consumed || uses > 1 {
                    let msg = format!(
                        "'{}' op uses a value of linear type `{}` after it was consumed (it must be used exactly once)",
                        def.name,
                        self.type_name()
                    );
                    self.error = Some(self.with_definition(Diagnostic::error(loc, msg)));
                    return Flow::Ends;
                }
                consumed = true;
            }
            if let Some(depths) = def.branch_depths {
                for depth in depths(OpRef::new(ctx, body, op)) {
                    self.branch(depth, consumed, loc, labels);
                }
                if def.has(Traits::TERMINATOR) {
                    return Flow::Ends;
                }
                continue;
            }
            if def.has(Traits::RETURN_LIKE) {
                if !consumed {
                    self.leak(loc);
                }
                return Flow::Ends;
            }
            if def.has(Traits::TERMINATOR) {
                return if def.has(Traits::MAY_TRAP) { Flow::Ends } else { Flow::Falls(consumed) };
            }
            if def.has(Traits::LABEL) {
                labels.push(Label { is_loop: def.has(Traits::LOOP), entry: consumed, exits: Vec::new() });
                for &region in body.op_regions(op) {
                    match body.region_blocks(region).first() {
                        Some(&inner) => {
                            if let Flow::Falls(state) = self.walk(inner, None, consumed, labels) {
                                let end = body.block_last(inner).map_or(loc, |t| body.op_loc(t));
                                labels.last_mut().expect("pushed above").exits.push((state, end));
                            }
                        }
                        // An absent `else` falls through unchanged.
                        None => labels.last_mut().expect("pushed above").exits.push((consumed, loc)),
                    }
                }
                let label = labels.pop().expect("pushed above");
                if self.error.is_some() {
                    return Flow::Ends;
                }
                let Some(&(first, _)) = label.exits.first() else { return Flow::Ends };
                if label.exits.iter().any(|&(s, _)| s != first) {
                    let (_, at) =
                        label.exits.iter().find(|&&(s, _)| !s).copied().expect("some path did not consume");
                    self.leak(at);
                    return Flow::Ends;
                }
                consumed = first;
            }
        }
        Flow::Falls(consumed)
    }
}
