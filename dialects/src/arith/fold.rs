//! Folders, verifier hooks and canonicalization patterns of `arith`, all computed through
//! [`semantics`](super::semantics) so folding is exactly what Wasm would compute.

use super::semantics::{self, Num};
use wasmir_ir::registry::{FoldInput, Folded, Pattern, SymbolResolver};
use wasmir_ir::{
    Attr, AttrData, Body, Context, Diagnostic, Op, OpRef, Rewriter, SmallVec, Type, Value, smallvec,
};

/// The constant an `arith.constant` produces, if `value` is defined by one.
pub fn constant_value(ctx: &Context, body: &Body, value: Value) -> Option<Attr> {
    let op = body.defining_op(value)?;
    if ctx.op_def(body.op_kind(op)).name != "arith.constant" {
        return None;
    }
    ctx.dict_get(body.op_attrs(op), "value")
}

fn num_of(ty: Type) -> Option<Num> {
    match ty {
        Type::I32 => Some(Num::I32),
        Type::I64 => Some(Num::I64),
        Type::F32 => Some(Num::F32),
        Type::F64 => Some(Num::F64),
        _ => None,
    }
}

fn width(ty: Type) -> u8 {
    if ty == Type::I64 || ty == Type::F64 { 64 } else { 32 }
}

/// The bits of a numeric constant: integers masked to their width, floats as IEEE bits.
pub fn constant_bits(ctx: &Context, a: Attr) -> Option<(u64, Type)> {
    match *ctx.attr_data(a) {
        AttrData::Int { value, ty } => Some((value as u64 & semantics::mask(width(ty)), ty)),
        AttrData::Float { bits, ty } => Some((bits, ty)),
        _ => None,
    }
}

/// The constant attribute of type `ty` with these bits (the inverse of [`constant_bits`]).
pub fn constant_attr(ctx: &Context, bits: u64, ty: Type) -> Attr {
    match ty {
        Type::F32 | Type::F64 => ctx.intern_attr(AttrData::Float { bits, ty }),
        _ => ctx.int_attr(bits as i64, ty),
    }
}

fn one(f: Folded) -> Option<SmallVec<[Folded; 1]>> {
    Some(smallvec![f])
}

/// The folder of every `arith` op.
pub fn fold(input: &FoldInput<'_>) -> Option<SmallVec<[Folded; 1]>> {
    let op = input.op;
    let ctx = op.ctx;
    let short = op.name().strip_prefix("arith.")?;
    let consts: Vec<Option<(u64, Type)>> =
        input.constants.iter().map(|c| c.and_then(|a| constant_bits(ctx, a))).collect();
    let result_ty = op.results().first().map(|&r| op.value_type(r))?;
    match short {
        "constant" => None,
        "select" => {
            let (t, f) = (op.operand(1), op.operand(2));
            if t == f {
                return one(Folded::Value(t));
            }
            let (cond, _) = consts[0]?;
            one(Folded::Value(if cond as u32 != 0 { t } else { f }))
        }
        "cmpi" | "cmpf" => {
            let pred = op.attr_str("predicate")?;
            let (lhs, rhs) = (op.operand(0), op.operand(1));
            if short == "cmpi" && lhs == rhs {
                let r = matches!(pred, "eq" | "sle" | "sge" | "ule" | "uge");
                return one(Folded::Const(ctx.int_attr(i64::from(r), Type::I32)));
            }
            let ((a, ty), (b, _)) = (consts[0]?, consts[1]?);
            let r = if short == "cmpi" {
                semantics::int_compare(pred, width(ty), a, b)?
            } else {
                semantics::float_compare(pred, ty == Type::F32, a, b)?
            };
            one(Folded::Const(ctx.int_attr(i64::from(r), Type::I32)))
        }
        _ if op.operands().len() == 2 => fold_binary(op, short, &consts, result_ty),
        _ if op.operands().len() == 1 => {
            let (a, from) = consts[0]?;
            let is_float_op = matches!(from, Type::F32 | Type::F64);
            let r =
                if let Some(to) = num_of(result_ty).filter(|_| from != result_ty || short == "reinterpret") {
                    semantics::convert(short, num_of(from)?, to, a)?
                } else if is_float_op {
                    semantics::float_unary(short, from == Type::F32, a)?
                } else {
                    semantics::int_unary(short, width(from), a)?
                };
            float_result_ok(short, result_ty, r)?;
            one(Folded::Const(constant_attr(ctx, r, result_ty)))
        }
        _ => None,
    }
}

