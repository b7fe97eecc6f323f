//! The folder and canonicalization patterns of `simd`: constant folding through the lane
//! programs of [`semantics`](super::semantics) (so it is exactly what the instruction
//! computes), lane reads of splats and replaced lanes, shuffle algebra (identities, shuffles of
//! shuffles, shuffles that are splats) and the bitwise identities. Relaxed-SIMD ops are never
//! folded: their results are the host's choice (INV-SIMD-004).

use super::semantics::{self, Operand, Shape};
use super::{Sig, family, format_bytes, parse_bytes, v128};
use crate::arith::{constant_attr, constant_bits};
use wasmir_ir::registry::{FoldInput, Folded, Pattern};
use wasmir_ir::{
    Attr, Body, Builder, Context, Location, Op, OpRef, Rewriter, SmallVec, Type, Value, smallvec,
};

/// The bytes of a vector defined by `simd.const`.
pub fn vector_constant(ctx: &Context, body: &Body, v: Value) -> Option<[u8; 16]> {
    let op = body.defining_op(v)?;
    let view = OpRef::new(ctx, body, op);
    (view.name() == "simd.const").then(|| view.attr_str("value").and_then(parse_bytes)).flatten()
}

/// The op defining `v` and its name.
fn producer<'b>(ctx: &'b Context, body: &'b Body, v: Value) -> Option<OpRef<'b>> {
    body.defining_op(v).map(|op| OpRef::new(ctx, body, op))
}

/// The folder of every pure, strict SIMD op: all-constant operands give a constant.
pub fn fold(input: &FoldInput<'_>) -> Option<SmallVec<[Folded; 1]>> {
    let op = input.op;
    let ctx = op.ctx;
    let family = family(op.name())?;
    if family.relaxed || family.accesses_memory() || family.sig == Sig::Const {
        return None;
    }
    let operands: Vec<Operand> = op
        .operands()
        .iter()
        .zip(input.constants)
        .map(|(&v, c)| match c {
            Some(a) => constant_bits(ctx, *a).map(|(bits, _)| Operand::Scalar(bits)),
            None => vector_constant(ctx, op.body, v).map(Operand::Vector),
        })
        .collect::<Option<_>>()?;
    let shape = op.attr_str("shape");
    let lanes = op.attr_str("lanes").and_then(parse_bytes);
    let program =
        semantics::op_program(family, shape, op.attr_int("lane").map(|l| l as u32), lanes.as_ref())?;
    let evaluated = semantics::eval(&program, &operands)?;
    if evaluated.open_nan {
        return None;
    }
    let result_ty = op.value_type(op.result(0));
    let attr = match evaluated.value {
        Operand::Vector(bytes) => ctx.string_attr(&format_bytes(&bytes)),
        Operand::Scalar(bits) => constant_attr(ctx, bits, result_ty),
    };
    Some(smallvec![Folded::Const(attr)])
}

/// Materializes a folded constant: a vector as `simd.const`, a scalar as `arith.constant`.
pub fn materialize_constant(b: &mut Builder<'_>, value: Attr, ty: Type, loc: Location) -> Option<Value> {
    let saved = b.loc;
    b.loc = loc;
    let made = if ty == v128(b.ctx) {
        b.ctx.attr_as_str(value).and_then(parse_bytes)?;
        Some(b.op1("simd.const", &[], ty, &[("value", value)]))
    } else if matches!(ty, Type::I32 | Type::I64 | Type::F32 | Type::F64)
        && b.ctx.attr_type(value) == Some(ty)
    {
        Some(b.op1("arith.constant", &[], ty, &[("value", value)]))
    } else {
        None
    };
    b.loc = saved;
    made
}

/// Replaces `op`'s result with `value` and erases it.
fn replace(rw: &mut Rewriter<'_>, op: Op, value: Value) -> bool {
    let result = rw.view(op).result(0);
    rw.replace_all_uses(result, value);
    rw.erase_op(op);
    true
}

