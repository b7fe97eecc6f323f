//! `cse`: common subexpression elimination of pure ops, scoped by region nesting so a value
//! is reused only where it dominates.

use wasmir_ir::pass::{FunctionPass, FunctionUnit, PassImpl, PassInfo};
use wasmir_ir::{Attr, Block, Body, Context, Diagnostic, FxHashMap, OpKind, SmallVec, Traits, Type, Value};

pub(crate) const INFO: PassInfo = PassInfo {
    name: "cse",
    summary: "Eliminate common subexpressions among pure ops",
    options: &[],
    create: |_| Ok(PassImpl::Function(Box::new(Cse))),
};

/// Common subexpression elimination.
#[derive(Debug, Clone, Copy)]
pub struct Cse;

impl FunctionPass for Cse {
    fn run(&self, ctx: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic> {
        cse_body(ctx, func.body);
        Vec::new()
    }
}

type Key = (OpKind, Attr, SmallVec<[Value; 3]>, SmallVec<[Type; 1]>);

/// Eliminates common subexpressions in `body`; returns how many ops were removed.
pub fn cse_body(ctx: &Context, body: &mut Body) -> usize {
    let mut scopes: Vec<FxHashMap<Key, SmallVec<[Value; 1]>>> = Vec::new();
    let mut removed = 0;
    let roots: Vec<Block> = body.roots().iter().flat_map(|&r| body.region_blocks(r).to_vec()).collect();
    for block in roots {
        cse_block(ctx, body, block, &mut scopes, &mut removed);
    }
    removed
}

fn cse_block(
    ctx: &Context,
    body: &mut Body,
    block: Block,
    scopes: &mut Vec<FxHashMap<Key, SmallVec<[Value; 1]>>>,
    removed: &mut usize,
) {
    scopes.push(FxHashMap::default());
    let ops: Vec<_> = body.block_ops(block).collect();
    for op in ops {
        let def = ctx.op_def(body.op_kind(op));
        let regions: Vec<_> = body.op_regions(op).to_vec();
        if def.has(Traits::PURE) && regions.is_empty() && body.child(op).is_none() {
            let key: Key = (
                body.op_kind(op),
                body.op_attrs(op),
                body.operands(op).into(),
                body.results(op).iter().map(|&r| body.value_type(r)).collect(),
            );
            let existing = scopes.iter().rev().find_map(|s| s.get(&key)).cloned();
            match existing {
                Some(values) => {
                    body.replace_op(op, &values);
                    *removed += 1;
                }
                None => {
                    let results = body.results(op).into();
                    scopes.last_mut().expect("scope pushed above").insert(key, results);
                }
            }
            continue;
        }
        for r in regions {
            for b in body.region_blocks(r).to_vec() {
                cse_block(ctx, body, b, scopes, removed);
            }
        }
    }
    scopes.pop();
}
