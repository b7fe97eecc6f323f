//! Bounds checks: `bounds-checks-explicit` puts a `memory.check` before every access (what a
//! host without guard pages needs, and what the region ops imply), `bce` removes every check
//! it can prove, each removal by a named rule that cites its invariants, and `count-checks`
//! counts the checks a run executes (those two in explicit.rs; the call graph the
//! interprocedural rules walk in calls.rs). The rules:
//!
//! - `constant-address`: a constant address (or one masked below a constant) whose whole
//!   access fits the memory's declared minimum size;
//! - `bounded-address`: an address bounded by its computation (masks, shifts, sums that
//!   cannot wrap, quotients by a constant, remainders as compilers spell them, `x - (x / d) * d`,
//!   narrow zero-extending loads: `arith::semantics::int_upper_bound`) or by the
//!   comparisons on the path (a `br_if` not taken, the arms of an `if`), whose whole access
//!   fits the minimum; or `x + y` with `y` bounded and `x` checked far enough;
//! - `constant-index`: a constant (or masked) index below a region's constant length;
//! - `dominated`: a check covered by one that passed on every path to it, or on every path
//!   where the address is not zero when it is not zero here (C's `if (p) p->x`, repeated; a
//!   join of a path that checked `p` and one where `p == 0` keeps that); a bulk op
//!   (`memory.copy`, `fill`, `init`) of a constant length that returned counts as a check of
//!   its ranges (INV-MEM-009), and a `select` is checked as far as both its values. Facts flow forward
//!   through structured control flow: after a construct, what held on every way into its
//!   continuation (its regions' fallthrough and every branch to it) holds; a construct's
//!   result is checked as far as every value that became it; a loop's argument as far as its
//!   initial value and every value its branches continue it with (found by a first walk of
//!   the loop that removes nothing; the facts then hold by induction over the iterations).
//!   Values are equal for the facts when they are the same SSA value, the same pure
//!   computation on equal operands, reads of a global between the same two possible writes
//!   (an epoch: calls, direct or indirect, and `global.set` end one, and so does the head of
//!   a loop that may write one), or loads of the same bytes of an unshared memory with no write
//!   that may touch them between (a store through the same base at a disjoint offset does not;
//!   a full-width load after a full-width store reads the stored value);
//! - `merge-neighbours`: of two checks of the same address in one block with nothing
//!   observable between them, the first is widened to the second's end and the second goes;
//! - `loop-induction`: a region index that is a loop counter from 0, continued only while
//!   below the region's length, is checked once (for 0) before the loop;
//! - `checked-in-callee`: after a direct call, what the callee checked of its parameters and
//!   of the values it returns on every return path holds of the arguments and results. The
//!   summaries are found callees first, before anything is removed;
//! - `checked-by-callers`: in a private function that is only ever called directly, an
//!   argument that every call site passes already checked (to at least the same end) needs
//!   no check of its own. Callers are visited before their callees for this.
//!
//! Removing a check never moves a failure past an observable effect: the rules only use facts
//! that hold at the check (INV-MEM-002, INV-MEM-008) or move a check across pure ops and loads.
//! What no rule here proves, by design: a check that passed on some paths only (moving it
//! would add a check elsewhere), and checks at growing offsets separated by a store or a call
//! (merging them would move a failure before an effect the host can see, INV-MEM-003).

mod calls;
mod explicit;

use calls::CallGraph;
pub use explicit::{BoundsChecksExplicit, CHECK_COUNTER, CountChecks};

use crate::constant_of;
use crate::rules::PassRule;
use wasmir_ir::pass::{ModulePass, PassImpl, PassInfo, PassOptions};
use wasmir_ir::{
    Block, Body, Builder, Context, Diagnostic, FxHashMap, FxHashSet, Module, Op, Traits, Type, Value,
};

/// The rules of `bce`, for `--list-rewrites` and the contract verifier.
pub const RULES: &[PassRule] = &[
    PassRule {
        name: "constant-address",
        identity: "check(@m, c + k) == nop when c + k <= min(@m) * 65536",
        citations: &["INV-MEM-003", "INV-MEM-008"],
    },
    PassRule {
        name: "bounded-address",
        identity: "check(@m, a + k) == nop when a <= u and u + k <= min(@m) * 65536, with u from a's computation (masks, shifts, quotients and remainders by constants, sums without wrap, narrow loads) and the comparisons on the path; check(@m, x + y + k) == nop after check(@m, x + e) when y <= u and u + k <= e",
        citations: &["INV-MEM-003", "INV-MEM-008", "INV-ARITH-001"],
    },
    PassRule {
        name: "constant-index",
        identity: "check(r[c]) == nop when c < len(r), a constant (also for c = x & m, m < len(r))",
        citations: &["INV-MEM-002", "INV-MEM-003"],
    },
    PassRule {
        name: "dominated",
        identity: "check(a + k2) == nop when check(a' + k1), k2 <= k1, passed on every path to it where a is not zero (a memory.copy/fill/init of [a', a' + k1) counts as one), a' equal to a (the same value, the same pure computation, a global read between the same writes, a result or loop argument checked on every way in, a select of checked values, a load of what an earlier load read or a store wrote with no write between); check(r[i]) == nop likewise",
        citations: &["INV-MEM-003", "INV-MEM-004", "INV-MEM-008", "INV-MEM-009", "INV-MEM-010"],
    },
    PassRule {
        name: "merge-neighbours",
        identity: "check(a + k1); quiet ops; check(a + k2) == check(a + max(k1, k2)); quiet ops",
        citations: &["INV-MEM-003", "INV-CORE-006"],
    },
    PassRule {
        name: "loop-induction",
        identity: "loop(i = 0) { check(r[i]) ...; br_if (i + 1 < len r) } == check(r[0]); loop { ... }",
        citations: &["INV-MEM-002", "INV-MEM-003"],
    },
    PassRule {
        name: "checked-in-callee",
        identity: "y = f(a); check(a + k) == y = f(a) when every return of f follows a passed check(p + k') of its parameter p, k' >= k (also for check(y + k) and f's returned value)",
        citations: &["INV-MEM-008", "INV-CORE-008"],
    },
    PassRule {
        name: "checked-by-callers",
        identity: "f(p) { check(p + k) } == f(p) { } when f is private, only called directly, and every call f(a) follows a passed check(a + k') with k' >= k",
        citations: &["INV-MEM-008", "INV-CORE-007"],
    },
];

/// The stack left before a recursive walk over nested regions grows it, and by how much.
const STACK_RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// How many ops deep `FunctionBce::upper` looks into an address's computation (and into a
/// condition), and how many constant additions `constant_offset` follows.
const BOUND_DEPTH: u32 = 6;
const OFFSET_CHAIN: usize = 64;

/// How many `select`s deep `FunctionBce::checked_end` looks for the checks of their values.
const SELECT_DEPTH: u32 = 2;

fn rule(name: &str) -> &'static PassRule {
    RULES.iter().find(|r| r.name == name).expect("a declared rule")
}

pub(crate) const EXPLICIT_INFO: PassInfo = PassInfo {
    name: "bounds-checks-explicit",
    summary: "Put a memory.check before every memory access and split every checked region access",
    options: &[],
    create: |_: &PassOptions| Ok(PassImpl::Function(Box::new(BoundsChecksExplicit))),
};

pub(crate) const BCE_INFO: PassInfo = PassInfo {
    name: "bce",
    summary: "Remove the bounds checks that are proved (constant or bounded, dominated, merged, loop induction, across calls)",
    options: &[crate::rules::RULES_OPTION],
    create: |o: &PassOptions| {
        let rules = crate::rules::selected_rules(o, "bce", RULES)?;
        Ok(PassImpl::Module(Box::new(Bce { rules })))
    },
};

pub(crate) const COUNT_INFO: PassInfo = PassInfo {
    name: "count-checks",
    summary: "Count the checks a run executes: an exported i64 global `__wasmir_checks` goes up by one before every memory.check",
    options: &[],
    create: |_: &PassOptions| Ok(PassImpl::Module(Box::new(CountChecks))),
};

/// `bce`, with the rules it may apply.
#[derive(Debug, Clone)]
pub struct Bce {
    pub rules: Vec<&'static str>,
}

/// The smallest size each memory is known to have, in bytes.
fn memory_minimums(ctx: &Context, module: &Module) -> FxHashMap<String, u64> {
    wasmir_dialects::memory::memory_decls(ctx, module)
        .into_iter()
        .map(|(name, m)| (name, m.min_bytes()))
        .collect()
}

impl Bce {
    fn enabled(&self, rule_name: &str) -> bool {
        self.rules.contains(&rule_name)
    }
}