/// A new op before `op` with one result.
fn build(
    rw: &mut Rewriter<'_>,
    op: Op,
    name: &str,
    operands: &[Value],
    ty: Type,
    attrs: &[(&str, Attr)],
) -> Value {
    rw.set_insertion_before(op);
    rw.builder.loc = rw.view(op).loc();
    rw.builder.op1(name, operands, ty, attrs)
}

/// A lane read as the scalar the lane is read as: full-width lanes as they are, narrow ones
/// (kept in an i32's low bits) extended as `extract_lane_s`/`_u` extend them.
fn extended(rw: &mut Rewriter<'_>, op: Op, name: &str, shape: Shape, scalar: Value) -> Value {
    let ctx = rw.ctx();
    match (shape, name) {
        (Shape::I8x16, "simd.extract_lane_s") => build(rw, op, "arith.extend8_s", &[scalar], Type::I32, &[]),
        (Shape::I16x8, "simd.extract_lane_s") => build(rw, op, "arith.extend16_s", &[scalar], Type::I32, &[]),
        (Shape::I8x16 | Shape::I16x8, _) => {
            let mask = if shape == Shape::I8x16 { 0xff } else { 0xffff };
            let m =
                build(rw, op, "arith.constant", &[], Type::I32, &[("value", ctx.int_attr(mask, Type::I32))]);
            build(rw, op, "arith.andi", &[scalar, m], Type::I32, &[])
        }
        _ => scalar,
    }
}

/// `extract_lane(splat(x), k) == x`, extended as the lane is read.
pub const EXTRACT_OF_SPLAT: Pattern = Pattern {
    name: "extract-of-splat",
    identity: "extract_lane(splat(x), k) == x (narrow lanes extended as the extract extends them)",
    citations: &["INV-SIMD-001"],
    apply: |rw, op| {
        let (name, shape, source) = {
            let v = rw.view(op);
            if !v.name().starts_with("simd.extract_lane") {
                return false;
            }
            let Some(splat) = producer(v.ctx, v.body, v.operand(0)).filter(|p| p.name() == "simd.splat")
            else {
                return false;
            };
            if splat.attr_str("shape") != v.attr_str("shape") {
                return false;
            }
            (v.name(), v.attr_str("shape").and_then(Shape::parse), splat.operand(0))
        };
        let Some(shape) = shape else { return false };
        let value = extended(rw, op, name, shape, source);
        replace(rw, op, value)
    },
};

/// `extract_lane(replace_lane(v, x, k), k) == x` and, for another lane j,
/// `extract_lane(replace_lane(v, x, k), j) == extract_lane(v, j)`.
pub const EXTRACT_OF_REPLACE: Pattern = Pattern {
    name: "extract-of-replace",
    identity: "extract_lane(replace_lane(v, x, k), k) == x; extract_lane(replace_lane(v, x, k), j) == extract_lane(v, j) for j != k",
    citations: &["INV-SIMD-001"],
    apply: |rw, op| {
        let (name, shape, lane, replaced, source, value) = {
            let v = rw.view(op);
            if !v.name().starts_with("simd.extract_lane") {
                return false;
            }
            let Some(r) = producer(v.ctx, v.body, v.operand(0)).filter(|p| p.name() == "simd.replace_lane")
            else {
                return false;
            };
            if r.attr_str("shape") != v.attr_str("shape") {
                return false;
            }
            (
                v.name(),
                v.attr_str("shape").and_then(Shape::parse),
                v.attr_int("lane"),
                r.attr_int("lane"),
                r.operand(0),
                r.operand(1),
            )
        };
        let Some(shape) = shape else { return false };
        if lane == replaced {
            let value = extended(rw, op, name, shape, value);
            replace(rw, op, value)
        } else {
            rw.set_operand(op, 0, source);
            true
        }
    },
};

fn shuffle_parts(view: &OpRef<'_>) -> Option<(Value, Value, [u8; 16])> {
    (view.name() == "simd.shuffle").then_some(())?;
    Some((view.operand(0), view.operand(1), view.attr_str("lanes").and_then(parse_bytes)?))
}

