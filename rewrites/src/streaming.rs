//! `streaming-order`: lays the module's functions out in the order a streaming compiler
//! meets them. The start function and the exports come first, then what they call in
//! call-graph order (depth first, callees in the order their calls appear), so the code that
//! runs first downloads first. Cold code goes last: functions reached only from calls on a
//! path that ends in a trap (`call $panic; unreachable`, as Rust and C emit for panics and
//! aborts), or that a call-count profile says never ran. With a profile, the functions that
//! ran come first, most called first. Functions nothing reaches close the order.
//!
//! Only definitions move: the function index space is module order after imports, and every
//! reference is by symbol, so behaviour cannot change (INV-CORE-009). Sections are already laid
//! out for streaming by the Wasm emitter: code before data, custom sections (names included)
//! after every standard section.

use crate::for_each_symbol_ref;
use wasmir_ir::pass::{ModulePass, PassImpl, PassInfo, PassOptionSpec, PassOptions};
use wasmir_ir::{Body, Context, Diagnostic, FxHashMap, Module, Op, OpRef, Traits, symbol_name};

pub(crate) const INFO: PassInfo = PassInfo {
    name: "streaming-order",
    summary: "Order functions for streaming compilation: entry points and call-graph order first, cold code last",
    options: &[PassOptionSpec {
        name: "profile",
        doc: "JSON file of call counts per function name ({\"f\": 120, ...}); hot functions first",
        default: "",
    }],
    create: |o: &PassOptions| {
        let path = o.get("profile");
        let profile = if path.is_empty() { None } else { Some(read_profile(path)?) };
        Ok(PassImpl::Module(Box::new(StreamingOrder { profile })))
    },
};

/// Call counts by function name, as `--profile-use` reads them.
pub type CallCounts = FxHashMap<String, u64>;

/// Reads a call-count profile: a JSON object from function names to counts.
pub fn read_profile(path: &str) -> Result<CallCounts, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read profile `{path}`: {e}"))?;
    parse_profile(&text).map_err(|e| format!("profile `{path}`: {e}"))
}

/// Parses a call-count profile (see [`read_profile`]).
pub fn parse_profile(text: &str) -> Result<CallCounts, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(entries) = value else {
        return Err("expected an object from function names to call counts".into());
    };
    entries
        .into_iter()
        .map(|(name, count)| match count.as_u64() {
            Some(n) => Ok((name, n)),
            None => Err(format!("the count of `{name}` is not an unsigned integer: {count}")),
        })
        .collect()
}

/// `streaming-order`, optionally guided by a call-count profile.
#[derive(Debug, Clone, Default)]
pub struct StreamingOrder {
    pub profile: Option<CallCounts>,
}

/// A direct reference from one function to another, and whether it sits on a cold path.
struct Edge {
    callee: usize,
    cold: bool,
}

/// Whether `op` is followed, in its own block, by `control.unreachable`: then it runs only on
/// the way to a trap. (A terminator, so it can only be the block's last op.)
fn on_trap_path(ctx: &Context, body: &Body, op: Op) -> bool {
    body.op_block(op)
        .and_then(|b| body.block_last(b))
        .is_some_and(|last| last != op && OpRef::new(ctx, body, last).name() == "control.unreachable")
}

/// The functions `body` refers to (calls, `refs.func`, ...), in order of appearance.
fn references(ctx: &Context, body: &Body, index: &FxHashMap<&str, usize>, out: &mut Vec<Edge>) {
    body.for_each_body(&mut |b| {
        for op in b.preorder() {
            let cold = on_trap_path(ctx, b, op);
            for_each_symbol_ref(ctx, b.op_attrs(op), &mut |name| {
                if let Some(&callee) = index.get(name) {
                    out.push(Edge { callee, cold });
                }
            });
        }
    });
}

/// Depth-first pre-order from `from`, following only hot edges unless `all`.
fn visit(from: usize, edges: &[Vec<Edge>], all: bool, seen: &mut [bool], order: &mut Vec<usize>) {
    let mut stack = vec![from];
    while let Some(f) = stack.pop() {
        if seen[f] {
            continue;
        }
        seen[f] = true;
        order.push(f);
        // Reversed, so the first call is visited first.
        for e in edges[f].iter().rev() {
            if (all || !e.cold) && !seen[e.callee] {
                stack.push(e.callee);
            }
        }
    }
}

