//! Bounds checks: `bounds-checks-explicit` puts a `memory.check` before every access (what a
//! host without guard pages needs, and what the region ops imply), and `bce` removes every
//! check it can prove, each removal by a named rule that cites its invariants:
//!
//! - `constant-address`: a constant address (or one masked below a constant) whose whole
//!   access fits the memory's declared minimum size;
//! - `constant-index`: a constant (or masked) index below a region's constant length;
//! - `dominated`: a check covered by one that dominates it (the same address value with as
//!   large an end, or the same region and index);
//! - `merge-neighbours`: of two checks of the same address in one block with nothing
//!   observable between them, the first is widened to the second's end and the second goes;
//! - `loop-induction`: a region index that is a loop counter from 0, continued only while
//!   below the region's length, is checked once (for 0) before the loop;
//! - `checked-by-callers`: in a private function that is only ever called directly, an
//!   argument that every call site passes already checked (to at least the same end) needs
//!   no check of its own. Callers are visited before their callees for this.
//!
//! Removing a check never moves a failure past an observable effect: the rules only use facts
//! that hold at the check (INV-MEM-002, INV-MEM-008) or move a check across pure ops and loads.

use crate::constant_of;
use crate::rules::PassRule;
use wasmir_ir::pass::{FunctionPass, FunctionUnit, ModulePass, PassImpl, PassInfo, PassOptions};
use wasmir_ir::{
    AttrData, Block, Body, Builder, Context, Diagnostic, FxHashMap, FxHashSet, Module, Op, Traits, Type,
    Value, is_private_symbol, symbol_name,
};

/// The rules of `bce`, for `--list-rewrites` and the contract verifier.
pub const RULES: &[PassRule] = &[
    PassRule {
        name: "constant-address",
        identity: "check(@m, c + k) == nop when c + k <= min(@m) * 65536",
        citations: &["INV-MEM-003", "INV-MEM-008"],
    },
    PassRule {
        name: "constant-index",
        identity: "check(r[c]) == nop when c < len(r), a constant (also for c = x & m, m < len(r))",
        citations: &["INV-MEM-002", "INV-MEM-003"],
    },
    PassRule {
        name: "dominated",
        identity: "check(a + k2) == nop after a dominating check(a + k1) with k2 <= k1; check(r[i]) == nop after check(r[i])",
        citations: &["INV-MEM-003", "INV-MEM-004", "INV-MEM-008"],
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
        name: "checked-by-callers",
        identity: "f(p) { check(p + k) } == f(p) { } when f is private, only called directly, and every call f(a) follows a passed check(a + k') with k' >= k",
        citations: &["INV-MEM-008", "INV-CORE-007"],
    },
];

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
    summary: "Remove the bounds checks that are proved (constant, dominated, merged, loop induction)",
    options: &[crate::rules::RULES_OPTION],
    create: |o: &PassOptions| {
        let rules = crate::rules::selected_rules(o, "bce", RULES)?;
        Ok(PassImpl::Module(Box::new(Bce { rules })))
    },
};

/// `bounds-checks-explicit`.
#[derive(Debug, Clone, Copy)]
pub struct BoundsChecksExplicit;