/// A shuffle that returns one operand unchanged is that operand.
pub const SHUFFLE_IDENTITY: Pattern = Pattern {
    name: "shuffle-identity",
    identity: "shuffle(a, b, 0..15) == a; shuffle(a, b, 16..31) == b",
    citations: &["INV-SIMD-002"],
    apply: |rw, op| {
        let Some((a, b, lanes)) = shuffle_parts(&rw.view(op)) else { return false };
        if lanes.iter().enumerate().all(|(i, &l)| usize::from(l) == i) {
            replace(rw, op, a)
        } else if lanes.iter().enumerate().all(|(i, &l)| usize::from(l) == i + 16) {
            replace(rw, op, b)
        } else {
            false
        }
    },
};

/// A shuffle of a shuffle (and of that shuffle's operands) is one shuffle of the inner
/// operands.
pub const SHUFFLE_OF_SHUFFLE: Pattern = Pattern {
    name: "shuffle-of-shuffle",
    identity: "shuffle(shuffle(a, b, m), y, n) == shuffle(a, b, p) with p[i] = m[n[i]] or the byte of y in a or b",
    citations: &["INV-SIMD-002"],
    apply: |rw, op| {
        let composed = {
            let v = rw.view(op);
            let Some((x, y, outer)) = shuffle_parts(&v) else { return false };
            // The first operand that is a shuffle is the inner one.
            let (inner_value, inner) = match [x, y].into_iter().find_map(|s| {
                producer(v.ctx, v.body, s).and_then(|p| shuffle_parts(&p)).map(|parts| (s, parts))
            }) {
                Some(found) => found,
                None => return false,
            };
            let (a, b, m) = inner;
            // Where byte j of an outer operand comes from, as an index into a ++ b.
            let source = |operand: Value, j: u8| -> Option<u8> {
                if operand == inner_value {
                    Some(m[j as usize])
                } else if operand == a {
                    Some(j)
                } else if operand == b {
                    Some(16 + j)
                } else {
                    None
                }
            };
            let mut lanes = [0u8; 16];
            for (i, &n) in outer.iter().enumerate() {
                let operand = if n < 16 { x } else { y };
                match source(operand, n % 16) {
                    Some(s) => lanes[i] = s,
                    None => return false,
                }
            }
            (a, b, lanes)
        };
        let (a, b, lanes) = composed;
        rw.set_operand(op, 0, a);
        rw.set_operand(op, 1, b);
        let ctx = rw.ctx();
        let attrs = rw.view(op).attrs();
        let lanes_attr = ctx.string_attr(&format_bytes(&lanes));
        rw.builder.body.set_attrs(op, ctx.dict_with(attrs, "lanes", Some(lanes_attr)));
        rw.note_change();
        true
    },
};

/// A shuffle whose lanes all read one lane of one operand is a splat of that lane.
pub const SHUFFLE_TO_SPLAT: Pattern = Pattern {
    name: "shuffle-to-splat",
    identity: "shuffle(a, b, [k; 16 / w] in lanes of w bytes) == splat(extract_lane(a ++ b, k)) at the shape of w-byte lanes",
    citations: &["INV-SIMD-002"],
    apply: |rw, op| {
        let Some((a, b, lanes)) = shuffle_parts(&rw.view(op)) else { return false };
        // The widest lanes the shuffle repeats one of.
        let Some((shape, lane)) =
            [Shape::I64x2, Shape::I32x4, Shape::I16x8, Shape::I8x16].into_iter().find_map(|s| {
                let w = (s.lane_bits() / 8) as u8;
                let first = lanes[0];
                let repeats = first % w == 0
                    && lanes
                        .chunks(w as usize)
                        .all(|c| c.iter().enumerate().all(|(j, &x)| x == first + j as u8));
                repeats.then_some((s, first / w))
            })
        else {
            return false;
        };
        let per = shape.lanes() as u8;
        let (source, lane) = if lane < per { (a, lane) } else { (b, lane - per) };
        let ctx = rw.ctx();
        let shape_attr = ctx.string_attr(shape.name());
        let lane_attr = ctx.int_attr(i64::from(lane), Type::U32);
        let extract = if shape.is_narrow() { "simd.extract_lane_u" } else { "simd.extract_lane" };
        let scalar =
            build(rw, op, extract, &[source], shape.scalar(), &[("shape", shape_attr), ("lane", lane_attr)]);
        let ty = v128(ctx);
        let splat = build(rw, op, "simd.splat", &[scalar], ty, &[("shape", shape_attr)]);
        replace(rw, op, splat)
    },
};

