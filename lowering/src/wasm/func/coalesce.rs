//! Out of SSA, the middle part: live intervals of the values that need a local, the classes
//! that merge label positions with the values flowing into them (and the plans that decide
//! which positions travel in locals), and one local per class by linear scan. See the steps
//! in the parent module's documentation and specs/wasm-translation.md.

use super::{FuncEmitter, PositionKey, Slot, block_of_arg, op_name};
use crate::wasm::liveness::{Intervals, LiveGraph, LiveScratch};
use crate::wasm::val_type;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use wasmir_ir::{Diagnostic, FxHashMap, FxHashSet, Op, Type, Value};

/// Union-find over values, each class with its live intervals: disjoint, ordered by start
/// (so their ends are ordered too), which makes a point or overlap query one range lookup.
#[derive(Clone)]
struct Classes {
    parent: Vec<u32>,
    /// By value index; empty for a value without a local (and for a class's non-roots).
    intervals: Vec<Intervals>,
    has_param: Vec<bool>,
}

/// The ways into label positions, gathered once for the plans. Positions are numbered densely
/// (`keys`); `on_stack` are positions that stay on the stack whatever the classes (a label
/// whose consumer takes its results from the stack, reference branches), and `tables` the
/// groups of positions a `br_table` carries one value to, which must all agree.
#[derive(Default)]
struct Ways {
    keys: Vec<PositionKey>,
    /// Per position, the branches into it (not yields, not a loop's initial values).
    branches: Vec<u32>,
    flows: Vec<Way>,
    on_stack: Vec<u32>,
    tables: Vec<Vec<u32>>,
}

/// One value flowing into one position.
struct Way {
    op: Op,
    key: u32,
    v: Value,
    /// The position's value, or its loop slot.
    t: Value,
    /// Nothing reads the position: no value is needed.
    unused: bool,
    /// Both have locals and the value is not taken from the stack: they may share a class.
    can_share: bool,
    /// The value may be copied into the position's local where it flows.
    can_copy: bool,
    /// Both have locals of the same Wasm type: merging them is worth trying.
    mergeable: bool,
    /// Where such a copy is written.
    window: (u32, u32),
    /// A `br_if`, which drops stack values when it does not branch.
    conditional: bool,
    /// A constant that may be held in the position's local.
    constant: bool,
    /// The bytes of pushing the value for a branch that passes it on the stack: a
    /// `local.get`, or the constant itself.
    push: u32,
}

/// The classes after merging, the label positions that travel in locals, the copies into
/// them, and the bytes the positions cost (roughly: see `plan_positions`).
struct PositionPlan {
    classes: Classes,
    via_local: FxHashSet<PositionKey>,
    /// (the op, the position, the value flowing in, the position's value, where the copy
    /// keeps the position's local)
    copies: Vec<(Op, PositionKey, Value, Value, (u32, u32))>,
    bytes: u32,
    /// Whether some constant flowing in costs bytes: copied into a position's local, or
    /// pushed for a position on the stack (else holding constants cannot save anything).
    constants_cost: bool,
    /// Whether every affinity given merged.
    merged_all: bool,
}

impl Classes {
    fn find(&mut self, v: u32) -> u32 {
        let mut root = v;
        while self.parent[root as usize] != root {
            root = self.parent[root as usize];
        }
        let mut at = v;
        while self.parent[at as usize] != root {
            let next = self.parent[at as usize];
            self.parent[at as usize] = root;
            at = next;
        }
        root
    }

    /// Merges the classes of `a` and `b` unless their values are ever live at once.
    fn try_union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        if self.has_param[ra as usize] && self.has_param[rb as usize] {
            return false;
        }
        // The smaller class joins the larger, so each interval moves O(log n) times.
        let (ra, rb) = if self.intervals[ra as usize].len() <= self.intervals[rb as usize].len() {
            (ra, rb)
        } else {
            (rb, ra)
        };
        let (small, large) = (&self.intervals[ra as usize], &self.intervals[rb as usize]);
        if small.iter().any(|i| large.overlaps(i)) {
            return false;
        }
        let small = std::mem::take(&mut self.intervals[ra as usize]);
        self.intervals[rb as usize].extend(&small);
        self.parent[ra as usize] = rb;
        if std::mem::replace(&mut self.has_param[ra as usize], false) {
            self.has_param[rb as usize] = true;
        }
        true
    }
}

