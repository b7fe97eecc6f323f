//! `lower-atomics`: without the `threads` capability, atomics on memories that are not shared
//! become plain accesses (one thread cannot observe the difference), keeping their traps: a
//! misaligned effective address still traps, `memory.atomic_wait` traps as it does on an
//! unshared memory, and `memory.atomic_notify` checks its address and returns 0. A shared
//! memory, or an atomic on one, is an error naming the op, the capability and the target.

use super::target::Capabilities;
use super::{Emit, Target, any_op, functions};
use wasmir_dialects::control;
use wasmir_dialects::memory::{MemoryDecl, memory_decls};
use wasmir_ir::{Body, Builder, Context, Diagnostic, FxHashMap, Module, Op, Type, Value};

pub(crate) fn lower_atomics(ctx: &Context, module: &mut Module, target: &Target) -> Vec<Diagnostic> {
    if target.has(Capabilities::THREADS) || !any_op(ctx, module, &|n| n.starts_with("memory.atomic_")) {
        return Vec::new();
    }
    let memories = memory_decls(ctx, module);
    let mut errors = Vec::new();
    for func in functions(ctx, module) {
        let Some(body) = module.body_mut().child_mut(func) else { continue };
        let atomics: Vec<Op> = body
            .preorder()
            .into_iter()
            .filter(|&op| ctx.op_def(body.op_kind(op)).name.starts_with("memory.atomic_"))
            .collect();
        for op in atomics {
            if let Err(e) = lower_atomic(ctx, body, op, &memories, target) {
                errors.push(e);
            }
        }
    }
    errors
}

fn lower_atomic(
    ctx: &Context,
    body: &mut Body,
    op: Op,
    memories: &FxHashMap<String, MemoryDecl>,
    target: &Target,
) -> Result<(), Diagnostic> {
    let name = ctx.op_def(body.op_kind(op)).name;
    let loc = body.op_loc(op);
    if name == "memory.atomic_fence" {
        body.erase_op(op);
        return Ok(());
    }
    let attrs = body.op_attrs(op);
    let get = |n: &str| ctx.dict_get(attrs, n);
    let mem_attr = get("memory").expect("verified: atomics name their memory");
    let mem = ctx.attr_as_symbol(mem_attr).unwrap_or_default();
    let facts = memories.get(mem).ok_or_else(|| Diagnostic::error(loc, format!("no memory `@{mem}`")))?;
    if facts.kind == "shared" {
        return Err(Diagnostic::error(
            loc,
            format!(
                "'{name}' op needs capability `threads`, which target `{target}` lacks: `@{mem}` is shared, so \
                 other threads may see it and a plain access is not a fallback"
            ),
        ));
    }
    let operands = body.operands(op).to_vec();
    let results: Vec<Type> = body.results(op).iter().map(|&v| body.value_type(v)).collect();
    let value_type = match name {
        "memory.atomic_load" => results[0],
        "memory.atomic_notify" => Type::I32,
        _ => body.value_type(operands[1]),
    };
    let full: u32 = if value_type == Type::I64 { 64 } else { 32 };
    let width = get("width").and_then(|a| ctx.attr_as_int(a)).map_or(full, |w| w as u32);
    let offset = get("offset").and_then(|a| ctx.attr_as_int(a)).unwrap_or(0);
    let mut access: Vec<(&str, wasmir_ir::Attr)> = vec![("memory", mem_attr)];
    if offset != 0 {
        access.push(("offset", ctx.int_attr(offset, Type::U64)));
    }
    if width != full {
        access.push(("width", ctx.int_attr(i64::from(width), Type::U32)));
    }
    let mut load_access = access.clone();
    if width != full {
        load_access.push(("sign", ctx.string_attr("u")));
    }
    let mut e = Emit { b: Builder::before(ctx, body, op), handler: None };
    e.b.loc = loc;
    let address = operands[0];
    alignment_check(&mut e, address, offset, width / 8, facts.address_type);
    let replaced: Vec<Value> = match name {
        "memory.atomic_load" => vec![e.b.op1("memory.load", &[address], value_type, &load_access)],
        "memory.atomic_store" => {
            e.b.op("memory.store", &[address, operands[1]], &[], &access);
            vec![]
        }
        "memory.atomic_rmw" => {
            let old = e.b.op1("memory.load", &[address], value_type, &load_access);
            let rmw = get("op").and_then(|a| ctx.attr_as_str(a)).unwrap_or("xchg");
            let new = match rmw {
                "xchg" => operands[1],
                op => e.bin(&format!("{op}i"), old, operands[1]),
            };
            e.b.op("memory.store", &[address, new], &[], &access);
            vec![old]
        }
        "memory.atomic_cmpxchg" => {
            let old = e.b.op1("memory.load", &[address], value_type, &load_access);
            let expected = if width == full {
                operands[1]
            } else {
                let mask = if value_type == Type::I64 {
                    e.i64((1i64 << width) - 1)
                } else {
                    e.i32(((1i64 << width) - 1) as i32)
                };
                e.bin("andi", operands[1], mask)
            };
            let equal = e.cmp("eq", old, expected);
            let replacement = operands[2];
            let store = access.clone();
            control::build_if(
                &mut e.b,
                equal,
                &[],
                |b| {
                    b.op("memory.store", &[address, replacement], &[], &store);
                    control::yield_(b, &[]);
                },
                None,
            );
            vec![old]
        }
        "memory.atomic_wait" => {
            // Waiting on a memory that is not shared traps.
            let always = e.i32(1);
            e.fail_if(always);
            vec![e.i32(0)]
        }
        "memory.atomic_notify" => {
            // The access is checked (a load traps exactly when notify would); nobody waits.
            e.b.op1("memory.load", &[address], Type::I32, &access);
            vec![e.i32(0)]
        }
        other => return Err(Diagnostic::error(loc, format!("lower-atomics: unexpected `{other}`"))),
    };
    body.replace_op(op, &replaced);
    Ok(())
}

/// Traps unless `address + offset` is a multiple of `bytes`, as every atomic access does.
fn alignment_check(e: &mut Emit<'_, '_>, address: Value, offset: i64, bytes: u32, address_type: Type) {
    if bytes <= 1 {
        return;
    }
    let low_bits =
        |e: &mut Emit<'_, '_>, v: i64| if address_type == Type::I64 { e.i64(v) } else { e.i32(v as i32) };
    // Only the low bits matter, so wrapping the sum is harmless.
    let effective = if offset % i64::from(bytes) == 0 {
        address
    } else {
        let k = low_bits(e, offset);
        e.bin("addi", address, k)
    };
    let mask = low_bits(e, i64::from(bytes) - 1);
    let misaligned = e.bin("andi", effective, mask);
    let misaligned = if address_type == Type::I64 {
        let zero = e.i64(0);
        e.cmp("ne", misaligned, zero)
    } else {
        misaligned
    };
    e.fail_if(misaligned);
}
