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

/// One block being walked: its ops, the next one to look at, and how many entries the table
/// had when the block began (its scope ends by removing the entries added since).
struct Scope {
    ops: Vec<wasmir_ir::Op>,
    next: usize,
    mark: Option<usize>,
}

/// Eliminates common subexpressions in `body`; returns how many ops were removed.
///
/// The walk is iterative (any nesting depth, on any thread's stack) and keeps one table for
/// all open scopes: an entry is added only when no open scope has its key, so closing a scope
/// just removes the keys it added.
pub fn cse_body(ctx: &Context, body: &mut Body) -> usize {
    let mut table: FxHashMap<Key, SmallVec<[Value; 1]>> = FxHashMap::default();
    let mut added: Vec<Key> = Vec::new();
    let mut removed = 0;
    let roots: Vec<Block> = body.roots().iter().flat_map(|&r| body.region_blocks(r).to_vec()).collect();
    let scope =
        |body: &Body, block: Block| Scope { ops: body.block_ops(block).collect(), next: 0, mark: None };
    let mut stack: Vec<Scope> = roots.iter().rev().map(|&b| scope(body, b)).collect();
    while let Some(top) = stack.last_mut() {
        let mark = *top.mark.get_or_insert(added.len());
        let Some(&op) = top.ops.get(top.next) else {
            for key in added.drain(mark..) {
                table.remove(&key);
            }
            stack.pop();
            continue;
        };
        top.next += 1;
        let def = ctx.op_def(body.op_kind(op));
        let regions: Vec<_> = body.op_regions(op).to_vec();
        if def.has(Traits::PURE) && regions.is_empty() && body.child(op).is_none() {
            let key: Key = (
                body.op_kind(op),
                body.op_attrs(op),
                body.operands(op).into(),
                body.results(op).iter().map(|&r| body.value_type(r)).collect(),
            );
            match table.get(&key).cloned() {
                Some(values) => {
                    body.replace_op(op, &values);
                    removed += 1;
                }
                None => {
                    table.insert(key.clone(), body.results(op).into());
                    added.push(key);
                }
            }
            continue;
        }
        // The op's regions, first region first, each block its own scope inside this one.
        let blocks: Vec<Block> = regions.iter().flat_map(|&r| body.region_blocks(r).to_vec()).collect();
        stack.extend(blocks.iter().rev().map(|&b| scope(body, b)));
    }
    removed
}
