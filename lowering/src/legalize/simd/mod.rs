//! `lower-simd`: the scalar fallback for targets without the `simd` capability. Every v128
//! value becomes scalar lanes kept in SSA values (registers), every SIMD op the scalar code of
//! its lane program (`simd/semantics.rs`, the one definition the folder and tests use too),
//! and v128 values crossing a boundary (labels, calls, parameters, results, globals) travel
//! as four `i32`s, lane 0 first. specs/simd.md ("The scalar fallback") gives the scheme.

mod lanes;
mod ops;

use super::target::{Capabilities, Target};
use super::{convert_types, functions};
use lanes::Lowerer;
use wasmir_dialects::simd;
use wasmir_dialects::simd::semantics::{self, Shape};
use wasmir_ir::{
    Builder, Context, Diagnostic, FxHashMap, FxHashSet, Module, NewOp, Op, OpRef, Type, TypeData,
};

/// Rewrites every SIMD op and v128 value of `module` into scalar code when `target` lacks
/// SIMD; leaves the module alone otherwise.
pub(crate) fn lower_simd(ctx: &Context, module: &mut Module, target: &Target) -> Vec<Diagnostic> {
    if target.has(Capabilities::SIMD) || !mentions_simd(ctx, module) {
        return Vec::new();
    }
    let v128 = simd::v128(ctx);
    let mut errors = Vec::new();
    let globals = split_globals(ctx, module, v128, target, &mut errors);
    check_imports(ctx, module, v128, target, &mut errors);
    if !errors.is_empty() {
        return errors;
    }
    convert_types(ctx, module, &|ty| expand_function_type(ctx, ty, v128));
    for func in functions(ctx, module) {
        let Some(old) = module.body().child(func) else { continue };
        let mut lowerer = Lowerer::new(ctx, old, v128, &globals);
        let mut new = lowerer.function();
        erase_unused(ctx, &mut new);
        errors.append(&mut lowerer.errors);
        *module.body_mut().child_mut(func).expect("a function body") = new;
    }
    errors
}

/// Erases the pure ops whose results nothing uses: the lowering makes some it then does not
/// need (compare masks reduced on their booleans, lanes of a form never read).
fn erase_unused(ctx: &Context, body: &mut wasmir_ir::Body) {
    // Users come after definitions in pre-order: walking backwards erases whole chains.
    for op in body.preorder().into_iter().rev() {
        let def = ctx.op_def(body.op_kind(op));
        if def.has(wasmir_ir::Traits::PURE)
            && body.op_regions(op).is_empty()
            && body.results(op).iter().all(|&r| !body.has_uses(r))
        {
            body.erase_op(op);
        }
    }
}

/// Whether any op is a SIMD op or any value, signature or global is a v128.
fn mentions_simd(ctx: &Context, module: &Module) -> bool {
    let v128 = simd::v128(ctx);
    let mut found = false;
    module.body().for_each_body(&mut |body| {
        if found {
            return;
        }
        for op in body.preorder() {
            let def = ctx.op_def(body.op_kind(op));
            let typed = |name: &str| {
                ctx.dict_get(body.op_attrs(op), name)
                    .and_then(|a| ctx.attr_as_type(a))
                    .is_some_and(|t| mentions(ctx, t, v128))
            };
            let values = body.results(op).iter().chain(
                body.op_regions(op)
                    .iter()
                    .flat_map(|&r| body.region_blocks(r))
                    .flat_map(|&b| body.block_args(b)),
            );
            if def.name.starts_with("simd.")
                || typed("function_type")
                || typed("type")
                || values.into_iter().any(|&v| body.value_type(v) == v128)
            {
                found = true;
                return;
            }
        }
    });
    found
}

/// Whether `ty` is or contains (in a function type) a v128.
fn mentions(ctx: &Context, ty: Type, v128: Type) -> bool {
    ty == v128
        || matches!(ctx.type_data(ty), TypeData::Function { inputs, results }
            if inputs.iter().chain(results.iter()).any(|&t| mentions(ctx, t, v128)))
}

/// A function type with each v128 spelled as four `i32`s.
fn expand_function_type(ctx: &Context, ty: Type, v128: Type) -> Option<Type> {
    let TypeData::Function { inputs, results } = ctx.type_data(ty) else { return None };
    if !mentions(ctx, ty, v128) {
        return None;
    }
    let expand = |types: &[Type]| -> Vec<Type> {
        types
            .iter()
            .flat_map(|&t| {
                if t == v128 {
                    vec![Type::I32; 4]
                } else {
                    vec![expand_function_type(ctx, t, v128).unwrap_or(t)]
                }
            })
            .collect()
    };
    Some(ctx.function_type(&expand(inputs), &expand(results)))
}

/// A v128 global to split: its op, its name, and its initializer's bytes or the v128 global
/// it copies.
struct Split {
    op: Op,
    name: String,
    constant: Option<[u8; 16]>,
    source: Option<String>,
}

/// The `i32` globals a v128 global becomes, lane 0 first: `@g.lane0` ... `@g.lane3`.
fn lane_global(name: &str, lane: usize) -> String {
    format!("{name}.lane{lane}")
}

