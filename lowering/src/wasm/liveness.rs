//! Exact live ranges of SSA values over a function's structured control flow, in the
//! emitter's doubled emission positions, for coalescing and local allocation.
//!
//! A value is live at a point when some path from there reaches a use without passing its
//! definition. Linear intervals from the definition to the last use (what the emitter used
//! before) also cover code on no such path: the `then` arm when the use is in the `else` arm,
//! the earlier cases of a `switch` when the use is in a later one. Such holes are what let a
//! construct's result share a local with the values flowing into it, as the Wasm local it
//! came from did.
//!
//! The graph: every op is a node at `2 * pos` (where it reads its operands); every construct
//! (`block`, `loop`, `if`) also has an end node at `2 * end + 1` (where its results are
//! written). Edges: an op to the next op of its block unless it is a terminator; a
//! construct's entry to the first op of each region (an empty region straight to its end);
//! a region's last op to its construct's end when it falls out (`control.yield`, or no
//! terminator); a branch to its target's end (block, `if`) or to the first op of a loop's
//! body. For each use, a backward walk marks where the value is live until it reaches the
//! definition (path exploration, as in Brandner et al., "Computing Liveness Sets for
//! SSA-Form Programs"). A node marks two unit cells: going into it, `[p - 1, p)`, and coming
//! out of it, `[p, p + 1)`; cells of neighbouring nodes touch, so a value's cells merge into
//! the intervals `[start, end)` the emitter's classes hold.

use smallvec::SmallVec;
use wasmir_ir::{Body, Context, FxHashMap, Op, Traits, Value, ValueDef};

/// A set of intervals `[start, end)`, ordered (by start, then end) and without duplicates.
/// Most values live in one or two, which stay inline.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub(crate) struct Intervals(SmallVec<[(u32, u32); 2]>);

impl Intervals {
    /// The set of one interval.
    pub(crate) fn one(interval: (u32, u32)) -> Self {
        Self(SmallVec::from_slice(&[interval]))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The least and the greatest interval.
    pub(crate) fn first(&self) -> Option<(u32, u32)> {
        self.0.first().copied()
    }
    pub(crate) fn last(&self) -> Option<(u32, u32)> {
        self.0.last().copied()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.iter().copied()
    }

    /// Whether `(start, end)` overlaps one of the intervals, when they are disjoint: only the
    /// last one starting before `end` can.
    pub(crate) fn overlaps(&self, (start, end): (u32, u32)) -> bool {
        let after = self.0.partition_point(|&(s, _)| s < end);
        after > 0 && start < self.0[after - 1].1
    }

    /// Adds one interval (nothing when it is there already).
    pub(crate) fn insert(&mut self, interval: (u32, u32)) {
        if let Err(at) = self.0.binary_search(&interval) {
            self.0.insert(at, interval);
        }
    }

    /// Adds every interval of `other`: a few one by one, more by merging the two ordered
    /// runs (which the stable sort does in linear time).
    pub(crate) fn extend(&mut self, other: &Intervals) {
        if other.0.len() <= 4 {
            for &i in &other.0 {
                self.insert(i);
            }
        } else {
            self.0.extend_from_slice(&other.0);
            self.0.sort();
            self.0.dedup();
        }
    }
}

/// A cell `[start, end)`, packed for sorting.
fn cell(start: u32, end: u32) -> u64 {
    u64::from(start) << 32 | u64::from(end)
}

/// Scratch space for [`LiveGraph::intervals`], reused across the values of a function.
/// `seen` has an entry per node; it is stamped with a number that grows from one value to
/// the next: an entry of `2 * stamp` is a node whose incoming cell is marked for this value,
/// `2 * stamp + 1` one whose outgoing cell is too.
#[derive(Default)]
pub(crate) struct LiveScratch {
    seen: Vec<u32>,
    stamp: u32,
    /// Cells `[start, end)` packed as `start << 32 | end`, so they sort as one integer.
    cells: Vec<u64>,
    work: Vec<Node>,
    preds: Vec<Node>,
}

/// The graph of one function body.
pub(crate) struct LiveGraph<'b> {
    ctx: &'b Context,
    body: &'b Body,
    pos: &'b [u32],
    end_pos: &'b [u32],
    /// For each label, the branch ops that target it.
    branches_to: FxHashMap<Op, Vec<Op>>,
    /// For each op (by index), the first op of the straight-line run it ends: the ops before
    /// it in its block up to the last construct or terminator. A walk crosses a run in one
    /// step, so its cost is the number of runs a value is live across, not of ops.
    run_start: Vec<Op>,
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Node {
    /// An op, where it reads its operands.
    Op(Op),
    /// A construct's end, where its results are written.
    End(Op),
}

impl<'b> LiveGraph<'b> {
    /// `branches` lists every branch op with the labels it targets (branches out of the
    /// function are returns and target nothing). `None` when the body has a region op other
    /// than `control.block`, `loop` and `if`, which this graph does not model.
    pub(crate) fn new(
        ctx: &'b Context,
        body: &'b Body,
        pos: &'b [u32],
        end_pos: &'b [u32],
        order: &[Op],
        branches: impl Iterator<Item = (Op, Op)>,
    ) -> Option<Self> {
        for &op in order {
            if !body.op_regions(op).is_empty()
                && !matches!(
                    ctx.op_def(body.op_kind(op)).name,
                    "control.block" | "control.loop" | "control.if"
                )
            {
                return None;
            }
        }
        let mut branches_to: FxHashMap<Op, Vec<Op>> = FxHashMap::default();
        for (branch, label) in branches {
            branches_to.entry(label).or_default().push(branch);
        }
        let mut graph = Self { ctx, body, pos, end_pos, branches_to, run_start: Vec::new() };
        // In pre-order an op's predecessor in its block comes first.
        let mut run_start: Vec<Op> = (0..body.op_capacity()).map(Op::from_index).collect();
        for &op in order {
            if let Some(prev) = body.prev_op(op)
                && graph.after(prev) == Some(Node::Op(prev))
            {
                run_start[op.index()] = run_start[prev.index()];
            }
        }
        graph.run_start = run_start;
        Some(graph)
    }

