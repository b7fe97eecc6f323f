//! `Builder`: creates ops at an insertion point; the typed API of every dialect builds on it.

use crate::body::NewOp;
use crate::registry::OpKind;
use crate::{Attr, Block, Body, Context, Location, Op, Region, Type, Value};
use smallvec::SmallVec;

/// Where a builder puts the ops it creates.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InsertPoint {
    /// At the end of a block.
    End(Block),
    /// Right before an op.
    Before(Op),
    /// Nowhere: ops stay detached.
    Detached,
}

/// Creates ops in one [`Body`] at an insertion point.
#[derive(Debug)]
pub struct Builder<'a> {
    pub ctx: &'a Context,
    pub body: &'a mut Body,
    pub ip: InsertPoint,
    /// The location given to created ops.
    pub loc: Location,
}

impl<'a> Builder<'a> {
    /// A builder that appends to `block`.
    pub fn at_end(ctx: &'a Context, body: &'a mut Body, block: Block) -> Self {
        Self { ctx, body, ip: InsertPoint::End(block), loc: Location::Unknown }
    }

    /// A builder that inserts before `op`.
    pub fn before(ctx: &'a Context, body: &'a mut Body, op: Op) -> Self {
        Self { ctx, body, ip: InsertPoint::Before(op), loc: Location::Unknown }
    }

    /// Looks up an op kind by full name. Panics when the dialect is not registered, which is
    /// a bug in the calling code (typed builders use names of their own dialect).
    pub fn kind(&self, name: &str) -> OpKind {
        self.ctx
            .registry()
            .lookup_op(name)
            .unwrap_or_else(|| panic!("op `{name}` is not registered in this context"))
    }

    /// Links a detached op at the insertion point.
    pub fn insert(&mut self, op: Op) -> Op {
        match self.ip {
            InsertPoint::End(block) => self.body.append_op(block, op),
            InsertPoint::Before(anchor) => self.body.insert_op_before(anchor, op),
            InsertPoint::Detached => {}
        }
        op
    }

    /// Creates and inserts an op.
    pub fn create(&mut self, new: NewOp) -> Op {
        let op = self.body.create_op(new);
        self.insert(op)
    }

    /// Creates and inserts an op from its parts; `attrs` are `(name, value)` pairs.
    pub fn op(
        &mut self,
        name: &str,
        operands: &[Value],
        result_types: &[Type],
        attrs: &[(&str, Attr)],
    ) -> Op {
        let kind = self.kind(name);
        let attrs = self.attrs(attrs);
        let mut new = NewOp::new(kind, self.loc);
        new.operands = operands.into();
        new.result_types = result_types.into();
        new.attrs = attrs;
        self.create(new)
    }

    /// Creates an op with one result and returns that result.
    pub fn op1(
        &mut self,
        name: &str,
        operands: &[Value],
        result_type: Type,
        attrs: &[(&str, Attr)],
    ) -> Value {
        let op = self.op(name, operands, &[result_type], attrs);
        self.body.results(op)[0]
    }

    /// Interns an attribute dictionary from `(name, value)` pairs.
    pub fn attrs(&self, attrs: &[(&str, Attr)]) -> Attr {
        self.ctx.dict_attr(attrs.iter().map(|&(k, v)| (self.ctx.ident(k), v)).collect())
    }

    /// Creates a detached region holding one block with arguments of `arg_types`.
    pub fn region_with_block(&mut self, arg_types: &[Type]) -> (Region, Block) {
        let region = self.body.create_region();
        let block = self.body.create_block(arg_types);
        self.body.append_block(region, block);
        (region, block)
    }

    /// Runs `f` with a builder appending to `block` of the same body, then restores this one.
    pub fn with_block<R>(&mut self, block: Block, f: impl FnOnce(&mut Builder<'_>) -> R) -> R {
        let mut inner =
            Builder { ctx: self.ctx, body: &mut *self.body, ip: InsertPoint::End(block), loc: self.loc };
        f(&mut inner)
    }

    /// The results of an op, copied out.
    pub fn results(&self, op: Op) -> SmallVec<[Value; 1]> {
        self.body.results(op).into()
    }
}
