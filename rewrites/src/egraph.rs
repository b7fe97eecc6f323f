//! `egraph-simplify`: equality saturation over each function's pure dataflow, on egg.
//!
//! Every op declared `PURE` with one result and no regions becomes an e-node, from any
//! dialect, with no per-dialect glue: the node is the op's kind, attributes and result type.
//! Everything else (side effects, control flow, block arguments) stays as the skeleton; its
//! values enter the e-graph as leaves. An e-class analysis tracks constants and an unsigned
//! upper bound. Rules (below, each citing invariants) add equal forms under node, iteration
//! and time limits; extraction picks the cheapest form of every class, and write-back rebuilds
//! a pure op only when its cheapest form differs and every value that form uses dominates it.

use crate::rules::PassRule;
use egg::{CostFunction, DidMerge, EGraph, Extractor, Id, Language, RecExpr};
use smallvec::SmallVec;
use std::time::{Duration, Instant};
use wasmir_dialects::arith::semantics;
use wasmir_ir::pass::{FunctionPass, FunctionUnit, PassImpl, PassInfo, PassOptionSpec, PassOptions};
use wasmir_ir::registry::OpKind;
use wasmir_ir::{
    Attr, AttrData, Body, Builder, Context, Diagnostic, FxHashMap, Op, Traits, Type, Value, ValueDef,
};

/// The rules, for `--list-rewrites` and the contract verifier.
pub const RULES: &[PassRule] = &[
    PassRule {
        name: "fold",
        identity: "op(c1, c2) == c, Wasm's exact integer semantics",
        citations: &["INV-ARITH-001", "INV-ARITH-002", "INV-ARITH-006"],
    },
    PassRule {
        name: "add-zero",
        identity: "x + 0 == x, x - 0 == x, x | 0 == x, x ^ 0 == x",
        citations: &["INV-ARITH-001"],
    },
    PassRule { name: "mul-one", identity: "x * 1 == x", citations: &["INV-ARITH-001"] },
    PassRule {
        name: "mul-zero",
        identity: "x * 0 == 0, x & 0 == 0",
        citations: &["INV-ARITH-001", "INV-CORE-006"],
    },
    PassRule {
        name: "self-cancel",
        identity: "x - x == 0, x ^ x == 0",
        citations: &["INV-ARITH-001", "INV-CORE-006"],
    },
    PassRule {
        name: "idempotent",
        identity: "x & x == x, x | x == x, x & -1 == x",
        citations: &["INV-ARITH-001"],
    },
    PassRule {
        name: "shift-zero",
        identity: "x << 0 == x, x >> 0 == x (counts modulo the width)",
        citations: &["INV-ARITH-002"],
    },
    PassRule {
        name: "mul-pow2",
        identity: "x * 2^k == x << k (wrapping)",
        citations: &["INV-ARITH-001", "INV-ARITH-002"],
    },
    PassRule {
        name: "add-add-const",
        identity: "(x + c1) + c2 == x + (c1 + c2) (wrapping)",
        citations: &["INV-ARITH-001"],
    },
    PassRule {
        name: "wrap-extend",
        identity: "wrap(extend_u x) == x, wrap(extend_s x) == x",
        citations: &["INV-ARITH-008"],
    },
    PassRule {
        name: "wrap-or-high",
        identity: "wrap(x | h) == wrap(x) when h's low 32 bits are 0 (h = y << 32 or a constant)",
        citations: &["INV-ARITH-008", "INV-ARITH-002"],
    },
    PassRule {
        name: "shr-or-high",
        identity: "(x | (y << 32)) >>u 32 == y when x, y < 2^32 (and for a constant high half)",
        citations: &["INV-ARITH-008", "INV-ARITH-002"],
    },
    PassRule {
        name: "and-below-mask",
        identity: "x & m == x when x <= m and m + 1 is a power of two",
        citations: &["INV-ARITH-001"],
    },
];