    fn point(&self, n: Node) -> u32 {
        match n {
            Node::Op(o) => 2 * self.pos[o.index()],
            Node::End(o) => 2 * self.end_pos[o.index()] + 1,
        }
    }

    fn slot(n: Node) -> usize {
        match n {
            Node::Op(o) => 2 * o.index(),
            Node::End(o) => 2 * o.index() + 1,
        }
    }

    fn is_loop(&self, op: Op) -> bool {
        self.ctx.op_def(self.body.op_kind(op)).has(Traits::LOOP)
    }

    fn terminates(&self, op: Op) -> bool {
        self.ctx.op_def(self.body.op_kind(op)).has(Traits::TERMINATOR)
    }

    /// The node control reaches `op` from when it falls out of the op before it in its block.
    fn after(&self, op: Op) -> Option<Node> {
        if !self.body.op_regions(op).is_empty() {
            Some(Node::End(op))
        } else if self.terminates(op) {
            None
        } else {
            Some(Node::Op(op))
        }
    }

    /// The predecessors of `n`, passed to `visit`; `stop_at_header` is the loop whose body's
    /// entry defines the value (its argument), whose back edges are not followed.
    fn predecessors(&self, n: Node, stop_at_header: Option<Op>, mut visit: impl FnMut(Node)) {
        let body = self.body;
        match n {
            Node::Op(o) => match body.prev_op(o) {
                Some(prev) => {
                    if let Some(p) = self.after(prev) {
                        visit(p);
                    }
                }
                None => {
                    let Some(parent) = body.parent_op(o) else { return }; // function entry
                    visit(Node::Op(parent));
                    if self.is_loop(parent) && stop_at_header != Some(parent) {
                        for &b in self.branches_to.get(&parent).map_or(&[][..], Vec::as_slice) {
                            visit(Node::Op(b));
                        }
                    }
                }
            },
            Node::End(c) => {
                let regions = body.op_regions(c);
                // An `if` without an else region, or a region without blocks, falls straight
                // from the construct's entry to its end.
                if (self.ctx.op_def(body.op_kind(c)).name == "control.if" && regions.len() < 2)
                    || regions.iter().any(|&r| body.region_blocks(r).is_empty())
                {
                    visit(Node::Op(c));
                }
                for &r in regions {
                    for &block in body.region_blocks(r) {
                        match body.block_last(block) {
                            None => visit(Node::Op(c)),
                            Some(last) if self.ctx.op_def(body.op_kind(last)).name == "control.yield" => {
                                visit(Node::Op(last))
                            }
                            Some(last) => {
                                if let Some(p) = self.after(last) {
                                    visit(p);
                                }
                            }
                        }
                    }
                }
                if !self.is_loop(c) {
                    for &b in self.branches_to.get(&c).map_or(&[][..], Vec::as_slice) {
                        visit(Node::Op(b));
                    }
                }
            }
        }
    }

