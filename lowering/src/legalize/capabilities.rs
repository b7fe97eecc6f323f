//! `check-capabilities`: every op that needs a capability the target lacks, after the
//! fallbacks ran, is an error naming the op, the capability and the target.

use super::Target;
use super::target::{Capabilities, capability_name};
use wasmir_dialects::memory::memory_decls;
use wasmir_dialects::{refs, simd};
use wasmir_ir::{Body, Context, Diagnostic, Module, Op, Type, TypeData};

/// The capability an op needs, if any, judged from its name, attributes and value types.
fn required(ctx: &Context, body: &Body, op: Op) -> Option<(Capabilities, &'static str)> {
    let def = ctx.op_def(body.op_kind(op));
    let name = def.name;
    let attrs = body.op_attrs(op);
    let has = |a: &str| ctx.dict_get(attrs, a).is_some();
    let types = body.operands(op).iter().chain(body.results(op)).map(|&v| body.value_type(v));
    let mut uses_refs = false;
    let mut uses_v128 = false;
    let mut uses_multi_value = body.results(op).len() > 1;
    for ty in types {
        uses_refs |= refs::ref_type(ctx, ty).is_some();
        uses_v128 |= simd::is_v128(ctx, ty);
        if let TypeData::Function { results, .. } = ctx.type_data(ty) {
            uses_multi_value |= results.len() > 1;
        }
    }
    Some(match name {
        "memory.memory" if ctx.dict_get(attrs, "kind").and_then(|a| ctx.attr_as_str(a)) == Some("shared") => {
            (Capabilities::THREADS, "a shared memory")
        }
        "memory.memory"
            if ctx.dict_get(attrs, "address_type").and_then(|a| ctx.attr_as_type(a)) == Some(Type::I64) =>
        {
            (Capabilities::MEMORY64, "a 64-bit memory")
        }
        _ if name.starts_with("memory.atomic_") => (Capabilities::THREADS, "an atomic access"),
        _ if name.starts_with("simd.") => (Capabilities::SIMD, "a SIMD instruction"),
        "global.global"
            if ctx
                .dict_get(attrs, "type")
                .and_then(|a| ctx.attr_as_type(a))
                .is_some_and(|t| simd::is_v128(ctx, t)) =>
        {
            (Capabilities::SIMD, "a v128 global")
        }
        _ if uses_v128 => (Capabilities::SIMD, "a v128 value"),
        "memory.copy" | "memory.fill" | "memory.init" | "memory.data_drop" => {
            (Capabilities::BULK_MEMORY, "a bulk memory instruction")
        }
        "refs.table_copy" | "refs.table_init" | "refs.elem_drop" => {
            (Capabilities::BULK_MEMORY, "a bulk table instruction")
        }
        "refs.call_ref" | "control.br_on_null" | "control.br_on_non_null" | "refs.as_non_null" => {
            (Capabilities::FUNCTION_REFERENCES, "a typed function reference")
        }
        "control.return_call" | "refs.return_call_indirect" | "refs.return_call_ref" => {
            (Capabilities::TAIL_CALL, "a tail call")
        }
        _ if name.starts_with("refs.table_")
            || name == "refs.null"
            || name == "refs.is_null"
            || name == "refs.func" =>
        {
            (Capabilities::REFERENCE_TYPES, "a reference instruction")
        }
        _ if uses_refs && name != "refs.call_indirect" => {
            (Capabilities::REFERENCE_TYPES, "a reference value")
        }
        _ if uses_multi_value
            || (def.has(wasmir_ir::Traits::LABEL)
                && !body.operands(op).is_empty()
                && name != "control.if") =>
        {
            (Capabilities::MULTI_VALUE, "several results or block parameters")
        }
        "func.func" if has("function_type") => {
            let fty = ctx.dict_get(attrs, "function_type").and_then(|a| ctx.attr_as_type(a))?;
            let (inputs, results) = ctx.function_signature(fty)?;
            if inputs.iter().chain(results).any(|&t| simd::is_v128(ctx, t)) {
                (Capabilities::SIMD, "a v128 parameter or result")
            } else if results.len() > 1 {
                (Capabilities::MULTI_VALUE, "several results")
            } else if inputs.iter().chain(results).any(|&t| refs::ref_type(ctx, t).is_some()) {
                (Capabilities::REFERENCE_TYPES, "a reference parameter or result")
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

/// An error for each op (and for several memories) that the target cannot run.
pub fn check_capabilities(ctx: &Context, module: &mut Module, target: &Target) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    if target.capabilities == Capabilities::all() {
        return errors;
    }
    if !target.has(Capabilities::MULTI_MEMORY) && memory_decls(ctx, module).len() > 1 {
        errors.push(Diagnostic::error(
            module.body().op_loc(module.op()),
            format!(
                "the module has several memories, which need capability `multi-memory`, and target `{target}` lacks it"
            ),
        ));
    }
    module.body().for_each_body(&mut |body| {
        for op in body.preorder() {
            let Some((cap, what)) = required(ctx, body, op) else { continue };
            if !target.has(cap) {
                errors.push(Diagnostic::error(
                    body.op_loc(op),
                    format!(
                        "'{}' op ({what}) needs capability `{}`, which target `{target}` lacks, and has no fallback",
                        ctx.op_def(body.op_kind(op)).name,
                        capability_name(cap)
                    ),
                ));
            }
        }
    });
    errors
}