/// Replaces each v128 global by four `i32` globals (its initializer a constant, or another
/// v128 global's lanes). Imported and exported v128 globals have no scalar form (the host
/// holds a vector): an error.
fn split_globals(
    ctx: &Context,
    module: &mut Module,
    v128: Type,
    target: &Target,
    errors: &mut Vec<Diagnostic>,
) -> FxHashSet<String> {
    let body = module.body();
    let block = module.block();
    let exported: FxHashMap<String, Op> = body
        .block_ops(block)
        .filter(|&op| ctx.op_def(body.op_kind(op)).name == "wasm.export")
        .filter_map(|op| {
            let target = ctx.dict_get(body.op_attrs(op), "target").and_then(|a| ctx.attr_as_symbol(a))?;
            Some((target.to_string(), op))
        })
        .collect();
    let mut globals = FxHashSet::default();
    let mut splits: Vec<Split> = Vec::new();
    for op in body.block_ops(block) {
        let view = OpRef::new(ctx, body, op);
        if view.name() != "global.global" || view.attr("type").and_then(|a| ctx.attr_as_type(a)) != Some(v128)
        {
            continue;
        }
        let name = view.attr("sym_name").and_then(|a| ctx.attr_as_str(a)).unwrap_or_default().to_string();
        let refuse = |what: &str| no_fallback(view.loc(), "global.global", what, target);
        if view.attr("import").is_some() {
            errors.push(refuse(&format!("the imported v128 global `@{name}`")));
            continue;
        }
        if let Some(&export) = exported.get(&name) {
            let error = refuse(&format!("the exported v128 global `@{name}`"));
            errors.push(error.with_note(body.op_loc(export), "exported here: the host would read four i32s"));
            continue;
        }
        // The initializer: a constant or a v128 global's value.
        let init = body.op_regions(op).first().and_then(|&r| body.region_blocks(r).first().copied());
        let first = init.and_then(|b| body.block_first(b));
        let (mut constant, mut source) = (None, None);
        if let Some(first) = first {
            let first = OpRef::new(ctx, body, first);
            match first.name() {
                "simd.const" => constant = first.attr_str("value").and_then(simd::parse_bytes),
                "global.get" => {
                    source = first.attr("global").and_then(|a| ctx.attr_as_symbol(a)).map(str::to_string)
                }
                _ => {}
            }
        }
        if constant.is_none() && source.is_none() {
            errors.push(refuse(&format!(
                "the v128 global `@{name}`, initialized other than by a constant or a global"
            )));
            continue;
        }
        globals.insert(name.clone());
        splits.push(Split { op, name, constant, source });
    }
    let body = module.body_mut();
    for Split { op, name, constant, source } in splits {
        let view = OpRef::new(ctx, body, op);
        let mutable = view.attr("mutable");
        let visibility = view.attr("sym_visibility");
        let loc = view.loc();
        for lane in 0..4 {
            let mut b = Builder::before(ctx, body, op);
            b.loc = loc;
            let (region, init) = b.region_with_block(&[]);
            b.with_block(init, |b| {
                let value = match (&constant, &source) {
                    (Some(bytes), _) => {
                        let word = semantics::get_lane(bytes, Shape::I32x4, lane) as u32 as i32;
                        wasmir_dialects::arith::const_i32(b, word)
                    }
                    (_, Some(from)) => {
                        let sym = b.ctx.symbol_ref_attr(&lane_global(from, lane));
                        b.op1("global.get", &[], Type::I32, &[("global", sym)])
                    }
                    _ => unreachable!("checked above"),
                };
                wasmir_dialects::control::yield_(b, &[value]);
            });
            let mut attrs = vec![
                ("sym_name", ctx.string_attr(&lane_global(&name, lane))),
                ("type", ctx.type_attr(Type::I32)),
            ];
            attrs.extend(mutable.map(|m| ("mutable", m)));
            attrs.extend(visibility.map(|v| ("sym_visibility", v)));
            let mut new = NewOp::new(b.kind("global.global"), loc);
            new.attrs = b.attrs(&attrs);
            new.regions.push(region);
            b.create(new);
        }
        body.erase_op(op);
    }
    globals
}

/// The error for what the fallback cannot lower, worded as `check-capabilities` words its own.
fn no_fallback(loc: wasmir_ir::Location, op: &str, what: &str, target: &Target) -> Diagnostic {
    Diagnostic::error(
        loc,
        format!(
            "'{op}' op ({what}) needs capability `simd`, which target `{target}` lacks, and has no fallback"
        ),
    )
}

/// Imported functions whose signature has a v128: their host counterparts take vectors, which
/// a target without SIMD cannot pass.
fn check_imports(ctx: &Context, module: &Module, v128: Type, target: &Target, errors: &mut Vec<Diagnostic>) {
    let body = module.body();
    for op in body.block_ops(module.block()) {
        let view = OpRef::new(ctx, body, op);
        if view.name() == "func.func"
            && view.attr("import").is_some()
            && view
                .attr("function_type")
                .and_then(|a| ctx.attr_as_type(a))
                .is_some_and(|t| mentions(ctx, t, v128))
        {
            let name = view.attr("sym_name").and_then(|a| ctx.attr_as_str(a)).unwrap_or_default();
            let what = format!("the imported function `@{name}`, with a v128 parameter or result");
            errors.push(no_fallback(view.loc(), "func.func", &what, target));
        }
    }
}
