//! Emits one function body: SSA values back onto Wasm's operand stack and into locals (the
//! out-of-SSA translation; specs/wasm-translation.md describes it with examples).
//!
//! 1. **Stackification.** Per block, a simulation of the operand stack decides which values
//!    stay on the stack for their consumer: a value whose single use is by a later op of the
//!    same block stays when, at that op, it sits at the top of the simulated stack exactly in
//!    the position the op's leading operands need. Nothing moves, so evaluation order (and
//!    every trap and effect) is unchanged. A label's results stay on the stack only when no
//!    `br_if` carries them and the construct does not merely pass on values from before it,
//!    and a value a label position receives stays in its local when other ways into the
//!    position, or other uses, need it there (unless every arm computes its own).
//! 2. **Constants** are rematerialized at each use instead of occupying a local, unless a label
//!    position holds one (4).
//! 3. **Live ranges** are exact (liveness.rs): a value is live only where a path leads to a
//!    use, so the arm of an `if` or the case of a `switch` that never reaches a use is a hole.
//! 4. **Coalescing.** A construct's result (or a loop's argument) and the values that flow into
//!    it (yields, branch values, loop initial values) are merged into one class when their live
//!    ranges do not overlap. When every value flowing into a position is in the position's
//!    class, or can be copied into its local where it flows, the value travels in that local:
//!    the position disappears from the block type and no branch pushes it. Merges run in
//!    pre-order and, when that differs, by the number of branches into each position; then
//!    with the constants that flow in (held in the local from where they are defined); the
//!    plan whose positions cost the fewest bytes is kept. A loop argument
//!    still live where a branch back carries it a new value gets a slot of its own, copied
//!    into the argument's local at the loop's start (where a compiler puts a phi's copy).
//!    This undoes the cost of promoting Wasm locals to SSA.
//! 5. **Locals.** Each class gets a local by linear scan over its live span, reusing a local of
//!    the same Wasm type once the previous class is dead. Intervals use doubled positions in
//!    emission order: an op's operands are read at `2p`, a construct's results are written at
//!    `2 * end + 1`.
//! 6. **Loops** take their stack-passed carried values as Wasm loop parameters, so every branch,
//!    `br_table` included, just pushes the target's stack-passed values.
//! 7. **Cleanup** on the instructions (cleanup.rs), then peepholes and local numbering
//!    (encode.rs).

mod coalesce;

use super::encode::EmittedFunction;
use super::{Env, block_type, val_type};
use crate::wasm::insn;
use smallvec::SmallVec;
use wasm_encoder::{Instruction as I, MemArg};
use wasmir_dialects::control::table_targets;
use wasmir_ir::{
    Block, Body, Context, Diagnostic, EnclosingLabels, FxHashMap, FxHashSet, Location, Op, OpRef, Traits,
    Type, Value,
};

/// Emits the body of a defined function of type `fty`.
pub(crate) fn emit_function(
    env: &mut Env<'_>,
    body: &Body,
    fty: Type,
    name: &str,
) -> Result<EmittedFunction, Diagnostic> {
    let mut e = FuncEmitter::new(env, body, fty, name)?;
    e.analyze();
    e.coalesce_and_allocate()?;
    let entry = body.region_blocks(body.roots()[0])[0];
    e.emit_block(entry, true)?;
    e.out.push(I::End);
    let mut code = std::mem::take(&mut e.out);
    let results = e.ctx.function_signature(fty).map_or(0, |(_, r)| r.len());
    // Zero writes go first: an `else` arm that only initialized a local is then empty, and
    // the cleanups drop it.
    super::cleanup::drop_zero_initializations(&mut code, e.num_params as u32, e.local_types.len());
    super::cleanup::cleanup(&mut code, results);
    super::cleanup::zero_vectors_from_a_local(&mut code, &mut e.local_types);
    Ok(EmittedFunction::finish(code, e.num_params, &e.local_types))
}

/// A label position: the label, which of its value lists, and the place in that list.
type PositionKey = (Op, Slot, u32);

/// A few values (an op's operands, results, or stack values): inline up to four.
type Values = SmallVec<[Value; 4]>;

/// A group of results left on the stack for a later op, tentatively while `stackify` walks
/// a block: `(producer, results, whether other uses need a `local.tee` copy)`.
type Tentative = (Op, Values, bool);

/// How the top `groups` tentative groups sit among an op's operands (see `match_groups`):
/// the operands pushed before each group's chain starts (by the group's index among them),
/// how many values the groups leave on the stack, and where the last one ends.
#[derive(Default)]
struct GroupMatch {
    groups: usize,
    gaps: SmallVec<[(usize, std::ops::Range<usize>); 2]>,
    covered: usize,
    end: usize,
}

/// Which values of a label a position refers to.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
enum Slot {
    /// A result of a block, if or loop.
    Result,
    /// A region argument of a loop.
    Arg,
}

/// Values flowing into positions of a label: `(label, slot, values by position)`, the values
/// being the operands of the op they flow from.
type Incoming<'b> = (Op, Slot, &'b [Value]);

struct FuncEmitter<'e, 'a, 'b> {
    env: &'e mut Env<'a>,
    ctx: &'a Context,
    body: &'b Body,
    name: &'b str,
    num_params: usize,
    /// Emission (pre-order) position of each op, and the last position inside it.
    pos: Vec<u32>,
    end_pos: Vec<u32>,
    /// Ops whose results are left on the stack for their consumer.
    on_stack: Vec<bool>,
    /// Ops left on the stack whose result is also used elsewhere: `local.tee` keeps a copy.
    tee: Vec<bool>,
    /// The op that takes an `on_stack` op's results from the stack.
    stack_consumer: Vec<Option<Op>>,
    /// Pure ops emitted where their one use is instead of where they are (expression trees).
    deferred: Vec<bool>,
    /// How many leading stack operands of an op come from the stack.
    /// (By op index; 0 for none.)
    stack_prefix: Vec<u32>,
    /// Values an op pushes before its own operands, for a later op that takes them below
    /// this op's result (`stackify`).
    early_pushes: FxHashMap<Op, Vec<Value>>,
    /// For an op that takes values from the stack, the first op of the chain that pushed them.
    chain_start: Vec<Option<Op>>,
    /// Label positions whose values travel in a local instead of on the stack.
    via_local: FxHashSet<PositionKey>,
    /// Loop argument positions that travel in a slot of their own (a value index past the
    /// body's), copied into the argument's local where the loop starts.
    loop_slots: FxHashMap<PositionKey, Value>,
    /// Copies into label-position locals that an op (a branch, yield or loop) makes before
    /// its instruction: `(value, target)`, the target's local receiving the value.
    copies: FxHashMap<Op, Vec<(Value, Value)>>,
    /// What flows into label positions, by the op it flows from (yields, branches, loops):
    /// the entries `incoming_at[op]` of `incoming`.
    incoming: Vec<Incoming<'b>>,
    incoming_at: Vec<(u32, u32)>,
    /// How many ops flow into each label position.
    ways_in: FxHashMap<PositionKey, u32>,
    /// Label positions reached only by yields, each yielding a value its arm computes for it
    /// alone (`if c { a + b } else { f() }`): the arms leave those values on the stack, and
    /// the construct's result is set once after it, where a local would take a set per arm.
    arm_computed: FxHashSet<PositionKey>,
    /// Constructs whose every way in is a yield of values defined before them (`if c { br }
    /// else { x }`): their results are better in the local those values already have, where
    /// coalescing leaves the arms empty, than on the stack.
    passes_through: FxHashSet<Op>,
    /// Labels that a conditional branch (`br_if`) carries values to.
    conditional_targets: FxHashSet<Op>,
    /// Every op of the body in pre-order (emission order).
    order: Vec<Op>,
    /// The innermost loop around each op (by op index).
    innermost_loop: Vec<Option<Op>>,
    /// Whether a value is needed: used by an op other than a flow into a label position, or
    /// flowing into a position whose value is needed. (The importer gives a loop an argument
    /// for every local the loop writes, live or not; the dead ones need no value.)
    live: Vec<bool>,
    local_of: FxHashMap<Value, u32>,
    local_types: Vec<wasm_encoder::ValType>,
    scratch: FxHashMap<Type, u32>,
    out: Vec<I<'static>>,
}