impl FuncEmitter<'_, '_, '_> {
    /// Where a value is written: `2p` for op results and loop arguments at their op, `2 * end
    /// + 1` for the results of an op with regions, 0 for parameters.
    pub(super) fn def_point(&self, v: Value) -> u32 {
        let body = self.body;
        match body.defining_op(v) {
            Some(op) if body.op_regions(op).is_empty() => 2 * self.pos[op.index()],
            Some(op) => 2 * self.end_pos[op.index()] + 1,
            None => match body.block_region(block_of_arg(body, v)).and_then(|r| body.region_parent(r)) {
                Some(owner) => 2 * self.pos[owner.index()],
                None => 0,
            },
        }
    }

    /// The point through which `v` must keep its local.
    pub(super) fn live_end(&self, v: Value, def: u32) -> u32 {
        let body = self.body;
        let mut end = def;
        for u in body.uses(v) {
            let mut e = 2 * self.pos[self.emission_op(u.op).index()];
            // A use in a loop that does not contain the definition can run again in the
            // next iteration: the value lives to the end of the outermost such loop.
            let mut at = self.innermost_loop[u.op.index()];
            while let Some(l) = at {
                if 2 * self.pos[l.index()] <= def && def <= 2 * self.end_pos[l.index()] + 1 {
                    break;
                }
                e = e.max(2 * self.end_pos[l.index()] + 1);
                at = self.innermost_loop[l.index()];
            }
            end = end.max(e);
        }
        end
    }

    pub(super) fn needs_local(&self, v: Value) -> bool {
        let body = self.body;
        match body.defining_op(v) {
            Some(op) => {
                (!self.on_stack[op.index()] || self.tee[op.index()])
                    && !self.deferred[op.index()]
                    && op_name(self.ctx, body, op) != "arith.constant"
                    && (self.live[v.index()] || self.tee[op.index()])
            }
            None => true,
        }
    }

    pub(super) fn coalesce_and_allocate(&mut self) -> Result<(), Diagnostic> {
        let body = self.body;
        let ctx = self.ctx;
        let entry = body.region_blocks(body.roots()[0])[0];
        let params: Vec<Value> = body.block_args(entry).to_vec();
        let order = std::mem::take(&mut self.order);
        // Every value that needs a local, with its interval.
        let mut values: Vec<Value> = params.clone();
        for &op in &order {
            values.extend(body.results(op).iter().copied().filter(|&r| self.needs_local(r)));
            if self.is_loop(op) {
                values.extend(self.loop_args(op).iter().copied());
            }
        }
        // Constants that flow into label positions: one may be held in its position's local,
        // set where the constant is written (as the input set the local it came from), instead
        // of being copied into it at every branch that carries it. Other uses push it again.
        let mut constants: Vec<Value> = Vec::new();
        let mut listed: FxHashSet<Value> = FxHashSet::default();
        for &op in &order {
            for (_, _, flowing) in self.incoming(op) {
                for &v in flowing.iter() {
                    let held = body.defining_op(v).is_some_and(|d| {
                        op_name(ctx, body, d) == "arith.constant" && !self.on_stack[d.index()]
                    }) && self.live[v.index()];
                    if held && listed.insert(v) {
                        constants.push(v);
                    }
                }
            }
        }
        let mut classes = Classes {
            parent: (0..body.value_capacity() as u32).collect(),
            intervals: vec![Intervals::default(); body.value_capacity()],
            has_param: vec![false; body.value_capacity()],
        };
        let mut wasm_type: Vec<Option<wasm_encoder::ValType>> = vec![None; body.value_capacity()];
        // Exact live ranges where the body's control is modeled; else from the definition to
        // the last use (to the end of a loop around a use that does not hold the definition).
        // Branches are the ops flowing into labels other than yields and loops' initial values.
        let branches = order
            .iter()
            .filter(|&&op| !matches!(op_name(ctx, body, op), "control.yield" | "control.loop"))
            .flat_map(|&op| self.incoming(op).iter().map(move |&(label, _, _)| (op, label)));
        let graph = LiveGraph::new(ctx, body, &self.pos, &self.end_pos, &order, branches);
        let mut scratch = LiveScratch::default();
        for (i, &v) in values.iter().chain(&constants).enumerate() {
            // A constant held in a local is read from it only where it flows into a label.
            let constant = i >= values.len();
            let flows = |op: Op| self.incoming(op).iter().any(|(_, _, flowing)| flowing.contains(&v));
            // A value teed for an op takes it from the stack there: that use reads no local (so
            // the local is free once the other readers are done, as in `store(p, load(p) - 1)`).
            let teed_for = body
                .defining_op(v)
                .filter(|d| self.tee[d.index()])
                .and_then(|d| self.stack_consumer[d.index()])
                .filter(|&c| body.operands(c).iter().filter(|&&o| o == v).count() == 1);
            let readers = body
                .uses(v)
                .iter()
                .filter(|u| (!constant || flows(u.op)) && Some(u.op) != teed_for)
                .map(|u| self.emission_op(u.op));
            let exact = graph.as_ref().and_then(|g| g.intervals(v, readers, &mut scratch));
            let intervals = exact.unwrap_or_else(|| {
                let def = self.def_point(v);
                Intervals::one((def, self.live_end(v, def)))
            });
            classes.intervals[v.index()] = intervals;
            wasm_type[v.index()] = Some(val_type(ctx, body.value_type(v), self.env.types)?);
        }
        for &p in &params {
            classes.has_param[p.index()] = true;
        }
        self.split_loop_arguments(&order, &mut values, &mut classes, &mut wasm_type);
        // Merge each label position with the values flowing into it, in pre-order (so the
        // classes, and the output, do not depend on hash order). A union made early can block
        // a later one (a value copied from one local to another links both locals' values),
        // and a position that loses one of its ways in travels on the stack from all of them.
        // So when some position has more branches into it than one merged before it (the
        // unwind block of asyncify has one per call), the merge is also tried with positions
        // by their branches, most first, and the plan that costs fewer bytes is kept.
        // Constants merge last, and only in a plan of their own: one held in a local is live
        // from where it is written to every way it flows in, which can keep copies of other
        // values out of the position (and a `br_table` makes all its targets agree).
        let ways = self.ways(&order, &wasm_type, &listed);
        let (held_affinities, affinities): (Vec<_>, Vec<_>) =
            ways.flows.iter().filter(|w| w.mergeable).partition(|w| w.constant);
        let pairs = |ws: Vec<&Way>| -> Vec<(u32, Value, Value)> {
            ws.into_iter().map(|w| (ways.branches[w.key as usize], w.t, w.v)).collect()
        };
        let (held_affinities, affinities) = (pairs(held_affinities), pairs(affinities));
        let mut by_branches = affinities.clone();
        by_branches.sort_by_key(|&(branches, _, _)| Reverse(branches));
        let reordered = by_branches.iter().zip(&affinities).any(|(a, b)| a.1 != b.1 || a.2 != b.2);
        let try_plan = |affinities: &[(u32, Value, Value)], classes: Classes| {
            self.plan_positions(classes, affinities, &ways)
        };
        let initial = classes;
        let first = try_plan(&affinities, initial.clone());
        // When every merge succeeded, any order makes the same classes (each class's values
        // are pairwise apart, so no intermediate union can fail): the same plan, which the
        // first order wins on the tie.
        let (mut plan, plan_reordered) = if reordered && !first.merged_all {
            let second = try_plan(&by_branches, initial.clone());
            if second.bytes < first.bytes { (second, true) } else { (first, false) }
        } else {
            (first, false)
        };
        if !held_affinities.is_empty() && plan.constants_cost {
            let merged = if plan_reordered { &by_branches } else { &affinities };
            let base = plan.classes.clone();
            // On top of the merges kept, or before all of them: a constant held from the top of
            // the function (a local's implicit zero) can be worth more than a value merged
            // first, which then has to be copied in where it flows instead.
            let with_held = |held: &[(u32, Value, Value)], before: bool| {
                if before {
                    let mut first = held.to_vec();
                    first.extend_from_slice(merged);
                    try_plan(&first, initial.clone())
                } else {
                    try_plan(held, base.clone())
                }
            };
            // On a tie the constant is held: written once, where the input wrote it, rather
            // than copied at a branch (which may run many times, in a loop).
            // Before the others only when some constant could not join on top of them.
            let mut best: Option<(PositionPlan, bool)> = None;
            for before in [false, true] {
                if before && best.as_ref().is_some_and(|(b, _)| b.merged_all) {
                    break;
                }
                let other = with_held(&held_affinities, before);
                let merged_all = other.merged_all;
                if other.bytes <= best.as_ref().map_or(plan.bytes, |(b, _)| b.bytes) {
                    best = Some((other, before));
                } else if !before && merged_all {
                    break;
                }
            }
            if let Some((mut chosen, before)) = best {
                // A constant merged into a position that still travels on the stack is not
                // held, and would only lengthen its class's live range: plan without it.
                let held: FxHashSet<(Value, Value)> = ways
                    .flows
                    .iter()
                    .filter(|w| w.constant && chosen.via_local.contains(&ways.keys[w.key as usize]))
                    .map(|w| (w.t, w.v))
                    .collect();
                let kept: Vec<_> =
                    held_affinities.iter().filter(|&&(_, t, v)| held.contains(&(t, v))).copied().collect();
                if kept.len() < held_affinities.len() {
                    let again = with_held(&kept, before);
                    if again.bytes <= chosen.bytes {
                        chosen = again;
                    }
                }
                plan = chosen;
            }
        }
        for (op, key, v, t, window) in plan.copies {
            if !plan.via_local.contains(&key) {
                continue;
            }
            let root = plan.classes.find(t.index() as u32);
            plan.classes.intervals[root as usize].insert(window);
            self.copies.entry(op).or_default().push((v, t));
        }
        // A constant is held in its position's local where some way carrying it, in the
        // position's class, needs no copy.
        let mut held: FxHashSet<Value> = FxHashSet::default();
        for way in ways.flows.iter().filter(|w| w.constant) {
            if plan.via_local.contains(&ways.keys[way.key as usize])
                && plan.classes.find(way.t.index() as u32) == plan.classes.find(way.v.index() as u32)
            {
                held.insert(way.v);
            }
        }
        values.extend(constants.into_iter().filter(|c| held.contains(c)));
        self.via_local = plan.via_local;
        let values = self.stack_branch_conditions(&order, values);
        self.allocate(&values, &params, &mut plan.classes, &wasm_type);
        self.order = order;
        Ok(())
    }

    /// Every way into a label position, with what the plans need to know of it, gathered once.
    fn ways(
        &self,
        order: &[Op],
        wasm_type: &[Option<wasm_encoder::ValType>],
        constants: &FxHashSet<Value>,
    ) -> Ways {
        let (ctx, body) = (self.ctx, self.body);
        let mut ways = Ways::default();
        let mut index: FxHashMap<PositionKey, u32> = FxHashMap::default();
        let mut key_of = |ways: &mut Ways, key: PositionKey| {
            *index.entry(key).or_insert_with(|| {
                ways.keys.push(key);
                ways.keys.len() as u32 - 1
            })
        };
        for &op in order {
            let name = op_name(ctx, body, op);
            for (label, slot, flowing) in self.incoming(op) {
                let targets = self.slot_values(*label, *slot);
                for (p, &v) in flowing.iter().enumerate() {
                    let Some(&value) = targets.get(p) else { continue };
                    // Where the value travels: the position's value, or its loop slot.
                    let t = self.position_value(*label, *slot, p).unwrap_or(value);
                    // An unused result needs no value, unless its producer left it on the stack
                    // for this op.
                    let produced_on_stack = body.defining_op(v).is_some_and(|d| {
                        self.on_stack[d.index()] && self.stack_consumer[d.index()] == Some(op)
                    });
                    let window = self.copy_window(op, *label);
                    let t_local = wasm_type[t.index()].is_some();
                    let key = key_of(&mut ways, (*label, *slot, p as u32));
                    ways.branches.resize(ways.keys.len(), 0);
                    if name != "control.yield" && op != *label {
                        ways.branches[key as usize] += 1;
                    }
                    ways.flows.push(Way {
                        op,
                        key,
                        v,
                        t,
                        // An unused loop argument needs none either: nothing reads it.
                        unused: !self.live[value.index()] && !produced_on_stack,
                        // A value its producer left on the stack is consumed from the stack.
                        can_share: t_local && !produced_on_stack && wasm_type[v.index()].is_some(),
                        can_copy: t_local
                            && !produced_on_stack
                            && body.value_type(v) == body.value_type(value),
                        mergeable: t_local && wasm_type[t.index()] == wasm_type[v.index()],
                        window,
                        conditional: name == "control.br_if",
                        constant: constants.contains(&v),
                        push: self.push_bytes(v),
                    });
                }
            }
            // Reference branches keep their shapes.
            if matches!(name, "control.br_on_null" | "control.br_on_non_null") {
                for (label, slot, flowing) in self.incoming(op) {
                    for p in 0..flowing.len() {
                        let key = key_of(&mut ways, (*label, *slot, p as u32));
                        ways.on_stack.push(key);
                    }
                }
            }
            // All targets of a br_table must agree.
            if name == "control.br_table" {
                let targets = self.incoming(op);
                for p in 0..targets.first().map_or(0, |t| t.2.len()) as u32 {
                    let group = targets.iter().map(|&(l, s, _)| key_of(&mut ways, (l, s, p))).collect();
                    ways.tables.push(group);
                }
            }
            // A label whose results its consumer takes from the stack leaves them there.
            if self.is_label(op) && self.on_stack[op.index()] {
                for p in 0..body.results(op).len() {
                    let key = key_of(&mut ways, (op, Slot::Result, p as u32));
                    ways.on_stack.push(key);
                }
            }
        }
        ways.branches.resize(ways.keys.len(), 0);
        ways
    }

    /// Merges the affinities in the order given, then decides which label positions travel in
    /// a local: one does when its value is unused, or every value flowing in is in its class
    /// or can be copied into the class's local where it flows. A copy at an op is written
    /// while the op reads its operands (the interval `(2p - 1, 2p + 1)` joins the class), so
    /// no operand of the op shares the local, and it needs the class free there: nothing else
    /// of the class is live at the op. The copies of one op push every source before they set
    /// any target, a parallel copy on the operand stack.
    fn plan_positions(
        &self,
        mut classes: Classes,
        affinities: &[(u32, Value, Value)],
        ways: &Ways,
    ) -> PositionPlan {
        let mut merged_all = true;
        for &(_, t, v) in affinities {
            merged_all &= classes.try_union(t.index() as u32, v.index() as u32);
        }
        let positions = ways.keys.len();
        let mut candidate = vec![true; positions];
        // Bytes, roughly: passed on the stack, each way in pushes the value (and a `br_if` not
        // taken drops it), and the label sets it once; in the local, each copy is a push and a
        // set, and a constant held there is written once where it is defined.
        let mut costs = vec![(2u32, 0u32); positions];
        // (the op, the label position, the value flowing in, the position's value, the window)
        let mut proposed: Vec<(Op, u32, Value, Value, (u32, u32))> = Vec::new();
        // A copy serves the later ways of the same value into the same position from the same
        // block (a run of `br_if`s to a loop): the first one runs before them on every path,
        // and the local keeps the value while nothing else of the class is live in between
        // nor written there by another copy. Ways come in emission order, so per class the
        // last op a copy was proposed at, and where the last stretch of a kept value ends,
        // tell whether a stretch or a copy meets another copy (copies at one op are parallel).
        let mut first_copy: FxHashMap<(u32, Value), usize> = FxHashMap::default();
        let mut last_copy_at: FxHashMap<u32, u32> = FxHashMap::default();
        let mut stretch_end: FxHashMap<u32, u32> = FxHashMap::default();
        let mut written: FxHashSet<Value> = FxHashSet::default();
        let mut constant_positions: Vec<u32> = Vec::new();
        let mut constant_copied = false;
        for way in &ways.flows {
            let (t, v) = (way.t.index() as u32, way.v.index() as u32);
            let same = way.can_share && classes.find(t) == classes.find(v);
            let wanted = !way.unused && !same && way.can_copy;
            let root = classes.find(t);
            let served = wanted
                && first_copy.get(&(way.key, way.v)).is_some_and(|&i| {
                    let (first, _, _, _, window) = proposed[i];
                    let stretch = (window.1, way.window.1);
                    let ok = self.body.op_block(first) == self.body.op_block(way.op)
                        && !classes.intervals[root as usize].overlaps(stretch)
                        && last_copy_at.get(&root).is_none_or(|&at| at <= window.0);
                    if ok {
                        proposed[i].4.1 = way.window.1;
                        stretch_end.insert(root, way.window.1);
                    }
                    ok
                });
            let copyable = wanted
                && !served
                && !classes.intervals[root as usize].overlaps(way.window)
                && stretch_end.get(&root).is_none_or(|&end| way.window.0 >= end);
            let key = way.key as usize;
            candidate[key] &= way.unused || same || served || copyable;
            let cost = &mut costs[key];
            cost.0 += way.push + u32::from(way.conditional);
            if same && way.constant && written.insert(way.v) {
                cost.1 += way.push + 2;
            }
            if copyable {
                cost.1 += way.push + 2;
                if way.op != ways.keys[key].0 {
                    first_copy.insert((way.key, way.v), proposed.len());
                }
                last_copy_at.insert(root, way.window.0);
                proposed.push((way.op, way.key, way.v, way.t, way.window));
            }
            if !way.unused && way.constant {
                constant_positions.push(way.key);
                constant_copied |= copyable;
            }
        }
        for (key, &(stack, copies)) in costs.iter().enumerate() {
            if copies > stack {
                candidate[key] = false;
            }
        }
        for &key in &ways.on_stack {
            candidate[key as usize] = false;
        }
        loop {
            let mut changed = false;
            for group in &ways.tables {
                if !group.iter().all(|&k| candidate[k as usize]) {
                    for &k in group {
                        changed |= std::mem::replace(&mut candidate[k as usize], false);
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let bytes = costs
            .iter()
            .zip(&candidate)
            .map(|(&(stack, copies), &local)| if local { copies } else { stack })
            .sum();
        // Every way a constant takes in costs bytes unless the constant is held (same class).
        let constants_cost = constant_copied || constant_positions.iter().any(|&k| !candidate[k as usize]);
        let via_local =
            candidate.iter().zip(&ways.keys).filter(|&(&local, _)| local).map(|(_, &key)| key).collect();
        let copies = proposed
            .into_iter()
            .map(|(op, k, v, t, window)| (op, ways.keys[k as usize], v, t, window))
            .collect();
        PositionPlan { classes, via_local, copies, bytes, constants_cost, merged_all }
    }

    /// Where a copy into a position of `label` at `op` writes the position's local. A loop's
    /// initial values become its arguments right before it. A branch or yield reads every
    /// value it uses from its local (its own operands and the sources of its copies) before
    /// it writes any target, so the target's class must be free only from the op on: a value
    /// of the class whose last use is this op (a swap, `br $loop (b, a)`) does not block it.
    fn copy_window(&self, op: Op, label: Op) -> (u32, u32) {
        let at = 2 * self.pos[op.index()];
        if op == label { (at.saturating_sub(1), at) } else { (at, at + 1) }
    }

    /// The bytes of pushing `v` from its local (two, for most functions), or of writing the
    /// constant that defines it.
    fn push_bytes(&self, v: Value) -> u32 {
        let (ctx, body) = (self.ctx, self.body);
        let Some(d) = body.defining_op(v).filter(|&d| op_name(ctx, body, d) == "arith.constant") else {
            return 2;
        };
        // The opcode and the immediate: a signed LEB128 integer, or the float's bytes.
        let sleb = |x: i64| (64 - (x ^ (x >> 63)).leading_zeros()) / 7 + 1;
        match ctx.dict_get(body.op_attrs(d), "value").map(|a| ctx.attr_data(a)) {
            Some(wasmir_ir::AttrData::Int { value, ty: Type::I32 }) => 1 + sleb(i64::from(*value as i32)),
            Some(wasmir_ir::AttrData::Int { value, .. }) => 1 + sleb(*value),
            Some(wasmir_ir::AttrData::Float { ty: Type::F32, .. }) => 5,
            Some(wasmir_ir::AttrData::Float { .. }) => 9,
            _ => 2,
        }
    }

    /// What a label position's incoming values are coalesced with: its loop slot when it has
    /// one, else its own value.
    fn position_value(&self, label: Op, slot: Slot, p: usize) -> Option<Value> {
        if let Some(&s) = self.loop_slots.get(&(label, slot, p as u32)) {
            return Some(s);
        }
        self.slot_values(label, slot).get(p).copied()
    }

    /// A loop argument still live where a branch back to the loop carries it a new value
    /// cannot share a local with that value, nor take a copy of it before the branch: without
    /// help it would travel on the operand stack, pushed by every way in and dropped after
    /// every `br_if`. Such a position gets a slot of its own instead (as a compiler places
    /// a phi's copy at the loop header): the values flowing in are coalesced with the slot,
    /// and where the loop starts the slot is copied into the argument's local. The slot is
    /// read right after the loop's start (`(2p, 2p + 1)`), when the initial values have
    /// arrived and before anything in the body runs.
    fn split_loop_arguments(
        &mut self,
        order: &[Op],
        values: &mut Vec<Value>,
        classes: &mut Classes,
        wasm_type: &mut Vec<Option<wasm_encoder::ValType>>,
    ) {
        let mut slots = std::mem::take(&mut self.loop_slots);
        for &op in order {
            for (label, slot, flowing) in self.incoming(op) {
                if *slot != Slot::Arg || op == *label {
                    continue;
                }
                let args = self.loop_args(*label);
                for (p, &v) in flowing.iter().enumerate() {
                    let Some(&a) = args.get(p) else { continue };
                    let key = (*label, Slot::Arg, p as u32);
                    if v == a || !self.live[a.index()] || slots.contains_key(&key) {
                        continue;
                    }
                    let at = 2 * self.pos[op.index()];
                    let iv = &classes.intervals[a.index()];
                    if iv.is_empty() || !iv.overlaps((at.saturating_sub(1), at + 1)) {
                        continue;
                    }
                    let s = Value::from_index(classes.parent.len());
                    classes.parent.push(s.index() as u32);
                    let start = 2 * self.pos[label.index()];
                    classes.intervals.push(Intervals::one((start, start + 1)));
                    classes.has_param.push(false);
                    wasm_type.push(wasm_type[a.index()]);
                    values.push(s);
                    slots.insert(key, s);
                }
            }
        }
        self.loop_slots = slots;
    }

    /// Stackification ran before the label positions were decided, when a branch still took
    /// all its values from the stack, so its condition (or index), which Wasm takes last,
    /// could not be left there. Now that the values of some branches travel in locals, the
    /// op right before such a branch leaves the condition on the stack when that is its only
    /// use. Returns `values` without the conditions that no longer need a local.
    fn stack_branch_conditions(&mut self, order: &[Op], values: Vec<Value>) -> Vec<Value> {
        let body = self.body;
        let mut freed: FxHashSet<Value> = FxHashSet::default();
        for &op in order {
            if !matches!(op_name(self.ctx, body, op), "control.br_if" | "control.br_table")
                || self.stack_prefix[op.index()] > 0
            {
                continue;
            }
            let cond = body.operands(op)[0];
            let Some(producer) = body.defining_op(cond) else { continue };
            let single = body.results(producer).len() == 1 && body.uses(cond).len() == 1;
            if !single
                || body.prev_op(op) != Some(producer)
                || self.on_stack[producer.index()]
                || !body.op_regions(producer).is_empty()
                || !self.needs_local(cond)
            {
                continue;
            }
            // The values the branch still passes on the stack (asyncify's `br_if $unwind
            // (i32.const N) (cond)`) are pushed before the condition's computation starts,
            // when each is a constant or already in its local.
            let operands = self.stack_operands(op);
            let Some((&last, early)) = operands.split_last() else { continue };
            let start = self.chain_start[producer.index()].unwrap_or(producer);
            if last != cond || !early.iter().all(|&v| self.is_free_before(v, start)) {
                continue;
            }
            if !early.is_empty() {
                let mut pushes = early.to_vec();
                pushes.extend(self.early_pushes.remove(&start).unwrap_or_default());
                self.early_pushes.insert(start, pushes);
                self.chain_start[op.index()] = Some(start);
            }
            self.on_stack[producer.index()] = true;
            self.stack_consumer[producer.index()] = Some(op);
            self.stack_prefix[op.index()] = operands.len() as u32;
            freed.insert(cond);
        }
        values.into_iter().filter(|v| !freed.contains(v)).collect()
    }

    /// One local per class, by linear scan over each class's span.
    fn allocate(
        &mut self,
        values: &[Value],
        params: &[Value],
        classes: &mut Classes,
        wasm_type: &[Option<wasm_encoder::ValType>],
    ) {
        let mut members: FxHashMap<u32, Vec<Value>> = FxHashMap::default();
        for &v in values {
            members.entry(classes.find(v.index() as u32)).or_default().push(v);
        }
        let mut spans: Vec<(u32, u32, u32)> = members
            .keys()
            .map(|&root| {
                let iv = &classes.intervals[root as usize];
                (iv.first().map_or(0, |i| i.0), iv.last().map_or(0, |i| i.1), root)
            })
            .collect();
        spans.sort_unstable();
        // Locals in use, by when they come free; free locals by type, lowest index first.
        let mut busy: BinaryHeap<Reverse<(u32, u32)>> = BinaryHeap::new();
        let mut free: FxHashMap<wasm_encoder::ValType, BTreeSet<u32>> = FxHashMap::default();
        let mut local_of_root: FxHashMap<u32, u32> = FxHashMap::default();
        // Per local, where its classes live and when the last of them ends: a class that finds
        // no free local may still fit in the holes of one in use (a value live in one arm of
        // an `if`, and a loop in the other), before a new local is added.
        let mut occupied: Vec<Intervals> = Vec::new();
        let mut busy_until: Vec<u32> = Vec::new();
        for (i, &p) in params.iter().enumerate() {
            local_of_root.insert(classes.find(p.index() as u32), i as u32);
        }
        let holds_constant = |root: u32| {
            // (Loop slots are values of the emitter's own, past the body's.)
            members[&root].iter().any(|&v| {
                v.index() < self.body.value_capacity()
                    && self
                        .body
                        .defining_op(v)
                        .is_some_and(|d| op_name(self.ctx, self.body, d) == "arith.constant")
            })
        };
        for (start, end, root) in spans {
            while let Some(&Reverse((end, local))) = busy.peek()
                && end <= start
            {
                busy.pop();
                // A local that took a class in its holes is busy until the later end.
                if busy_until[local as usize] == end {
                    free.entry(self.local_types[local as usize]).or_default().insert(local);
                }
            }
            let intervals = &classes.intervals[root as usize];
            let local = match local_of_root.get(&root) {
                Some(&l) => l,
                None => {
                    let ty = wasm_type[members[&root][0].index()].expect("a value with a local has a type");
                    match free.entry(ty).or_default().pop_first() {
                        Some(l) => l,
                        // None is free: every local of the type is busy, and one may have a
                        // hole where the class lives. A class holding a constant (most often
                        // the local's implicit zero) wants a fresh local, where cleanup drops
                        // a write of zero.
                        None => (!holds_constant(root))
                            .then(|| {
                                (0..occupied.len() as u32).find(|&l| {
                                    self.local_types[l as usize] == ty
                                        && intervals.iter().all(|i| !occupied[l as usize].overlaps(i))
                                })
                            })
                            .flatten()
                            .unwrap_or_else(|| {
                                self.local_types.push(ty);
                                self.local_types.len() as u32 - 1
                            }),
                    }
                }
            };
            if occupied.len() <= local as usize {
                occupied.resize(local as usize + 1, Intervals::default());
                busy_until.resize(local as usize + 1, 0);
            }
            occupied[local as usize].extend(intervals);
            busy_until[local as usize] = busy_until[local as usize].max(end);
            for &v in &members[&root] {
                self.local_of.insert(v, local);
            }
            busy.push(Reverse((busy_until[local as usize], local)));
        }
    }
}
