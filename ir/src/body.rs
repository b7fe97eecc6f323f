//! `Body`: the arenas of one isolated scope (ops, blocks, regions, SSA values with use lists).
//!
//! An op declared `ISOLATED_FROM_ABOVE` (a module, a function) owns its regions in a child
//! `Body`, so every handle is local to the body that made it. That gives isolation by
//! construction, SSA numbering per function, and parallel function passes: each function
//! body is a disjoint `&mut Body`.

use crate::entity::entity;
use crate::registry::OpKind;
use crate::{Attr, Location, Type};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

entity!(
    /// An operation in a [`Body`].
    Op
);
entity!(
    /// A block: arguments and an ordered list of ops.
    Block
);
entity!(
    /// A region: the blocks nested in an op (exactly one in structured WasmIR, or none).
    Region
);
entity!(
    /// An SSA value: an op result or a block argument.
    Value
);

/// One use of a value: operand `index` of `op`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Use {
    pub op: Op,
    pub index: u32,
}

/// Where a value is defined.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ValueDef {
    Result { op: Op, index: u32 },
    BlockArg { block: Block, index: u32 },
}

#[derive(Clone, Debug)]
struct ValueData {
    ty: Type,
    def: ValueDef,
    /// Most values have one or two uses; those stay inline (same size as a `Vec`).
    uses: SmallVec<[Use; 2]>,
}

/// A range of one of a body's shared lists (`value_lists`, `region_lists`).
#[derive(Copy, Clone, Debug, Default)]
struct ListRange {
    start: u32,
    len: u32,
}

impl ListRange {
    fn of<T>(self, list: &[T]) -> &[T] {
        &list[self.start as usize..(self.start + self.len) as usize]
    }

    /// Appends `items` to `list` and returns their range.
    fn append<T: Copy>(list: &mut Vec<T>, items: &[T]) -> Self {
        let start = u32::try_from(list.len()).expect("a body holds fewer than 2^32 list entries");
        list.extend_from_slice(items);
        Self { start, len: items.len() as u32 }
    }
}

/// An op. Its operand, result and region lists live in the body's shared lists, so an op
/// takes 68 bytes whatever its arity and allocates nothing of its own.
#[derive(Clone, Debug)]
struct OpData {
    kind: OpKind,
    attrs: Attr,
    operands: ListRange,
    results: ListRange,
    regions: ListRange,
    /// Index into `children`, or `NO_CHILD`.
    child: u32,
    parent: Option<Block>,
    prev: Option<Op>,
    next: Option<Op>,
    loc: Location,
    alive: bool,
}

#[derive(Clone, Debug, Default)]
struct BlockData {
    args: SmallVec<[Value; 2]>,
    first: Option<Op>,
    last: Option<Op>,
    parent: Option<Region>,
}

#[derive(Clone, Debug, Default)]
struct RegionData {
    blocks: SmallVec<[Block; 1]>,
    parent: Option<Op>,
}

/// `OpData::child` of an op without a child body.
const NO_CHILD: u32 = u32::MAX;

/// Everything needed to create an op.
#[derive(Debug, Clone)]
pub struct NewOp {
    pub kind: OpKind,
    pub operands: SmallVec<[Value; 3]>,
    pub result_types: SmallVec<[Type; 1]>,
    pub attrs: Attr,
    /// Regions in this body (for ops that are not isolated).
    pub regions: SmallVec<[Region; 1]>,
    /// The child body of an isolated op; its root regions are the op's regions.
    pub child: Option<Body>,
    pub loc: Location,
}

impl NewOp {
    /// An op of `kind` with nothing else yet.
    pub fn new(kind: OpKind, loc: Location) -> Self {
        Self {
            kind,
            operands: SmallVec::new(),
            result_types: SmallVec::new(),
            attrs: Attr::EMPTY_DICT,
            regions: SmallVec::new(),
            child: None,
            loc,
        }
    }
}