impl ModulePass for StreamingOrder {
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic> {
        let block = module.block();
        let body = module.body();
        let ops: Vec<Op> = body.block_ops(block).collect();
        let is_function = |op: Op| {
            OpRef::new(ctx, body, op).def().has(Traits::FUNCTION_LIKE)
                && ctx.dict_get(body.op_attrs(op), "import").is_none()
                && body.child(op).is_some_and(|c| !c.roots().is_empty())
        };
        let funcs: Vec<Op> = ops.iter().copied().filter(|&op| is_function(op)).collect();
        if funcs.len() < 2 {
            return Vec::new();
        }
        let names: Vec<&str> = funcs.iter().map(|&f| symbol_name(ctx, body, f).unwrap_or_default()).collect();
        let index: FxHashMap<&str, usize> = names.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let edges: Vec<Vec<Edge>> = funcs
            .iter()
            .map(|&f| {
                let mut out = Vec::new();
                if let Some(child) = body.child(f) {
                    references(ctx, child, &index, &mut out);
                }
                out
            })
            .collect();
        // Entry points: the start function, then exports, then whatever else outside the
        // functions refers to one (element segments, globals' initializers), in module order.
        let mut roots: Vec<usize> = Vec::new();
        let mut others: Vec<usize> = Vec::new();
        for &op in &ops {
            if is_function(op) {
                continue;
            }
            let name = OpRef::new(ctx, body, op).name();
            let mut names = Vec::new();
            crate::symbol_dce::collect_refs(ctx, body, op, &mut names);
            let found: Vec<usize> = names.iter().filter_map(|n| index.get(n.as_str()).copied()).collect();
            match name {
                "wasm.start" => {
                    roots.splice(0..0, found);
                }
                "wasm.export" => roots.extend(found),
                _ => others.extend(found),
            }
        }
        roots.extend(others);
        let count = |i: usize| self.profile.as_ref().and_then(|p| p.get(names[i]).copied());
        let mut seen = vec![false; funcs.len()];
        let mut order = Vec::with_capacity(funcs.len());
        // Profiled as cold: kept out of the hot walks.
        for (i, s) in seen.iter_mut().enumerate() {
            *s = count(i) == Some(0);
        }
        // What ran, most called first.
        if let Some(profile) = &self.profile {
            let mut hot: Vec<usize> =
                (0..funcs.len()).filter(|&i| profile.get(names[i]).is_some_and(|&n| n > 0)).collect();
            hot.sort_by_key(|&i| (std::cmp::Reverse(count(i)), i));
            for i in hot {
                seen[i] = true;
                order.push(i);
            }
        }
        for &r in &roots {
            visit(r, &edges, false, &mut seen, &mut order);
        }
        // Cold: what hot code reaches only through trap paths, then what the profile says
        // never ran, then what nothing reaches.
        let hot_len = order.len();
        for k in 0..hot_len {
            for e in &edges[order[k]] {
                visit(e.callee, &edges, true, &mut seen, &mut order);
            }
        }
        let mut placed = vec![false; funcs.len()];
        for &i in &order {
            placed[i] = true;
        }
        let profiled_cold = (0..funcs.len()).filter(|&i| count(i) == Some(0));
        let unreached: Vec<usize> = (0..funcs.len()).collect();
        for i in profiled_cold.chain(unreached) {
            visit(i, &edges, true, &mut placed, &mut order);
        }
        debug_assert_eq!(order.len(), funcs.len());
        let body = module.body_mut();
        let anchor = funcs[0];
        let mut prev: Option<Op> = None;
        for &i in &order {
            let f = funcs[i];
            match prev {
                None if f == anchor => {}
                None => {
                    body.unlink_op(f);
                    body.insert_op_before(anchor, f);
                }
                Some(p) => {
                    body.unlink_op(f);
                    body.insert_op_after(p, f);
                }
            }
            prev = Some(f);
        }
        Vec::new()
    }
}
