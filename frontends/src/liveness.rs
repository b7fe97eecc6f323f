//! Which locals each Wasm control construct carries once locals are SSA values (pruned SSA):
//! a construct's label carries only the locals the construct assigns that are live where the
//! label leads, so dead and unchanged locals never become block results or loop arguments.
//!
//! Liveness is a backward analysis over the operator sequence, which Wasm's structured control
//! makes simple: the code after a construct's `end` is where a branch to a block or `if`
//! leads, and a loop's branches lead to its start. Loop headers need a fixpoint; their sets
//! only grow, and after `MAX_SWEEPS` sweeps without one every loop carries every local it
//! assigns, which is always sound (carrying a dead local costs bytes, never correctness).

use wasmir_ir::FxHashMap;
use wasmparser::Operator;

/// Sweeps before loops fall back to carrying every local they assign. Real code converges in
/// two or three; each sweep is linear in the function.
const MAX_SWEEPS: usize = 12;

/// The locals a construct carries, by the index of its `block`, `loop` or `if` operator.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ConstructLocals {
    /// Locals assigned anywhere inside it, ascending.
    pub assigned: Vec<u32>,
    /// Of those, the ones live where its label leads (after a block's or an `if`'s end, at a
    /// loop's start): what every branch to it carries, and a loop's arguments.
    pub label: Vec<u32>,
    /// Of those, the ones live after its end: what its results carry.
    pub results: Vec<u32>,
}

/// A set of local indices.
#[derive(Clone, PartialEq, Eq, Debug)]
struct LocalSet(Vec<u64>);

impl LocalSet {
    fn empty(locals: usize) -> Self {
        Self(vec![0; locals.div_ceil(64)])
    }

    fn full(locals: usize) -> Self {
        let mut s = Self(vec![u64::MAX; locals.div_ceil(64)]);
        if !locals.is_multiple_of(64)
            && let Some(last) = s.0.last_mut()
        {
            *last = (1u64 << (locals % 64)) - 1;
        }
        s
    }

    fn insert(&mut self, l: u32) {
        if let Some(w) = self.0.get_mut(l as usize / 64) {
            *w |= 1 << (l % 64);
        }
    }

    fn remove(&mut self, l: u32) {
        if let Some(w) = self.0.get_mut(l as usize / 64) {
            *w &= !(1 << (l % 64));
        }
    }

    fn union_with(&mut self, other: &LocalSet) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    fn clear(&mut self) {
        self.0.iter_mut().for_each(|w| *w = 0);
    }

    fn copy_from(&mut self, other: &LocalSet) {
        self.0.copy_from_slice(&other.0);
    }