impl ModulePass for Bce {
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic> {
        let minimums = memory_minimums(ctx, module);
        let shared: FxHashSet<String> = wasmir_dialects::memory::memory_decls(ctx, module)
            .into_iter()
            .filter(|(_, m)| m.kind == "shared")
            .map(|(name, _)| name)
            .collect();
        let calls = CallGraph::of(ctx, module);
        let interprocedural = self.enabled("checked-by-callers");
        let mut remarks = Vec::new();
        // What every normal return of each function has checked, for `checked-in-callee`:
        // found callees first, before anything is removed (removing a check never removes a
        // fact, so the summaries stay true).
        let mut summaries: FxHashMap<String, Summary> = FxHashMap::default();
        if self.enabled("checked-in-callee") {
            for (func, name) in calls.callees_first() {
                let Some(body) = module.body().child(func) else { continue };
                let mut unused = FxHashMap::default();
                let mut bce = FunctionBce::new(
                    ctx,
                    (&minimums, &shared),
                    &self.rules,
                    &calls.callers,
                    &mut unused,
                    &summaries,
                );
                bce.summarizing = true;
                if let Some(summary) = bce.summarize(body) {
                    summaries.insert(name, summary);
                }
            }
        }
        let mut sites: FxHashMap<String, Vec<Ends>> = FxHashMap::default();
        let mut visited: FxHashSet<String> = FxHashSet::default();
        for (func, name) in calls.callers_first() {
            // Entry facts only when every call site has been seen: all callers visited, and
            // none of them is the function itself (its own call sites come after its entry).
            let entry = match calls.callers.get(&name) {
                Some(callers)
                    if interprocedural && callers.iter().all(|c| *c != name && visited.contains(c)) =>
                {
                    sites.get(&name).cloned()
                }
                _ => None,
            };
            let Some(body) = module.body_mut().child_mut(func) else { continue };
            let mut bce = FunctionBce::new(
                ctx,
                (&minimums, &shared),
                &self.rules,
                &calls.callers,
                &mut sites,
                &summaries,
            );
            bce.run(body, entry.as_deref());
            remarks.append(&mut bce.remarks);
            visited.insert(name);
        }
        remarks
    }
}

/// Per memory, the end up to which a value is known to be checked (`value + end <= size`).
type Ends = FxHashMap<String, u64>;

/// Keeps in `known` what `here` also has, the smaller end where both have one.
fn meet_ends(known: &mut [Ends], here: &[Ends]) {
    for (known, here) in known.iter_mut().zip(here) {
        known.retain(|memory, end| match here.get(memory) {
            Some(&e) => {
                *end = (*end).min(e);
                true
            }
            None => false,
        });
    }
}

/// What holds at every normal return of a function: how far each parameter, and each
/// returned value, is checked (`None` for the results when a tail call returns them).
#[derive(Clone, Debug)]
struct Summary {
    params: Vec<Ends>,
    results: Option<Vec<Ends>>,
}

impl Summary {
    fn meet(&mut self, other: &Summary) {
        meet_ends(&mut self.params, &other.params);
        self.results = match (self.results.take(), &other.results) {
            (Some(mut known), Some(here)) => {
                meet_ends(&mut known, here);
                Some(known)
            }
            _ => None,
        };
    }
}

/// What a check establishes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Fact {
    /// `address + end <= size(memory)`; keyed by memory and address, valued by the end.
    Address(String, Base),
    /// `index < len(region)`.
    Index(Value, Value),
    /// A check of `base + start` passed, reaching (relative to `base`) the value's end.
    Span(String, Base, u64),
    /// `Address` as every caller established it before the call (`checked-by-callers`).
    Entry(String, Base),
    /// `Address` as a called function established it before returning (`checked-in-callee`).
    Callee(String, Base),
    /// `value <= bound` (unsigned), from a comparison on the path; valued by `u64::MAX - bound`
    /// so that, as for the other facts, the larger value is the stronger fact.
    Below(Base),
    /// `value != 0`, from a condition on the path.
    NonZero(Base),
    /// `address == 0 || address + end <= size(memory)`: after a join of a path that checked
    /// the address and one on which it was zero (C's `if (p) p->x`, repeated).
    NullOr(String, Base),
}

/// The headroom of `Fact::Below` that says a value is zero.
const IS_ZERO: u64 = u64::MAX;

type Facts = FxHashMap<Fact, u64>;

/// Keeps in `known` (nothing yet: `None`) only what `here` also has, the weaker of the two;
/// an address checked on one side and zero on the other is `Fact::NullOr` after the join.
fn meet_facts(known: &mut Option<Facts>, here: &Facts) {
    let Some(k) = known else {
        *known = Some(here.clone());
        return;
    };
    let null_or = null_or_joins(k, here).chain(null_or_joins(here, k)).collect::<Vec<_>>();
    k.retain(|fact, end| match here.get(fact) {
        Some(&e) => {
            *end = (*end).min(e);
            true
        }
        None => false,
    });
    for (fact, end) in null_or {
        let known = k.entry(fact).or_insert(0);
        *known = (*known).max(end);
    }
}

/// The `Fact::NullOr` a join keeps of what `one` side checked (or null-or-checked) where the
/// `other` side knows the address is zero, or null-or-checked it too.
fn null_or_joins<'f>(one: &'f Facts, other: &'f Facts) -> impl Iterator<Item = (Fact, u64)> + 'f {
    one.iter().filter_map(move |(fact, &end)| {
        let (Fact::Address(memory, base) | Fact::NullOr(memory, base)) = fact else { return None };
        let address = Fact::Address(memory.clone(), *base);
        if other.contains_key(&address) {
            // Both checked it: the Address fact itself survives.
            return None;
        }
        let key = Fact::NullOr(memory.clone(), *base);
        let there = if other.get(&Fact::Below(*base)) == Some(&IS_ZERO) {
            Some(end)
        } else {
            other.get(&key).copied()
        };
        there.map(|e| (key, end.min(e)))
    })
}

/// An address as far as equality goes: an SSA value, or a global's value in one epoch (reads
/// of a global between the same two possible writes see the same value; Go and other
/// compilers read their stack pointer from a global at every access).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Base {
    Value(Value),
    Global(wasmir_ir::Attr, u32),
}

/// Whether `op` (without regions) may change a global: a `global.set`, or anything that may run
/// other code. Memory ops, arithmetic, branches and reads run none.
fn may_write_globals(def: &wasmir_ir::OpDef) -> bool {
    if def.name == "global.set" || def.has(Traits::CALL_LIKE) {
        return true;
    }
    let runs_nothing = def.has(Traits::PURE)
        || def.has(Traits::MEM_READ)
        || def.has(Traits::MEM_WRITE)
        || def.name.starts_with("arith.")
        || def.branch_depths.is_some()
        || (def.has(Traits::TERMINATOR) && !def.has(Traits::RETURN_LIKE));
    // Indirect calls (only MAY_TRAP) and ops of dialects not known here may run code.
    !runs_nothing
}

/// The constructs of `body` that contain an op that may write (`may_write`): a global, for the
/// epochs of global reads, or memory, for the loads `value_bases` numbers.
fn constructs_that_write(
    ctx: &Context,
    body: &Body,
    may_write: fn(&wasmir_ir::OpDef) -> bool,
) -> FxHashSet<Op> {
    fn visit(
        ctx: &Context,
        body: &Body,
        may_write: fn(&wasmir_ir::OpDef) -> bool,
        block: Block,
        writes: &mut FxHashSet<Op>,
    ) -> bool {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
            let mut any = false;
            for op in body.block_ops(block) {
                let regions = body.op_regions(op);
                if regions.is_empty() {
                    any |= may_write(ctx.op_def(body.op_kind(op)));
                    continue;
                }
                let mut inner = false;
                for &r in regions {
                    for &b in body.region_blocks(r) {
                        inner |= visit(ctx, body, may_write, b, writes);
                    }
                }
                if inner {
                    writes.insert(op);
                }
                any |= inner;
            }
            any
        })
    }
    let mut writes = FxHashSet::default();
    for &r in body.roots() {
        for &b in body.region_blocks(r) {
            visit(ctx, body, may_write, b, &mut writes);
        }
    }
    writes
}

