//! `canonicalize`: a greedy driver applying every dialect's folders and patterns, erasing
//! trivially dead ops and moving constants to the right of commutative ops, to a fixpoint.

use crate::{constant_of, is_trivially_dead};
use wasmir_ir::pass::{FunctionPass, FunctionUnit, PassImpl, PassInfo, PassOptionSpec, PassOptions};
use wasmir_ir::registry::{FoldInput, Folded};
use wasmir_ir::{
    Attr, Body, Builder, Context, Diagnostic, InsertPoint, OpRef, Rewriter, SmallVec, Traits, Value,
};

pub(crate) const INFO: PassInfo = PassInfo {
    name: "canonicalize",
    summary: "Fold constants, apply each dialect's canonicalization patterns, remove dead pure ops",
    options: &[PassOptionSpec {
        name: "max-iterations",
        doc: "How many sweeps over a function at most before giving up on a fixpoint",
        default: "10",
    }],
    create: |opts: &PassOptions| {
        let max_iterations = opts.get_u32("max-iterations")?;
        Ok(PassImpl::Function(Box::new(Canonicalize { max_iterations })))
    },
};

/// The canonicalizer.
#[derive(Debug, Clone, Copy)]
pub struct Canonicalize {
    pub max_iterations: u32,
}

impl FunctionPass for Canonicalize {
    fn run(&self, ctx: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic> {
        let mut remarks = Vec::new();
        let explain = ctx.explain_rewrites().then_some(&mut remarks);
        let outcome = canonicalize_explained(ctx, func.body, self.max_iterations, explain);
        if !outcome.converged {
            remarks.push(Diagnostic::warning(
                func.loc,
                format!(
                    "canonicalize did not reach a fixpoint in @{} within {} iterations (max-iterations)",
                    func.name, self.max_iterations
                ),
            ));
        }
        remarks
    }
}

/// What a canonicalization run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonicalizeOutcome {
    /// Number of changes made.
    pub changes: usize,
    /// Whether a last sweep found nothing left to change.
    pub converged: bool,
}

/// Canonicalizes every op of `body` (not its child bodies), sweeping until a sweep changes
/// nothing or `max_iterations` sweeps have all changed something.
pub fn canonicalize_body(ctx: &Context, body: &mut Body, max_iterations: u32) -> CanonicalizeOutcome {
    canonicalize_explained(ctx, body, max_iterations, None)
}

/// [`canonicalize_body`], with a remark per applied fold or pattern (its rule name, identity
/// and citations, at the rewritten op) when `remarks` is given (`--explain-rewrites`).
fn canonicalize_explained(
    ctx: &Context,
    body: &mut Body,
    max_iterations: u32,
    mut remarks: Option<&mut Vec<Diagnostic>>,
) -> CanonicalizeOutcome {
    let mut changes = 0;
    for _ in 0..max_iterations.max(1) {
        let made = sweep(ctx, body, remarks.as_deref_mut());
        if made == 0 {
            return CanonicalizeOutcome { changes, converged: true };
        }
        changes += made;
    }
    CanonicalizeOutcome { changes, converged: false }
}

fn sweep(ctx: &Context, body: &mut Body, mut remarks: Option<&mut Vec<Diagnostic>>) -> usize {
    let mut changes = 0;
    // Users come after definitions in pre-order, so walking backwards erases whole dead
    // chains in one sweep; folding order does not matter for the fixpoint.
    for op in body.preorder().into_iter().rev() {
        if !body.is_alive(op) {
            continue;
        }
        if is_trivially_dead(ctx, body, op) {
            body.erase_op(op);
            changes += 1;
            continue;
        }
        let def = ctx.op_def(body.op_kind(op));
        if def.has(Traits::CONSTANT_LIKE) {
            continue;
        }
        // Where a remark goes, read before a rewrite erases the op.
        let loc = body.op_loc(op);
        if def.has(Traits::COMMUTATIVE) && body.operands(op).len() == 2 {
            let (a, b) = (body.operands(op)[0], body.operands(op)[1]);
            if constant_of(ctx, body, a).is_some() && constant_of(ctx, body, b).is_none() {
                body.swap_operands(op, 0, 1);
                changes += 1;
            }
        }
        if let Some(fold) = def.fold {
            let constants: SmallVec<[Option<Attr>; 3]> =
                body.operands(op).iter().map(|&v| constant_of(ctx, body, v)).collect();
            let folded = fold(&FoldInput { op: OpRef::new(ctx, body, op), constants: &constants });
            if let Some(folded) = folded
                && apply_fold(ctx, body, op, &folded)
            {
                changes += 1;
                if let Some(remarks) = remarks.as_deref_mut() {
                    let dialect = ctx.registry().dialect(def.dialect());
                    let citations = dialect.map_or(&[][..], |d| d.fold_citations).join(", ");
                    remarks.push(Diagnostic::remark(
                        loc,
                        format!("{}.fold: {} [{citations}]", def.dialect(), crate::rules::FOLD_IDENTITY),
                    ));
                }
                continue;
            }
        }
        for pattern in def.patterns {
            let mut rw = Rewriter::new(ctx, body);
            if (pattern.apply)(&mut rw, op) {
                changes += rw.changes().max(1);
                if let Some(remarks) = remarks.as_deref_mut() {
                    remarks.push(Diagnostic::remark(
                        loc,
                        format!(
                            "{}.{}: {} [{}]",
                            def.dialect(),
                            pattern.name,
                            pattern.identity,
                            pattern.citations.join(", ")
                        ),
                    ));
                }
                break;
            }
        }
    }
    changes
}

/// Replaces the results of `op` with folded values, materializing constants right before
/// it through the op's dialect. Leaves the op alone if any constant cannot be materialized.
fn apply_fold(ctx: &Context, body: &mut Body, op: wasmir_ir::Op, folded: &[Folded]) -> bool {
    let results: SmallVec<[Value; 1]> = body.results(op).into();
    if folded.len() != results.len() {
        return false;
    }
    let def = ctx.op_def(body.op_kind(op));
    let materialize = ctx.registry().dialect(def.dialect()).and_then(|d| d.materialize_constant);
    let loc = body.op_loc(op);
    let mut replacements: SmallVec<[Value; 1]> = SmallVec::new();
    let mut created = Vec::new();
    for (&f, &r) in folded.iter().zip(&results) {
        let v = match f {
            Folded::Value(v) => v,
            Folded::Const(a) => {
                let ty = body.value_type(r);
                let mut b = Builder { ctx, body: &mut *body, ip: InsertPoint::Before(op), loc };
                match materialize.and_then(|m| m(&mut b, a, ty, loc)) {
                    Some(v) => {
                        created.push(v);
                        v
                    }
                    None => {
                        for v in created {
                            if let Some(c) = body.defining_op(v) {
                                body.erase_op(c);
                            }
                        }
                        return false;
                    }
                }
            }
        };
        replacements.push(v);
    }
    body.replace_op(op, &replacements);
    true
}