fn op_name(ctx: &Context, body: &Body, op: Op) -> &'static str {
    ctx.op_def(body.op_kind(op)).name
}

impl<'e, 'a, 'b> FuncEmitter<'e, 'a, 'b> {
    fn new(env: &'e mut Env<'a>, body: &'b Body, fty: Type, name: &'b str) -> Result<Self, Diagnostic> {
        let ctx = env.ctx;
        let (params, _) = ctx.function_signature(fty).expect("a function type");
        let mut local_types = Vec::new();
        for &p in params {
            local_types.push(val_type(ctx, p, env.types)?);
        }
        Ok(Self {
            env,
            ctx,
            body,
            name,
            num_params: params.len(),
            pos: vec![0; body.op_capacity()],
            end_pos: vec![0; body.op_capacity()],
            on_stack: vec![false; body.op_capacity()],
            tee: vec![false; body.op_capacity()],
            stack_consumer: vec![None; body.op_capacity()],
            deferred: vec![false; body.op_capacity()],
            stack_prefix: vec![0; body.op_capacity()],
            early_pushes: FxHashMap::default(),
            chain_start: vec![None; body.op_capacity()],
            via_local: FxHashSet::default(),
            loop_slots: FxHashMap::default(),
            copies: FxHashMap::default(),
            incoming: Vec::new(),
            incoming_at: vec![(0, 0); body.op_capacity()],
            ways_in: FxHashMap::default(),
            arm_computed: FxHashSet::default(),
            passes_through: FxHashSet::default(),
            conditional_targets: FxHashSet::default(),
            order: Vec::new(),
            innermost_loop: vec![None; body.op_capacity()],
            live: vec![true; body.value_capacity()],
            local_of: FxHashMap::default(),
            local_types,
            scratch: FxHashMap::default(),
            out: Vec::new(),
        })
    }

    fn err(&self, loc: Location, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(loc, format!("cannot lower @{} to Wasm: {}", self.name, msg.into()))
    }

    fn is_label(&self, op: Op) -> bool {
        self.ctx.op_def(self.body.op_kind(op)).has(Traits::LABEL)
    }

    fn is_loop(&self, op: Op) -> bool {
        self.ctx.op_def(self.body.op_kind(op)).has(Traits::LOOP)
    }