pub(crate) const INFO: PassInfo = PassInfo {
    name: "egraph-simplify",
    summary: "Equality saturation over pure dataflow (egg): folding, identities, strength reduction",
    options: &[
        PassOptionSpec {
            name: "node-limit",
            doc: "Stop saturating past this many e-nodes",
            default: "20000",
        },
        PassOptionSpec { name: "iter-limit", doc: "At most this many rounds of all rules", default: "8" },
        PassOptionSpec {
            name: "time-limit-ms",
            doc: "Stop saturating after this long per function",
            default: "200",
        },
        crate::rules::RULES_OPTION,
    ],
    create: |o: &PassOptions| {
        let rules = crate::rules::selected_rules(o, "egraph-simplify", RULES)?;
        Ok(PassImpl::Function(Box::new(EgraphSimplify {
            limits: Limits {
                nodes: o.get_u32("node-limit")? as usize,
                iterations: o.get_u32("iter-limit")?,
                time: Duration::from_millis(u64::from(o.get_u32("time-limit-ms")?)),
            },
            rules,
        })))
    },
};

/// Saturation limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub nodes: usize,
    pub iterations: u32,
    pub time: Duration,
}

/// The pass.
#[derive(Clone, Debug)]
pub struct EgraphSimplify {
    pub limits: Limits,
    /// The names of the rules that run.
    pub rules: Vec<&'static str>,
}

/// An e-node: a pure op (kind, attributes, result type, operands) or a skeleton value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Node {
    Op { kind: OpKind, attrs: Attr, ty: Type, args: SmallVec<[Id; 2]> },
    Leaf(Value),
}

impl Language for Node {
    type Discriminant = (Option<(OpKind, Attr, Type)>, Option<Value>);

    fn discriminant(&self) -> Self::Discriminant {
        match self {
            Node::Op { kind, attrs, ty, .. } => (Some((*kind, *attrs, *ty)), None),
            Node::Leaf(v) => (None, Some(*v)),
        }
    }

    fn matches(&self, other: &Self) -> bool {
        match (self, other) {
            (Node::Op { kind, attrs, ty, args }, Node::Op { kind: k, attrs: a, ty: t, args: g }) => {
                kind == k && attrs == a && ty == t && args.len() == g.len()
            }
            (Node::Leaf(a), Node::Leaf(b)) => a == b,
            _ => false,
        }
    }

    fn children(&self) -> &[Id] {
        match self {
            Node::Op { args, .. } => args,
            Node::Leaf(_) => &[],
        }
    }

    fn children_mut(&mut self) -> &mut [Id] {
        match self {
            Node::Op { args, .. } => args,
            Node::Leaf(_) => &mut [],
        }
    }
}

/// What the analysis knows of a class: its type, its constant value (integers, masked to the
/// width), an unsigned upper bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub ty: Type,
    pub constant: Option<u64>,
    pub max: Option<u64>,
}

/// The e-class analysis. It needs the context to name ops and read attributes.
pub struct Analysis<'a> {
    ctx: &'a Context,
    /// Leaves' types.
    leaf_types: FxHashMap<Value, Type>,
    /// Leaves known to be small: zero-extending loads narrower than their type.
    leaf_max: FxHashMap<Value, u64>,
}

impl std::fmt::Debug for Analysis<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analysis")
    }
}

fn width(ty: Type) -> Option<u8> {
    match ty {
        Type::I32 => Some(32),
        Type::I64 => Some(64),
        _ => None,
    }
}