/// The epoch of every `global.get` in `body`: a new epoch starts after each op that may write
/// a global, at the head of a loop that may write one (its back edges bring the writes), and
/// after a construct that may write one; each arm of a construct starts in the epoch before it.
fn global_reads(ctx: &Context, body: &Body) -> FxHashMap<Value, Base> {
    struct Walk<'a> {
        ctx: &'a Context,
        body: &'a Body,
        writes: FxHashSet<Op>,
        epoch: u32,
        next: u32,
        reads: FxHashMap<Value, Base>,
    }
    impl Walk<'_> {
        fn fresh(&mut self) -> u32 {
            self.next += 1;
            self.next
        }

        fn walk(&mut self, block: Block) {
            stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.walk_in(block))
        }

        fn walk_in(&mut self, block: Block) {
            let (ctx, body) = (self.ctx, self.body);
            for op in body.block_ops(block) {
                let def = ctx.op_def(body.op_kind(op));
                let regions = body.op_regions(op);
                if def.name == "global.get"
                    && let (Some(global), Some(&read)) =
                        (ctx.dict_get(body.op_attrs(op), "global"), body.results(op).first())
                {
                    self.reads.insert(read, Base::Global(global, self.epoch));
                } else if !regions.is_empty() {
                    let before = self.epoch;
                    let writes = self.writes.contains(&op);
                    for &r in regions {
                        self.epoch = if writes && def.has(Traits::LOOP) { self.fresh() } else { before };
                        for &b in body.region_blocks(r) {
                            self.walk(b);
                        }
                    }
                    self.epoch = if writes { self.fresh() } else { before };
                } else if may_write_globals(def) {
                    self.epoch = self.fresh();
                }
            }
        }
    }
    let writes = constructs_that_write(ctx, body, may_write_globals);
    let mut w = Walk { ctx, body, writes, epoch: 0, next: 0, reads: FxHashMap::default() };
    for &r in body.roots() {
        for &b in body.region_blocks(r) {
            w.walk(b);
        }
    }
    w.reads
}

/// Whether `op` (without regions) may change memory: a store, an atomic, a bulk op, a grow,
/// or anything that may run other code.
fn may_write_memory(def: &wasmir_ir::OpDef) -> bool {
    def.has(Traits::MEM_WRITE) || may_write_globals(def)
}

/// What each value is equal to for the facts (`Base`): a global read is its global in its
/// epoch (`global_reads`); a pure op's result is the first result of an op of the same kind and
/// attributes on equal operands (pure ops are functions of their operands, INV-CORE-006),
/// whether or not that op dominates it; a load's is what an earlier load of the same bytes
/// read or a store there wrote, with no write between that may touch them (`Numbering`).
/// Other values are themselves.
fn value_bases(ctx: &Context, body: &Body, shared: &FxHashSet<String>) -> FxHashMap<Value, Base> {
    let bases = global_reads(ctx, body);
    let writes = constructs_that_write(ctx, body, may_write_memory);
    let mut numbering = Numbering { ctx, body, shared, writes, bases, numbered: FxHashMap::default() };
    for &r in body.roots() {
        for &b in body.region_blocks(r) {
            numbering.walk(b, &mut Available::default());
        }
    }
    numbering.bases
}

/// Where a load reads or a store writes: the memory, the address's base, the offset, and the
/// shape (type, width in bits, sign: 0 for a full-width access, 1 unsigned, 2 signed).
type Access = (wasmir_ir::Attr, Base, u64, (Type, u64, u8));

/// What loads would read, known on the way to an op: per access, its size in bytes and the
/// value an earlier load read or an earlier store wrote there.
type Available = FxHashMap<Access, (u64, Value)>;

/// How many accesses `Available` remembers: beyond, new ones are forgotten.
const AVAILABLE_LIMIT: usize = 512;

/// The walk of `value_bases`: numbers pure ops, and gives a load the base of what an earlier
/// load of the same bytes read or an earlier store there wrote, with no write between that
/// may touch them (INV-MEM-010).
struct Numbering<'a> {
    ctx: &'a Context,
    body: &'a Body,
    shared: &'a FxHashSet<String>,
    /// The constructs that contain an op that may write memory.
    writes: FxHashSet<Op>,
    bases: FxHashMap<Value, Base>,
    numbered: FxHashMap<(wasmir_ir::OpKind, wasmir_ir::Attr, Vec<Base>), Base>,
}

impl Numbering<'_> {
    fn base_of(&self, v: Value) -> Base {
        self.bases.get(&v).copied().unwrap_or(Base::Value(v))
    }

    /// The access of a `memory.load` or `memory.store` of an unshared memory, and its size.
    fn access(&self, op: Op, value_type: Type) -> Option<(Access, u64)> {
        let (ctx, body) = (self.ctx, self.body);
        let attrs = body.op_attrs(op);
        let memory = ctx.dict_get(attrs, "memory")?;
        if self.shared.contains(ctx.attr_as_symbol(memory)?) {
            return None;
        }
        let full = match value_type {
            Type::I32 | Type::F32 => 32,
            Type::I64 | Type::F64 => 64,
            _ => return None,
        };
        let width = ctx.dict_get(attrs, "width").and_then(|a| ctx.attr_as_int(a)).map_or(full, |w| w as u64);
        let sign = match ctx.dict_get(attrs, "sign").and_then(|a| ctx.attr_as_str(a)) {
            Some("u") => 1,
            Some("s") => 2,
            _ => 0,
        };
        let offset = ctx.dict_get(attrs, "offset").and_then(|a| ctx.attr_as_int(a)).unwrap_or(0) as u64;
        let address = self.base_of(body.operands(op)[0]);
        Some(((memory, address, offset, (value_type, width, sign)), width / 8))
    }

    fn walk(&mut self, block: Block, available: &mut Available) {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.walk_in(block, available))
    }

    fn walk_in(&mut self, block: Block, available: &mut Available) {
        let (ctx, body) = (self.ctx, self.body);
        for op in body.block_ops(block) {
            let def = ctx.op_def(body.op_kind(op));
            let regions = body.op_regions(op);
            if !regions.is_empty() {
                // Each region starts from what holds before the construct (a loop that writes
                // starts from nothing: its back edges bring the writes); after a construct
                // that writes, nothing is known.
                let writes = self.writes.contains(&op);
                for &r in regions {
                    let mut inner = if writes && def.has(Traits::LOOP) {
                        Available::default()
                    } else {
                        available.clone()
                    };
                    for &b in body.region_blocks(r) {
                        self.walk(b, &mut inner);
                    }
                }
                if writes {
                    available.clear();
                }
                continue;
            }
            match def.name {
                "memory.load" => {
                    let result = body.results(op)[0];
                    let Some((access, size)) = self.access(op, body.value_type(result)) else { continue };
                    match available.get(&access) {
                        Some(&(_, earlier)) => {
                            let base = self.base_of(earlier);
                            self.bases.insert(result, base);
                        }
                        None if available.len() < AVAILABLE_LIMIT => {
                            available.insert(access, (size, result));
                        }
                        None => {}
                    }
                    continue;
                }
                "memory.store" => {
                    let stored = body.operands(op)[1];
                    let Some(((memory, address, offset, shape), size)) =
                        self.access(op, body.value_type(stored))
                    else {
                        // A store to a shared memory: none of its loads is remembered.
                        continue;
                    };
                    // Bytes at another base may be these; at this base, those that overlap are.
                    available.retain(|&(m, b, o, _), &mut (s, _)| {
                        m != memory
                            || (b == address
                                && (o.saturating_add(s) <= offset || offset.saturating_add(size) <= o))
                    });
                    // A full-width load of what a full-width store wrote reads the stored value.
                    let full_width =
                        matches!(shape, (Type::I32 | Type::F32, 32, _) | (Type::I64 | Type::F64, 64, _));
                    if full_width && available.len() < AVAILABLE_LIMIT {
                        available.insert((memory, address, offset, shape), (size, stored));
                    }
                    continue;
                }
                _ if may_write_memory(def) => {
                    available.clear();
                    continue;
                }
                _ => {}
            }
            let &[result] = body.results(op) else { continue };
            if !def.has(Traits::PURE) || self.bases.contains_key(&result) {
                continue;
            }
            let operands = body.operands(op).iter().map(|&o| self.base_of(o)).collect();
            let base = *self
                .numbered
                .entry((body.op_kind(op), body.op_attrs(op), operands))
                .or_insert(Base::Value(result));
            self.bases.insert(result, base);
        }
    }
}

struct FunctionBce<'a> {
    ctx: &'a Context,
    minimums: &'a FxHashMap<String, u64>,
    /// The shared memories, which other threads may write at any time (INV-MEM-001).
    shared: &'a FxHashSet<String>,
    rules: &'a [&'static str],
    /// The closed functions (see `CallGraph`), whose call sites are recorded in `sites`.
    closed: &'a FxHashMap<String, Vec<String>>,
    sites: &'a mut FxHashMap<String, Vec<Ends>>,
    /// What the functions analysed so far check before they return (`checked-in-callee`).
    summaries: &'a FxHashMap<String, Summary>,
    /// Only finding what holds at the returns: nothing is removed or reported.
    summarizing: bool,
    /// Walking a loop once to find what its branches continue it with: nothing is removed.
    dry: bool,
    /// The function's parameters (its entry block's arguments).
    params: Vec<Value>,
    /// What values are equal to (`value_bases`).
    bases: FxHashMap<Value, Base>,
    /// The enclosing labels, innermost last.
    labels: Vec<Label>,
    /// What held at every return seen so far.
    returned: Option<Summary>,
    removed: Vec<Op>,
    removed_set: FxHashSet<Op>,
    /// Each removed check with the rule that removed it.
    removed_by: Vec<(Op, &'static str)>,
    remarks: Vec<Diagnostic>,
}