    /// The live intervals of `v`, read by the ops `readers` (where the emitter reads it), or
    /// `None` for a value this graph does not place (a block argument of another construct).
    /// `scratch` is reused from one value to the next.
    pub(crate) fn intervals(
        &self,
        v: Value,
        readers: impl Iterator<Item = Op>,
        scratch: &mut LiveScratch,
    ) -> Option<Intervals> {
        let body = self.body;
        // Where the value is defined: the node whose outgoing cell starts its life.
        let (def, header_of): (Option<Node>, Option<Op>) = match body.value_def(v) {
            ValueDef::Result { op, .. } if body.op_regions(op).is_empty() => (Some(Node::Op(op)), None),
            ValueDef::Result { op, .. } => (Some(Node::End(op)), None),
            ValueDef::BlockArg { block, .. } => {
                match body.block_region(block).and_then(|r| body.region_parent(r)) {
                    Some(l) if self.is_loop(l) => (Some(Node::Op(l)), Some(l)),
                    Some(_) => return None,
                    None => (None, None), // a parameter, defined at 0
                }
            }
        };
        if scratch.seen.is_empty() {
            scratch.seen = vec![0; 2 * body.op_capacity()];
        }
        scratch.stamp += 1;
        let LiveScratch { seen, stamp, cells, work, preds } = scratch;
        let (marked_in, marked_out) = (2 * *stamp, 2 * *stamp + 1);
        cells.clear();
        work.clear();
        for r in readers {
            let n = Node::Op(r);
            if seen[Self::slot(n)] < marked_in {
                seen[Self::slot(n)] = marked_in;
                let p = self.point(n);
                cells.push(cell(p.saturating_sub(1), p));
                work.push(n);
            }
        }
        while let Some(mut n) = work.pop() {
            // Back across the straight-line run that ends at an op, to its first op, or to
            // the definition when that is in the run.
            if let Node::Op(o) = n {
                let start = self.run_start[o.index()];
                let p = 2 * self.pos[o.index()];
                if let Some(Node::Op(d)) = def
                    && self.run_start[d.index()] == start
                    && self.pos[d.index()] < self.pos[o.index()]
                {
                    cells.push(cell(2 * self.pos[d.index()], p));
                    continue;
                }
                if start != o {
                    cells.push(cell((2 * self.pos[start.index()]).saturating_sub(1), p));
                    if seen[Self::slot(Node::Op(start))] >= marked_in {
                        continue;
                    }
                    seen[Self::slot(Node::Op(start))] = marked_in;
                    n = Node::Op(start);
                }
            }
            // The value is defined on the way into a loop's body: its entry is where it starts.
            if let (Node::Op(o), Some(l)) = (n, header_of)
                && body.prev_op(o).is_none()
                && body.parent_op(o) == Some(l)
            {
                let p = 2 * self.pos[l.index()];
                cells.push(cell(p, p + 1));
                continue;
            }
            preds.clear();
            self.predecessors(n, header_of, |m| preds.push(m));
            // A predecessor's outgoing cell is live; a first visit marks its incoming one too
            // (the definition's outgoing cell is added below).
            for &m in preds.iter() {
                if Some(m) == def {
                    continue;
                }
                let (p, mark) = (self.point(m), &mut seen[Self::slot(m)]);
                if *mark < marked_in {
                    *mark = marked_out;
                    cells.push(cell(p.saturating_sub(1), p + 1));
                    work.push(m);
                } else if *mark == marked_in {
                    *mark = marked_out;
                    cells.push(cell(p, p + 1));
                }
            }
        }
        // Where it is written, whether or not a use is reached from there (a use in code no
        // path reaches still must not share a local with what is live at the write).
        match def {
            Some(d) => {
                let p = self.point(d);
                cells.push(cell(p, p + 1));
            }
            None => cells.push(cell(0, 1)), // a parameter, written before the first op
        }
        cells.sort_unstable();
        // Sorted and merged, so ordered and disjoint.
        let mut merged: SmallVec<[(u32, u32); 2]> = SmallVec::new();
        for &mut packed in cells {
            let (s, e) = ((packed >> 32) as u32, packed as u32);
            match merged.last_mut() {
                Some((_, ce)) if s <= *ce => *ce = (*ce).max(e),
                _ => merged.push((s, e)),
            }
        }
        Some(Intervals(merged))
    }
}
