//! `Rewriter`: the mutation API patterns use (insert, erase, move, replace, clone), with a
//! change counter so drivers know when a fixpoint is reached.

use crate::{Body, Builder, Context, InsertPoint, Location, Op, OpRef, Region, Value};
use rustc_hash::FxHashMap;

/// Mutates one body on behalf of a rewrite pattern or pass.
#[derive(Debug)]
pub struct Rewriter<'a> {
    pub builder: Builder<'a>,
    changes: usize,
}

impl<'a> Rewriter<'a> {
    /// A rewriter over `body` (ops are created detached until an insertion point is set).
    pub fn new(ctx: &'a Context, body: &'a mut Body) -> Self {
        Self { builder: Builder { ctx, body, ip: InsertPoint::Detached, loc: Location::Unknown }, changes: 0 }
    }
    /// The context.
    pub fn ctx(&self) -> &'a Context {
        self.builder.ctx
    }
    /// The body being rewritten.
    pub fn body(&self) -> &Body {
        self.builder.body
    }
    /// A read-only view of `op`.
    pub fn view(&self, op: Op) -> OpRef<'_> {
        OpRef::new(self.builder.ctx, self.builder.body, op)
    }
    /// How many changes were made so far.
    pub fn changes(&self) -> usize {
        self.changes
    }
    /// Records a change made directly through `builder`.
    pub fn note_change(&mut self) {
        self.changes += 1;
    }
    /// Makes new ops go right before `op`, with `op`'s location.
    pub fn set_insertion_before(&mut self, op: Op) {
        self.builder.ip = InsertPoint::Before(op);
        self.builder.loc = self.builder.body.op_loc(op);
    }
    /// Replaces every use of `from` with `to`.
    pub fn replace_all_uses(&mut self, from: Value, to: Value) {
        self.builder.body.replace_all_uses(from, to);
        self.changes += 1;
    }
    /// Replaces the results of `op` with `values` and erases it.
    pub fn replace_op(&mut self, op: Op, values: &[Value]) {
        self.builder.body.replace_op(op, values);
        self.changes += 1;
    }
    /// Erases `op` (its results must be unused).
    pub fn erase_op(&mut self, op: Op) {
        self.builder.body.erase_op(op);
        self.changes += 1;
    }
    /// Moves `op` right before `anchor`.
    pub fn move_op_before(&mut self, op: Op, anchor: Op) {
        self.builder.body.move_op_before(op, anchor);
        self.changes += 1;
    }
    /// Replaces operand `index` of `op`.
    pub fn set_operand(&mut self, op: Op, index: usize, value: Value) {
        self.builder.body.set_operand(op, index, value);
        self.changes += 1;
    }
    /// Swaps two operands of `op`.
    pub fn swap_operands(&mut self, op: Op, a: usize, b: usize) {
        self.builder.body.swap_operands(op, a, b);
        self.changes += 1;
    }
    /// Deep-clones a region (detached) with operands mapped through `map`.
    pub fn clone_region(&mut self, region: Region, map: &mut FxHashMap<Value, Value>) -> Region {
        self.changes += 1;
        self.builder.body.clone_region(region, map)
    }
}