impl FunctionPass for BoundsChecksExplicit {
    fn run(&self, ctx: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic> {
        let body = &mut *func.body;
        for op in body.preorder() {
            let name = ctx.op_def(body.op_kind(op)).name;
            let attrs = body.op_attrs(op);
            let get = |n: &str| ctx.dict_get(attrs, n);
            match name {
                "memory.load"
                | "memory.store"
                | "memory.atomic_load"
                | "memory.atomic_store"
                | "memory.atomic_rmw"
                | "memory.atomic_cmpxchg"
                | "memory.atomic_wait"
                | "memory.atomic_notify" => {
                    let value_type = match name {
                        "memory.load" | "memory.atomic_load" => body.value_type(body.results(op)[0]),
                        "memory.atomic_notify" => Type::I32,
                        _ => body.value_type(body.operands(op)[1]),
                    };
                    let full = if matches!(value_type, Type::I64 | Type::F64) { 64 } else { 32 };
                    let width = get("width").and_then(|a| ctx.attr_as_int(a)).unwrap_or(full);
                    let mut check_attrs = vec![
                        ("memory", get("memory").expect("verified accesses name their memory")),
                        ("size", ctx.int_attr(width / 8, Type::U32)),
                    ];
                    check_attrs.extend(get("offset").map(|o| ("offset", o)));
                    let address = body.operands(op)[0];
                    let mut b = Builder::before(ctx, body, op);
                    b.loc = b.body.op_loc(op);
                    b.op("memory.check", &[address], &[], &check_attrs);
                }
                "memory.elem_load" | "memory.elem_store" if get("unchecked").is_none() => {
                    let (region, index) = (body.operands(op)[0], body.operands(op)[1]);
                    let mut b = Builder::before(ctx, body, op);
                    b.loc = b.body.op_loc(op);
                    b.op("memory.check", &[region, index], &[], &[]);
                    let unchecked = ctx.dict_with(attrs, "unchecked", Some(wasmir_ir::Attr::UNIT));
                    body.set_attrs(op, unchecked);
                }
                _ => {}
            }
        }
        Vec::new()
    }
}

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

impl ModulePass for Bce {
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic> {
        let minimums = memory_minimums(ctx, module);
        let calls = CallGraph::of(ctx, module);
        let interprocedural = self.rules.contains(&"checked-by-callers");
        let mut remarks = Vec::new();
        let mut sites: FxHashMap<String, CallSiteFacts> = FxHashMap::default();
        let mut visited: FxHashSet<String> = FxHashSet::default();
        for (func, name) in calls.callers_first() {
            // Entry facts only when every call site has been seen: all callers visited, and
            // none of them is the function itself (its own call sites come after its entry).
            let entry = match calls.callers.get(&name) {
                Some(callers)
                    if interprocedural && callers.iter().all(|c| *c != name && visited.contains(c)) =>
                {
                    sites.get(&name).map(|s| s.args.clone())
                }
                _ => None,
            };
            let Some(body) = module.body_mut().child_mut(func) else { continue };
            let mut bce = FunctionBce {
                ctx,
                minimums: &minimums,
                rules: &self.rules,
                closed: &calls.callers,
                sites: &mut sites,
                branched_into: FxHashSet::default(),
                removed: Vec::new(),
                generation: 0,
                removed_by: Vec::new(),
                remarks: &mut remarks,
            };
            bce.run(body, entry.as_deref());
            visited.insert(name);
        }
        remarks
    }
}

/// The direct calls between a module's functions, for `checked-by-callers`.
struct CallGraph {
    /// Every function with a body, with its name, in module order.
    funcs: Vec<(Op, String)>,
    /// The closed functions (private, referenced only as the callee of direct calls), each
    /// with the functions that call it.
    callers: FxHashMap<String, Vec<String>>,
}

impl CallGraph {
    fn of(ctx: &Context, module: &Module) -> CallGraph {
        let body = module.body();
        let mut funcs = Vec::new();
        let mut escaping: FxHashSet<String> = FxHashSet::default();
        let mut callers: FxHashMap<String, Vec<String>> = FxHashMap::default();
        for op in body.block_ops(module.block()) {
            let name = symbol_name(ctx, body, op).unwrap_or_default().to_string();
            if !is_private_symbol(ctx, body, op) {
                escaping.insert(name.clone());
            }
            // References from module-level ops (exports, start, element segments, global
            // initializers) escape.
            let mut escape = |a| {
                crate::for_each_symbol_ref(ctx, a, &mut |n| {
                    if n != name {
                        escaping.insert(n.to_string());
                    }
                })
            };
            escape(body.op_attrs(op));
            let Some(child) = body.child(op) else {
                for &region in body.op_regions(op) {
                    body.preorder_region(region).into_iter().for_each(|inner| escape(body.op_attrs(inner)));
                }
                continue;
            };
            child.for_each_body(&mut |b| {
                for inner in b.preorder() {
                    let def = ctx.op_def(b.op_kind(inner));
                    let AttrData::Dict(entries) = ctx.attr_data(b.op_attrs(inner)) else { continue };
                    for &(key, value) in entries.iter() {
                        let is_call = def.has(Traits::CALL_LIKE) && ctx.ident_str(key) == "callee";
                        crate::for_each_symbol_ref(ctx, value, &mut |n| {
                            if is_call {
                                callers.entry(n.to_string()).or_default().push(name.clone());
                            } else {
                                escaping.insert(n.to_string());
                            }
                        });
                    }
                }
            });
            funcs.push((op, name));
        }
        let with_body: FxHashSet<&String> = funcs.iter().map(|(_, n)| n).collect();
        callers.retain(|callee, _| with_body.contains(callee) && !escaping.contains(callee));
        for list in callers.values_mut() {
            list.sort();
            list.dedup();
        }
        // A closed function nobody calls has no call sites: it is dead, and gets no facts.
        CallGraph { funcs, callers }
    }