impl egg::Analysis<Node> for Analysis<'_> {
    type Data = Facts;

    fn make(egraph: &mut EGraph<Node, Self>, enode: &Node, _id: Id) -> Facts {
        let ctx = egraph.analysis.ctx;
        let (kind, attrs, ty, args) = match enode {
            Node::Leaf(v) => {
                let ty = egraph.analysis.leaf_types.get(v).copied().unwrap_or(Type::NONE);
                let max = egraph.analysis.leaf_max.get(v).copied();
                return Facts { ty, constant: None, max };
            }
            Node::Op { kind, attrs, ty, args } => (*kind, *attrs, *ty, args),
        };
        let def = ctx.op_def(kind);
        let child = |i: usize| &egraph[args[i]].data;
        let w = width(ty);
        let mut constant = None;
        if def.has(Traits::CONSTANT_LIKE) {
            constant = ctx.dict_get(attrs, "value").and_then(|a| match ctx.attr_data(a) {
                AttrData::Int { value, .. } => w.map(|w| (*value as u64) & semantics::mask(w)),
                _ => None,
            });
        } else if let Some(short) = def.name.strip_prefix("arith.") {
            let consts: Option<Vec<u64>> = args.iter().map(|&a| egraph[a].data.constant).collect();
            if let (Some(c), Some(w)) = (consts, w) {
                let from = args.first().and_then(|&a| width(egraph[a].data.ty));
                constant = match (c.as_slice(), short) {
                    ([a, b], "cmpi") => {
                        let pred = ctx.dict_get(attrs, "predicate").and_then(|p| ctx.attr_as_str(p));
                        pred.zip(from)
                            .and_then(|(p, fw)| semantics::int_compare(p, fw, *a, *b))
                            .map(u64::from)
                    }
                    ([a, b], op) if from == Some(w) => semantics::int_binary(op, w, *a, *b),
                    ([a], "eqz") => from.map(|fw| u64::from(*a & semantics::mask(fw) == 0)),
                    ([a], "wrap") => Some(*a & 0xFFFF_FFFF),
                    ([a], "extend_u") => Some(*a & 0xFFFF_FFFF),
                    ([a], "extend_s") => Some(i64::from(*a as u32 as i32) as u64),
                    ([a], op) if from == Some(w) => semantics::int_unary(op, w, *a),
                    _ => None,
                };
            }
        }
        let max = constant.or_else(|| {
            let (short, w) = (def.name.strip_prefix("arith.")?, w?);
            let maxes: Vec<u64> = (0..args.len())
                .map(|i| child(i).max.unwrap_or_else(|| width(child(i).ty).map_or(u64::MAX, semantics::mask)))
                .collect();
            let constants: Vec<Option<u64>> = (0..args.len()).map(|i| child(i).constant).collect();
            semantics::int_upper_bound(short, w, &maxes, &constants).filter(|&m| m < semantics::mask(w))
        });
        Facts { ty, constant, max }
    }

    fn merge(&mut self, to: &mut Facts, from: Facts) -> DidMerge {
        let mut changed_to = false;
        if to.constant.is_none() && from.constant.is_some() {
            to.constant = from.constant;
            changed_to = true;
        }
        let max = match (to.max, from.max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if max != to.max {
            to.max = max;
            changed_to = true;
        }
        DidMerge(changed_to, true)
    }
}

type Graph<'a> = EGraph<Node, Analysis<'a>>;

/// Extraction cost: leaves are free, constants and cheap ALU ops cost 1, multiplication 4,
/// anything else 2; a tree costs the sum.
struct Cost<'a> {
    ctx: &'a Context,
}

impl CostFunction<Node> for Cost<'_> {
    type Cost = u64;
    fn cost<C: FnMut(Id) -> u64>(&mut self, enode: &Node, mut costs: C) -> u64 {
        let own = match enode {
            Node::Leaf(_) => 0,
            Node::Op { kind, .. } => match self.ctx.op_def(*kind).name {
                "arith.constant" => 1,
                "arith.muli" => 4,
                "arith.addi" | "arith.subi" | "arith.andi" | "arith.ori" | "arith.xori" | "arith.shli"
                | "arith.shrui" | "arith.shrsi" | "arith.wrap" | "arith.extend_u" | "arith.extend_s" => 1,
                _ => 2,
            },
        };
        enode.children().iter().fold(own, |sum, &c| sum.saturating_add(costs(c)))
    }
}