/// A NaN produced by arithmetic has an open payload in Wasm: never fold one.
fn float_result_ok(short: &str, ty: Type, r: u64) -> Option<()> {
    let nan = match ty {
        Type::F32 => f32::from_bits(r as u32).is_nan(),
        Type::F64 => f64::from_bits(r).is_nan(),
        _ => false,
    };
    (!nan || semantics::is_bit_exact(short)).then_some(())
}

fn fold_binary(
    op: OpRef<'_>,
    short: &str,
    consts: &[Option<(u64, Type)>],
    ty: Type,
) -> Option<SmallVec<[Folded; 1]>> {
    let ctx = op.ctx;
    let (lhs, rhs) = (op.operand(0), op.operand(1));
    let is_float = matches!(ty, Type::F32 | Type::F64);
    if let (Some((a, _)), Some((b, _))) = (consts[0], consts[1]) {
        let r = if is_float {
            semantics::float_binary(short, ty == Type::F32, a, b)?
        } else {
            semantics::int_binary(short, width(ty), a, b)?
        };
        float_result_ok(short, ty, r)?;
        return one(Folded::Const(constant_attr(ctx, r, ty)));
    }
    if is_float {
        // Float identities such as x * 1.0 = x do not hold bit-exactly for signaling NaNs.
        return None;
    }
    let zero = ctx.int_attr(0, ty);
    let w = width(ty);
    if lhs == rhs {
        return match short {
            "subi" | "xori" => one(Folded::Const(zero)),
            "andi" | "ori" => one(Folded::Value(lhs)),
            _ => None,
        };
    }
    let (b, _) = consts[1]?;
    let all_ones = semantics::mask(w);
    match (short, b) {
        ("addi" | "subi" | "ori" | "xori" | "shli" | "shrsi" | "shrui" | "rotli" | "rotri", 0) => {
            one(Folded::Value(lhs))
        }
        ("shli" | "shrsi" | "shrui" | "rotli" | "rotri", n) if n % u64::from(w) == 0 => {
            one(Folded::Value(lhs))
        }
        ("muli" | "divsi" | "divui", 1) => one(Folded::Value(lhs)),
        ("muli" | "andi", 0) => one(Folded::Const(zero)),
        ("remsi" | "remui", 1) => one(Folded::Const(zero)),
        ("remsi", n) if n == all_ones => one(Folded::Const(zero)),
        ("andi", n) if n == all_ones => one(Folded::Value(lhs)),
        ("ori", n) if n == all_ones => one(Folded::Const(ctx.int_attr(-1, ty))),
        _ => None,
    }
}

/// `arith.constant` holds an i32, i64, f32 or f64.
pub fn verify_constant(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let Some(ty) = op.attr("value").and_then(|a| op.ctx.attr_type(a)) else { return };
    if num_of(ty).is_none() {
        errors.push(Diagnostic::error(
            op.loc(),
            format!(
                "'arith.constant' op value must be i32, i64, f32 or f64, but has type `{}`",
                wasmir_ir::printer::type_to_string(op.ctx, ty)
            ),
        ));
    }
}