    /// The functions, each after all its callers where the calls form no cycle (a cycle is
    /// entered at its first function in module order).
    fn callers_first(&self) -> Vec<(Op, String)> {
        let index: FxHashMap<&str, usize> =
            self.funcs.iter().enumerate().map(|(i, (_, n))| (n.as_str(), i)).collect();
        let mut waiting: Vec<usize> = vec![0; self.funcs.len()];
        let mut callees: Vec<Vec<usize>> = vec![Vec::new(); self.funcs.len()];
        for (callee, callers) in &self.callers {
            let Some(&to) = index.get(callee.as_str()) else { continue };
            for caller in callers {
                if let Some(&from) = index.get(caller.as_str())
                    && from != to
                {
                    waiting[to] += 1;
                    callees[from].push(to);
                }
            }
        }
        let mut ready: std::collections::BTreeSet<usize> =
            (0..self.funcs.len()).filter(|&i| waiting[i] == 0).collect();
        let mut done = vec![false; self.funcs.len()];
        let mut order = Vec::with_capacity(self.funcs.len());
        let mut next_unvisited = 0;
        while order.len() < self.funcs.len() {
            let i = match ready.pop_first() {
                Some(i) => i,
                None => {
                    while done[next_unvisited] {
                        next_unvisited += 1;
                    }
                    next_unvisited
                }
            };
            if done[i] {
                continue;
            }
            done[i] = true;
            order.push(self.funcs[i].clone());
            for &to in &callees[i] {
                waiting[to] = waiting[to].saturating_sub(1);
                if waiting[to] == 0 && !done[to] {
                    ready.insert(to);
                }
            }
        }
        order
    }
}

/// What holds for each argument at every call of one function seen so far: per argument,
/// per memory, the end up to which it was checked.
#[derive(Default)]
struct CallSiteFacts {
    args: Vec<FxHashMap<String, u64>>,
}

impl CallSiteFacts {
    /// Keeps what this call site also has (the smaller end where both have one).
    fn meet(&mut self, site: Vec<FxHashMap<String, u64>>, first: bool) {
        if first {
            self.args = site;
            return;
        }
        for (known, here) in self.args.iter_mut().zip(site) {
            known.retain(|memory, end| match here.get(memory) {
                Some(&e) => {
                    *end = (*end).min(e);
                    true
                }
                None => false,
            });
        }
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
}

/// An address as far as equality goes: an SSA value, or a global read while no write to any
/// global can have happened (Go and other compilers read their stack pointer from a global
/// at every access).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Base {
    Value(Value),
    Global(wasmir_ir::Attr, u32),
}

struct FunctionBce<'a> {
    ctx: &'a Context,
    minimums: &'a FxHashMap<String, u64>,
    rules: &'a [&'static str],
    /// The closed functions (see `CallGraph`), whose call sites are recorded in `sites`.
    closed: &'a FxHashMap<String, Vec<String>>,
    sites: &'a mut FxHashMap<String, CallSiteFacts>,
    /// The constructs (and which of their regions) that branches inside them target.
    branched_into: FxHashSet<(Op, wasmir_ir::Region)>,
    removed: Vec<Op>,
    /// Bumped by every op that may write a global (a `global.set`, a call, a construct).
    generation: u32,
    /// Each removed check with the rule that removed it.
    removed_by: Vec<(Op, &'static str)>,
    remarks: &'a mut Vec<Diagnostic>,
}