impl FunctionPass for EgraphSimplify {
    fn run(&self, ctx: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic> {
        simplify_body(ctx, func.body, self.limits, &self.rules).remarks
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Pure ops rebuilt in a cheaper form.
    pub rewritten: usize,
    /// E-nodes at the end.
    pub nodes: usize,
    /// Rule applications that added something.
    pub applications: usize,
    /// `--explain-rewrites` remarks.
    pub remarks: Vec<Diagnostic>,
}

/// Whether `op` joins the e-graph: pure, one result, no regions.
fn participates(ctx: &Context, body: &Body, op: Op) -> bool {
    let def = ctx.op_def(body.op_kind(op));
    def.has(Traits::PURE)
        && body.results(op).len() == 1
        && body.op_regions(op).is_empty()
        && body.child(op).is_none()
}

/// The largest value a zero-extending load narrower than its type gives (any op with `width`
/// bits and `sign = "u"`).
fn narrow_load_max(ctx: &Context, body: &Body, v: Value) -> Option<u64> {
    let op = body.defining_op(v)?;
    let attrs = body.op_attrs(op);
    let width = ctx.dict_get(attrs, "width").and_then(|a| ctx.attr_as_int(a))?;
    let unsigned = ctx.dict_get(attrs, "sign").and_then(|a| ctx.attr_as_str(a)) == Some("u");
    (unsigned && (1..64).contains(&width)).then(|| (1u64 << width) - 1)
}

/// Runs the e-graph over one function body.
pub fn simplify_body(ctx: &Context, body: &mut Body, limits: Limits, rules: &[&'static str]) -> Report {
    let ops: Vec<Op> = body.preorder().into_iter().filter(|&op| participates(ctx, body, op)).collect();
    let mut report = Report::default();
    if ops.is_empty() {
        return report;
    }
    let mut graph: Graph<'_> =
        EGraph::new(Analysis { ctx, leaf_types: FxHashMap::default(), leaf_max: FxHashMap::default() });
    let mut class_of: FxHashMap<Value, Id> = FxHashMap::default();
    let mut origin: FxHashMap<Id, Op> = FxHashMap::default();
    for &op in &ops {
        let args: SmallVec<[Id; 2]> = body
            .operands(op)
            .iter()
            .map(|&v| match class_of.get(&v) {
                Some(&id) => id,
                None => {
                    graph.analysis.leaf_types.insert(v, body.value_type(v));
                    if let Some(max) = narrow_load_max(ctx, body, v) {
                        graph.analysis.leaf_max.insert(v, max);
                    }
                    let id = graph.add(Node::Leaf(v));
                    class_of.insert(v, id);
                    id
                }
            })
            .collect();
        let result = body.results(op)[0];
        let node =
            Node::Op { kind: body.op_kind(op), attrs: body.op_attrs(op), ty: body.value_type(result), args };
        let id = graph.add(node);
        class_of.insert(result, id);
        origin.entry(id).or_insert(op);
    }
    graph.rebuild();
    let mut saturation = Saturation { ctx, graph, rules, applications: 0, log: Vec::new() };
    saturation.run(limits);
    let Saturation { graph, applications, log, .. } = saturation;
    report.applications = applications;
    report.nodes = graph.total_number_of_nodes();
    if ctx.explain_rewrites() {
        for (class, rule_name) in log {
            let loc =
                origin.get(&class).or_else(|| origin.get(&graph.find(class))).map(|&op| body.op_loc(op));
            let r = RULES.iter().find(|r| r.name == rule_name).expect("a declared rule");
            report.remarks.push(Diagnostic::remark(
                loc.unwrap_or(wasmir_ir::Location::Unknown),
                format!("egraph-simplify.{}: {} [{}]", r.name, r.identity, r.citations.join(", ")),
            ));
        }
    }
    let extractor = Extractor::new(&graph, Cost { ctx });
    let order: FxHashMap<Op, usize> =
        body.preorder().into_iter().enumerate().map(|(i, op)| (op, i)).collect();
    for op in ops {
        if !body.is_alive(op) {
            continue;
        }
        let result = body.results(op)[0];
        let Some(&id) = class_of.get(&result) else { continue };
        // The op's own node over its operands' cheapest forms: when the class's cheapest
        // form costs as much, the op is already the best root and only operands may change
        // (they are ops of their own).
        let own = {
            let node = Node::Op {
                kind: body.op_kind(op),
                attrs: body.op_attrs(op),
                ty: body.value_type(result),
                args: body.operands(op).iter().filter_map(|v| class_of.get(v).copied()).collect(),
            };
            Cost { ctx }.cost(&node, |c| extractor.find_best_cost(c))
        };
        if extractor.find_best_cost(id) >= own {
            continue;
        }
        let best = extractor.find_best(id).1;
        if let Some(value) = write_back(ctx, body, op, &best, &order) {
            body.replace_all_uses(result, value);
            report.rewritten += 1;
        }
    }
    report
}

/// Whether `value` is available at `op`: defined by an op earlier in `op`'s block or an
/// enclosing one, or an argument of such a block.
fn dominates(body: &Body, value: Value, op: Op, order: &FxHashMap<Op, usize>) -> bool {
    let (def_block, def_op) = match body.value_def(value) {
        ValueDef::BlockArg { block, .. } => (block, None),
        ValueDef::Result { op: d, .. } => match body.op_block(d) {
            Some(b) => (b, Some(d)),
            None => return false,
        },
    };
    let mut at = op;
    loop {
        if body.op_block(at) == Some(def_block) {
            let Some(d) = def_op else { return true };
            return matches!((order.get(&d), order.get(&at)), (Some(a), Some(b)) if a < b);
        }
        match body.parent_op(at) {
            Some(p) => at = p,
            None => return false,
        }
    }
}

/// Builds `expr` before `op`, reusing leaves; `None` when a leaf is not available there.
fn write_back(
    ctx: &Context,
    body: &mut Body,
    op: Op,
    expr: &RecExpr<Node>,
    order: &FxHashMap<Op, usize>,
) -> Option<Value> {
    let nodes = expr.as_ref();
    if nodes
        .iter()
        .any(|n| matches!(n, Node::Leaf(v) if !body.contains_value(*v) || !dominates(body, *v, op, order)))
    {
        return None;
    }
    let loc = body.op_loc(op);
    let mut values: Vec<Value> = Vec::with_capacity(nodes.len());
    for node in nodes {
        let value = match node {
            Node::Leaf(v) => *v,
            Node::Op { kind, attrs, ty, args } => {
                let mut b = Builder::before(ctx, body, op);
                b.loc = loc;
                let mut new = wasmir_ir::NewOp::new(*kind, loc);
                new.operands = args.iter().map(|&a| values[usize::from(a)]).collect();
                new.result_types = smallvec::smallvec![*ty];
                new.attrs = *attrs;
                let created = b.create(new);
                b.body.results(created)[0]
            }
        };
        values.push(value);
    }
    values.last().copied()
}

/// A value with bits only in the high half of an i64.
enum HighHalf {
    /// `y << 32`.
    Shifted(Id),
    /// A constant with its low 32 bits zero.
    Constant(u64),
}

/// The rule engine: each round applies every enabled rule to every class, then rebuilds.
struct Saturation<'a, 'r> {
    ctx: &'a Context,
    graph: Graph<'a>,
    rules: &'r [&'static str],
    applications: usize,
    /// (class, rule) for every application that added something.
    log: Vec<(Id, &'static str)>,
}

impl Saturation<'_, '_> {
    fn run(&mut self, limits: Limits) {
        let start = Instant::now();
        for _ in 0..limits.iterations {
            let before = (self.graph.total_number_of_nodes(), self.graph.number_of_classes());
            let unions_before = self.applications;
            let classes: Vec<Id> = self.graph.classes().map(|c| c.id).collect();
            for class in classes {
                let nodes: Vec<Node> = self.graph[class].nodes.clone();
                for node in nodes {
                    self.apply_rules(class, &node);
                }
                // `total_size` (the hash-cons) is O(1); `total_number_of_nodes` walks every class.
                if self.graph.total_size() > limits.nodes || start.elapsed() > limits.time {
                    self.graph.rebuild();
                    return;
                }
            }
            self.graph.rebuild();
            let after = (self.graph.total_number_of_nodes(), self.graph.number_of_classes());
            if after == before && self.applications == unions_before {
                return; // saturated
            }
        }
    }

    fn enabled(&self, rule: &str) -> bool {
        self.rules.contains(&rule)
    }

    fn constant_node(&mut self, ty: Type, value: u64) -> Option<Id> {
        let ctx = self.ctx;
        let kind = ctx.registry().lookup_op("arith.constant")?;
        let signed = match ty {
            Type::I32 => i64::from(value as u32 as i32),
            _ => value as i64,
        };
        let attrs = ctx.dict_attr(vec![(ctx.ident("value"), ctx.int_attr(signed, ty))]);
        Some(self.graph.add(Node::Op { kind, attrs, ty, args: SmallVec::new() }))
    }

    fn op_node(&mut self, name: &str, ty: Type, args: &[Id]) -> Option<Id> {
        let kind = self.ctx.registry().lookup_op(name)?;
        Some(self.graph.add(Node::Op { kind, attrs: Attr::EMPTY_DICT, ty, args: args.into() }))
    }

    fn union(&mut self, class: Id, other: Id, rule: &'static str) {
        if self.graph.find(class) != self.graph.find(other) {
            self.graph.union(class, other);
            self.applications += 1;
            self.log.push((class, rule));
        }
    }

    /// Whether class `id` only has bits in the high 32 of an i64: `y << 32`, or a constant
    /// whose low 32 bits are zero.
    fn is_high_half(&self, id: Id) -> Option<HighHalf> {
        if let Some(k) = self.graph[id].data.constant {
            return (k & 0xFFFF_FFFF == 0).then_some(HighHalf::Constant(k));
        }
        let shl = self.node_of(id, "arith.shli")?;
        (self.graph[shl[1]].data.constant == Some(32)).then_some(HighHalf::Shifted(shl[0]))
    }

    /// Whether class `id` holds a node of op `name`; its arguments if so.
    fn node_of(&self, id: Id, name: &str) -> Option<SmallVec<[Id; 2]>> {
        self.graph[id].nodes.iter().find_map(|n| match n {
            Node::Op { kind, args, .. } if self.ctx.op_def(*kind).name == name => Some(args.clone()),
            _ => None,
        })
    }

    fn apply_rules(&mut self, class: Id, node: &Node) {
        let Node::Op { kind, ty, args, .. } = node else { return };
        let (ty, args) = (*ty, args.clone());
        let name = self.ctx.op_def(*kind).name;
        let facts = self.graph[class].data.clone();
        let Some(w) = width(ty) else { return };
        let mask = semantics::mask(w);
        let c = |s: &Self, i: usize| args.get(i).and_then(|&a| s.graph[a].data.constant);
        // fold
        if self.enabled("fold")
            && let Some(value) = facts.constant
            && name != "arith.constant"
            && let Some(k) = self.constant_node(ty, value)
        {
            self.union(class, k, "fold");
        }
        match (name, args.len()) {
            ("arith.addi" | "arith.subi" | "arith.ori" | "arith.xori", 2)
                if self.enabled("add-zero") && c(self, 1) == Some(0) =>
            {
                self.union(class, args[0], "add-zero");
            }
            ("arith.muli", 2) if self.enabled("mul-one") && c(self, 1) == Some(1) => {
                self.union(class, args[0], "mul-one")
            }
            ("arith.muli" | "arith.andi", 2) if self.enabled("mul-zero") && c(self, 1) == Some(0) => {
                if let Some(k) = self.constant_node(ty, 0) {
                    self.union(class, k, "mul-zero");
                }
            }
            ("arith.subi" | "arith.xori", 2)
                if self.enabled("self-cancel") && self.graph.find(args[0]) == self.graph.find(args[1]) =>
            {
                if let Some(k) = self.constant_node(ty, 0) {
                    self.union(class, k, "self-cancel");
                }
            }
            ("arith.andi" | "arith.ori", 2)
                if self.enabled("idempotent") && self.graph.find(args[0]) == self.graph.find(args[1]) =>
            {
                self.union(class, args[0], "idempotent");
            }
            ("arith.andi", 2) if self.enabled("idempotent") && c(self, 1) == Some(mask) => {
                self.union(class, args[0], "idempotent")
            }
            ("arith.shli" | "arith.shrui" | "arith.shrsi" | "arith.rotli" | "arith.rotri", 2)
                if self.enabled("shift-zero") && c(self, 1).is_some_and(|k| k % u64::from(w) == 0) =>
            {
                self.union(class, args[0], "shift-zero");
            }
            ("arith.muli", 2) if self.enabled("mul-pow2") => {
                if let Some(k) = c(self, 1).filter(|k| *k > 1 && k.is_power_of_two())
                    && let Some(shift) = self.constant_node(ty, u64::from(k.trailing_zeros()))
                    && let Some(shl) = self.op_node("arith.shli", ty, &[args[0], shift])
                {
                    self.union(class, shl, "mul-pow2");
                }
            }
            ("arith.addi", 2) if self.enabled("add-add-const") => {
                if let Some(c2) = c(self, 1)
                    && let Some(inner) = self.node_of(args[0], "arith.addi")
                    && let Some(c1) = self.graph[inner[1]].data.constant
                    && let Some(k) = self.constant_node(ty, c1.wrapping_add(c2) & mask)
                    && let Some(sum) = self.op_node("arith.addi", ty, &[inner[0], k])
                {
                    self.union(class, sum, "add-add-const");
                }
            }
            ("arith.wrap", 1) => {
                if self.enabled("wrap-extend") {
                    for ext in ["arith.extend_u", "arith.extend_s"] {
                        if let Some(inner) = self.node_of(args[0], ext) {
                            self.union(class, inner[0], "wrap-extend");
                        }
                    }
                }
                if self.enabled("wrap-or-high")
                    && let Some(or) = self.node_of(args[0], "arith.ori")
                    && self.is_high_half(or[1]).is_some()
                    && let Some(low) = self.op_node("arith.wrap", Type::I32, &[or[0]])
                {
                    self.union(class, low, "wrap-or-high");
                }
            }
            ("arith.shrui", 2) if self.enabled("shr-or-high") && c(self, 1) == Some(32) && w == 64 => {
                if let Some(or) = self.node_of(args[0], "arith.ori")
                    && self.graph[or[0]].data.max.is_some_and(|m| m <= 0xFFFF_FFFF)
                {
                    match self.is_high_half(or[1]) {
                        Some(HighHalf::Shifted(y))
                            if self.graph[y].data.max.is_some_and(|m| m <= 0xFFFF_FFFF) =>
                        {
                            self.union(class, y, "shr-or-high");
                        }
                        Some(HighHalf::Constant(k)) => {
                            if let Some(high) = self.constant_node(Type::I64, k >> 32) {
                                self.union(class, high, "shr-or-high");
                            }
                        }
                        _ => {}
                    }
                }
            }
            ("arith.andi", 2) if self.enabled("and-below-mask") => {
                if let Some(m) = c(self, 1)
                    && m.checked_add(1).is_some_and(u64::is_power_of_two)
                    && self.graph[args[0]].data.max.is_some_and(|x| x <= m)
                {
                    self.union(class, args[0], "and-below-mask");
                }
            }
            _ => {}
        }
    }
}
