//! Rewrites over WasmIR: the dialect-agnostic passes `canonicalize` (each dialect's folders
//! and patterns), `cse`, `dce` and `symbol-dce`, driven by op traits rather than op names; the
//! e-graph rewriter `egraph-simplify` (egg); and bounds checks (`bounds-checks-explicit`,
//! `bce`, and `count-checks` to measure them in a run); function merging (`mono-merge`); and
//! the streaming layout of functions (`streaming-order`). Every rule cites the invariants of specs/invariants.md it relies on
//! (`registered_rules`).

mod bce;
mod canonicalize;
mod cse;
mod dce;
mod directize;
pub mod egraph;
mod mono;
mod rules;
mod streaming;
mod symbol_dce;

pub use bce::{Bce, BoundsChecksExplicit, CHECK_COUNTER, CountChecks, RULES as BCE_RULES};
pub use canonicalize::{Canonicalize, CanonicalizeOutcome, canonicalize_body};
pub use cse::{Cse, cse_body};
pub use dce::{Dce, dce_body};
pub use directize::{Directize, RULES as DIRECTIZE_RULES};
pub use mono::{MonoMerge, RULES as MONO_RULES};
pub use rules::{PassRule, registered_rules};
pub use streaming::{CallCounts, StreamingOrder, parse_profile, read_profile};
pub use symbol_dce::SymbolDce;

use wasmir_ir::pass::PassRegistry;
use wasmir_ir::{Attr, AttrData, Body, Context, Op, Traits};

/// Registers every pass of this crate.
pub fn register_passes(registry: &mut PassRegistry) {
    registry
        .register(canonicalize::INFO)
        .register(cse::INFO)
        .register(dce::INFO)
        .register(symbol_dce::INFO)
        .register(bce::EXPLICIT_INFO)
        .register(bce::BCE_INFO)
        .register(bce::COUNT_INFO)
        .register(egraph::INFO)
        .register(directize::INFO)
        .register(mono::INFO)
        .register(streaming::INFO);
}

/// Whether `op` can be erased when its results are unused: it is pure (no effect, no trap),
/// not a terminator, and its results (if any) have no uses.
pub fn is_trivially_dead(ctx: &Context, body: &Body, op: Op) -> bool {
    let def = ctx.op_def(body.op_kind(op));
    def.has(Traits::PURE)
        && !def.has(Traits::TERMINATOR)
        && body.op_regions(op).is_empty()
        && body.child(op).is_none()
        && body.results(op).iter().all(|&r| !body.has_uses(r))
}

/// The constant a value has when a `CONSTANT_LIKE` op defines it.
pub fn constant_of(ctx: &Context, body: &Body, value: wasmir_ir::Value) -> Option<Attr> {
    let op = body.defining_op(value)?;
    if !ctx.op_def(body.op_kind(op)).has(Traits::CONSTANT_LIKE) {
        return None;
    }
    ctx.dict_get(body.op_attrs(op), "value")
}

/// Calls `f` on every symbol name referenced anywhere inside attribute `a`.
pub fn for_each_symbol_ref(ctx: &Context, a: Attr, f: &mut dyn FnMut(&str)) {
    match ctx.attr_data(a) {
        AttrData::SymbolRef(path) => {
            if let Some(&first) = path.first() {
                f(ctx.ident_str(first));
            }
        }
        AttrData::Array(items) => items.iter().for_each(|&i| for_each_symbol_ref(ctx, i, f)),
        AttrData::Dict(entries) => entries.iter().for_each(|&(_, v)| for_each_symbol_ref(ctx, v, f)),
        _ => {}
    }
}
