//! `OpRef`: a read-only view of one op with convenient accessors for hooks and passes.

use crate::registry::{OpDef, OpKind, ValueSpec};
use crate::{Attr, Body, Context, Location, Op, Region, Type, Value};
use std::ops::Range;

/// A read-only view of one op together with the context and body it lives in.
#[derive(Copy, Clone)]
pub struct OpRef<'a> {
    pub ctx: &'a Context,
    pub body: &'a Body,
    pub op: Op,
}

impl std::fmt::Debug for OpRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpRef({:?} {})", self.op, self.name())
    }
}

impl<'a> OpRef<'a> {
    /// A view of `op` in `body`.
    pub fn new(ctx: &'a Context, body: &'a Body, op: Op) -> Self {
        Self { ctx, body, op }
    }
    /// The op's kind.
    pub fn kind(&self) -> OpKind {
        self.body.op_kind(self.op)
    }
    /// The op's definition.
    pub fn def(&self) -> &'static OpDef {
        self.ctx.op_def(self.kind())
    }
    /// The op's full name.
    pub fn name(&self) -> &'static str {
        self.def().name
    }
    /// All operands.
    pub fn operands(&self) -> &'a [Value] {
        self.body.operands(self.op)
    }
    /// Operand `i`.
    pub fn operand(&self, i: usize) -> Value {
        self.body.operands(self.op)[i]
    }
    /// All results.
    pub fn results(&self) -> &'a [Value] {
        self.body.results(self.op)
    }
    /// Result `i`.
    pub fn result(&self, i: usize) -> Value {
        self.body.results(self.op)[i]
    }
    /// A value's type.
    pub fn value_type(&self, v: Value) -> Type {
        self.body.value_type(v)
    }
    /// Types of all operands.
    pub fn operand_types(&self) -> Vec<Type> {
        self.operands().iter().map(|&v| self.body.value_type(v)).collect()
    }
    /// Types of all results.
    pub fn result_types(&self) -> Vec<Type> {
        self.results().iter().map(|&v| self.body.value_type(v)).collect()
    }
    /// The attribute dictionary.
    pub fn attrs(&self) -> Attr {
        self.body.op_attrs(self.op)
    }
    /// The attribute named `name`.
    pub fn attr(&self, name: &str) -> Option<Attr> {
        self.ctx.dict_get(self.attrs(), name)
    }
    /// The integer attribute named `name`.
    pub fn attr_int(&self, name: &str) -> Option<i64> {
        self.attr(name).and_then(|a| self.ctx.attr_as_int(a))
    }
    /// The string attribute named `name`.
    pub fn attr_str(&self, name: &str) -> Option<&'a str> {
        let ctx: &'a Context = self.ctx;
        self.attr(name).and_then(|a| ctx.attr_as_str(a))
    }
    /// The location.
    pub fn loc(&self) -> Location {
        self.body.op_loc(self.op)
    }
    /// The regions and the body they live in (the child body for an isolated op).
    pub fn regions(&self) -> (&'a Body, &'a [Region]) {
        match self.body.child(self.op) {
            Some(child) => (child, child.roots()),
            None => (self.body, self.body.op_regions(self.op)),
        }
    }
    /// What keeps the op from having the shape its declaration gives (operand and result
    /// counts, region count, required attributes), if anything. Custom printers, folders and
    /// passes index operands by that shape, so IR that skipped verification is checked
    /// against it before they see it.
    pub fn shape_problem(&self) -> Option<String> {
        let def = self.def();
        let (operands, results) = (self.operands().len(), self.results().len());
        if !counts_fit(def.operands, operands) {
            return Some(format!("has {operands} operands, which its declaration does not allow"));
        }
        if !counts_fit(def.results, results) {
            return Some(format!("has {results} results, which its declaration does not allow"));
        }
        let regions = self.regions().1.len();
        if regions != def.regions.len() {
            return Some(format!("has {regions} regions, but its declaration has {}", def.regions.len()));
        }
        def.attrs
            .iter()
            .find(|a| !a.optional && self.attr(a.name).is_none())
            .map(|a| format!("lacks the required attribute `{}`", a.name))
    }
    /// The operands of the declared group `name`.
    pub fn operand_group(&self, name: &str) -> &'a [Value] {
        let range = group_range(self.def().operands, self.operands().len(), name);
        range.map_or(&[], |r| &self.operands()[r])
    }
    /// The results of the declared group `name`.
    pub fn result_group(&self, name: &str) -> &'a [Value] {
        let range = group_range(self.def().results, self.results().len(), name);
        range.map_or(&[], |r| &self.results()[r])
    }
}

/// Splits `count` values into the declared groups (the single variadic group takes the rest).
/// `None` when the count cannot fit the declaration.
pub fn group_ranges(specs: &[ValueSpec], count: usize) -> Option<Vec<Range<usize>>> {
    let fixed = specs.iter().filter(|s| !s.variadic).count();
    let has_variadic = specs.iter().any(|s| s.variadic);
    if count < fixed || (!has_variadic && count != fixed) {
        return None;
    }
    let variadic_len = count - fixed;
    let mut ranges = Vec::with_capacity(specs.len());
    let mut at = 0;
    for s in specs {
        let len = if s.variadic { variadic_len } else { 1 };
        ranges.push(at..at + len);
        at += len;
    }
    Some(ranges)
}

/// Whether `count` values fit the groups `specs` (as `group_ranges` would split them), without
/// allocating.
fn counts_fit(specs: &[ValueSpec], count: usize) -> bool {
    let fixed = specs.iter().filter(|s| !s.variadic).count();
    count == fixed || (count > fixed && specs.iter().any(|s| s.variadic))
}

/// The range of the group `name` among `count` values.
pub fn group_range(specs: &[ValueSpec], count: usize, name: &str) -> Option<Range<usize>> {
    let index = specs.iter().position(|s| s.name == name)?;
    group_ranges(specs, count).map(|r| r[index].clone())
}