/// What held at every way into a label's continuation seen so far.
struct Label {
    /// A loop's branches continue it instead.
    is_loop: bool,
    /// How many results the construct has.
    results: usize,
    /// The facts (`None` before the first way in).
    facts: Option<Facts>,
    /// How far each value that became a result was checked.
    carried: Option<Vec<Ends>>,
    /// How many arguments a loop's region has.
    args: usize,
    /// How far each value a branch continued a loop with was checked.
    continued: Option<Vec<Ends>>,
}

/// Keeps in `known` (nothing yet: `None`) only what `here` has, each value as far as both
/// have it; `here` of another length than `count` (values not known) keeps nothing.
fn meet_values(known: &mut Option<Vec<Ends>>, here: Option<Vec<Ends>>, count: usize) {
    let here = here.filter(|v| v.len() == count).unwrap_or_else(|| vec![Ends::default(); count]);
    match known {
        Some(known) => meet_ends(known, &here),
        None => *known = Some(here),
    }
}

impl Label {
    /// One more way in, with `facts` holding and `values` becoming the results (`None` when
    /// they are not known).
    fn arrive(&mut self, facts: &Facts, values: Option<Vec<Ends>>) {
        meet_facts(&mut self.facts, facts);
        meet_values(&mut self.carried, values, self.results);
    }
}

/// A decoded check.
enum Check {
    Address { memory: String, address: Value, end: u64 },
    Index { region: Value, index: Value },
}

