//! `dce`: removes pure ops whose results are unused (ops that may trap or have effects stay).

use crate::is_trivially_dead;
use wasmir_ir::pass::{FunctionPass, FunctionUnit, PassImpl, PassInfo};
use wasmir_ir::{Body, Context, Diagnostic};

pub(crate) const INFO: PassInfo = PassInfo {
    name: "dce",
    summary: "Remove pure ops whose results are unused",
    options: &[],
    create: |_| Ok(PassImpl::Function(Box::new(Dce))),
};

/// Dead code elimination.
#[derive(Debug, Clone, Copy)]
pub struct Dce;

impl FunctionPass for Dce {
    fn run(&self, ctx: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic> {
        dce_body(ctx, func.body);
        Vec::new()
    }
}

/// Removes dead pure ops from `body`; returns how many were removed.
pub fn dce_body(ctx: &Context, body: &mut Body) -> usize {
    let mut removed = 0;
    loop {
        let mut changed = false;
        // Users follow definitions in pre-order: walking backwards frees whole chains.
        for op in body.preorder().into_iter().rev() {
            if body.is_alive(op) && is_trivially_dead(ctx, body, op) {
                body.erase_op(op);
                removed += 1;
                changed = true;
            }
        }
        if !changed {
            return removed;
        }
    }
}