/// The storage of one isolated scope. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Body {
    ops: Vec<OpData>,
    blocks: Vec<BlockData>,
    regions: Vec<RegionData>,
    values: Vec<ValueData>,
    /// The ops' operand and result lists.
    value_lists: Vec<Value>,
    /// The ops' region lists.
    region_lists: Vec<Region>,
    children: Vec<Body>,
    roots: SmallVec<[Region; 1]>,
}

/// Iterates the ops of a block in order.
#[derive(Debug, Clone)]
pub struct BlockOps<'a> {
    body: &'a Body,
    next: Option<Op>,
}

impl Iterator for BlockOps<'_> {
    type Item = Op;
    #[inline]
    fn next(&mut self) -> Option<Op> {
        let op = self.next?;
        self.next = self.body.ops[op.index()].next;
        Some(op)
    }
}

impl Body {
    /// An empty body.
    pub fn new() -> Self {
        Self::default()
    }

    /// A body whose single root region holds one empty block: the shape of a module's body.
    pub fn with_root_block() -> (Self, Block) {
        let mut body = Self::new();
        let region = body.create_region();
        let block = body.create_block(&[]);
        body.append_block(region, block);
        body.roots.push(region);
        (body, block)
    }

    // ----- reading ops -----

    /// The op's kind.
    #[inline]
    pub fn op_kind(&self, op: Op) -> OpKind {
        self.ops[op.index()].kind
    }
    /// The op's attribute dictionary.
    #[inline]
    pub fn op_attrs(&self, op: Op) -> Attr {
        self.ops[op.index()].attrs
    }
    /// The op's operands.
    #[inline]
    pub fn operands(&self, op: Op) -> &[Value] {
        self.ops[op.index()].operands.of(&self.value_lists)
    }
    /// The op's results.
    #[inline]
    pub fn results(&self, op: Op) -> &[Value] {
        self.ops[op.index()].results.of(&self.value_lists)
    }
    /// The op's regions: in this body, or the root regions of its child body if isolated.
    pub fn op_regions(&self, op: Op) -> &[Region] {
        self.ops[op.index()].regions.of(&self.region_lists)
    }
    /// The child body of an isolated op.
    pub fn child(&self, op: Op) -> Option<&Body> {
        self.children.get(self.ops[op.index()].child as usize)
    }
    /// The child body of an isolated op, mutably.
    pub fn child_mut(&mut self, op: Op) -> Option<&mut Body> {
        self.children.get_mut(self.ops[op.index()].child as usize)
    }
    /// The op's source location.
    #[inline]
    pub fn op_loc(&self, op: Op) -> Location {
        self.ops[op.index()].loc
    }
    /// The block holding the op, if it is linked into one.
    #[inline]
    pub fn op_block(&self, op: Op) -> Option<Block> {
        self.ops[op.index()].parent
    }
    /// The next op in the same block.
    #[inline]
    pub fn next_op(&self, op: Op) -> Option<Op> {
        self.ops[op.index()].next
    }
    /// The previous op in the same block.
    #[inline]
    pub fn prev_op(&self, op: Op) -> Option<Op> {
        self.ops[op.index()].prev
    }
    /// False once the op was erased.
    #[inline]
    pub fn is_alive(&self, op: Op) -> bool {
        self.ops.get(op.index()).is_some_and(|o| o.alive)
    }
    /// The op whose region contains the op's block (in this body).
    pub fn parent_op(&self, op: Op) -> Option<Op> {
        self.op_block(op).and_then(|b| self.block_parent_op(b))
    }
    /// Number of op slots ever allocated (erased ones included).
    pub fn op_capacity(&self) -> usize {
        self.ops.len()
    }
    /// Number of live ops in this body, not counting child bodies.
    pub fn live_op_count(&self) -> usize {
        self.ops.iter().filter(|o| o.alive).count()
    }

    // ----- reading blocks, regions, values -----