/// Conversions exist only between the type pairs Wasm defines.
pub fn verify_conversion(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let short = op.name().trim_start_matches("arith.");
    let (from, to) = (op.value_type(op.operand(0)), op.value_type(op.result(0)));
    let ok = match (num_of(from), num_of(to)) {
        (Some(f), Some(t)) => match short {
            "reinterpret" => {
                width(from) == width(to)
                    && f != t
                    && (matches!(f, Num::F32 | Num::F64) != matches!(t, Num::F32 | Num::F64))
            }
            _ => true,
        },
        _ => false,
    };
    if !ok {
        let p = |t| wasmir_ir::printer::type_to_string(op.ctx, t);
        errors.push(Diagnostic::error(
            op.loc(),
            format!("'{}' op cannot convert `{}` to `{}`", op.name(), p(from), p(to)),
        ));
    }
}

fn constant_of(rw: &Rewriter<'_>, v: Value) -> Option<(u64, Type)> {
    constant_value(rw.ctx(), rw.body(), v).and_then(|a| constant_bits(rw.ctx(), a))
}

fn new_constant(rw: &mut Rewriter<'_>, before: Op, bits_value: u64, ty: Type) -> Value {
    rw.set_insertion_before(before);
    let attr = constant_attr(rw.ctx(), bits_value, ty);
    rw.note_change();
    rw.builder.op1("arith.constant", &[], ty, &[("value", attr)])
}

/// `x - C  ==>  x + (-C)` (wrapping), so later folds see one canonical form.
pub const SUB_CONST_TO_ADD: Pattern = Pattern {
    name: "sub-const-to-add",
    identity: "x - C == x + (-C) in two's-complement wrapping arithmetic",
    citations: &["INV-ARITH-001"],
    apply: |rw, op| {
        let (lhs, rhs) = {
            let v = rw.view(op);
            (v.operand(0), v.operand(1))
        };
        let Some((c, ty)) = constant_of(rw, rhs) else { return false };
        if c == 0 {
            return false;
        }
        let neg = c.wrapping_neg() & semantics::mask(width(ty));
        let k = new_constant(rw, op, neg, ty);
        let add = rw.builder.op1("arith.addi", &[lhs, k], ty, &[]);
        let result = rw.view(op).result(0);
        rw.replace_all_uses(result, add);
        rw.erase_op(op);
        true
    },
};

/// `x * 2^k  ==>  x << k` (strength reduction, valid for wrapping multiplication).
pub const MUL_POW2_TO_SHL: Pattern = Pattern {
    name: "mul-pow2-to-shl",
    identity: "x * 2^k == x << k modulo 2^N, for 0 < k < N",
    citations: &["INV-ARITH-001", "INV-ARITH-002"],
    apply: |rw, op| {
        let (lhs, rhs) = {
            let v = rw.view(op);
            (v.operand(0), v.operand(1))
        };
        let Some((c, ty)) = constant_of(rw, rhs) else { return false };
        if c < 2 || !c.is_power_of_two() {
            return false;
        }
        let k = new_constant(rw, op, u64::from(c.trailing_zeros()), ty);
        let shl = rw.builder.op1("arith.shli", &[lhs, k], ty, &[]);
        let result = rw.view(op).result(0);
        rw.replace_all_uses(result, shl);
        rw.erase_op(op);
        true
    },
};

/// `select(eqz(c), a, b)  ==>  select(c, b, a)`.
pub const SELECT_EQZ_SWAP: Pattern = Pattern {
    name: "select-eqz-swap",
    identity: "select(eqz c, a, b) == select(c, b, a)",
    citations: &["INV-ARITH-007"],
    apply: |rw, op| {
        let (cond, t, f) = {
            let v = rw.view(op);
            (v.operand(0), v.operand(1), v.operand(2))
        };
        let body = rw.body();
        let Some(def) = body.defining_op(cond) else { return false };
        if rw.ctx().op_def(body.op_kind(def)).name != "arith.eqz" {
            return false;
        }
        let inner = body.operands(def)[0];
        if body.value_type(inner) != Type::I32 {
            return false;
        }
        rw.set_operand(op, 0, inner);
        rw.set_operand(op, 1, f);
        rw.set_operand(op, 2, t);
        true
    },
};