    fn loop_args(&self, op: Op) -> &'b [Value] {
        let body: &'b Body = self.body;
        body.op_regions(op)
            .first()
            .and_then(|&r| body.region_blocks(r).first())
            .map_or(&[], |&b| body.block_args(b))
    }

    /// The values a label position refers to.
    fn slot_values(&self, label: Op, slot: Slot) -> &'b [Value] {
        let body: &'b Body = self.body;
        match slot {
            Slot::Result => body.results(label),
            Slot::Arg => self.loop_args(label),
        }
    }

    fn branch_depths(&self, op: Op) -> Vec<u32> {
        let attr =
            |k: &str| self.ctx.dict_get(self.body.op_attrs(op), k).and_then(|a| self.ctx.attr_as_int(a));
        match op_name(self.ctx, self.body, op) {
            "control.br" | "control.br_if" | "control.br_on_null" | "control.br_on_non_null" => {
                vec![attr("depth").unwrap_or(0) as u32]
            }
            "control.br_table" => {
                let mut d = table_targets(self.ctx, OpRef::new(self.ctx, self.body, op));
                d.push(attr("default").unwrap_or(0) as u32);
                d.sort_unstable();
                d.dedup();
                d
            }
            _ => Vec::new(),
        }
    }

    /// The branch values of a branch op (after the condition, index or reference).
    fn branch_values(&self, op: Op) -> &'b [Value] {
        let body: &'b Body = self.body;
        match op_name(self.ctx, body, op) {
            "control.br" => body.operands(op),
            _ => &body.operands(op)[1..],
        }
    }

    /// What flows from `op` into label positions (cached by `analyze`).
    fn incoming(&self, op: Op) -> &[Incoming<'b>] {
        let (start, end) = self.incoming_at[op.index()];
        &self.incoming[start as usize..end as usize]
    }

    /// Every value flowing into a label position: yields, branches and loop initial values,
    /// appended to `incoming`. `labels` are the labels enclosing `op`, outermost first.
    fn compute_incoming(&mut self, op: Op, labels: &[Op]) {
        let body: &'b Body = self.body;
        let name = op_name(self.ctx, body, op);
        let start = self.incoming.len() as u32;
        if name == "control.yield" {
            if let Some(p) = body.parent_op(op).filter(|&p| self.is_label(p)) {
                self.incoming.push((p, Slot::Result, body.operands(op)));
            }
        } else if name == "control.loop" {
            self.incoming.push((op, Slot::Arg, body.operands(op)));
        } else {
            let depths = self.branch_depths(op);
            let values = if depths.is_empty() { &[][..] } else { self.branch_values(op) };
            for d in depths {
                if let Some(i) = labels.len().checked_sub(d as usize + 1) {
                    let target = labels[i];
                    let slot = if self.is_loop(target) { Slot::Arg } else { Slot::Result };
                    self.incoming.push((target, slot, values));
                }
            }
        }
        self.incoming_at[op.index()] = (start, self.incoming.len() as u32);
    }

    fn stack_passed(&self, label: Op, slot: Slot, position: usize) -> bool {
        !self.via_local.contains(&(label, slot, position as u32))
    }

    /// The values an op pushes before its instruction, in push order: positions that travel in
    /// a local are left out.
    fn stack_operands(&self, op: Op) -> Values {
        let operands = self.body.operands(op);
        let name = op_name(self.ctx, self.body, op);
        let keep = |values: &[Value], label: Option<(Op, Slot)>| -> Values {
            match label {
                Some((l, s)) => values
                    .iter()
                    .enumerate()
                    .filter(|&(p, _)| self.stack_passed(l, s, p))
                    .map(|(_, &v)| v)
                    .collect(),
                None => Values::from_slice(values),
            }
        };
        let label_of = |op: Op| self.incoming(op).first().map(|&(l, s, _)| (l, s));
        match name {
            // IR puts the condition, index, reference or callee first; Wasm takes it last.
            "control.br_if" | "control.br_table" | "control.br_on_null" | "control.br_on_non_null" => {
                let mut v = keep(&operands[1..], label_of(op));
                v.push(operands[0]);
                v
            }
            "refs.call_indirect" | "refs.call_ref" | "refs.return_call_indirect" | "refs.return_call_ref" => {
                let mut v = Values::from_slice(&operands[1..]);
                v.push(operands[0]);
                v
            }
            "control.br" | "control.yield" | "control.loop" => keep(operands, label_of(op)),
            "arith.select" => Values::from_slice(&[operands[1], operands[2], operands[0]]),
            "control.block" => Values::new(),
            _ => Values::from_slice(operands),
        }
    }

    // ----- analysis -----

    fn analyze(&mut self) {
        self.order = self.body.preorder();
        let order = std::mem::take(&mut self.order);
        let mut scopes = EnclosingLabels::new(self.body);
        for (i, &op) in order.iter().enumerate() {
            // Positions start at 1: point 0 is where the parameters are written, before the
            // first op, so a parameter used in a loop that opens the body outlives the loop.
            self.pos[op.index()] = i as u32 + 1;
            self.end_pos[op.index()] = i as u32 + 1;
            // Parents come first in pre-order, so their entries are ready.
            let parent = self.body.parent_op(op);
            self.innermost_loop[op.index()] =
                parent.and_then(|p| if self.is_loop(p) { Some(p) } else { self.innermost_loop[p.index()] });
            let labels = scopes.visit(self.body, op, self.is_label(op));
            self.compute_incoming(op, labels);
            let (start, end) = self.incoming_at[op.index()];
            for &(label, slot, flowing) in &self.incoming[start as usize..end as usize] {
                for p in 0..flowing.len() {
                    *self.ways_in.entry((label, slot, p as u32)).or_default() += 1;
                }
                if !flowing.is_empty() && op_name(self.ctx, self.body, op) == "control.br_if" {
                    self.conditional_targets.insert(label);
                }
            }
        }
        // Subtree ends: walk backwards so children are done before parents.
        for &op in order.iter().rev() {
            if let Some(parent) = self.body.parent_op(op) {
                let e = self.end_pos[op.index()];
                let pe = &mut self.end_pos[parent.index()];
                *pe = (*pe).max(e);
            }
        }
        // Positions whose every way in is a yield of a value its arm computes, and constructs
        // whose every way in yields values from before them (see the fields).
        let mut arm_computed: FxHashMap<PositionKey, bool> = FxHashMap::default();
        let mut passing: FxHashMap<Op, bool> = FxHashMap::default();
        for &op in &order {
            let name = op_name(self.ctx, self.body, op);
            let is_yield = name == "control.yield";
            for (label, slot, flowing) in self.incoming(op) {
                // A `br` out of a block or an `if` is a way out like a yield (one to a loop
                // would make the value a loop parameter).
                let leaves = is_yield || (name == "control.br" && *slot == Slot::Result);
                for (p, &v) in flowing.iter().enumerate() {
                    let computed = leaves && self.computed_by_its_arm(op, v);
                    *arm_computed.entry((*label, *slot, p as u32)).or_insert(true) &= computed;
                }
                let from_before = |&v: &Value| {
                    self.body.defining_op(v).is_none_or(|d| self.end_pos[d.index()] < self.pos[label.index()])
                };
                *passing.entry(*label).or_insert(true) &= is_yield && flowing.iter().all(from_before);
            }
        }
        self.arm_computed = arm_computed.into_iter().filter(|&(_, c)| c).map(|(k, _)| k).collect();
        self.passes_through = passing.into_iter().filter(|&(_, p)| p).map(|(l, _)| l).collect();
        let body = self.body;
        let blocks: Vec<Block> = body
            .roots()
            .iter()
            .chain(order.iter().flat_map(|&op| body.op_regions(op)))
            .flat_map(|&r| body.region_blocks(r).iter().copied())
            .collect();
        self.compute_live(&order);
        for block in blocks {
            self.stackify(block);
        }
        self.defer_pure_trees(&order);
        self.order = order;
    }

    /// Whether `yield_op` yields a value its own arm computes for it alone: an op's result,
    /// in the yield's block, with no other use.
    fn computed_by_its_arm(&self, yield_op: Op, v: Value) -> bool {
        let body = self.body;
        body.defining_op(v).is_some_and(|d| body.op_block(d) == body.op_block(yield_op))
            && body.uses(v).len() == 1
    }

    /// A pure op none of whose results is live (they only flow into positions nothing reads)
    /// is not emitted at all.
    fn is_dead_pure(&self, op: Op) -> bool {
        let (ctx, body) = (self.ctx, self.body);
        let def = ctx.op_def(body.op_kind(op));
        def.has(Traits::PURE)
            && !def.has(Traits::TERMINATOR)
            && body.op_regions(op).is_empty()
            && !body.results(op).is_empty()
            && body.results(op).iter().all(|r| !self.live[r.index()])
    }

    /// Fills `live`: a value is live when an op other than a flow into a label position uses
    /// it, or it flows into a live position. Only numeric values can be dead: a dead value a
    /// branch must still carry is pushed as a zero of its type, and references have none in
    /// general.
    fn compute_live(&mut self, order: &[Op]) {
        let body = self.body;
        let mut flow_uses = vec![0u32; body.value_capacity()];
        let mut sources: FxHashMap<Value, Vec<Value>> = FxHashMap::default();
        for &op in order {
            let flows = self.incoming(op);
            // A br_table carries one list of values to every target: count its uses once.
            if let Some((_, _, flowing)) = flows.first() {
                for &v in flowing.iter() {
                    flow_uses[v.index()] += 1;
                }
            }
            for (label, slot, flowing) in flows {
                let targets = self.slot_values(*label, *slot);
                for (&v, &t) in flowing.iter().zip(targets) {
                    sources.entry(t).or_default().push(v);
                }
            }
        }
        // A v128 is not among them: its zero takes 17 bytes to push where a `local.get` takes
        // two, and the zero standing for a v128 local's initial value is dropped by the
        // cleanups anyway (`drop_zero_initializations`).
        let numeric = |v: Value| matches!(body.value_type(v), Type::I32 | Type::I64 | Type::F32 | Type::F64);
        let mut work = Vec::new();
        for (i, &flows) in flow_uses.iter().enumerate() {
            let v = Value::from_index(i);
            if !body.contains_value(v) {
                continue;
            }
            let live = !numeric(v) || body.uses(v).len() as u32 > flows;
            self.live[i] = live;
            if live {
                work.push(v);
            }
        }
        while let Some(t) = work.pop() {
            for &v in sources.get(&t).map_or(&[][..], Vec::as_slice) {
                if !self.live[v.index()] {
                    self.live[v.index()] = true;
                    work.push(v);
                }
            }
        }
    }

    /// A pure op whose one result goes to one later op of its block, and that takes nothing
    /// but constants from the stack, is emitted right where that op pushes it: its operands are
    /// SSA values, unchanged there, and it has no effect that could move. So `x << 2` added to
    /// a parameter needs no local: `local.get p; local.get x; i32.const 2; i32.shl; i32.add`.
    /// A value flowing into a label position is left to coalescing.
    ///
    /// Moving the op also moves the reads of its operands to its use. It is not moved past an
    /// op whose result flows into a label position: the operands would then live past that
    /// value's definition, and the two could no longer share a local (as `n < 4` computed
    /// before `n - 2` becomes a loop's next `n`), which costs more than the tree saves.
    fn defer_pure_trees(&mut self, order: &[Op]) {
        let (ctx, body) = (self.ctx, self.body);
        let mut flows_into_label = vec![false; body.value_capacity()];
        for (_, _, flowing) in &self.incoming {
            for v in *flowing {
                flows_into_label[v.index()] = true;
            }
        }
        // How far an op may move, in ops: beyond that it stays (a long move keeps its
        // operands live across much code anyway).
        const REACH: usize = 64;
        for &op in order {
            let def = ctx.op_def(body.op_kind(op));
            let &[result] = body.results(op) else { continue };
            let uses = body.uses(result);
            if !def.has(Traits::PURE)
                || def.has(Traits::CONSTANT_LIKE)
                || !body.op_regions(op).is_empty()
                || self.on_stack[op.index()]
                || uses.len() != 1
                || body.op_block(uses[0].op) != body.op_block(op)
                || self.incoming(uses[0].op).iter().any(|(_, _, flowing)| flowing.contains(&result))
            {
                continue;
            }
            // Constants it takes from the stack are pushed again where it is emitted, and so
            // are operands pushed early, before those constants: only its own (an op that took
            // it from the stack would have made it a stack value).
            let operands = self.stack_operands(op);
            let prefix = self.stack_prefix[op.index()] as usize;
            let start = self.chain_start[op.index()];
            let early = start.and_then(|s| self.early_pushes.get(&s)).map_or(0, Vec::len);
            if early > 0 && !operands.starts_with(&self.early_pushes[&start.expect("a chain start")]) {
                continue;
            }
            let constants: Option<Vec<Op>> = operands[early.min(prefix)..prefix]
                .iter()
                .map(|&v| {
                    body.defining_op(v).filter(|&d| {
                        op_name(ctx, body, d) == "arith.constant"
                            && self.stack_consumer[d.index()] == Some(op)
                    })
                })
                .collect();
            let Some(constants) = constants else { continue };
            let user = uses[0].op;
            let mut between = body.next_op(op);
            let mut steps = 0;
            while let Some(o) = between.filter(|&o| o != user) {
                if steps == REACH || body.results(o).iter().any(|r| flows_into_label[r.index()]) {
                    break;
                }
                steps += 1;
                between = body.next_op(o);
            }
            if between != Some(user) {
                continue;
            }
            if let Some(s) = start {
                self.early_pushes.remove(&s);
            }
            for c in constants {
                self.on_stack[c.index()] = false;
                self.stack_consumer[c.index()] = None;
            }
            self.stack_prefix[op.index()] = 0;
            self.chain_start[op.index()] = None;
            self.deferred[op.index()] = true;
        }
    }

    /// Where `op` is emitted: its own place, or that of the op a deferred op is pushed for.
    fn emission_op(&self, mut op: Op) -> Op {
        while self.deferred[op.index()] {
            op = self.body.uses(self.body.results(op)[0])[0].op;
        }
        op
    }

    /// Decides, for one block, which results stay on the operand stack.
    fn stackify(&mut self, block: Block) {
        let body = self.body;
        let mut tentative: Vec<Tentative> = Vec::new();
        for op in body.block_ops(block) {
            let mut operands = self.stack_operands(op);
            // A value flowing into a label position that other ways in also reach is better
            // in the position's local than on the stack (which would make every way in push
            // its value): the stack may only provide the values before the first such one.
            if let Some(&(label, slot, flowing)) = self.incoming(op).first() {
                let shared = flowing
                    .iter()
                    .enumerate()
                    .position(|(p, _)| self.ways_in.get(&(label, slot, p as u32)).copied().unwrap_or(0) > 1);
                if let Some(p) = shared
                    && !self.on_stack[label.index()]
                    && !self.arm_computed.contains(&(label, slot, p as u32))
                    && let Some(cut) = operands.iter().position(|&v| v == flowing[p])
                {
                    operands.truncate(cut);
                }
                // A value used elsewhere too is kept in a local anyway (`local.tee`): left on
                // the stack it would only make the label pass it there as well.
                if !self.on_stack[label.index()]
                    && let Some(cut) =
                        operands.iter().position(|&v| flowing.contains(&v) && body.uses(v).len() > 1)
                {
                    operands.truncate(cut);
                }
            }
            // The top `g` tentative groups, in order, must be among the operands, each where
            // the op takes it; the operands before the first group, and those between two
            // groups, are pushed before the chain of the group after them starts, which only
            // a value already in a local (or a constant) allows (`f(load(p), x, y, p + 20)`
            // takes the load from the stack and pushes `x` and `y` after it). The match that
            // leaves the most values on the stack wins.
            let mut best: Option<GroupMatch> = None;
            let dead = self.is_dead_pure(op);
            let groups =
                if dead || self.leaves_operands_to_user(op, &tentative) { 0 } else { tentative.len() };
            let mut covered = 0;
            for g in 1..=groups {
                covered += tentative[tentative.len() - g].1.len();
                if covered > operands.len() {
                    break;
                }
                if let Some(found) = self.match_groups(op, &operands, &tentative[tentative.len() - g..])
                    && covered >= best.as_ref().map_or(0, |b| b.covered)
                {
                    best = Some(GroupMatch { groups: g, covered, ..found });
                }
            }
            let best_groups = best.as_ref().map_or(0, |b| b.groups);
            if let Some(found) = &best {
                let base = tentative.len() - found.groups;
                let first = tentative[base].0;
                self.chain_start[op.index()] = Some(self.chain_start[first.index()].unwrap_or(first));
                for (i, gap) in &found.gaps {
                    // An outer consumer's values go below those of the consumers inside it.
                    let producer = tentative[base + i].0;
                    let start = self.chain_start[producer.index()].unwrap_or(producer);
                    let mut pushes = operands[gap.clone()].to_vec();
                    pushes.extend(self.early_pushes.remove(&start).unwrap_or_default());
                    self.early_pushes.insert(start, pushes);
                }
                self.stack_prefix[op.index()] = found.end as u32;
            }
            for (producer, _, tee) in tentative.drain(tentative.len() - best_groups..) {
                self.on_stack[producer.index()] = true;
                self.tee[producer.index()] = tee;
                self.stack_consumer[producer.index()] = Some(op);
            }
            let results = body.results(op);
            // A label's results stay on the stack only when no `br_if` carries them: one that
            // does would push them and drop them again when not taken, where a local costs
            // nothing on the way in (coalesced) and one read at the consumer.
            let eligible = !results.is_empty()
                && !self.conditional_targets.contains(&op)
                && !self.passes_through.contains(&op)
                && results.iter().all(|&r| {
                    let uses = body.uses(r);
                    uses.len() == 1 && body.op_block(uses[0].op) == Some(block)
                })
                && results.iter().all(|&r| body.uses(r)[0].op == body.uses(results[0])[0].op);
            // A single result also used elsewhere can stay on the stack for a consumer in this
            // block and be kept in its local with `local.tee`.
            let teeable = !eligible
                && results.len() == 1
                && body.uses(results[0]).len() > 1
                && body.uses(results[0]).iter().any(|u| body.op_block(u.op) == Some(block))
                && op_name(self.ctx, body, op) != "arith.constant"
                && !self.is_label(op);
            if (eligible || teeable) && !dead {
                tentative.push((op, Values::from_slice(results), teeable));
            }
            // A value whose uses in this block have all come is never taken from the stack: it
            // is not there, and must not hide the values below it from the ops to come.
            let now = self.pos[op.index()];
            tentative.retain(|(producer, values, _)| {
                *producer == op
                    || values.iter().any(|&v| {
                        body.uses(v)
                            .iter()
                            .any(|u| body.op_block(u.op) == Some(block) && self.pos[u.op.index()] > now)
                    })
            });
        }
    }

    /// Where the `groups` (tentative stack values, in push order) sit among `op`'s operands:
    /// each group contiguous, the first found at or after the end of the one before, and the
    /// operands before each group (the gap) free before that group's chain starts. Only an op
    /// that carries nothing to a label takes operands pushed early: a branch's values are
    /// decided by coalescing later.
    fn match_groups(&self, op: Op, operands: &[Value], groups: &[Tentative]) -> Option<GroupMatch> {
        let mut found = GroupMatch::default();
        for (i, (producer, values, _)) in groups.iter().enumerate() {
            let start = self.chain_start[producer.index()].unwrap_or(*producer);
            let at = found.end;
            let gap_ok = |j: usize| {
                j == at
                    || (self.incoming(op).is_empty()
                        && operands[at..j].iter().all(|&v| self.is_free_before(v, start)))
            };
            let j = (at..=operands.len().checked_sub(values.len())?)
                .find(|&j| operands[j..j + values.len()] == values[..] && gap_ok(j))?;
            if j > at {
                found.gaps.push((i, at..j));
            }
            found.end = j + values.len();
        }
        Some(found)
    }

    /// Whether `op` should read its operands from their locals and leave the stack values
    /// to a later user, which takes them right below the value `op` starts computing: as in
    /// `select(a, b, a > b)`, where `a` and `b` stay on the stack (teed) for the select and the
    /// comparison reads them again, or `x - ((x << 16) >> 18)`, where `x` stays for the
    /// subtraction and the shifts (a chain of ops, each the next one's first operand)
    /// start from `x`'s local. Otherwise the first op takes the stack values and the user
    /// reads all of its operands from locals.
    fn leaves_operands_to_user(&self, op: Op, tentative: &[Tentative]) -> bool {
        let (ctx, body) = (self.ctx, self.body);
        // Any op with one result: it still runs where it is, only its operands come from their
        // locals (a load of a field of the object a call also takes). A result used later too
        // stays on the stack for the next op and is kept with `local.tee` (`(x ^ s) - s`).
        let chainable = |o: Op| {
            let def = ctx.op_def(body.op_kind(o));
            !def.has(Traits::CONSTANT_LIKE)
                && !def.has(Traits::TERMINATOR)
                && body.op_regions(o).is_empty()
                && body.results(o).len() == 1
        };
        if !chainable(op) {
            return false;
        }
        let operands = body.operands(op);
        let mut at = op;
        for _ in 0..8 {
            let result = body.results(at)[0];
            // The user comes next, but for constants it pushes.
            let mut next = body.next_op(at);
            while let Some(c) = next.filter(|&c| op_name(ctx, body, c) == "arith.constant") {
                next = body.next_op(c);
            }
            let Some(user) = next.filter(|&u| body.uses(result).iter().any(|use_| use_.op == u)) else {
                return false;
            };
            if !self.incoming(user).is_empty() {
                return false;
            }
            let user_operands = self.stack_operands(user);
            let Some(p) = user_operands.iter().position(|&v| v == result) else { return false };
            if p + 1 == user_operands.len()
                && self.takes_from_stack_before(&user_operands[..p], operands, tentative)
            {
                return true;
            }
            // Further along a chain that keeps its value on the stack: the next op takes it
            // first and pushes the rest from locals or constants.
            if p != 0 || !chainable(user) {
                return false;
            }
            at = user;
        }
        false
    }

    /// Whether the top tentative stack groups, all of them operands of `reader` too, form a
    /// run of `before` that ends it, or that only values free before their chain precede.
    fn takes_from_stack_before(&self, before: &[Value], reader: &[Value], tentative: &[Tentative]) -> bool {
        let (ctx, body) = (self.ctx, self.body);
        // Constants the reader takes last stay out of it: they are pushed again at the reader.
        let own_constant = |(producer, group, _): &&Tentative| {
            op_name(ctx, body, *producer) == "arith.constant"
                && group.iter().all(|&v| body.uses(v).len() == 1 && reader.contains(&v))
        };
        let mut cat: Values = Values::new();
        for (first, group, _) in tentative.iter().rev().skip_while(own_constant) {
            let mut next = group.clone();
            next.extend_from_slice(&cat);
            cat = next;
            if cat.len() > before.len() || !cat.iter().all(|v| reader.contains(v)) {
                return false;
            }
            let start = self.chain_start[first.index()].unwrap_or(*first);
            let fits = (0..=before.len() - cat.len()).any(|j| {
                before[j..j + cat.len()] == cat[..]
                    && before[j + cat.len()..].iter().all(|&v| self.is_free_before(v, start))
                    && before[..j].iter().all(|&v| self.is_free_before(v, start))
            });
            if fits {
                return true;
            }
        }
        false
    }

    /// Whether `v` can be pushed before `producer` runs: a constant, or a value defined before
    /// it that lives in a local (set or teed where it is defined, and held there until its
    /// later use).
    fn is_free_before(&self, v: Value, producer: Op) -> bool {
        let body = self.body;
        match body.defining_op(v) {
            None => true,
            Some(d) if op_name(self.ctx, body, d) == "arith.constant" => true,
            Some(d) => {
                // A construct's results are in their locals once it has ended.
                (!self.on_stack[d.index()] || self.tee[d.index()])
                    && self.end_pos[d.index()] < self.pos[producer.index()]
            }
        }
    }

    // ----- emission -----

    fn local(&self, v: Value) -> Result<u32, Diagnostic> {
        self.local_of.get(&v).copied().ok_or_else(|| {
            let loc = self.body.defining_op(v).map_or(Location::Unknown, |d| self.body.op_loc(d));
            self.err(loc, "a value has no local (internal error)")
        })
    }

    fn scratch_local(&mut self, ty: Type) -> Result<u32, Diagnostic> {
        if let Some(&l) = self.scratch.get(&ty) {
            return Ok(l);
        }
        let vt = val_type(self.ctx, ty, self.env.types)?;
        self.local_types.push(vt);
        let l = self.local_types.len() as u32 - 1;
        self.scratch.insert(ty, l);
        Ok(l)
    }

    fn push(&mut self, v: Value) -> Result<(), Diagnostic> {
        if let Some(d) = self.body.defining_op(v) {
            if op_name(self.ctx, self.body, d) == "arith.constant" {
                let insn = self.constant(d)?;
                self.out.push(insn);
                return Ok(());
            }
            if self.deferred[d.index()] {
                // Its operands, then the op: the result is left where it is pushed. (A tree
                // is as deep as a chain of single-use pure ops is long.)
                return stacker::maybe_grow(wasmir_ir::STACK_RED_ZONE, wasmir_ir::STACK_SEGMENT, || {
                    for operand in self.stack_operands(d) {
                        self.push(operand)?;
                    }
                    self.instruction(d, op_name(self.ctx, self.body, d), false)
                });
            }
        }
        if !self.live[v.index()] && !self.local_of.contains_key(&v) {
            // A dead value a branch carries to a position nothing reads.
            self.out.push(match self.body.value_type(v) {
                Type::I64 => I::I64Const(0),
                Type::F32 => I::F32Const(wasm_encoder::Ieee32::new(0)),
                Type::F64 => I::F64Const(wasm_encoder::Ieee64::new(0)),
                _ => I::I32Const(0),
            });
            return Ok(());
        }
        let l = self.local(v)?;
        self.out.push(I::LocalGet(l));
        Ok(())
    }

    fn constant(&self, op: Op) -> Result<I<'static>, Diagnostic> {
        let ctx = self.ctx;
        let value = ctx.dict_get(self.body.op_attrs(op), "value").expect("verified constant");
        Ok(match *ctx.attr_data(value) {
            wasmir_ir::AttrData::Int { value, ty: Type::I32 } => I::I32Const(value as i32),
            wasmir_ir::AttrData::Int { value, ty: Type::I64 } => I::I64Const(value),
            wasmir_ir::AttrData::Float { bits, ty: Type::F32 } => {
                I::F32Const(wasm_encoder::Ieee32::new(bits as u32))
            }
            wasmir_ir::AttrData::Float { bits, ty: Type::F64 } => {
                I::F64Const(wasm_encoder::Ieee64::new(bits))
            }
            _ => return Err(self.err(self.body.op_loc(op), "a constant that is not an i32, i64, f32 or f64")),
        })
    }

    fn emit_block(&mut self, block: Block, function_entry: bool) -> Result<(), Diagnostic> {
        // Nesting is as deep as the input's (20,000 blocks in the importer's limit): grow the
        // stack on the heap rather than overflow the caller's thread.
        stacker::maybe_grow(wasmir_ir::STACK_RED_ZONE, wasmir_ir::STACK_SEGMENT, || {
            let ops: Vec<Op> = self.body.block_ops(block).collect();
            let last = ops.last().copied();
            for op in ops {
                let falls_off_function = function_entry && Some(op) == last;
                self.emit_op(op, falls_off_function)?;
            }
            Ok(())
        })
    }

    fn emit_op(&mut self, op: Op, falls_off_function: bool) -> Result<(), Diagnostic> {
        let body = self.body;
        let ctx = self.ctx;
        let name = op_name(ctx, body, op);
        if let Some(early) = self.early_pushes.get(&op).cloned() {
            for v in early {
                self.push(v)?;
            }
        }
        if name == "arith.constant" {
            if self.on_stack[op.index()] {
                let c = self.constant(op)?;
                self.out.push(c);
            } else if let Some(&l) = self.local_of.get(&body.results(op)[0]) {
                // Held in a label position's local (see `coalesce_and_allocate`).
                let c = self.constant(op)?;
                self.out.push(c);
                self.out.push(I::LocalSet(l));
            }
            return Ok(());
        }
        if self.deferred[op.index()] || self.is_dead_pure(op) {
            return Ok(()); // emitted where it is used, or not needed
        }
        let operands = self.stack_operands(op);
        let provided = (self.stack_prefix[op.index()] as usize).min(operands.len());
        // The op's own operands are pushed first: with the sources of its copies, every value
        // it reads from a local is read before a copy writes a target (see `copy_window`).
        for &v in &operands[provided..] {
            self.push(v)?;
        }
        if let Some(copies) = self.copies.get(&op).cloned() {
            // A parallel copy: every source is read before any target is written. Constants
            // read no local, so they are written one by one after it (and a zero into a local
            // nothing has written yet then disappears in cleanup).
            let is_constant =
                |v: Value| body.defining_op(v).is_some_and(|d| op_name(ctx, body, d) == "arith.constant");
            let (constants, locals): (Vec<_>, Vec<_>) = copies.iter().partition(|&&(v, _)| is_constant(v));
            for &(v, _) in &locals {
                self.push(v)?;
            }
            for &(_, t) in locals.iter().rev() {
                let l = self.local(t)?;
                self.out.push(I::LocalSet(l));
            }
            for &(v, t) in &constants {
                self.push(v)?;
                let l = self.local(t)?;
                self.out.push(I::LocalSet(l));
            }
        }
        self.instruction(op, name, falls_off_function)?;
        if self.tee[op.index()] {
            let l = self.local(body.results(op)[0])?;
            self.out.push(I::LocalTee(l));
        }
        if !self.on_stack[op.index()] {
            let results: Vec<Value> = body.results(op).to_vec();
            let label = self.is_label(op);
            for (p, &r) in results.iter().enumerate().rev() {
                if label && !self.stack_passed(op, Slot::Result, p) {
                    continue; // already in its local
                }
                if self.live[r.index()] || self.tee[op.index()] {
                    let l = self.local(r)?;
                    self.out.push(I::LocalSet(l));
                } else {
                    self.out.push(I::Drop);
                }
            }
        }
        Ok(())
    }

    fn attr_sym(&self, op: Op, key: &str) -> Option<&'a str> {
        let ctx: &'a Context = self.ctx;
        ctx.dict_get(self.body.op_attrs(op), key).and_then(|a| ctx.attr_as_symbol(a))
    }

    fn attr_int(&self, op: Op, key: &str) -> Option<i64> {
        self.ctx.dict_get(self.body.op_attrs(op), key).and_then(|a| self.ctx.attr_as_int(a))
    }

    fn index_of(&self, op: Op, key: &str, space: &FxHashMap<String, u32>) -> Result<u32, Diagnostic> {
        let sym = self
            .attr_sym(op, key)
            .ok_or_else(|| self.err(self.body.op_loc(op), format!("missing `{key}`")))?;
        space
            .get(sym)
            .copied()
            .ok_or_else(|| self.err(self.body.op_loc(op), format!("`@{sym}` cannot be lowered here")))
    }

    fn memarg(&self, op: Op, natural: u64) -> Result<MemArg, Diagnostic> {
        let memory_index = self.index_of(op, "memory", self.env.memories)?;
        let offset = self.attr_int(op, "offset").unwrap_or(0) as u64;
        let align = self.attr_int(op, "align").map_or(natural, |a| a as u64);
        Ok(MemArg { offset, align: align.trailing_zeros(), memory_index })
    }

    /// The instruction of a `simd` op: its family at its shape, with its immediates.
    fn simd_instruction(&self, op: Op, name: &str) -> Result<I<'static>, Diagnostic> {
        use wasmir_dialects::simd;
        let (ctx, body) = (self.ctx, self.body);
        let loc = body.op_loc(op);
        let attr_str = |key: &str| ctx.dict_get(body.op_attrs(op), key).and_then(|a| ctx.attr_as_str(a));
        let family = simd::family(name).ok_or_else(|| self.err(loc, format!("`{name}` is not a SIMD op")))?;
        let shape = attr_str("shape");
        let mut imm = super::simd::Immediates::default();
        if let Some(bytes) = simd::access_bytes(family) {
            let m = self.memarg(op, u64::from(bytes))?;
            imm.memarg = Some(wasmparser::MemArg {
                align: m.align as u8,
                max_align: 0,
                offset: m.offset,
                memory: m.memory_index,
            });
        }
        imm.lane = self.attr_int(op, "lane").and_then(|l| u8::try_from(l).ok());
        imm.lanes = attr_str("lanes").and_then(simd::parse_bytes);
        imm.value = attr_str("value")
            .and_then(simd::parse_bytes)
            .map(|b| wasmparser::V128::from(i128::from_le_bytes(b)));
        super::simd::instruction(shape.unwrap_or("v128"), family.name, &imm).ok_or_else(|| {
            match simd::instruction_name(family, shape) {
                Some(instruction) => self
                    .err(loc, format!("`{name}`: no Wasm instruction `{instruction}` with these immediates")),
                None => self.err(loc, format!("`{name}` has no instruction at this shape")),
            }
        })
    }

    fn callee_type_index(&mut self, op: Op) -> Result<u32, Diagnostic> {
        let fty = self
            .ctx
            .dict_get(self.body.op_attrs(op), "callee_type")
            .and_then(|a| self.ctx.attr_as_type(a))
            .ok_or_else(|| self.err(self.body.op_loc(op), "missing `callee_type`"))?;
        self.env.types.index(self.ctx, fty)
    }

    fn region_block(&self, op: Op, i: usize) -> Option<Block> {
        self.body.op_regions(op).get(i).and_then(|&r| self.body.region_blocks(r).first().copied())
    }

    /// The stack-passed types of a label's positions.
    fn stack_types(&self, op: Op, slot: Slot) -> Vec<Type> {
        self.slot_values(op, slot)
            .iter()
            .enumerate()
            .filter(|&(p, _)| self.stack_passed(op, slot, p))
            .map(|(_, &v)| self.body.value_type(v))
            .collect()
    }

    fn instruction(
        &mut self,
        op: Op,
        name: &'static str,
        falls_off_function: bool,
    ) -> Result<(), Diagnostic> {
        let body = self.body;
        let ctx = self.ctx;
        let loc = body.op_loc(op);
        let result_types: Vec<Type> = body.results(op).iter().map(|&r| body.value_type(r)).collect();
        let depth = || self.attr_int(op, "depth").unwrap_or(0) as u32;
        let insn: I<'static> = match name {
            "control.block" | "control.loop" | "control.if" => {
                let params =
                    if name == "control.loop" { self.stack_types(op, Slot::Arg) } else { Vec::new() };
                let results = self.stack_types(op, Slot::Result);
                let bt = block_type(ctx, &params, &results, self.env.types)?;
                self.out.push(match name {
                    "control.block" => I::Block(bt),
                    "control.loop" => I::Loop(bt),
                    _ => I::If(bt),
                });
                if let Some(b) = self.region_block(op, 0) {
                    if name == "control.loop" {
                        let args: Vec<Value> = body.block_args(b).to_vec();
                        for (p, &a) in args.iter().enumerate().rev() {
                            if !self.stack_passed(op, Slot::Arg, p) {
                                continue; // arrives in its local
                            }
                            if self.live[a.index()] {
                                let l = self.local(a)?;
                                self.out.push(I::LocalSet(l));
                            } else {
                                self.out.push(I::Drop);
                            }
                        }
                        // Arguments that arrive in a slot of their own take it from there.
                        for (p, &a) in args.iter().enumerate() {
                            if let Some(&s) = self.loop_slots.get(&(op, Slot::Arg, p as u32))
                                && !self.stack_passed(op, Slot::Arg, p)
                                && self.live[a.index()]
                            {
                                let (from, to) = (self.local(s)?, self.local(a)?);
                                if from != to {
                                    self.out.push(I::LocalGet(from));
                                    self.out.push(I::LocalSet(to));
                                }
                            }
                        }
                    }
                    self.emit_block(b, false)?;
                }
                if name == "control.if"
                    && let Some(b) = self.region_block(op, 1)
                {
                    self.out.push(I::Else);
                    self.emit_block(b, false)?;
                }
                I::End
            }
            "control.yield" => return Ok(()),
            "control.br" => I::Br(depth()),
            "control.br_if" => {
                self.out.push(I::BrIf(depth()));
                // Values pushed for the branch stay when it is not taken.
                for _ in 1..self.stack_operands(op).len() {
                    self.out.push(I::Drop);
                }
                return Ok(());
            }
            "control.br_table" => {
                let targets = table_targets(ctx, OpRef::new(ctx, body, op));
                I::BrTable(targets.into(), self.attr_int(op, "default").unwrap_or(0) as u32)
            }
            "control.br_on_null" => {
                self.out.push(I::BrOnNull(depth()));
                let carried = body.operands(op).len() - 1;
                if carried > 0 {
                    let scratch = self.scratch_local(result_types[0])?;
                    self.out.push(I::LocalSet(scratch));
                    for _ in 0..carried {
                        self.out.push(I::Drop);
                    }
                    self.out.push(I::LocalGet(scratch));
                }
                return Ok(());
            }
            "control.br_on_non_null" => {
                self.out.push(I::BrOnNonNull(depth()));
                for _ in 1..body.operands(op).len() {
                    self.out.push(I::Drop);
                }
                return Ok(());
            }
            "control.unreachable" => I::Unreachable,
            "control.return_call" => I::ReturnCall(self.index_of(op, "callee", self.env.funcs)?),
            "func.return" => {
                if falls_off_function {
                    return Ok(());
                }
                I::Return
            }
            "func.call" => I::Call(self.index_of(op, "callee", self.env.funcs)?),
            "arith.select" => {
                let ty = result_types[0];
                if matches!(ty, Type::I32 | Type::I64 | Type::F32 | Type::F64)
                    || wasmir_dialects::simd::is_v128(ctx, ty)
                {
                    I::Select
                } else {
                    I::TypedSelect(val_type(ctx, ty, self.env.types)?)
                }
            }
            "global.get" => I::GlobalGet(self.index_of(op, "global", self.env.globals)?),
            "global.set" => I::GlobalSet(self.index_of(op, "global", self.env.globals)?),
            "memory.load" | "memory.store" => {
                let ty = if name == "memory.load" {
                    result_types[0]
                } else {
                    body.value_type(body.operands(op)[1])
                };
                let full = if matches!(ty, Type::I64 | Type::F64) { 64 } else { 32 };
                let width = self.attr_int(op, "width").unwrap_or(full) as u32;
                let m = self.memarg(op, u64::from(width / 8))?;
                let sign = ctx.dict_get(body.op_attrs(op), "sign").and_then(|a| ctx.attr_as_str(a));
                let insn = if name == "memory.load" {
                    insn::load(ty, width, sign, m)
                } else {
                    insn::store(ty, width, m)
                };
                insn.ok_or_else(|| self.err(loc, format!("no Wasm access of {width} bits for this type")))?
            }
            "memory.atomic_fence" => I::AtomicFence,
            _ if name.starts_with("memory.atomic_") => {
                let ty = match name {
                    "memory.atomic_store" | "memory.atomic_rmw" => body.value_type(body.operands(op)[1]),
                    "memory.atomic_load" => result_types[0],
                    "memory.atomic_notify" => Type::I32,
                    _ => body.value_type(body.operands(op)[1]),
                };
                let full = if ty == Type::I64 { 64 } else { 32 };
                let width = self.attr_int(op, "width").unwrap_or(full) as u32;
                let m = self.memarg(op, u64::from(width / 8))?;
                let rmw = ctx.dict_get(body.op_attrs(op), "op").and_then(|a| ctx.attr_as_str(a));
                insn::atomic(&name["memory.".len()..], rmw, ty, width, m).ok_or_else(|| {
                    self.err(loc, format!("no Wasm atomic access of {width} bits for this type"))
                })?
            }
            "memory.size" => I::MemorySize(self.index_of(op, "memory", self.env.memories)?),
            "memory.grow" => I::MemoryGrow(self.index_of(op, "memory", self.env.memories)?),
            "memory.fill" => I::MemoryFill(self.index_of(op, "memory", self.env.memories)?),
            "memory.copy" => I::MemoryCopy {
                dst_mem: self.index_of(op, "memory", self.env.memories)?,
                src_mem: self.index_of(op, "src_memory", self.env.memories)?,
            },
            "memory.init" => I::MemoryInit {
                mem: self.index_of(op, "memory", self.env.memories)?,
                data_index: self.index_of(op, "segment", self.env.datas)?,
            },
            "memory.data_drop" => I::DataDrop(self.index_of(op, "segment", self.env.datas)?),
            "refs.null" => I::RefNull(super::heap_type(ctx, result_types[0], self.env.types)?),
            "refs.is_null" => I::RefIsNull,
            "refs.func" => I::RefFunc(self.index_of(op, "function", self.env.funcs)?),
            "refs.as_non_null" => I::RefAsNonNull,
            "refs.table_get" => I::TableGet(self.index_of(op, "table", self.env.tables)?),
            "refs.table_set" => I::TableSet(self.index_of(op, "table", self.env.tables)?),
            "refs.table_size" => I::TableSize(self.index_of(op, "table", self.env.tables)?),
            "refs.table_grow" => I::TableGrow(self.index_of(op, "table", self.env.tables)?),
            "refs.table_fill" => I::TableFill(self.index_of(op, "table", self.env.tables)?),
            "refs.table_copy" => I::TableCopy {
                dst_table: self.index_of(op, "table", self.env.tables)?,
                src_table: self.index_of(op, "src_table", self.env.tables)?,
            },
            "refs.table_init" => I::TableInit {
                table: self.index_of(op, "table", self.env.tables)?,
                elem_index: self.index_of(op, "segment", self.env.elems)?,
            },
            "refs.elem_drop" => I::ElemDrop(self.index_of(op, "segment", self.env.elems)?),
            "refs.call_indirect" | "refs.return_call_indirect" => {
                let type_index = self.callee_type_index(op)?;
                let table_index = self.index_of(op, "table", self.env.tables)?;
                if name == "refs.call_indirect" {
                    I::CallIndirect { type_index, table_index }
                } else {
                    I::ReturnCallIndirect { type_index, table_index }
                }
            }
            "refs.call_ref" => I::CallRef(self.callee_type_index(op)?),
            "refs.return_call_ref" => I::ReturnCallRef(self.callee_type_index(op)?),
            _ if name.starts_with("arith.") => {
                let from = body.operands(op).first().map(|&v| body.value_type(v)).unwrap_or(Type::NONE);
                let to = result_types.first().copied().unwrap_or(Type::NONE);
                let predicate = ctx.dict_get(body.op_attrs(op), "predicate").and_then(|a| ctx.attr_as_str(a));
                let short = &name["arith.".len()..];
                insn::arith(short, from, to, predicate).ok_or_else(|| {
                    self.err(loc, format!("`{name}` has no Wasm instruction for these types"))
                })?
            }
            _ if name.starts_with("simd.") => self.simd_instruction(op, name)?,
            _ => return Err(self.err(loc, format!("`{name}` has no Wasm lowering"))),
        };
        self.out.push(insn);
        Ok(())
    }
}

/// The block whose argument `v` is.
fn block_of_arg(body: &Body, v: Value) -> Block {
    match body.value_def(v) {
        wasmir_ir::ValueDef::BlockArg { block, .. } => block,
        wasmir_ir::ValueDef::Result { .. } => unreachable!("called for block arguments only"),
    }
}
