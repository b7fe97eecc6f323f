//! Cleanups of an emitted function body at the instruction level, where structure the IR
//! needs has no cost to pay in Wasm. The importer turns a `br_table` whose targets receive
//! different values into a table over trampoline blocks (`block { br_table } br 2 (values)`);
//! once the values travel in locals, each trampoline is an empty block whose end is a plain
//! `br`. Here:
//!
//! 1. **Jump threading**: a branch to an empty block whose `end` is followed by `br T`, where
//!    `T` takes no values either, goes to `T` directly.
//! 2. **Unused labels**: a `block` that no branch targets loses its `block` and `end`.
//! 3. **Dead code**: instructions after an unconditional transfer (`br`, `br_table`,
//!    `return`, `unreachable`, tail calls) up to the end of their block go.
//! 4. **Empty `else`**: an `if` without values whose `else` arm is empty loses its `else`
//!    (the importer gives every `if` an `else` that yields the locals it carries; once those
//!    travel in locals the arm has nothing left to do).
//!
//! Branch depths are resolved to labels first and recomputed at the end, so removing a label
//! renumbers every branch across it. A body with instructions this does not model is left as
//! it is.

use wasm_encoder::{BlockType, Instruction as I};

/// A label: its kind and how many values a branch to it carries (None: not known here).
struct Label {
    is_block: bool,
    /// An `if` whose block type is empty.
    is_empty_if: bool,
    arity: Option<usize>,
    /// Instruction index of its `end`.
    end: usize,
}

const FUNCTION_LABEL: usize = usize::MAX;

/// The branch targets of an instruction, as depths.
fn depths(insn: &I<'_>) -> Option<Vec<u32>> {
    match insn {
        I::Br(d) | I::BrIf(d) | I::BrOnNull(d) | I::BrOnNonNull(d) => Some(vec![*d]),
        I::BrTable(targets, default) => Some(targets.iter().copied().chain([*default]).collect()),
        _ => None,
    }
}

fn with_depths<'a>(insn: &I<'a>, d: &[u32]) -> I<'a> {
    match insn {
        I::Br(_) => I::Br(d[0]),
        I::BrIf(_) => I::BrIf(d[0]),
        I::BrOnNull(_) => I::BrOnNull(d[0]),
        I::BrOnNonNull(_) => I::BrOnNonNull(d[0]),
        I::BrTable(..) => I::BrTable(d[..d.len() - 1].to_vec().into(), d[d.len() - 1]),
        other => other.clone(),
    }
}

fn unconditional(insn: &I<'_>) -> bool {
    matches!(
        insn,
        I::Br(_)
            | I::BrTable(..)
            | I::Return
            | I::Unreachable
            | I::ReturnCall(_)
            | I::ReturnCallIndirect { .. }
    ) || matches!(insn, I::ReturnCallRef(_))
}