    /// The root regions: for a child body, the regions of the isolated op that owns it.
    pub fn roots(&self) -> &[Region] {
        &self.roots
    }
    /// The blocks of a region.
    #[inline]
    pub fn region_blocks(&self, region: Region) -> &[Block] {
        &self.regions[region.index()].blocks
    }
    /// The op owning a region (`None` for root regions).
    pub fn region_parent(&self, region: Region) -> Option<Op> {
        self.regions[region.index()].parent
    }
    /// The block's arguments.
    #[inline]
    pub fn block_args(&self, block: Block) -> &[Value] {
        &self.blocks[block.index()].args
    }
    /// The block's ops in order.
    #[inline]
    pub fn block_ops(&self, block: Block) -> BlockOps<'_> {
        BlockOps { body: self, next: self.blocks[block.index()].first }
    }
    /// The block's first op.
    pub fn block_first(&self, block: Block) -> Option<Op> {
        self.blocks[block.index()].first
    }
    /// The block's last op.
    pub fn block_last(&self, block: Block) -> Option<Op> {
        self.blocks[block.index()].last
    }
    /// The region holding the block.
    pub fn block_region(&self, block: Block) -> Option<Region> {
        self.blocks[block.index()].parent
    }
    /// The op whose region holds the block (`None` in a root region).
    pub fn block_parent_op(&self, block: Block) -> Option<Op> {
        self.block_region(block).and_then(|r| self.region_parent(r))
    }
    /// The value's type.
    #[inline]
    pub fn value_type(&self, value: Value) -> Type {
        self.values[value.index()].ty
    }
    /// Where the value is defined.
    #[inline]
    pub fn value_def(&self, value: Value) -> ValueDef {
        self.values[value.index()].def
    }
    /// The op defining the value, if it is an op result.
    pub fn defining_op(&self, value: Value) -> Option<Op> {
        match self.value_def(value) {
            ValueDef::Result { op, .. } => Some(op),
            ValueDef::BlockArg { .. } => None,
        }
    }
    /// Every use of the value.
    #[inline]
    pub fn uses(&self, value: Value) -> &[Use] {
        &self.values[value.index()].uses
    }
    /// Whether anything uses the value.
    #[inline]
    pub fn has_uses(&self, value: Value) -> bool {
        !self.values[value.index()].uses.is_empty()
    }
    /// Number of value slots ever allocated (for tables indexed by value).
    pub fn value_capacity(&self) -> usize {
        self.values.len()
    }
    /// Whether `value` is a handle this body allocated.
    pub fn contains_value(&self, value: Value) -> bool {
        value.index() < self.values.len()
    }

    // ----- creating -----

    /// Creates a detached op; link it with [`Body::append_op`] or an insert.
    pub fn create_op(&mut self, new: NewOp) -> Op {
        let op = Op::from_index(self.ops.len());
        let results: SmallVec<[Value; 4]> = new
            .result_types
            .iter()
            .enumerate()
            .map(|(i, &ty)| self.new_value(ty, ValueDef::Result { op, index: i as u32 }))
            .collect();
        for (i, &v) in new.operands.iter().enumerate() {
            // A handle from another body is recorded without a use; the verifier reports it
            // ("not a value of this function") instead of the builder panicking.
            if let Some(data) = self.values.get_mut(v.index()) {
                data.uses.push(Use { op, index: i as u32 });
            }
        }
        for &r in &new.regions {
            self.regions[r.index()].parent = Some(op);
        }
        let child = new.child.map_or(NO_CHILD, |c| {
            self.children.push(c);
            self.children.len() as u32 - 1
        });
        let operands = ListRange::append(&mut self.value_lists, &new.operands);
        let results = ListRange::append(&mut self.value_lists, &results);
        let regions = ListRange::append(&mut self.region_lists, &new.regions);
        self.ops.push(OpData {
            kind: new.kind,
            attrs: new.attrs,
            operands,
            results,
            regions,
            child,
            parent: None,
            prev: None,
            next: None,
            loc: new.loc,
            alive: true,
        });
        op
    }

    fn new_value(&mut self, ty: Type, def: ValueDef) -> Value {
        let v = Value::from_index(self.values.len());
        self.values.push(ValueData { ty, def, uses: SmallVec::new() });
        v
    }

    /// Creates a detached, empty region.
    pub fn create_region(&mut self) -> Region {
        let r = Region::from_index(self.regions.len());
        self.regions.push(RegionData::default());
        r
    }

    /// Creates a detached block with arguments of the given types.
    pub fn create_block(&mut self, arg_types: &[Type]) -> Block {
        let block = Block::from_index(self.blocks.len());
        self.blocks.push(BlockData::default());
        for &ty in arg_types {
            self.add_block_arg(block, ty);
        }
        block
    }

    /// Appends an argument to a block.
    pub fn add_block_arg(&mut self, block: Block, ty: Type) -> Value {
        let index = self.blocks[block.index()].args.len() as u32;
        let v = self.new_value(ty, ValueDef::BlockArg { block, index });
        self.blocks[block.index()].args.push(v);
        v
    }

    /// Appends a block to a region.
    pub fn append_block(&mut self, region: Region, block: Block) {
        self.blocks[block.index()].parent = Some(region);
        self.regions[region.index()].blocks.push(block);
    }

    /// Makes `regions` the root regions (used when this body becomes an isolated op's child).
    pub fn set_roots(&mut self, regions: &[Region]) {
        self.roots = regions.iter().copied().collect();
    }

    // ----- linking -----

    /// Appends a detached op at the end of `block`.
    pub fn append_op(&mut self, block: Block, op: Op) {
        debug_assert!(self.ops[op.index()].parent.is_none(), "op is already linked");
        let last = self.blocks[block.index()].last;
        {
            let data = &mut self.ops[op.index()];
            data.parent = Some(block);
            data.prev = last;
            data.next = None;
        }
        match last {
            Some(last) => self.ops[last.index()].next = Some(op),
            None => self.blocks[block.index()].first = Some(op),
        }
        self.blocks[block.index()].last = Some(op);
    }

    /// Inserts a detached op right before `anchor`.
    pub fn insert_op_before(&mut self, anchor: Op, op: Op) {
        let block = self.ops[anchor.index()].parent.expect("anchor is not in a block");
        let prev = self.ops[anchor.index()].prev;
        {
            let data = &mut self.ops[op.index()];
            data.parent = Some(block);
            data.prev = prev;
            data.next = Some(anchor);
        }
        self.ops[anchor.index()].prev = Some(op);
        match prev {
            Some(prev) => self.ops[prev.index()].next = Some(op),
            None => self.blocks[block.index()].first = Some(op),
        }
    }

    /// Inserts a detached op right after `anchor`.
    pub fn insert_op_after(&mut self, anchor: Op, op: Op) {
        match self.ops[anchor.index()].next {
            Some(next) => self.insert_op_before(next, op),
            None => {
                let block = self.ops[anchor.index()].parent.expect("anchor is not in a block");
                self.append_op(block, op);
            }
        }
    }

    /// Takes an op out of its block without erasing it (to move it elsewhere).
    pub fn unlink_op(&mut self, op: Op) {
        let (block, prev, next) = {
            let d = &self.ops[op.index()];
            match d.parent {
                Some(b) => (b, d.prev, d.next),
                None => return,
            }
        };
        match prev {
            Some(p) => self.ops[p.index()].next = next,
            None => self.blocks[block.index()].first = next,
        }
        match next {
            Some(n) => self.ops[n.index()].prev = prev,
            None => self.blocks[block.index()].last = prev,
        }
        let d = &mut self.ops[op.index()];
        d.parent = None;
        d.prev = None;
        d.next = None;
    }

    /// Moves an op (linked or not) to right before `anchor`.
    pub fn move_op_before(&mut self, op: Op, anchor: Op) {
        self.unlink_op(op);
        self.insert_op_before(anchor, op);
    }

    /// Erases an op and everything nested in it. Its results must have no uses left.
    pub fn erase_op(&mut self, op: Op) {
        debug_assert!(
            self.results(op).iter().all(|&r| !self.has_uses(r)),
            "erasing an op whose results are still used"
        );
        self.unlink_op(op);
        let mut stack = vec![op];
        while let Some(op) = stack.pop() {
            let operands: SmallVec<[Value; 4]> = self.operands(op).into();
            self.ops[op.index()].operands.len = 0;
            for (i, v) in operands.into_iter().enumerate() {
                self.remove_use(v, Use { op, index: i as u32 });
            }
            let regions: SmallVec<[Region; 2]> = self.op_regions(op).into();
            self.ops[op.index()].regions.len = 0;
            for r in regions {
                for b in std::mem::take(&mut self.regions[r.index()].blocks) {
                    let mut next = self.blocks[b.index()].first;
                    while let Some(inner) = next {
                        next = self.ops[inner.index()].next;
                        stack.push(inner);
                    }
                    self.blocks[b.index()] = BlockData::default();
                }
            }
            let c = std::mem::replace(&mut self.ops[op.index()].child, NO_CHILD);
            if let Some(child) = self.children.get_mut(c as usize) {
                *child = Body::new();
            }
            let d = &mut self.ops[op.index()];
            d.alive = false;
            d.parent = None;
            d.prev = None;
            d.next = None;
        }
    }

    fn remove_use(&mut self, value: Value, u: Use) {
        let Some(data) = self.values.get_mut(value.index()) else { return };
        if let Some(pos) = data.uses.iter().position(|&x| x == u) {
            data.uses.swap_remove(pos);
        }
    }

    // ----- changing operands, attributes, uses -----

    /// Replaces operand `index` of `op`.
    pub fn set_operand(&mut self, op: Op, index: usize, value: Value) {
        let old = self.operands(op)[index];
        if old == value {
            return;
        }
        let u = Use { op, index: index as u32 };
        self.remove_use(old, u);
        self.value_lists[self.ops[op.index()].operands.start as usize + index] = value;
        self.values[value.index()].uses.push(u);
    }

    /// Replaces all operands of `op`.
    pub fn set_operands(&mut self, op: Op, values: &[Value]) {
        let old: SmallVec<[Value; 4]> = self.operands(op).into();
        for (i, v) in old.into_iter().enumerate() {
            self.remove_use(v, Use { op, index: i as u32 });
        }
        for (i, &v) in values.iter().enumerate() {
            self.values[v.index()].uses.push(Use { op, index: i as u32 });
        }
        // In place when the new list fits, else at the end of the shared list (the old range
        // is left unused, as an erased op's are: bodies are rebuilt, not compacted).
        let range = &mut self.ops[op.index()].operands;
        if values.len() <= range.len as usize {
            let start = range.start as usize;
            range.len = values.len() as u32;
            self.value_lists[start..start + values.len()].copy_from_slice(values);
        } else {
            *range = ListRange::append(&mut self.value_lists, values);
        }
    }

    /// Swaps two operands of `op` (commutative canonicalization).
    pub fn swap_operands(&mut self, op: Op, a: usize, b: usize) {
        let mut values: SmallVec<[Value; 3]> = self.operands(op).into();
        values.swap(a, b);
        self.set_operands(op, &values);
    }

    /// Replaces the op's attribute dictionary.
    pub fn set_attrs(&mut self, op: Op, attrs: Attr) {
        self.ops[op.index()].attrs = attrs;
    }

    /// Changes a value's type (used by type-rewriting passes; the verifier re-checks).
    pub fn set_value_type(&mut self, value: Value, ty: Type) {
        self.values[value.index()].ty = ty;
    }

    /// Makes every use of `from` a use of `to`. Costs the number of uses of `from`.
    pub fn replace_all_uses(&mut self, from: Value, to: Value) {
        if from == to {
            return;
        }
        let uses = std::mem::take(&mut self.values[from.index()].uses);
        for u in &uses {
            self.value_lists[self.ops[u.op.index()].operands.start as usize + u.index as usize] = to;
        }
        self.values[to.index()].uses.extend(uses);
    }

    /// Replaces the results of `op` with `values` and erases `op`.
    pub fn replace_op(&mut self, op: Op, values: &[Value]) {
        let results: SmallVec<[Value; 1]> = self.results(op).into();
        debug_assert_eq!(results.len(), values.len());
        for (r, &v) in results.into_iter().zip(values) {
            self.replace_all_uses(r, v);
        }
        self.erase_op(op);
    }

    // ----- cloning -----

    /// Copies `op` of another body (regions and child body included) into this one as a
    /// detached op, mapping operands through `values` and recording result and block-argument
    /// mappings there.
    pub fn copy_op_from(&mut self, from: &Body, op: Op, values: &mut FxHashMap<Value, Value>) -> Op {
        let mut new = NewOp::new(from.op_kind(op), from.op_loc(op));
        new.attrs = from.op_attrs(op);
        new.operands = from.operands(op).iter().map(|v| *values.get(v).unwrap_or(v)).collect();
        new.result_types = from.results(op).iter().map(|&v| from.value_type(v)).collect();
        new.child = from.child(op).cloned();
        if new.child.is_none() {
            for &region in from.op_regions(op) {
                let copy = self.create_region();
                for &block in from.region_blocks(region) {
                    let types: Vec<Type> =
                        from.block_args(block).iter().map(|&a| from.value_type(a)).collect();
                    let new_block = self.create_block(&types);
                    let fresh: Vec<Value> = self.block_args(new_block).to_vec();
                    for (&old, fresh) in from.block_args(block).iter().zip(fresh) {
                        values.insert(old, fresh);
                    }
                    self.append_block(copy, new_block);
                    for inner in from.block_ops(block) {
                        let copied = self.copy_op_from(from, inner, values);
                        self.append_op(new_block, copied);
                    }
                }
                new.regions.push(copy);
            }
        }
        let created = self.create_op(new);
        let fresh: Vec<Value> = self.results(created).to_vec();
        for (&old, fresh) in from.results(op).iter().zip(fresh) {
            values.insert(old, fresh);
        }
        created
    }

    /// Deep-clones `op` (regions and child body included) as a detached op, mapping operands
    /// through `map` (values not in the map stay as they are) and recording result mappings.
    pub fn clone_op(&mut self, op: Op, map: &mut FxHashMap<Value, Value>) -> Op {
        let src = &self.ops[op.index()];
        let kind = src.kind;
        let attrs = src.attrs;
        let loc = src.loc;
        let operands: SmallVec<[Value; 3]> =
            self.operands(op).iter().map(|v| *map.get(v).unwrap_or(v)).collect();
        let result_types: SmallVec<[Type; 1]> =
            self.results(op).iter().map(|&r| self.value_type(r)).collect();
        let src_regions: SmallVec<[Region; 2]> = self.op_regions(op).into();
        let child = self.child(op).cloned();
        let regions = src_regions.iter().map(|&r| self.clone_region(r, map)).collect();
        let new = self.create_op(NewOp { kind, operands, result_types, attrs, regions, child, loc });
        let pairs: Vec<(Value, Value)> =
            self.results(op).iter().copied().zip(self.results(new).iter().copied()).collect();
        map.extend(pairs);
        new
    }

    /// Deep-clones a region as a detached region.
    pub fn clone_region(&mut self, region: Region, map: &mut FxHashMap<Value, Value>) -> Region {
        let new_region = self.create_region();
        let blocks: SmallVec<[Block; 1]> = self.region_blocks(region).into();
        for block in blocks {
            let arg_types: SmallVec<[Type; 2]> =
                self.block_args(block).iter().map(|&a| self.value_type(a)).collect();
            let new_block = self.create_block(&arg_types);
            let pairs: Vec<(Value, Value)> = self
                .block_args(block)
                .iter()
                .copied()
                .zip(self.block_args(new_block).iter().copied())
                .collect();
            map.extend(pairs);
            self.append_block(new_region, new_block);
            let ops: Vec<Op> = self.block_ops(block).collect();
            for op in ops {
                let cloned = self.clone_op(op, map);
                self.append_op(new_block, cloned);
            }
        }
        new_region
    }

    // ----- child bodies -----

    /// All child bodies (some may be empty placeholders of erased ops).
    pub fn children(&self) -> &[Body] {
        &self.children
    }

    /// The isolated ops of this body paired with their child bodies, mutably. Callers read
    /// what they need of the ops first; the bodies are disjoint, so they can be processed in
    /// parallel.
    pub fn isolated_children_mut(&mut self) -> Vec<(Op, &mut Body)> {
        let mut owners: Vec<Option<Op>> = vec![None; self.children.len()];
        for (i, d) in self.ops.iter().enumerate() {
            if d.alive && d.child != NO_CHILD {
                owners[d.child as usize] = Some(Op::from_index(i));
            }
        }
        self.children.iter_mut().zip(owners).filter_map(|(b, owner)| owner.map(|o| (o, b))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body with an empty root block, and `n` values for ops to use (the arguments of a
    /// detached block).
    fn block_with_args(n: usize) -> (Body, Block, Vec<Value>) {
        let (mut body, block) = Body::with_root_block();
        let arg_block = body.create_block(&vec![Type::I32; n]);
        let args = body.block_args(arg_block).to_vec();
        (body, block, args)
    }

    /// Appends an op to `block` (of kind 0: a body does not look at kinds).
    fn op(body: &mut Body, block: Block, operands: &[Value], results: usize) -> Op {
        let mut new = NewOp::new(OpKind(0), Location::Unknown);
        new.operands = operands.into();
        new.result_types = vec![Type::I32; results].into();
        let op = body.create_op(new);
        body.append_op(block, op);
        op
    }

    #[test]
    fn operand_lists_grow_shrink_and_keep_their_uses() {
        let (mut body, block, v) = block_with_args(4);
        let a = op(&mut body, block, &[v[0], v[1]], 2);
        let b = op(&mut body, block, &[v[2]], 1);
        assert_eq!(body.operands(a), &[v[0], v[1]]);
        assert_eq!(body.results(a).len(), 2);
        assert_eq!(body.operands(b), &[v[2]]);
        // Growing moves the list; the neighbours' lists stay as they were.
        body.set_operands(a, &[v[3], v[2], v[1]]);
        assert_eq!(body.operands(a), &[v[3], v[2], v[1]]);
        assert_eq!(body.operands(b), &[v[2]]);
        assert!(body.uses(v[0]).is_empty());
        assert_eq!(body.uses(v[2]).len(), 2);
        // Shrinking stays in place.
        body.set_operands(a, &[v[0]]);
        assert_eq!(body.operands(a), &[v[0]]);
        assert_eq!(body.uses(v[0]), &[Use { op: a, index: 0 }]);
        body.set_operand(b, 0, v[1]);
        assert_eq!(body.operands(b), &[v[1]]);
        // Every use of a value follows a replacement, in whichever list it is.
        body.replace_all_uses(v[1], v[3]);
        assert_eq!(body.operands(b), &[v[3]]);
        assert_eq!(body.uses(v[3]), &[Use { op: b, index: 0 }]);
        body.swap_operands(a, 0, 0);
        assert_eq!(body.operands(a), &[v[0]]);
    }

    #[test]
    fn erased_and_cloned_ops_keep_the_lists_apart() {
        let (mut body, block, v) = block_with_args(2);
        let a = op(&mut body, block, &[v[0], v[1]], 1);
        let r = body.results(a)[0];
        let user = op(&mut body, block, &[r], 0);
        let mut map = FxHashMap::default();
        map.insert(v[0], v[1]);
        let copy = body.clone_op(a, &mut map);
        assert_eq!(body.operands(copy), &[v[1], v[1]]);
        assert_ne!(body.results(copy), body.results(a));
        assert_eq!(map[&r], body.results(copy)[0]);
        body.replace_all_uses(r, body.results(copy)[0]);
        body.erase_op(a);
        assert!(!body.is_alive(a));
        assert!(body.operands(a).is_empty());
        assert!(body.uses(v[0]).is_empty());
        assert_eq!(body.operands(user), body.results(copy));
        assert_eq!(body.uses(v[1]).len(), 2);
    }
}