/// A decoded check.
enum Check {
    Address { memory: String, address: Value, end: u64 },
    Index { region: Value, index: Value },
}

impl FunctionBce<'_> {
    /// `entry` holds, per argument, what every caller checked it against.
    fn run(&mut self, body: &mut Body, entry: Option<&[FxHashMap<String, u64>]>) {
        let roots: Vec<Block> = body.roots().iter().flat_map(|&r| body.region_blocks(r).to_vec()).collect();
        self.branched_into = branched_into(self.ctx, body);
        if self.enabled("merge-neighbours") {
            for block in &roots {
                self.merge_neighbours(body, *block);
            }
        }
        if self.enabled("loop-induction") {
            self.hoist_loop_checks(body);
        }
        for (i, block) in roots.into_iter().enumerate() {
            let mut facts = FxHashMap::default();
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

    /// At a direct call of a closed function: what each argument is checked against here.
    fn record_call_site(&mut self, body: &Body, op: Op, facts: &FxHashMap<Fact, u64>) {
        let ctx = self.ctx;
        let Some(callee) = ctx.dict_get(body.op_attrs(op), "callee").and_then(|a| ctx.attr_as_symbol(a))
        else {
            return;
        };
        if !self.closed.contains_key(callee) {
            return;
        }
        let site: Vec<FxHashMap<String, u64>> = body
            .operands(op)
            .iter()
            .map(|&arg| {
                let base = self.base_of(body, arg);
                self.minimums
                    .keys()
                    .filter_map(|m| facts.get(&Fact::Address(m.clone(), base)).map(|&end| (m.clone(), end)))
                    .collect()
            })
            .collect();
        let first = !self.sites.contains_key(callee);
        self.sites.entry(callee.to_string()).or_default().meet(site, first);
    }

    fn enabled(&self, rule_name: &str) -> bool {
        self.rules.contains(&rule_name)
    }

    fn explain(&mut self, body: &Body, op: Op, rule_name: &'static str) {
        self.removed_by.push((op, rule_name));
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

    /// What `v` is equal to for the facts: a global's read in this generation, or itself.
    fn base_of(&self, body: &Body, v: Value) -> Base {
        let ctx = self.ctx;
        if let Some(def) = body.defining_op(v)
            && ctx.op_def(body.op_kind(def)).name == "global.get"
            && let Some(global) = ctx.dict_get(body.op_attrs(def), "global")
        {
            return Base::Global(global, self.generation);
        }
        Base::Value(v)
    }

    /// `(x, c)` when `v = x + c` with a constant `c` (unsigned, as Wasm adds).
    /// Also `wrap(extend_u(x) + c)`, which is `x + c` modulo 2^32 (how Go computes addresses).
    fn constant_offset(&self, body: &Body, v: Value) -> Option<(Value, u64)> {
        let def = body.defining_op(v)?;
        if self.ctx.op_def(body.op_kind(def)).name == "arith.wrap" {
            let (wide, c) = self.constant_offset(body, body.operands(def)[0])?;
            let ext = body.defining_op(wide)?;
            if self.ctx.op_def(body.op_kind(ext)).name != "arith.extend_u" {
                return None;
            }
            return Some((body.operands(ext)[0], c & 0xFFFF_FFFF));
        }
        if self.ctx.op_def(body.op_kind(def)).name != "arith.addi" {
            return None;
        }
        let operands = body.operands(def);
        match (self.int_constant(body, operands[0]), self.int_constant(body, operands[1])) {
            (_, Some(c)) => Some((operands[0], c)),
            (Some(c), None) => Some((operands[1], c)),
            _ => None,
        }
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
    /// proves; `facts` holds what dominating checks established. Returns what holds where
    /// control leaves the block: the facts established before its first op that may leave it
    /// early (a branch, a return, or a construct that might hold one), which hold at every
    /// branch out; and the facts at its end when it falls through (`None` when it cannot).
    fn eliminate(&mut self, body: &Body, block: Block, facts: &mut FxHashMap<Fact, u64>) -> Exits {
        let ctx = self.ctx;
        let ops: Vec<Op> = body.block_ops(block).collect();
        let mut on_exit: Option<FxHashMap<Fact, u64>> = None;
        for op in ops {
            let def = ctx.op_def(body.op_kind(op));
            let leaves_early = def.branch_depths.is_some()
                || def.has(Traits::RETURN_LIKE)
                || !body.op_regions(op).is_empty();
            if leaves_early && on_exit.is_none() {
                on_exit = Some(facts.clone());
            }
            if def.has(Traits::CALL_LIKE) {
                self.record_call_site(body, op, facts);
            }
            if def.has(Traits::CALL_LIKE) || def.name == "global.set" {
                self.generation += 1;
            }
            // A check merge-neighbours already folded into an earlier one is gone.
            if self.removed.contains(&op) {
                continue;
            }
            if let Some(check) = self.decode(body, op) {
                match check {
                    Check::Address { memory, address, end } => {
                        let minimum = self.minimums.get(&memory).copied().unwrap_or(0);
                        if self.enabled("constant-address")
                            && let Some((bound, _)) = self.upper_bound(body, address)
                            && bound.saturating_add(end) <= minimum
                        {
                            self.explain(body, op, "constant-address");
                            self.removed.push(op);
                            continue;
                        }
                        // `x + c` is covered by a passed check of `x + c'` with `c' <= c` reaching
                        // at least `c + end` (for `c' = 0`, a check of `x` itself): either both
                        // sums wrap or neither does, so `x + c + end` is within that check's end.
                        let span =
                            self.constant_offset(body, address).map(|(b, c)| (self.base_of(body, b), c));
                        let via_base = span.as_ref().is_some_and(|&(base, c)| {
                            facts.get(&Fact::Address(memory.clone(), base)).is_some_and(|&known| known >= c.saturating_add(end))
                                || facts.iter().any(|(fact, &reach)| {
                                    matches!(fact, Fact::Span(m, b, start) if *m == memory && *b == base && *start <= c)
                                        && reach >= c.saturating_add(end)
                                })
                        });
                        let key = Fact::Address(memory.clone(), self.base_of(body, address));
                        let dominated_on = self.enabled("dominated");
                        let entry = Fact::Entry(memory.clone(), self.base_of(body, address));
                        match facts.get(&key) {
                            Some(_) if facts.get(&entry).is_some_and(|&e| e >= end) => {
                                self.explain(body, op, "checked-by-callers");
                                self.removed.push(op);
                            }
                            Some(&known) if dominated_on && known >= end => {
                                self.explain(body, op, "dominated");
                                self.removed.push(op);
                            }
                            _ if dominated_on && via_base => {
                                self.explain(body, op, "dominated");
                                self.removed.push(op);
                            }
                            _ => {
                                if let Some((base, c)) = span {
                                    let reach = facts.entry(Fact::Span(memory, base, c)).or_insert(0);
                                    *reach = (*reach).max(c.saturating_add(end));
                                }
                                facts.insert(key, end);
                            }
                        }
                    }
                    Check::Index { region, index } => {
                        // The region rules rely on INV-MEM-002 and INV-POD-001: a region whose
                        // element type is not Pod (IR that skipped verification) is an error.
                        let elem = wasmir_dialects::memory::region_type(ctx, body.value_type(region))
                            .map(|r| r.elem);
                        if !elem.is_some_and(|t| wasmir_dialects::memory::is_pod(ctx, t)) {
                            self.remarks.push(Diagnostic::error(
                                body.op_loc(op),
                                "'memory.check' op: bce's region rules need a region of Pod elements (INV-POD-001, INV-MEM-002); this check's subject is not one",
                            ));
                            continue;
                        }
                        if self.enabled("constant-index")
                            && let (Some((bound, _)), Some(len)) =
                                (self.upper_bound(body, index), self.constant_len(body, region))
                            && bound < len
                        {
                            self.explain(body, op, "constant-index");
                            self.removed.push(op);
                            continue;
                        }
                        let key = Fact::Index(region, index);
                        if self.enabled("dominated") && facts.contains_key(&key) {
                            self.explain(body, op, "dominated");
                            self.removed.push(op);
                        } else {
                            facts.insert(key, 0);
                        }
                    }
                }
                continue;
            }
            // After a construct, control arrives from the fallthrough of its regions and from
            // branches to it (a loop's branches to it continue it instead): a region reached
            // by such a branch contributes the facts that hold at every branch, its prefix; one
            // that only falls through contributes its end. What every contribution has, holds.
            let mut after: Option<FxHashMap<Fact, u64>> = None;
            for &region in body.op_regions(op) {
                let contribution = match body.region_blocks(region).first() {
                    Some(&inner) => {
                        let exits = self.eliminate(body, inner, &mut facts.clone());
                        if !def.has(Traits::LOOP) && self.branched_into.contains(&(op, region)) {
                            Some(exits.prefix)
                        } else {
                            exits.end
                        }
                    }
                    None => Some(facts.clone()),
                };
                let Some(contribution) = contribution else { continue };
                after = Some(match after {
                    None => contribution,
                    Some(previous) => previous
                        .into_iter()
                        .filter_map(|(fact, end)| contribution.get(&fact).map(|&e| (fact, end.min(e))))
                        .collect(),
                });
            }
            if def.has(Traits::LABEL)
                && let Some(after) = after
            {
                *facts = after;
            }
            if !body.op_regions(op).is_empty() {
                self.generation += 1;
            }
        }
        // The block falls through unless it ends by branching, returning or trapping.
        let falls_through = body.block_last(block).is_none_or(|last| {
            let def = ctx.op_def(body.op_kind(last));
            !def.has(Traits::TERMINATOR)
                || (def.branch_depths.is_none()
                    && !def.has(Traits::RETURN_LIKE)
                    && !def.has(Traits::MAY_TRAP))
        });
        Exits { prefix: on_exit.unwrap_or_else(|| facts.clone()), end: falls_through.then(|| facts.clone()) }
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
            || (def.name == "memory.elem_load" && self.ctx.dict_get(body.op_attrs(op), "unchecked").is_some())
    }

    fn merge_neighbours(&mut self, body: &mut Body, block: Block) {
        let ops: Vec<Op> = body.block_ops(block).collect();
        for (i, &first) in ops.iter().enumerate() {
            if self.removed.contains(&first) {
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
                if self.removed.contains(&later) {
                    continue;
                }
                match self.decode(body, later) {
                    Some(Check::Address { memory: m, address: a, end: e })
                        if m == memory && self.base_of(body, a) == self.base_of(body, address) =>
                    {
                        if e > widest {
                            widest = e;
                        }
                        self.explain(body, later, "merge-neighbours");
                        self.removed.push(later);
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
                        self.removed.push(op);
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
struct Exits {
    prefix: FxHashMap<Fact, u64>,
    end: Option<FxHashMap<Fact, u64>>,
}

/// Every (construct, region of it) that a branch inside that region targets, found in one walk
/// with the stack of enclosing labels (a branch of depth d targets the d-th label out).
fn branched_into(ctx: &Context, body: &Body) -> FxHashSet<(Op, wasmir_ir::Region)> {
    fn walk(
        ctx: &Context,
        body: &Body,
        region: wasmir_ir::Region,
        labels: &mut Vec<(Op, wasmir_ir::Region)>,
        out: &mut FxHashSet<(Op, wasmir_ir::Region)>,
    ) {
        for &block in body.region_blocks(region) {
            for op in body.block_ops(block) {
                let def = ctx.op_def(body.op_kind(op));
                if let Some(depths) = def.branch_depths {
                    for depth in depths(wasmir_ir::OpRef::new(ctx, body, op)) {
                        if let Some(&target) =
                            labels.len().checked_sub(1 + depth as usize).map(|i| &labels[i])
                        {
                            out.insert(target);
                        }
                    }
                }
                let is_label = def.has(Traits::LABEL);
                for &inner in body.op_regions(op) {
                    if is_label {
                        labels.push((op, inner));
                    }
                    walk(ctx, body, inner, labels, out);
                    if is_label {
                        labels.pop();
                    }
                }
            }
        }
    }
    let mut out = FxHashSet::default();
    for &root in body.roots() {
        walk(ctx, body, root, &mut Vec::new(), &mut out);
    }
    out
}

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