/// Whether the `else` at `at`, of the `if` labelled `label`, is an empty arm this pass drops:
/// right before the `end`, in an `if` without values.
fn empty_else(code: &[I<'_>], at: usize, label: &Label) -> bool {
    label.is_empty_if && matches!(code.get(at + 1), Some(I::End))
}

/// Whether this pass understands every instruction that can name a label.
fn modeled(code: &[I<'_>]) -> bool {
    code.iter().all(|insn| {
        !matches!(
            insn,
            I::Try(_)
                | I::TryTable(..)
                | I::Delegate(_)
                | I::Rethrow(_)
                | I::Catch(_)
                | I::CatchAll
                | I::BrOnCast { .. }
                | I::BrOnCastFail { .. }
        )
    })
}

/// One pass of the three cleanups; returns whether anything changed.
fn round<'a>(code: &mut Vec<I<'a>>, function_arity: usize) -> bool {
    // Resolve labels.
    let mut labels: Vec<Label> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut label_at: Vec<Option<usize>> = vec![None; code.len()];
    // The labels each branch targets: `targets[at]` is a range of `target_labels` (empty for
    // an instruction that is no branch).
    let mut targets: Vec<(u32, u32)> = vec![(0, 0); code.len()];
    let mut target_labels: Vec<usize> = Vec::new();
    // Whether dead code or an empty `else` arm is there to drop (unused blocks are known
    // once the branches are threaded): without any of those, the code stays as it is.
    let mut droppable = false;
    for (at, insn) in code.iter().enumerate() {
        if let Some(ds) = depths(insn) {
            let start = target_labels.len() as u32;
            target_labels.extend(
                ds.iter()
                    .map(|&d| open.len().checked_sub(d as usize + 1).map_or(FUNCTION_LABEL, |i| open[i])),
            );
            targets[at] = (start, target_labels.len() as u32);
        }
        let next_closes = matches!(code.get(at + 1), Some(I::End | I::Else) | None);
        droppable |= unconditional(insn) && !next_closes;
        droppable |=
            matches!(insn, I::Else) && open.last().is_some_and(|&l| empty_else(code, at, &labels[l]));
        match insn {
            I::Block(bt) | I::Loop(bt) | I::If(bt) => {
                let is_block = matches!(insn, I::Block(_));
                let arity = match (bt, matches!(insn, I::Loop(_))) {
                    (BlockType::Empty, _) | (BlockType::Result(_), true) => Some(0),
                    (BlockType::Result(_), false) => Some(1),
                    (BlockType::FunctionType(_), _) => None,
                };
                label_at[at] = Some(labels.len());
                open.push(labels.len());
                let is_empty_if = matches!(insn, I::If(BlockType::Empty));
                labels.push(Label { is_block, is_empty_if, arity, end: usize::MAX });
            }
            I::End => {
                if let Some(l) = open.pop() {
                    labels[l].end = at;
                    label_at[at] = Some(l);
                }
            }
            _ => {}
        }
    }
    let arity = |l: usize| if l == FUNCTION_LABEL { Some(function_arity) } else { labels[l].arity };
    // 1. Threading: where a branch to each label really goes.
    let mut forward: Vec<usize> = (0..labels.len()).collect();
    for (l, label) in labels.iter().enumerate() {
        if !label.is_block || label.arity != Some(0) || label.end == usize::MAX {
            continue;
        }
        if let (Some(I::Br(_)), Some(&(t, _))) = (code.get(label.end + 1), targets.get(label.end + 1))
            && arity(target_labels[t as usize]) == Some(0)
        {
            forward[l] = target_labels[t as usize];
        }
    }
    let resolve = |mut l: usize| {
        // Chains end: each step goes to an enclosing label.
        for _ in 0..labels.len() {
            if l == FUNCTION_LABEL || forward[l] == l {
                break;
            }
            l = forward[l];
        }
        l
    };
    let mut changed = false;
    let mut referenced = vec![false; labels.len()];
    for l in target_labels.iter_mut() {
        let to = resolve(*l);
        changed |= to != *l;
        *l = to;
        if to != FUNCTION_LABEL {
            referenced[to] = true;
        }
    }
    // A block no branch targets, whose values this pass knows, loses its `block` and `end`.
    let unused = |l: usize| labels[l].is_block && !referenced[l] && labels[l].arity.is_some();
    if !changed && !droppable && !(0..labels.len()).any(unused) {
        return false;
    }
    // 2, 3 and 4: drop unused blocks, dead code and empty `else` arms, then recompute depths.
    let mut out: Vec<I<'a>> = Vec::with_capacity(code.len());
    let mut stack: Vec<usize> = Vec::new();
    // Where each open label sits in `stack`, so a depth is found in constant time.
    let mut slot: Vec<usize> = vec![usize::MAX; labels.len()];
    // Nesting depth inside dead code (labels opened there), when skipping.
    let mut dead: Option<usize> = None;
    for (at, insn) in code.iter().enumerate() {
        if let Some(depth) = dead.as_mut() {
            match insn {
                I::Block(_) | I::Loop(_) | I::If(_) => {
                    *depth += 1;
                    changed = true;
                    continue;
                }
                I::End | I::Else if *depth > 0 => {
                    if matches!(insn, I::End) {
                        *depth -= 1;
                    }
                    changed = true;
                    continue;
                }
                I::End | I::Else => dead = None,
                _ => {
                    changed = true;
                    continue;
                }
            }
        }
        let removed_block = label_at[at].is_some_and(unused);
        match insn {
            I::Block(_) | I::Loop(_) | I::If(_) => {
                let l = label_at[at].expect("a label");
                if removed_block {
                    changed = true;
                } else {
                    slot[l] = stack.len();
                    stack.push(l);
                    out.push(insn.clone());
                }
                continue;
            }
            I::End => {
                if removed_block {
                    continue;
                }
                if label_at[at].is_some() {
                    stack.pop();
                }
                out.push(I::End);
                continue;
            }
            I::Else if stack.last().is_some_and(|&l| empty_else(code, at, &labels[l])) => {
                changed = true;
                continue;
            }
            _ => {}
        }
        match targets[at] {
            (start, end) if end > start => {
                let ds: Vec<u32> = target_labels[start as usize..end as usize]
                    .iter()
                    .map(|&l| match slot.get(l).filter(|&&i| stack.get(i) == Some(&l)) {
                        Some(&i) => (stack.len() - 1 - i) as u32,
                        None => stack.len() as u32,
                    })
                    .collect();
                out.push(with_depths(insn, &ds));
            }
            _ => out.push(insn.clone()),
        }
        if unconditional(insn) {
            dead = Some(0);
        }
    }
    *code = out;
    changed
}

/// Runs the cleanups until nothing changes. `function_arity` is how many results the function
/// returns (what a branch to the function's own label carries).
pub(crate) fn cleanup(code: &mut Vec<I<'_>>, function_arity: usize) {
    if !modeled(code) {
        return;
    }
    for _ in 0..4 {
        if !round(code, function_arity) {
            break;
        }
    }
}

/// Whether `insn` pushes the value a declared local holds before anything writes it.
fn is_default_zero(insn: &I<'_>) -> bool {
    match insn {
        I::I32Const(0) | I::I64Const(0) => true,
        I::F32Const(f) => f.bits() == 0,
        I::F64Const(f) => f.bits() == 0,
        I::V128Const(0) => true,
        _ => false,
    }
}

/// Removes writes of zero to a declared local that nothing can have written yet on any path
/// from the function's entry (the importer gives a local's implicit zero an explicit value,
/// and a loop or an `if` that carries the local copies it in): the local still holds zero.
///
/// A forward "maybe written" analysis over the structured code: at a block's or an `if`'s end
/// the union of what reaches it (fallthrough and branches), at a loop's start what reaches it
/// plus everything its body writes (which covers every back edge). Locals below
/// `num_params` are parameters and never qualify.
pub(crate) fn drop_zero_initializations(code: &mut Vec<I<'_>>, num_params: u32, num_locals: usize) {
    if !modeled(code) {
        return;
    }
    let words = num_locals.div_ceil(64);
    let local_of = |insn: &I<'_>| match insn {
        I::LocalSet(l) | I::LocalTee(l) => Some(*l),
        _ => None,
    };
    // What each loop's body writes, by the index of its `loop`.
    let mut loop_writes: Vec<Option<Vec<u64>>> = vec![None; code.len()];
    let mut open_loops: Vec<(usize, Vec<u64>)> = Vec::new();
    let mut kinds: Vec<bool> = Vec::new(); // per open construct: is it a loop
    for (at, insn) in code.iter().enumerate() {
        match insn {
            I::Loop(_) => {
                kinds.push(true);
                open_loops.push((at, vec![0; words]));
            }
            I::Block(_) | I::If(_) => kinds.push(false),
            I::End => {
                if kinds.pop() == Some(true)
                    && let Some((start, set)) = open_loops.pop()
                {
                    if let Some((_, parent)) = open_loops.last_mut() {
                        parent.iter_mut().zip(&set).for_each(|(a, b)| *a |= b);
                    }
                    loop_writes[start] = Some(set);
                }
            }
            _ => {
                if let (Some(l), Some((_, set))) = (local_of(insn), open_loops.last_mut()) {
                    set[l as usize / 64] |= 1 << (l % 64);
                }
            }
        }
    }
    struct Open {
        is_loop: bool,
        /// Written on some path to the construct's end.
        at_end: Vec<u64>,
        /// An `if`: written on some path to its start.
        at_start: Option<Vec<u64>>,
    }
    let union = |a: &mut Vec<u64>, b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
    let mut written = vec![0u64; words];
    let mut open: Vec<Open> = Vec::new();
    let mut drop = vec![false; code.len()];
    let branch_to = |open: &mut Vec<Open>, written: &[u64], depth: u32| {
        if let Some(i) = open.len().checked_sub(depth as usize + 1)
            && !open[i].is_loop
        {
            union(&mut open[i].at_end, written);
        }
    };
    for (at, insn) in code.iter().enumerate() {
        match insn {
            I::Block(_) => open.push(Open { is_loop: false, at_end: vec![0; words], at_start: None }),
            I::If(_) => {
                open.push(Open { is_loop: false, at_end: vec![0; words], at_start: Some(written.clone()) })
            }
            I::Loop(_) => {
                if let Some(body) = &loop_writes[at] {
                    union(&mut written, body);
                }
                open.push(Open { is_loop: true, at_end: vec![0; words], at_start: None });
            }
            I::Else => {
                if let Some(top) = open.last_mut() {
                    union(&mut top.at_end, &written);
                    if let Some(start) = &top.at_start {
                        written.copy_from_slice(start);
                    }
                }
            }
            I::End => {
                if let Some(top) = open.pop()
                    && !top.is_loop
                {
                    union(&mut written, &top.at_end);
                }
                // An `if` without `else` also ends with its start state: already in
                // `written`, which only grew since.
            }
            I::Br(d) | I::BrIf(d) | I::BrOnNull(d) | I::BrOnNonNull(d) => branch_to(&mut open, &written, *d),
            I::BrTable(targets, default) => {
                for &d in targets.iter().chain([default]) {
                    branch_to(&mut open, &written, d);
                }
            }
            _ => {
                if let Some(l) = local_of(insn) {
                    let (w, bit) = (l as usize / 64, 1u64 << (l % 64));
                    let never_written = written.get(w).is_some_and(|x| x & bit == 0);
                    if l >= num_params && never_written && at > 0 && is_default_zero(&code[at - 1]) {
                        // `const 0; local.set` goes whole; `const 0; local.tee` keeps the 0.
                        drop[at] = true;
                        if matches!(insn, I::LocalSet(_)) {
                            drop[at - 1] = true;
                        }
                    } else if let Some(x) = written.get_mut(w) {
                        *x |= bit;
                    }
                }
            }
        }
    }
    let mut at = 0;
    code.retain(|_| {
        at += 1;
        !drop[at - 1]
    });
}

/// Reads the zero vector from a v128 local nothing writes (two bytes) where `v128.const 0`
/// (seventeen) is left, once the other cleanups have removed the zero writes they could: they
/// recognize the constant, not the read.
pub(crate) fn zero_vectors_from_a_local(
    code: &mut [I<'static>],
    local_types: &mut Vec<wasm_encoder::ValType>,
) {
    let zeros = code.iter().filter(|i| matches!(i, I::V128Const(0))).count();
    // The local's declaration costs about two bytes.
    if zeros < 2 {
        return;
    }
    local_types.push(wasm_encoder::ValType::V128);
    let zero = (local_types.len() - 1) as u32;
    for insn in code.iter_mut().filter(|i| matches!(i, I::V128Const(0))) {
        *insn = I::LocalGet(zero);
    }
}
