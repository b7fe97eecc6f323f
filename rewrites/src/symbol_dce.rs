//! `symbol-dce`: removes private symbols (functions, later globals and tables) that nothing
//! public reaches through symbol references.

use crate::for_each_symbol_ref;
use wasmir_ir::pass::{ModulePass, PassImpl, PassInfo};
use wasmir_ir::{
    Body, Context, Diagnostic, FxHashMap, FxHashSet, Module, Op, is_private_symbol, symbol_name,
};

pub(crate) const INFO: PassInfo = PassInfo {
    name: "symbol-dce",
    summary: "Remove private symbols that no public symbol references",
    options: &[],
    create: |_| Ok(PassImpl::Module(Box::new(SymbolDce))),
};

/// Dead symbol elimination.
#[derive(Debug, Clone, Copy)]
pub struct SymbolDce;

impl ModulePass for SymbolDce {
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic> {
        let block = module.block();
        let body = module.body_mut();
        let ops: Vec<Op> = body.block_ops(block).collect();
        // Which names each top-level op references, anywhere inside it.
        let mut refs: FxHashMap<Op, Vec<String>> = FxHashMap::default();
        for &op in &ops {
            let mut names = Vec::new();
            collect_refs(ctx, body, op, &mut names);
            refs.insert(op, names);
        }
        let by_name: FxHashMap<String, Op> =
            ops.iter().filter_map(|&op| symbol_name(ctx, body, op).map(|n| (n.to_string(), op))).collect();
        let mut live: FxHashSet<Op> = FxHashSet::default();
        let mut work: Vec<Op> = ops.iter().copied().filter(|&op| !is_private_symbol(ctx, body, op)).collect();
        while let Some(op) = work.pop() {
            if !live.insert(op) {
                continue;
            }
            for name in &refs[&op] {
                if let Some(&target) = by_name.get(name) {
                    work.push(target);
                }
            }
        }
        for op in ops {
            if !live.contains(&op) {
                body.erase_op(op);
            }
        }
        Vec::new()
    }
}

/// The names `op` references, in its attributes and anywhere inside it, in order.
pub(crate) fn collect_refs(ctx: &Context, body: &Body, op: Op, out: &mut Vec<String>) {
    for_each_symbol_ref(ctx, body.op_attrs(op), &mut |n| out.push(n.to_string()));
    let mut nested = Vec::new();
    if let Some(child) = body.child(op) {
        child.for_each_body(&mut |b| {
            for inner in b.preorder() {
                for_each_symbol_ref(ctx, b.op_attrs(inner), &mut |n| nested.push(n.to_string()));
            }
        });
    } else {
        for &r in body.op_regions(op) {
            for inner in body.preorder_region(r) {
                for_each_symbol_ref(ctx, body.op_attrs(inner), &mut |n| nested.push(n.to_string()));
            }
        }
    }
    out.extend(nested);
}