/// The identities of the bitwise ops on 128 bits.
pub const BITWISE_IDENTITIES: Pattern = Pattern {
    name: "bitwise-identities",
    identity: "x & x == x | x == x; x ^ x == andnot(x, x) == 0; x & 0 == 0; x & ~0 == x | 0 == x ^ 0 == andnot(x, 0) == x; x | ~0 == ~0; x ^ ~0 == not(x); andnot(x, ~0) == 0; bitselect(a, a, c) == a; bitselect(a, b, ~0) == a; bitselect(a, b, 0) == b",
    citations: &["INV-SIMD-003"],
    apply: |rw, op| {
        enum To {
            Value(Value),
            Bytes([u8; 16]),
            Not(Value),
        }
        let to = {
            let v = rw.view(op);
            let ctx = v.ctx;
            let constant = |i: usize| vector_constant(ctx, v.body, v.operand(i));
            let (zero, ones) = ([0u8; 16], [0xffu8; 16]);
            match v.name() {
                "simd.and" | "simd.or" | "simd.xor" | "simd.andnot" => {
                    let (x, y) = (v.operand(0), v.operand(1));
                    match (v.name(), x == y, constant(0), constant(1)) {
                        ("simd.and" | "simd.or", true, _, _) => To::Value(x),
                        ("simd.xor" | "simd.andnot", true, _, _) => To::Bytes(zero),
                        ("simd.and", _, _, Some(c)) | ("simd.and", _, Some(c), _) if c == zero => {
                            To::Bytes(zero)
                        }
                        ("simd.and", _, _, Some(c)) if c == ones => To::Value(x),
                        ("simd.and", _, Some(c), _) if c == ones => To::Value(y),
                        ("simd.or" | "simd.xor" | "simd.andnot", _, _, Some(c)) if c == zero => To::Value(x),
                        ("simd.or" | "simd.xor", _, Some(c), _) if c == zero => To::Value(y),
                        ("simd.or", _, _, Some(c)) | ("simd.or", _, Some(c), _) if c == ones => {
                            To::Bytes(ones)
                        }
                        ("simd.xor", _, _, Some(c)) if c == ones => To::Not(x),
                        ("simd.xor", _, Some(c), _) if c == ones => To::Not(y),
                        ("simd.andnot", _, _, Some(c)) if c == ones => To::Bytes(zero),
                        ("simd.andnot", _, Some(c), _) if c == zero => To::Bytes(zero),
                        _ => return false,
                    }
                }
                "simd.bitselect" => {
                    let (a, b) = (v.operand(0), v.operand(1));
                    match (a == b, constant(2)) {
                        (true, _) => To::Value(a),
                        (_, Some(c)) if c == ones => To::Value(a),
                        (_, Some(c)) if c == zero => To::Value(b),
                        _ => return false,
                    }
                }
                _ => return false,
            }
        };
        let ty = v128(rw.ctx());
        let value = match to {
            To::Value(v) => v,
            To::Bytes(bytes) => {
                let attr = rw.ctx().string_attr(&format_bytes(&bytes));
                build(rw, op, "simd.const", &[], ty, &[("value", attr)])
            }
            To::Not(x) => build(rw, op, "simd.not", &[x], ty, &[]),
        };
        replace(rw, op, value)
    },
};

/// Every pattern, tried on every SIMD op (each checks the op's name first).
pub const PATTERNS: &[Pattern] = &[
    EXTRACT_OF_SPLAT,
    EXTRACT_OF_REPLACE,
    SHUFFLE_IDENTITY,
    SHUFFLE_OF_SHUFFLE,
    SHUFFLE_TO_SPLAT,
    BITWISE_IDENTITIES,
];