    /// The members, ascending, found word by word.
    fn members(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (w, &bits) in self.0.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                out.push(w as u32 * 64 + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
        out
    }

    /// The members of `self` that are in `of`, ascending.
    fn members_in(&self, of: &[u32]) -> Vec<u32> {
        of.iter()
            .copied()
            .filter(|&l| self.0.get(l as usize / 64).is_some_and(|w| w >> (l % 64) & 1 == 1))
            .collect()
    }
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Kind {
    Function,
    Block,
    Loop,
    If,
}

/// One open construct of a backward sweep.
struct Open {
    kind: Kind,
    /// Index of the construct's first operator (for the function, `usize::MAX`).
    start: usize,
    /// Live after the construct's `end`.
    after: LocalSet,
    /// For an `if` with an `else`: live at the start of the `else` arm.
    else_start: Option<LocalSet>,
}

/// For every construct of a function body, the locals it carries. `num_locals` counts the
/// parameters and the declared locals.
pub(crate) fn construct_locals(
    ops: &[(Operator<'_>, usize)],
    num_locals: usize,
) -> FxHashMap<usize, ConstructLocals> {
    let (assigned, start_of_end) = assigned_locals(ops, num_locals);
    let mut headers: FxHashMap<usize, LocalSet> = FxHashMap::default();
    let mut result = FxHashMap::default();
    for sweep in 0..=MAX_SWEEPS {
        if sweep == MAX_SWEEPS {
            // No fixpoint yet: every loop carries all it assigns.
            for set in headers.values_mut() {
                *set = LocalSet::full(num_locals);
            }
        }
        let changed = backward_sweep(
            ops,
            num_locals,
            &assigned,
            &start_of_end,
            &mut headers,
            &mut result,
            sweep < MAX_SWEEPS,
        );
        if !changed {
            break;
        }
    }
    unify_table_targets(ops, &mut result);
    result
}

/// A `br_table` is one op when all its targets carry the same locals; otherwise the importer
/// needs a landing block per target. So the targets of a table (and, transitively, of tables
/// sharing a target) carry the union of what each needs: a local a label does not need is
/// carried unchanged, which costs nothing once its value is found dead (the emitter drops
/// it). A C `switch` is the common case: the case blocks carry what the cases after them
/// read, and the innermost one carries nothing.
fn unify_table_targets(ops: &[(Operator<'_>, usize)], result: &mut FxHashMap<usize, ConstructLocals>) {
    let mut parent: FxHashMap<usize, usize> = FxHashMap::default();
    fn find(parent: &mut FxHashMap<usize, usize>, x: usize) -> usize {
        let mut root = x;
        while let Some(&p) = parent.get(&root).filter(|&&p| p != root) {
            root = p;
        }
        let mut at = x;
        while let Some(&p) = parent.get(&at).filter(|&&p| p != root) {
            parent.insert(at, root);
            at = p;
        }
        root
    }
    let mut open: Vec<usize> = Vec::new();
    let mut any = false;
    for (i, (op, _)) in ops.iter().enumerate() {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => open.push(i),
            Operator::End => {
                open.pop();
            }
            Operator::BrTable { targets } => {
                let starts: Vec<usize> = targets
                    .targets()
                    .flatten()
                    .chain(std::iter::once(targets.default()))
                    .filter_map(|d| open.len().checked_sub(d as usize + 1).map(|k| open[k]))
                    .collect();
                for pair in starts.windows(2) {
                    let (a, b) = (find(&mut parent, pair[0]), find(&mut parent, pair[1]));
                    if a != b {
                        parent.insert(a, b);
                        any = true;
                    }
                }
            }
            _ => {}
        }
    }
    if !any {
        return;
    }
    let mut members: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
    let keys: Vec<usize> = parent.keys().copied().collect();
    for k in keys {
        let root = find(&mut parent, k);
        members.entry(root).or_default().push(k);
    }
    for (root, mut group) in members {
        if !group.contains(&root) {
            group.push(root);
        }
        // A loop would carry the union around as arguments on every iteration: such a
        // group keeps its landing blocks.
        if group.iter().any(|&start| matches!(ops.get(start).map(|(o, _)| o), Some(Operator::Loop { .. }))) {
            continue;
        }
        let mut union: Vec<u32> =
            group.iter().filter_map(|s| result.get(s)).flat_map(|c| c.label.iter().copied()).collect();
        union.sort_unstable();
        union.dedup();
        // Each landing block costs a few bytes; each local carried in addition costs a
        // value at every branch to its label. Unify where the additions are few (a `switch`
        // whose innermost case block assigns nothing), not where many labels would carry
        // many more locals.
        let added: usize =
            group.iter().filter_map(|s| result.get(s)).map(|c| union.len() - c.label.len()).sum();
        if added > 2 * group.len() {
            continue;
        }
        // After the construct, a local it carries without assigning keeps its value from
        // before, which is the value it carried.
        for start in group {
            let entry = result.entry(start).or_default();
            entry.results = union.clone();
            entry.label = union.clone();
        }
    }
}

/// The locals each construct assigns, by its start index, and the start index of the
/// construct each `end` closes, by the `end`'s index.
fn assigned_locals(
    ops: &[(Operator<'_>, usize)],
    num_locals: usize,
) -> (FxHashMap<usize, Vec<u32>>, FxHashMap<usize, usize>) {
    let mut open: Vec<(usize, LocalSet)> = Vec::new();
    let mut assigned = FxHashMap::default();
    let mut start_of_end = FxHashMap::default();
    for (i, (op, _)) in ops.iter().enumerate() {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                open.push((i, LocalSet::empty(num_locals)))
            }
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                if let Some((_, set)) = open.last_mut() {
                    set.insert(*local_index);
                }
            }
            Operator::End => {
                if let Some((start, set)) = open.pop() {
                    let members = set.members();
                    if let Some((_, parent)) = open.last_mut() {
                        parent.union_with(&set);
                    }
                    assigned.insert(start, members);
                    start_of_end.insert(i, start);
                }
            }
            _ => {}
        }
    }
    (assigned, start_of_end)
}

/// One backward pass over the body with the current loop header sets; records what each
/// construct carries. Returns whether a header set grew (only when `update_headers`).
fn backward_sweep(
    ops: &[(Operator<'_>, usize)],
    num_locals: usize,
    assigned: &FxHashMap<usize, Vec<u32>>,
    start_of_end: &FxHashMap<usize, usize>,
    headers: &mut FxHashMap<usize, LocalSet>,
    result: &mut FxHashMap<usize, ConstructLocals>,
    update_headers: bool,
) -> bool {
    let empty = LocalSet::empty(num_locals);
    let mut live = LocalSet::empty(num_locals);
    let mut open: Vec<Open> = Vec::new();
    let mut changed = false;
    // Where a branch `depth` levels out leads.
    let label = |open: &[Open], headers: &FxHashMap<usize, LocalSet>, depth: u32| -> LocalSet {
        let Some(frame) = open.len().checked_sub(depth as usize + 1).map(|i| &open[i]) else {
            return LocalSet::empty(num_locals);
        };
        match frame.kind {
            Kind::Loop => headers.get(&frame.start).cloned().unwrap_or_else(|| LocalSet::empty(num_locals)),
            _ => frame.after.clone(),
        }
    };
    let mut ops_rev = ops.iter().enumerate().rev();
    // The function's own `end` opens the outermost frame: nothing is live after it.
    if let Some((Operator::End, _)) = ops.last() {
        ops_rev.next();
    }
    open.push(Open { kind: Kind::Function, start: usize::MAX, after: empty.clone(), else_start: None });
    for (i, (op, _)) in ops_rev {
        match op {
            Operator::LocalGet { local_index } => live.insert(*local_index),
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                live.remove(*local_index)
            }
            Operator::Br { relative_depth } => live = label(&open, headers, *relative_depth),
            Operator::BrIf { relative_depth }
            | Operator::BrOnNull { relative_depth }
            | Operator::BrOnNonNull { relative_depth }
            | Operator::BrOnCast { relative_depth, .. }
            | Operator::BrOnCastFail { relative_depth, .. } => {
                let target = label(&open, headers, *relative_depth);
                live.union_with(&target);
            }
            Operator::BrTable { targets } => {
                live.clear();
                for depth in targets.targets().flatten().chain(std::iter::once(targets.default())) {
                    let target = label(&open, headers, depth);
                    live.union_with(&target);
                }
            }
            Operator::Return
            | Operator::Unreachable
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef
            | Operator::Rethrow { .. } => live.clear(),
            Operator::End => {
                let start = start_of_end.get(&i).copied().unwrap_or(usize::MAX);
                let kind = match ops.get(start).map(|(o, _)| o) {
                    Some(Operator::Loop { .. }) => Kind::Loop,
                    Some(Operator::If { .. }) => Kind::If,
                    _ => Kind::Block,
                };
                open.push(Open { kind, start, after: live.clone(), else_start: None });
            }
            Operator::Else => {
                if let Some(frame) = open.last_mut() {
                    frame.else_start = Some(live.clone());
                    live.copy_from(&frame.after);
                }
            }
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                let Some(frame) = open.pop() else { continue };
                let no_assigned = Vec::new();
                let of = assigned.get(&i).unwrap_or(&no_assigned);
                let results = frame.after.members_in(of);
                let label = match frame.kind {
                    Kind::Loop => {
                        let header = headers.entry(i).or_insert_with(|| LocalSet::empty(num_locals));
                        if update_headers {
                            // Sets only grow, so the sweeps reach the least fixpoint from below.
                            let before = header.clone();
                            header.union_with(&live);
                            changed |= *header != before;
                        }
                        header.members_in(of)
                    }
                    _ => results.clone(),
                };
                if frame.kind == Kind::If {
                    let other = frame.else_start.as_ref().unwrap_or(&frame.after);
                    live.union_with(other);
                }
                result.insert(i, ConstructLocals { assigned: of.clone(), label, results });
            }
            _ => {}
        }
    }
    changed
}