impl<'a> FunctionBce<'a> {
    fn new(
        ctx: &'a Context,
        (minimums, shared): (&'a FxHashMap<String, u64>, &'a FxHashSet<String>),
        rules: &'a [&'static str],
        closed: &'a FxHashMap<String, Vec<String>>,
        sites: &'a mut FxHashMap<String, Vec<Ends>>,
        summaries: &'a FxHashMap<String, Summary>,
    ) -> Self {
        FunctionBce {
            ctx,
            minimums,
            shared,
            rules,
            closed,
            sites,
            summaries,
            summarizing: false,
            dry: false,
            params: Vec::new(),
            bases: FxHashMap::default(),
            labels: Vec::new(),
            returned: None,
            removed: Vec::new(),
            removed_set: FxHashSet::default(),
            removed_by: Vec::new(),
            remarks: Vec::new(),
        }
    }

    fn roots(body: &Body) -> Vec<Block> {
        body.roots().iter().flat_map(|&r| body.region_blocks(r).to_vec()).collect()
    }

    /// What every normal return of the function has checked (nothing is changed).
    fn summarize(&mut self, body: &Body) -> Option<Summary> {
        let roots = Self::roots(body);
        self.bases = value_bases(self.ctx, body, self.shared);
        self.params = roots.first().map(|&b| body.block_args(b).to_vec()).unwrap_or_default();
        for block in roots {
            self.eliminate(body, block, &mut Facts::default());
        }
        self.returned.take()
    }

    /// `entry` holds, per argument, what every caller checked it against.
    fn run(&mut self, body: &mut Body, entry: Option<&[Ends]>) {
        let roots = Self::roots(body);
        self.bases = value_bases(self.ctx, body, self.shared);
        self.params = roots.first().map(|&b| body.block_args(b).to_vec()).unwrap_or_default();
        if self.enabled("merge-neighbours") {
            for block in &roots {
                self.merge_neighbours(body, *block);
            }
        }
        if self.enabled("loop-induction") {
            self.hoist_loop_checks(body);
        }
        for (i, block) in roots.into_iter().enumerate() {
            let mut facts = Facts::default();
            if i == 0
                && let Some(entry) = entry
            {
                for (&arg, checked) in body.block_args(block).iter().zip(entry) {
                    for (memory, &end) in checked {
                        facts.insert(Fact::Address(memory.clone(), Base::Value(arg)), end);
                        facts.insert(Fact::Entry(memory.clone(), Base::Value(arg)), end);
                    }
                }
            }
            self.eliminate(body, block, &mut facts);
        }
        // Region checks that went away: which rule proved each (region, index).
        let mut proofs: Vec<((Value, Value), &'static str)> = Vec::new();
        for &(op, rule_name) in &self.removed_by {
            if let Some(Check::Index { region, index }) = self.decode(body, op) {
                proofs.push(((region, index), rule(rule_name).name));
            }
        }
        for op in std::mem::take(&mut self.removed) {
            body.erase_op(op);
        }
        self.record_proofs(body, &proofs);
    }

    fn remove(&mut self, op: Op) {
        if self.removed_set.insert(op) {
            self.removed.push(op);
        }
    }

    fn is_removed(&self, op: Op) -> bool {
        self.removed_set.contains(&op)
    }

    /// An unchecked region access whose dominating check was removed records the rule that
    /// proved it instead (`unchecked = "bce.RULE"`), which the verifier accepts.
    fn record_proofs(&self, body: &mut Body, proofs: &[((Value, Value), &'static str)]) {
        if proofs.is_empty() {
            return;
        }
        let ctx = self.ctx;
        for op in body.preorder() {
            let name = ctx.op_def(body.op_kind(op)).name;
            if !matches!(name, "memory.elem_load" | "memory.elem_store") {
                continue;
            }
            let attrs = body.op_attrs(op);
            let Some(flag) = ctx.dict_get(attrs, "unchecked") else { continue };
            if ctx.attr_as_str(flag).is_some() {
                continue;
            }
            let key = (body.operands(op)[0], body.operands(op)[1]);
            if wasmir_dialects::memory::check_dominates(ctx, body, op, key.0, key.1) {
                continue;
            }
            let rule_name = proofs.iter().find(|(k, _)| *k == key).map_or("dominated", |&(_, r)| r);
            let proof = ctx.string_attr(&format!("bce.{rule_name}"));
            body.set_attrs(op, ctx.dict_with(attrs, "unchecked", Some(proof)));
        }
    }

    /// Per memory, how far `v` is checked by `facts` (`checked_end`).
    fn ends_of(&self, body: &Body, facts: &Facts, v: Value) -> Ends {
        self.minimums
            .keys()
            .filter_map(|m| self.checked_end(body, facts, m, v, SELECT_DEPTH).map(|end| (m.clone(), end)))
            .collect()
    }

    /// How far `v` is known checked in `memory` (`v + end <= size`): by a check of it; by one
    /// of it on the paths where it is not zero, when it is not; as `x + c` by a check of `x`
    /// reaching past `c` (`x + c` cannot wrap then) or of `x + c` itself; as a `select` by
    /// both of its values (`depth` selects deep).
    fn checked_end(&self, body: &Body, facts: &Facts, memory: &str, v: Value, depth: u32) -> Option<u64> {
        let base = self.base_of(v);
        let mut best = facts.get(&Fact::Address(memory.to_string(), base)).copied();
        let mut raise = |end: Option<u64>| best = best.max(end);
        if facts.contains_key(&Fact::NonZero(base)) {
            raise(facts.get(&Fact::NullOr(memory.to_string(), base)).copied());
        }
        if let Some((x, c)) = self.constant_offset(body, v) {
            let x = self.base_of(x);
            let past = |reach: u64| reach.checked_sub(c).filter(|&e| e > 0);
            raise(facts.get(&Fact::Address(memory.to_string(), x)).and_then(|&e| past(e)));
            raise(facts.get(&Fact::Span(memory.to_string(), x, c)).and_then(|&e| past(e)));
        }
        if depth > 0
            && let Some(def) = body.defining_op(v)
            && self.ctx.op_def(body.op_kind(def)).name == "arith.select"
        {
            let operands = body.operands(def);
            let arm = |o: Value| self.checked_end(body, facts, memory, o, depth - 1);
            raise(arm(operands[1]).zip(arm(operands[2])).map(|(a, b)| a.min(b)));
        }
        best
    }

    /// At a direct call of a closed function: what each argument is checked against here.
    fn record_call_site(&mut self, body: &Body, op: Op, facts: &Facts) {
        let ctx = self.ctx;
        let Some(callee) = ctx.dict_get(body.op_attrs(op), "callee").and_then(|a| ctx.attr_as_symbol(a))
        else {
            return;
        };
        if !self.closed.contains_key(callee) {
            return;
        }
        let site: Vec<Ends> = body.operands(op).iter().map(|&arg| self.ends_of(body, facts, arg)).collect();
        match self.sites.get_mut(callee) {
            Some(known) => meet_ends(known, &site),
            None => {
                self.sites.insert(callee.to_string(), site);
            }
        }
    }

    /// After a direct call that returned: what the callee checked of its arguments and its
    /// results before every return holds here (`checked-in-callee`).
    fn after_call(&self, body: &Body, op: Op, facts: &mut Facts) {
        let ctx = self.ctx;
        let Some(callee) = ctx.dict_get(body.op_attrs(op), "callee").and_then(|a| ctx.attr_as_symbol(a))
        else {
            return;
        };
        let Some(summary) = self.summaries.get(callee) else { return };
        let mut raise = |v: Value, ends: &Ends| {
            let base = self.base_of(v);
            for (memory, &end) in ends {
                self.establish(body, facts, memory, v, end);
                let known = facts.entry(Fact::Callee(memory.clone(), base)).or_insert(0);
                *known = (*known).max(end);
            }
        };
        for (&arg, ends) in body.operands(op).iter().zip(&summary.params) {
            raise(arg, ends);
        }
        if let Some(results) = &summary.results {
            for (&result, ends) in body.results(op).iter().zip(results) {
                raise(result, ends);
            }
        }
    }

    /// Records that `address + end` is inside `memory` (`address` as its computation wraps):
    /// of `address` itself; for `address = x + c`, that a check of `x + c` reached `c + end`
    /// (`Fact::Span`), and, when `x` is checked past `c` already (`x + c < x + e <= size <=
    /// 2^32`, so `x + c` does not wrap, even in a 4 GiB memory), that `x` is checked to
    /// `c + end`.
    fn establish(&self, body: &Body, facts: &mut Facts, memory: &str, address: Value, end: u64) {
        fn raise(facts: &mut Facts, fact: Fact, end: u64) {
            let known = facts.entry(fact).or_insert(0);
            *known = (*known).max(end);
        }
        if let Some((x, c)) = self.constant_offset(body, address) {
            let x = self.base_of(x);
            let reach = c.saturating_add(end);
            raise(facts, Fact::Span(memory.to_string(), x, c), reach);
            if facts.get(&Fact::Address(memory.to_string(), x)).is_some_and(|&e| e > c) {
                raise(facts, Fact::Address(memory.to_string(), x), reach);
            }
        }
        raise(facts, Fact::Address(memory.to_string(), self.base_of(address)), end);
    }

    /// After a bulk op of a constant length: it checked its ranges before writing anything
    /// and passed (INV-MEM-009), as a check of each range would have.
    fn after_bulk(&self, body: &Body, op: Op, facts: &mut Facts) {
        let ctx = self.ctx;
        let def = ctx.op_def(body.op_kind(op));
        let operands = body.operands(op);
        let Some(length) = operands.get(2).and_then(|&n| self.int_constant(body, n)).filter(|&n| n > 0)
        else {
            return;
        };
        let memory = |name: &str| {
            ctx.dict_get(body.op_attrs(op), name).and_then(|a| ctx.attr_as_symbol(a)).map(str::to_string)
        };
        let mut ranges = vec![(memory("memory"), operands[0])];
        if def.name == "memory.copy" {
            ranges.push((memory("src_memory"), operands[1]));
        }
        for (memory, start) in ranges {
            if let Some(memory) = memory {
                self.establish(body, facts, &memory, start, length);
            }
        }
    }

    /// At a return (or a branch out of the function): what holds of the parameters and, for a
    /// `func.return`, of the returned values.
    fn note_return(&mut self, body: &Body, op: Option<Op>, facts: &Facts) {
        // A first walk of a loop knows less than the walk that follows it.
        if self.dry {
            return;
        }
        let params = self.params.iter().map(|&p| self.ends_of(body, facts, p)).collect();
        let results = op
            .filter(|&op| self.ctx.op_def(body.op_kind(op)).name == "func.return")
            .map(|op| body.operands(op).iter().map(|&r| self.ends_of(body, facts, r)).collect());
        let here = Summary { params, results };
        match &mut self.returned {
            Some(known) => known.meet(&here),
            None => self.returned = Some(here),
        }
    }

    /// A branch `depth` labels out, with `facts` holding and `values` carried.
    fn branch_to(&mut self, body: &Body, depth: u32, facts: &Facts, values: &[Value]) {
        match self.labels.len().checked_sub(1 + depth as usize) {
            Some(i) => {
                let carried = values.iter().map(|&v| self.ends_of(body, facts, v)).collect();
                let label = &mut self.labels[i];
                if label.is_loop {
                    meet_values(&mut label.continued, Some(carried), label.args);
                } else {
                    label.arrive(facts, Some(carried));
                }
            }
            None => self.note_return(body, None, facts),
        }
    }

    fn enabled(&self, rule_name: &str) -> bool {
        self.rules.contains(&rule_name)
    }

    fn explain(&mut self, body: &Body, op: Op, rule_name: &'static str) {
        if self.summarizing || self.dry {
            return;
        }
        self.removed_by.push((op, rule_name));
        self.remove(op);
        if self.ctx.explain_rewrites() {
            let r = rule(rule_name);
            self.remarks.push(Diagnostic::remark(
                body.op_loc(op),
                format!("bce.{}: removed this check ({}) [{}]", r.name, r.identity, r.citations.join(", ")),
            ));
        }
    }

    fn decode(&self, body: &Body, op: Op) -> Option<Check> {
        let ctx = self.ctx;
        if ctx.op_def(body.op_kind(op)).name != "memory.check" {
            return None;
        }
        let operands = body.operands(op);
        let attrs = body.op_attrs(op);
        match operands {
            [address] => {
                let memory = ctx.dict_get(attrs, "memory").and_then(|a| ctx.attr_as_symbol(a))?.to_string();
                let offset =
                    ctx.dict_get(attrs, "offset").and_then(|a| ctx.attr_as_int(a)).unwrap_or(0) as u64;
                let size = ctx.dict_get(attrs, "size").and_then(|a| ctx.attr_as_int(a)).unwrap_or(0) as u64;
                Some(Check::Address { memory, address: *address, end: offset.saturating_add(size) })
            }
            [region, index] => Some(Check::Index { region: *region, index: *index }),
            _ => None,
        }
    }

    fn int_constant(&self, body: &Body, v: Value) -> Option<u64> {
        let c = constant_of(self.ctx, body, v)?;
        let value = self.ctx.attr_as_int(c)?;
        Some(if body.value_type(v) == Type::I32 { u64::from(value as u32) } else { value as u64 })
    }

    /// What `v` is equal to for the facts (`value_bases`).
    fn base_of(&self, v: Value) -> Base {
        self.bases.get(&v).copied().unwrap_or(Base::Value(v))
    }

    /// `(x, c)` when `v = x + c` for a constant `c`, modulo 2^width as Wasm adds, through
    /// chains of constant additions and subtractions, and `wrap(extend_u(x) + c)`, which is
    /// `x + c` modulo 2^32 (how Go computes addresses).
    fn constant_offset(&self, body: &Body, v: Value) -> Option<(Value, u64)> {
        let ctx = self.ctx;
        let mask = if body.value_type(v) == Type::I32 { u64::from(u32::MAX) } else { u64::MAX };
        let (mut base, mut total, mut found) = (v, 0u64, false);
        for _ in 0..OFFSET_CHAIN {
            let Some(def) = body.defining_op(base) else { break };
            let operands = body.operands(def);
            let step = match ctx.op_def(body.op_kind(def)).name {
                "arith.wrap" => {
                    let Some((wide, c)) = self.constant_offset(body, operands[0]) else { break };
                    let Some(extend) = body.defining_op(wide) else { break };
                    if ctx.op_def(body.op_kind(extend)).name != "arith.extend_u" {
                        break;
                    }
                    Some((body.operands(extend)[0], c))
                }
                "arith.addi" => {
                    match (self.int_constant(body, operands[0]), self.int_constant(body, operands[1])) {
                        (_, Some(c)) => Some((operands[0], c)),
                        (Some(c), None) => Some((operands[1], c)),
                        _ => None,
                    }
                }
                "arith.subi" => self.int_constant(body, operands[1]).map(|c| (operands[0], c.wrapping_neg())),
                _ => None,
            };
            let Some((next, c)) = step else { break };
            base = next;
            total = total.wrapping_add(c) & mask;
            found = true;
        }
        found.then_some((base, total))
    }

    /// The largest value `v` can have: itself when constant, the mask when `v = x & mask`.
    fn upper_bound(&self, body: &Body, v: Value) -> Option<(u64, bool)> {
        if let Some(c) = self.int_constant(body, v) {
            return Some((c, true));
        }
        let def = body.defining_op(v)?;
        if self.ctx.op_def(body.op_kind(def)).name != "arith.andi" {
            return None;
        }
        let operands = body.operands(def);
        let mask = self.int_constant(body, operands[1]).or_else(|| self.int_constant(body, operands[0]))?;
        Some((mask, false))
    }

    /// Whether `address + end` is proved inside `memory` by bounds: `address <= u` with
    /// `u + end <= minimum`, or `address = x + y` with `y <= u` and `x` checked to `u + end`.
    fn bounded_address(
        &self,
        body: &Body,
        address: Value,
        end: u64,
        memory: &str,
        minimum: u64,
        facts: &Facts,
    ) -> bool {
        if self.upper(body, address, facts, BOUND_DEPTH).is_some_and(|u| u.saturating_add(end) <= minimum) {
            return true;
        }
        let Some(def) = body.defining_op(address) else { return false };
        if self.ctx.op_def(body.op_kind(def)).name != "arith.addi" {
            return false;
        }
        let operands = body.operands(def);
        [(operands[0], operands[1]), (operands[1], operands[0])].into_iter().any(|(x, y)| {
            let known = facts.get(&Fact::Address(memory.to_string(), self.base_of(x)));
            match (known, self.upper(body, y, facts, BOUND_DEPTH)) {
                (Some(&e), Some(u)) => u.saturating_add(end) <= e,
                _ => false,
            }
        })
    }

    /// The largest unsigned value `v` can have (`None`: nothing below its type's maximum is
    /// known): what the comparisons on the path say (`Fact::Below`), and what its computation
    /// allows (`semantics::int_upper_bound`; narrow zero-extending loads), `depth` ops deep.
    fn upper(&self, body: &Body, v: Value, facts: &Facts, depth: u32) -> Option<u64> {
        let ctx = self.ctx;
        let width = match body.value_type(v) {
            Type::I32 => 32,
            Type::I64 => 64,
            _ => return None,
        };
        let mask = wasmir_dialects::arith::semantics::mask(width);
        if let Some(c) = self.int_constant(body, v) {
            return Some(c);
        }
        let from_path = facts.get(&Fact::Below(self.base_of(v))).map(|&headroom| u64::MAX - headroom);
        let from_def = (|| {
            let def = body.defining_op(v)?;
            let name = ctx.op_def(body.op_kind(def)).name;
            if let Some(divisor) = self.remainder_divisor(body, def) {
                return Some(divisor - 1);
            }
            if matches!(name, "memory.load" | "memory.atomic_load") {
                let attrs = body.op_attrs(def);
                let bits = ctx.dict_get(attrs, "width").and_then(|a| ctx.attr_as_int(a))?;
                let unsigned = name == "memory.atomic_load"
                    || ctx.dict_get(attrs, "sign").and_then(|a| ctx.attr_as_str(a)) == Some("u");
                return (unsigned && bits < i64::from(width)).then(|| (1u64 << bits) - 1);
            }
            let short = name.strip_prefix("arith.")?;
            if depth == 0 {
                return None;
            }
            let operands = body.operands(def);
            let (max, constants): (Vec<u64>, Vec<Option<u64>>) = operands
                .iter()
                .map(|&o| {
                    let top = if body.value_type(o) == Type::I64 { u64::MAX } else { u64::from(u32::MAX) };
                    (self.upper(body, o, facts, depth - 1).unwrap_or(top), self.int_constant(body, o))
                })
                .unzip();
            wasmir_dialects::arith::semantics::int_upper_bound(short, width, &max, &constants)
        })();
        [from_path, from_def].into_iter().flatten().min().filter(|&u| u < mask)
    }

    /// `d` when `def` computes `x % d` for a constant `d > 0` the way compilers do when they
    /// also need `x / d`: `x - (x / d) * d`, or `x + (x / d) * -d` (wrapping, INV-ARITH-001).
    fn remainder_divisor(&self, body: &Body, def: Op) -> Option<u64> {
        let ctx = self.ctx;
        let name = |op: Op| ctx.op_def(body.op_kind(op)).name;
        let width_mask =
            if body.value_type(body.results(def)[0]) == Type::I32 { u64::from(u32::MAX) } else { u64::MAX };
        let negate = match name(def) {
            "arith.subi" => false,
            "arith.addi" => true,
            _ => return None,
        };
        let operands = body.operands(def);
        let pairs: &[(Value, Value)] = if negate {
            &[(operands[0], operands[1]), (operands[1], operands[0])]
        } else {
            &[(operands[0], operands[1])]
        };
        pairs.iter().find_map(|&(x, product)| {
            let mul = body.defining_op(product).filter(|&m| name(m) == "arith.muli")?;
            let factors = body.operands(mul);
            [(factors[0], factors[1]), (factors[1], factors[0])].into_iter().find_map(|(quotient, factor)| {
                let div = body.defining_op(quotient).filter(|&d| name(d) == "arith.divui")?;
                let (dividend, divisor) = (body.operands(div)[0], body.operands(div)[1]);
                let d = self.int_constant(body, divisor).filter(|&d| d > 0)?;
                let f = self.int_constant(body, factor)?;
                let expected = if negate { d.wrapping_neg() & width_mask } else { d };
                (self.base_of(dividend) == self.base_of(x) && f == expected).then_some(d)
            })
        })
    }

    /// What `condition` being non-zero (`holds`) or zero says of values: upper bounds, from
    /// unsigned comparisons with a bounded side, `eqz`, and `and`/`or` of conditions.
    fn condition_bounds(
        &self,
        body: &Body,
        condition: Value,
        holds: bool,
        facts: &Facts,
        depth: u32,
        out: &mut Vec<(Fact, u64)>,
    ) {
        let ctx = self.ctx;
        let base = self.base_of(condition);
        if holds {
            out.push((Fact::NonZero(base), 0));
        } else {
            out.push((Fact::Below(base), IS_ZERO));
        }
        let Some(def) = body.defining_op(condition) else { return };
        if depth == 0 {
            return;
        }
        let operands = body.operands(def);
        match ctx.op_def(body.op_kind(def)).name {
            "arith.eqz" => self.condition_bounds(body, operands[0], !holds, facts, depth - 1, out),
            // a & b != 0 needs both non-zero; a | b == 0 needs both zero.
            "arith.andi" if holds => {
                for &o in operands {
                    self.condition_bounds(body, o, true, facts, depth - 1, out);
                }
            }
            "arith.ori" if !holds => {
                for &o in operands {
                    self.condition_bounds(body, o, false, facts, depth - 1, out);
                }
            }
            "arith.cmpi" => {
                let Some(predicate) =
                    ctx.dict_get(body.op_attrs(def), "predicate").and_then(|a| ctx.attr_as_str(a))
                else {
                    return;
                };
                // As `x PRED y`, and flipped to `y PRED' x`, each side bounded by the other.
                // `x != 0`, `!(x == 0)` and `x > y` say that `x` is not zero.
                let zero = |v: Value| self.int_constant(body, v) == Some(0);
                for (x, y) in [(operands[0], operands[1]), (operands[1], operands[0])] {
                    let nonzero = match (predicate, holds) {
                        ("ne", true) | ("eq", false) => zero(y),
                        ("ugt", true) | ("ule", false) => true,
                        _ => false,
                    };
                    if nonzero && (x == operands[0] || predicate != "ugt" && predicate != "ule") {
                        out.push((Fact::NonZero(self.base_of(x)), 0));
                    }
                }
                let flipped = match predicate {
                    "ult" => "ugt",
                    "ule" => "uge",
                    "ugt" => "ult",
                    "uge" => "ule",
                    other => other,
                };
                for (x, y, predicate) in
                    [(operands[0], operands[1], predicate), (operands[1], operands[0], flipped)]
                {
                    let Some(limit) =
                        self.upper(body, y, facts, BOUND_DEPTH).or_else(|| self.int_constant(body, y))
                    else {
                        continue;
                    };
                    // x < y <= limit, x <= y <= limit, x == y <= limit.
                    let bound = match (predicate, holds) {
                        ("ult", true) | ("uge", false) => limit.checked_sub(1),
                        ("ule", true) | ("ugt", false) | ("eq", true) | ("ne", false) => Some(limit),
                        _ => None,
                    };
                    if let Some(bound) = bound {
                        out.push((Fact::Below(self.base_of(x)), u64::MAX - bound));
                    }
                }
            }
            _ => {}
        }
    }

    /// Records what `condition` being non-zero (`holds`) or zero says of values.
    fn assume(&self, body: &Body, condition: Value, holds: bool, facts: &mut Facts) {
        let mut learned = Vec::new();
        self.condition_bounds(body, condition, holds, facts, BOUND_DEPTH, &mut learned);
        for (fact, strength) in learned {
            let known = facts.entry(fact).or_insert(0);
            *known = (*known).max(strength);
        }
    }

    /// The constant length of a region made with a constant length (or a frame's count).
    fn constant_len(&self, body: &Body, region: Value) -> Option<u64> {
        let def = body.defining_op(region)?;
        match self.ctx.op_def(body.op_kind(def)).name {
            "memory.make_slice" => self.int_constant(body, body.operands(def)[1]),
            "memory.local_alloc" => Some(
                self.ctx
                    .dict_get(body.op_attrs(def), "count")
                    .and_then(|a| self.ctx.attr_as_int(a))
                    .unwrap_or(1) as u64,
            ),
            _ => None,
        }
    }

    /// Removes the checks of `block` (and nested blocks) that a fact in scope or a constant
    /// proves; `facts` holds what dominating checks established, and is what holds at the
    /// block's end. What holds at each branch goes to its label (`labels`), what holds at each
    /// return to `returned`. Returns whether the block falls through.
    fn eliminate(&mut self, body: &Body, block: Block, facts: &mut Facts) -> bool {
        // One level of nesting costs a few frames here; imported modules nest 20,000 deep.
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.eliminate_block(body, block, facts))
    }

    fn eliminate_block(&mut self, body: &Body, block: Block, facts: &mut Facts) -> bool {
        let ctx = self.ctx;
        let ops: Vec<Op> = body.block_ops(block).collect();
        for op in ops {
            let def = ctx.op_def(body.op_kind(op));
            if def.has(Traits::CALL_LIKE) && !self.summarizing && !self.dry {
                self.record_call_site(body, op, facts);
            }
            // A check merge-neighbours already folded into an earlier one is gone.
            if self.is_removed(op) {
                continue;
            }
            if let Some(check) = self.decode(body, op) {
                self.visit_check(body, op, check, facts);
                continue;
            }
            if let Some(depths) = def.branch_depths {
                let view = wasmir_ir::OpRef::new(ctx, body, op);
                // A conditional branch is taken when its condition holds, and continues when not.
                let condition = match view.operand_group("condition") {
                    [condition] => Some(*condition),
                    _ => None,
                };
                let taken = condition.map(|c| {
                    let mut taken = facts.clone();
                    self.assume(body, c, true, &mut taken);
                    taken
                });
                for depth in depths(view) {
                    self.branch_to(
                        body,
                        depth,
                        taken.as_ref().unwrap_or(facts),
                        view.operand_group("values"),
                    );
                }
                if let Some(condition) = condition {
                    self.assume(body, condition, false, facts);
                }
            }
            if matches!(def.name, "memory.copy" | "memory.fill" | "memory.init") && self.enabled("dominated")
            {
                self.after_bulk(body, op, facts);
            }
            if def.has(Traits::RETURN_LIKE) {
                self.note_return(body, Some(op), facts);
            } else if def.has(Traits::CALL_LIKE) && self.enabled("checked-in-callee") {
                self.after_call(body, op, facts);
            }
            let regions = body.op_regions(op);
            if regions.is_empty() {
                continue;
            }
            self.visit_construct(body, op, facts);
        }
        // The block falls through unless it ends by branching, returning or trapping.
        body.block_last(block).is_none_or(|last| {
            let def = ctx.op_def(body.op_kind(last));
            !def.has(Traits::TERMINATOR)
                || (def.branch_depths.is_none()
                    && !def.has(Traits::RETURN_LIKE)
                    && !def.has(Traits::MAY_TRAP))
        })
    }

    /// A construct: its regions are walked with what holds before it. After it, control
    /// arrives from the fallthrough of its regions and from branches to it (a loop's branches
    /// continue it instead): what all of them had holds, and a result is checked as far as
    /// every value that became it was. A loop's argument is checked at the head as far as both
    /// its initial value and every value a branch continues it with (by induction over the
    /// iterations; those values are found by a first walk that removes nothing).
    fn visit_construct(&mut self, body: &Body, op: Op, facts: &mut Facts) {
        let ctx = self.ctx;
        let def = ctx.op_def(body.op_kind(op));
        let regions = body.op_regions(op);
        if !def.has(Traits::LABEL) {
            for &region in regions {
                if let Some(&inner) = body.region_blocks(region).first() {
                    self.eliminate(body, inner, &mut facts.clone());
                }
            }
            return;
        }
        let is_loop = def.has(Traits::LOOP);
        let mut head = facts.clone();
        if is_loop
            && !self.dry
            && let Some(&block) = regions.first().and_then(|&r| body.region_blocks(r).first())
        {
            let initial: Vec<Ends> =
                body.operands(op).iter().map(|&v| self.ends_of(body, facts, v)).collect();
            if initial.iter().any(|e| !e.is_empty()) {
                self.dry = true;
                let continued = self.walk_regions(body, op, facts).continued;
                self.dry = false;
                let mut known = initial;
                if let Some(continued) = continued {
                    meet_ends(&mut known, &continued);
                }
                for (&arg, ends) in body.block_args(block).iter().zip(known) {
                    for (memory, end) in ends {
                        head.insert(Fact::Address(memory, Base::Value(arg)), end);
                    }
                }
            }
        }
        let label = self.walk_regions(body, op, &head);
        // No way in (`None`): what follows is unreachable, and anything holds there.
        if let Some(after) = label.facts {
            *facts = after;
            for (&result, ends) in body.results(op).iter().zip(label.carried.unwrap_or_default()) {
                for (memory, end) in ends {
                    facts.insert(Fact::Address(memory, Base::Value(result)), end);
                }
            }
        }
    }

    /// Walks the regions of label `op` from `facts`; returns what arrived at its continuation.
    fn walk_regions(&mut self, body: &Body, op: Op, facts: &Facts) -> Label {
        let ctx = self.ctx;
        let def = ctx.op_def(body.op_kind(op));
        let args = body
            .op_regions(op)
            .first()
            .and_then(|&r| body.region_blocks(r).first())
            .map_or(0, |&b| body.block_args(b).len());
        self.labels.push(Label {
            is_loop: def.has(Traits::LOOP),
            results: body.results(op).len(),
            args,
            facts: None,
            carried: None,
            continued: None,
        });
        // An `if` (a label with a condition and two regions) runs its first region when the
        // condition holds and its second when it does not.
        let condition = match wasmir_ir::OpRef::new(ctx, body, op).operand_group("condition") {
            [c] if body.op_regions(op).len() == 2 => Some(*c),
            _ => None,
        };
        for (i, &region) in body.op_regions(op).iter().enumerate() {
            let mut inner_facts = facts.clone();
            if let Some(c) = condition {
                self.assume(body, c, i == 0, &mut inner_facts);
            }
            let Some(&inner) = body.region_blocks(region).first() else {
                // An empty region (an `if` without `else`) yields nothing.
                self.labels.last_mut().expect("pushed above").arrive(&inner_facts, None);
                continue;
            };
            if self.eliminate(body, inner, &mut inner_facts) {
                // The terminator that falls through yields its operands.
                let yielded = body
                    .block_last(inner)
                    .filter(|&t| ctx.op_def(body.op_kind(t)).has(Traits::TERMINATOR))
                    .map(|t| body.operands(t).iter().map(|&v| self.ends_of(body, &inner_facts, v)).collect());
                self.labels.last_mut().expect("pushed above").arrive(&inner_facts, yielded);
            }
        }
        self.labels.pop().expect("pushed above")
    }

    /// Removes `op`, a check, when `facts` or a constant prove it; else records what it
    /// establishes.
    fn visit_check(&mut self, body: &Body, op: Op, check: Check, facts: &mut Facts) {
        let ctx = self.ctx;
        match check {
            Check::Address { memory, address, end } => {
                let minimum = self.minimums.get(&memory).copied().unwrap_or(0);
                if self.enabled("constant-address")
                    && let Some((bound, _)) = self.upper_bound(body, address)
                    && bound.saturating_add(end) <= minimum
                {
                    self.explain(body, op, "constant-address");
                    return;
                }
                if self.enabled("bounded-address")
                    && self.bounded_address(body, address, end, &memory, minimum, facts)
                {
                    self.explain(body, op, "bounded-address");
                    return;
                }
                // `x + c` is covered by a passed check of `x` reaching at least `c + end` (then
                // `x + c` cannot wrap), or of `x + c'` with `c' <= c` reaching that far (either
                // both sums wrap or neither does).
                // (Scanned for only when the lookups of `checked_end` found nothing.)
                let via_base = || {
                    self.constant_offset(body, address).is_some_and(|(b, c)| {
                        let (base, reach) = (self.base_of(b), c.saturating_add(end));
                        facts.get(&Fact::Address(memory.clone(), base)).is_some_and(|&known| known >= reach)
                            || facts.iter().any(|(fact, &known)| {
                                matches!(fact, Fact::Span(m, b, start) if *m == memory && *b == base && *start <= c)
                                    && known >= reach
                            })
                    })
                };
                let base = self.base_of(address);
                let key = Fact::Address(memory.clone(), base);
                let covers = |fact: Fact| facts.get(&fact).is_some_and(|&e| e >= end);
                let dominated_on = self.enabled("dominated");
                if facts.contains_key(&key) && covers(Fact::Entry(memory.clone(), base)) {
                    self.explain(body, op, "checked-by-callers");
                } else if facts.contains_key(&key) && covers(Fact::Callee(memory.clone(), base)) {
                    self.explain(body, op, "checked-in-callee");
                } else if dominated_on
                    && (self
                        .checked_end(body, facts, &memory, address, SELECT_DEPTH)
                        .is_some_and(|e| e >= end)
                        || via_base())
                {
                    self.explain(body, op, "dominated");
                } else {
                    self.establish(body, facts, &memory, address, end);
                }
            }
            Check::Index { region, index } => {
                // The region rules rely on INV-MEM-002 and INV-POD-001: a region whose element
                // type is not Pod (IR that skipped verification) is an error.
                let elem = wasmir_dialects::memory::region_type(ctx, body.value_type(region)).map(|r| r.elem);
                if !elem.is_some_and(|t| wasmir_dialects::memory::is_pod(ctx, t)) {
                    if !self.summarizing && !self.dry {
                        self.remarks.push(Diagnostic::error(
                            body.op_loc(op),
                            "'memory.check' op: bce's region rules need a region of Pod elements (INV-POD-001, INV-MEM-002); this check's subject is not one",
                        ));
                    }
                    return;
                }
                if self.enabled("constant-index")
                    && let (Some((bound, _)), Some(len)) =
                        (self.upper_bound(body, index), self.constant_len(body, region))
                    && bound < len
                {
                    self.explain(body, op, "constant-index");
                    return;
                }
                let key = Fact::Index(region, index);
                if self.enabled("dominated") && facts.contains_key(&key) {
                    self.explain(body, op, "dominated");
                } else {
                    facts.insert(key, 0);
                }
            }
        }
    }

    /// Whether `op` can sit between two checks without the order of failure being observable:
    /// pure ops, loads (whose own checks come first) and checks.
    /// A check is quiet only on the same memory: another memory's failure would call another
    /// panic handler.
    fn is_quiet(&self, body: &Body, op: Op, memory: &str) -> bool {
        let def = self.ctx.op_def(body.op_kind(op));
        match self.decode(body, op) {
            Some(Check::Address { memory: m, .. }) => return m == memory,
            Some(Check::Index { .. }) => return false,
            None => {}
        }
        (def.has(Traits::PURE) && body.op_regions(op).is_empty())
            || matches!(def.name, "memory.load" | "global.get")
            || wasmir_dialects::simd::family(def.name).is_some_and(|f| {
                matches!(f.sig, wasmir_dialects::simd::Sig::Load | wasmir_dialects::simd::Sig::LoadLane)
            })
            || (def.name == "memory.elem_load" && self.ctx.dict_get(body.op_attrs(op), "unchecked").is_some())
    }

    fn merge_neighbours(&mut self, body: &mut Body, block: Block) {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.merge_in(body, block))
    }

    fn merge_in(&mut self, body: &mut Body, block: Block) {
        let ops: Vec<Op> = body.block_ops(block).collect();
        for (i, &first) in ops.iter().enumerate() {
            if self.is_removed(first) {
                continue;
            }
            let Some(Check::Address { memory, address, end }) = self.decode(body, first) else {
                let inner: Vec<Block> =
                    body.op_regions(first).iter().flat_map(|&r| body.region_blocks(r).to_vec()).collect();
                for b in inner {
                    self.merge_neighbours(body, b);
                }
                continue;
            };
            let mut widest = end;
            for &later in &ops[i + 1..] {
                if self.is_removed(later) {
                    continue;
                }
                match self.decode(body, later) {
                    Some(Check::Address { memory: m, address: a, end: e })
                        if m == memory && self.base_of(a) == self.base_of(address) =>
                    {
                        if e > widest {
                            widest = e;
                        }
                        self.explain(body, later, "merge-neighbours");
                    }
                    _ if self.is_quiet(body, later, &memory) => {}
                    _ => break,
                }
            }
            if widest > end {
                let ctx = self.ctx;
                let attrs = body.op_attrs(first);
                let offset =
                    ctx.dict_get(attrs, "offset").and_then(|a| ctx.attr_as_int(a)).unwrap_or(0) as u64;
                let size = ctx.int_attr((widest - offset).min(u64::from(u32::MAX)) as i64, Type::U32);
                body.set_attrs(first, ctx.dict_with(attrs, "size", Some(size)));
            }
        }
    }

    /// `loop-induction`: a region check on a loop counter that starts at 0 and continues only
    /// while `counter + 1 < len(region)` moves before the loop as a check of index 0.
    fn hoist_loop_checks(&mut self, body: &mut Body) {
        let ctx = self.ctx;
        let loops: Vec<Op> = body
            .preorder()
            .into_iter()
            .filter(|&op| ctx.op_def(body.op_kind(op)).has(Traits::LOOP))
            .collect();
        for lp in loops {
            let Some(&block) = body.op_regions(lp).first().and_then(|&r| body.region_blocks(r).first())
            else {
                continue;
            };
            let args = body.block_args(block).to_vec();
            for op in body.block_ops(block).collect::<Vec<_>>() {
                if let Some(Check::Index { region, index }) = self.decode(body, op) {
                    if let Some(position) = args.iter().position(|&a| a == index)
                        && self.is_counter_below_len(body, lp, position, region)
                    {
                        let zero = body.operands(lp)[position];
                        let mut b = Builder::before(ctx, body, lp);
                        b.loc = b.body.op_loc(op);
                        b.op("memory.check", &[region, zero], &[], &[]);
                        self.explain(body, op, "loop-induction");
                    }
                    continue;
                }
                // Only pure ops may run before the check in the loop body.
                let def = ctx.op_def(body.op_kind(op));
                if !(def.has(Traits::PURE) && body.op_regions(op).is_empty()) {
                    break;
                }
            }
        }
    }

    /// Whether argument `position` of loop `lp` starts at constant 0, and every branch back to
    /// the loop is a `br_if` on `cmpi ult, next, len` with `next = arg + 1` in that position,
    /// `len` the length of `region`, which is defined outside the loop.
    fn is_counter_below_len(&self, body: &Body, lp: Op, position: usize, region: Value) -> bool {
        let ctx = self.ctx;
        if self.int_constant(body, body.operands(lp)[position]) != Some(0) {
            return false;
        }
        let block = body.region_blocks(body.op_regions(lp)[0])[0];
        let counter = body.block_args(block)[position];
        let mut back_edges = 0;
        for op in body.preorder_region(body.op_regions(lp)[0]) {
            let def = ctx.op_def(body.op_kind(op));
            let Some(depths) = def.branch_depths else { continue };
            let view = wasmir_ir::OpRef::new(ctx, body, op);
            // The depth that reaches `lp` from this branch.
            let labels = labels_between(ctx, body, op, lp);
            if !depths(view).contains(&labels) {
                continue;
            }
            back_edges += 1;
            if def.name != "control.br_if" || body.op_block(op) != Some(block) {
                return false;
            }
            let operands = body.operands(op);
            let (condition, carried) = (operands[0], &operands[1..]);
            let Some(&next) = carried.get(position) else { return false };
            if !self.is_increment(body, next, counter) || !self.is_below_len(body, condition, next, region) {
                return false;
            }
        }
        back_edges > 0
    }

    fn is_increment(&self, body: &Body, next: Value, counter: Value) -> bool {
        let Some(def) = body.defining_op(next) else { return false };
        let operands = body.operands(def);
        self.ctx.op_def(body.op_kind(def)).name == "arith.addi"
            && operands[0] == counter
            && self.int_constant(body, operands[1]) == Some(1)
    }

    fn is_below_len(&self, body: &Body, condition: Value, next: Value, region: Value) -> bool {
        let ctx = self.ctx;
        let Some(def) = body.defining_op(condition) else { return false };
        if ctx.op_def(body.op_kind(def)).name != "arith.cmpi"
            || ctx.dict_get(body.op_attrs(def), "predicate").and_then(|a| ctx.attr_as_str(a)) != Some("ult")
        {
            return false;
        }
        let operands = body.operands(def);
        if operands[0] != next {
            return false;
        }
        let Some(len_op) = body.defining_op(operands[1]) else { return false };
        let is_len =
            ctx.op_def(body.op_kind(len_op)).name == "memory.len" && body.operands(len_op)[0] == region;
        let made_with = body.defining_op(region).is_some_and(|m| {
            ctx.op_def(body.op_kind(m)).name == "memory.make_slice" && body.operands(m)[1] == operands[1]
        });
        is_len || made_with
    }
}

/// What holds where control leaves a block (see `FunctionBce::eliminate`).
/// How many labels lie between `op` and `target` (the depth a branch in `op`'s place uses to
/// reach `target`).
fn labels_between(ctx: &Context, body: &Body, op: Op, target: Op) -> u32 {
    let mut depth = 0;
    let mut at = body.parent_op(op);
    while let Some(p) = at {
        if p == target {
            return depth;
        }
        if ctx.op_def(body.op_kind(p)).has(Traits::LABEL) {
            depth += 1;
        }
        at = body.parent_op(p);
    }
    u32::MAX
}
