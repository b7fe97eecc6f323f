//! Lane semantics of every pure SIMD op, written once as a *lane program*: for each result
//! lane, a scalar expression over operand lanes in `arith`'s ops. The same program is
//! evaluated on constants here (through [`arith::semantics`](crate::arith::semantics), for
//! folding and tests) and emitted as scalar code by the `lower-simd` fallback, so the folder,
//! the fallback and the tests cannot disagree. Relaxed-SIMD ops are given their deterministic
//! form (specs/simd.md, "Semantics").

use super::table::{Family, Sig};
use crate::arith::semantics::{self as scalar, Num};
use wasmir_ir::Type;

/// A lane shape.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shape {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
    F32x4,
    F64x2,
}

impl Shape {
    /// Every shape, integer ones first.
    pub const ALL: [Shape; 6] =
        [Shape::I8x16, Shape::I16x8, Shape::I32x4, Shape::I64x2, Shape::F32x4, Shape::F64x2];

    /// The shape named `i8x16` ... `f64x2`.
    pub fn parse(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }
    pub fn name(self) -> &'static str {
        ["i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2"][self as usize]
    }
    /// The number of lanes.
    pub fn lanes(self) -> usize {
        [16, 8, 4, 2, 4, 2][self as usize]
    }
    /// The width of a lane in bits.
    pub fn lane_bits(self) -> u32 {
        128 / self.lanes() as u32
    }
    /// The scalar type a lane is computed in (`i32` for the narrow integer lanes, as in Wasm).
    pub fn scalar(self) -> Type {
        match self {
            Shape::I8x16 | Shape::I16x8 | Shape::I32x4 => Type::I32,
            Shape::I64x2 => Type::I64,
            Shape::F32x4 => Type::F32,
            Shape::F64x2 => Type::F64,
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, Shape::F32x4 | Shape::F64x2)
    }
    /// Whether a lane is narrower than the scalar it is computed in (so its upper bits are
    /// not meaningful unless extended).
    pub fn is_narrow(self) -> bool {
        matches!(self, Shape::I8x16 | Shape::I16x8)
    }
    /// The integer shape of the same lane width.
    pub fn as_int(self) -> Shape {
        match self {
            Shape::F32x4 => Shape::I32x4,
            Shape::F64x2 => Shape::I64x2,
            s => s,
        }
    }
}

/// How an operand lane is read.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ext {
    /// The lane's bits; for a narrow lane, the bits above it are unspecified (a program never
    /// lets them reach a result except below the lane's width).
    Raw,
    /// Sign-extended to the scalar.
    Sext,
    /// Zero-extended to the scalar.
    Zext,
}

/// A scalar expression of a lane program. Types are Wasm's number types; a narrow result lane
/// keeps the low bits of its expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// Lane `lane` of vector operand `operand`, read at `shape`.
    Lane { operand: u8, shape: Shape, lane: u8, ext: Ext },
    /// Scalar operand `n` (a splat's value, a replaced lane, a shift count).
    Scalar(u8),
    /// A constant's bits and type.
    Const(u64, Type),
    /// `arith.<op>` of the arguments, giving `ty`. Comparisons are `cmpi.<pred>` and
    /// `cmpf.<pred>` (giving an `i32` 0 or 1); `select` takes the condition first; `fma` is
    /// `a * b + c` rounded once (no scalar Wasm instruction: see the fallback in specs/simd.md).
    Op(&'static str, Type, Vec<Expr>),
    /// `cases[index]` when `index` (an i32) is below the number of cases, else `default`.
    Pick(Box<Expr>, Vec<Expr>, Box<Expr>),
}

/// What a lane program computes: a vector (one expression per lane of `shape`) or a scalar.
#[derive(Clone, Debug, PartialEq)]
pub enum Program {
    Vector(Shape, Vec<Expr>),
    Scalar(Expr),
}

impl Program {
    /// Whether any expression applies `op` (the fallback does not fold what it computes
    /// differently: `fma`).
    pub fn applies(&self, op: &str) -> bool {
        fn walk(e: &Expr, op: &str) -> bool {
            match e {
                Expr::Op(name, _, args) => *name == op || args.iter().any(|a| walk(a, op)),
                Expr::Pick(i, cases, d) => walk(i, op) || walk(d, op) || cases.iter().any(|c| walk(c, op)),
                _ => false,
            }
        }
        match self {
            Program::Scalar(e) => walk(e, op),
            Program::Vector(_, lanes) => lanes.iter().any(|e| walk(e, op)),
        }
    }
}

// ----- building expressions -----

fn lane(operand: u8, shape: Shape, lane: usize, ext: Ext) -> Expr {
    let ext = if shape.is_narrow() { ext } else { Ext::Raw };
    Expr::Lane { operand, shape, lane: lane as u8, ext }
}
fn op(name: &'static str, ty: Type, args: Vec<Expr>) -> Expr {
    Expr::Op(name, ty, args)
}
fn int(v: i64, ty: Type) -> Expr {
    Expr::Const(v as u64 & scalar::mask(width(ty)), ty)
}
fn select(cond: Expr, a: Expr, b: Expr) -> Expr {
    let ty = a.ty();
    op("select", ty, vec![cond, a, b])
}
fn cmp(pred: &'static str, a: Expr, b: Expr) -> Expr {
    let name = if a.ty() == Type::F32 || a.ty() == Type::F64 { cmpf(pred) } else { cmpi(pred) };
    op(name, Type::I32, vec![a, b])
}
fn cmpi(pred: &str) -> &'static str {
    match pred {
        "eq" => "cmpi.eq",
        "ne" => "cmpi.ne",
        "slt" => "cmpi.slt",
        "sle" => "cmpi.sle",
        "sgt" => "cmpi.sgt",
        "sge" => "cmpi.sge",
        "ult" => "cmpi.ult",
        "ule" => "cmpi.ule",
        "ugt" => "cmpi.ugt",
        _ => "cmpi.uge",
    }
}
fn cmpf(pred: &str) -> &'static str {
    match pred {
        "eq" => "cmpf.eq",
        "ne" => "cmpf.ne",
        "lt" => "cmpf.lt",
        "le" => "cmpf.le",
        "gt" => "cmpf.gt",
        _ => "cmpf.ge",
    }
}
/// `x` clamped to `lo..=hi` (signed).
fn clamp(x: Expr, lo: i64, hi: i64) -> Expr {
    let ty = x.ty();
    let upper = select(cmp("sgt", x.clone(), int(hi, ty)), int(hi, ty), x);
    select(cmp("slt", upper.clone(), int(lo, ty)), int(lo, ty), upper)
}
/// All ones when `cond` holds, else zero, in `ty`.
fn mask(cond: Expr, ty: Type) -> Expr {
    select(cond, int(-1, ty), int(0, ty))
}

fn width(ty: Type) -> u8 {
    if ty == Type::I64 || ty == Type::F64 { 64 } else { 32 }
}

impl Expr {
    /// The type the expression computes.
    pub fn ty(&self) -> Type {
        match self {
            Expr::Lane { shape, .. } => shape.scalar(),
            // Scalar operands are typed by the program's reader; splat and replace_lane carry
            // the lane's scalar and shift counts are i32, which `Scalar` is only used as with a
            // known type through `Op`. Callers never ask a bare scalar its type.
            Expr::Scalar(_) => Type::I32,
            Expr::Const(_, ty) | Expr::Op(_, ty, _) => *ty,
            Expr::Pick(_, cases, _) => cases[0].ty(),
        }
    }
}

// ----- the programs -----

/// The lane program of the pure op of `family` at `shape` (for the whole-vector families,
/// `shape` is the integer shape to compute in: `i32x4` or `i64x2`), given its `lane` and
/// shuffle `lanes` immediates. `None` for constants, memory accesses and unknown families.
pub fn program(
    family: &Family,
    shape: Shape,
    lane_imm: Option<u32>,
    shuffle: Option<&[u8; 16]>,
) -> Option<Program> {
    use Ext::*;
    let s = shape;
    let n = s.lanes();
    let ty = s.scalar();
    let name = family.name;
    let each = |f: &dyn Fn(usize) -> Expr| (0..n).map(f).collect::<Vec<_>>();
    let vector =
        |shape: Shape, f: &dyn Fn(usize) -> Expr| Program::Vector(shape, (0..shape.lanes()).map(f).collect());
    let a = |i: usize, ext: Ext| lane(0, s, i, ext);
    let b = |i: usize, ext: Ext| lane(1, s, i, ext);
    // The source shape of a widening op: half the lane width.
    let narrower = || match s {
        Shape::I16x8 => Shape::I8x16,
        Shape::I32x4 => Shape::I16x8,
        _ => Shape::I32x4,
    };
    let relaxed_strict = |strict: &str| {
        super::family(&format!("simd.{strict}")).and_then(|f| program(f, s, lane_imm, shuffle))
    };
    Some(match (family.sig, name) {
        (Sig::Const | Sig::Load | Sig::Store | Sig::LoadLane | Sig::StoreLane, _) => return None,
        (Sig::Splat, _) => Program::Vector(s, each(&|_| Expr::Scalar(0))),
        (Sig::ExtractLane, _) => {
            let ext = if name.ends_with("_s") {
                Sext
            } else if name.ends_with("_u") {
                Zext
            } else {
                Raw
            };
            Program::Scalar(a(lane_imm? as usize, ext))
        }
        (Sig::ReplaceLane, _) => {
            let at = lane_imm? as usize;
            Program::Vector(s, each(&|i| if i == at { Expr::Scalar(1) } else { a(i, Raw) }))
        }
        (Sig::Shuffle, _) => shuffle_program(shuffle?),
        (_, "swizzle") => Program::Vector(
            Shape::I8x16,
            (0..16)
                .map(|i| {
                    let cases = (0..16).map(|j| lane(0, Shape::I8x16, j, Raw)).collect();
                    Expr::Pick(Box::new(lane(1, Shape::I8x16, i, Zext)), cases, Box::new(int(0, Type::I32)))
                })
                .collect(),
        ),
        // Comparisons: all ones or zero per lane, in the integer shape of the lane width.
        (
            Sig::Binary,
            "eq" | "ne" | "lt_s" | "lt_u" | "gt_s" | "gt_u" | "le_s" | "le_u" | "ge_s" | "ge_u" | "lt" | "gt"
            | "le" | "ge",
        ) => {
            let (pred, ext) = match name {
                "eq" | "ne" => (name, Zext),
                "lt" | "gt" | "le" | "ge" => (name, Raw),
                _ => {
                    let (p, sign) = name.split_once('_').unwrap_or((name, "s"));
                    let pred: &'static str = match (p, sign) {
                        ("lt", "s") => "slt",
                        ("lt", _) => "ult",
                        ("gt", "s") => "sgt",
                        ("gt", _) => "ugt",
                        ("le", "s") => "sle",
                        ("le", _) => "ule",
                        ("ge", "s") => "sge",
                        _ => "uge",
                    };
                    (pred, if sign == "s" { Sext } else { Zext })
                }
            };
            let out = s.as_int();
            vector(out, &|i| mask(cmp(pred, a(i, ext), b(i, ext)), out.scalar()))
        }
        // Whole-vector bitwise ops, computed at `shape` (an integer shape).
        (_, "not") => Program::Vector(s, each(&|i| op("xori", ty, vec![a(i, Raw), int(-1, ty)]))),
        (_, "and" | "or" | "xor") => {
            let f = match name {
                "and" => "andi",
                "or" => "ori",
                _ => "xori",
            };
            Program::Vector(s, each(&|i| op(f, ty, vec![a(i, Raw), b(i, Raw)])))
        }
        (_, "andnot") => Program::Vector(
            s,
            each(&|i| op("andi", ty, vec![a(i, Raw), op("xori", ty, vec![b(i, Raw), int(-1, ty)])])),
        ),
        (_, "bitselect" | "relaxed_laneselect") => {
            // b ^ ((a ^ b) & c); laneselect's deterministic form is bitselect.
            let s = if name == "bitselect" { s } else { Shape::I64x2 };
            let c = |i: usize| lane(2, s, i, Raw);
            vector(s, &|i| {
                let (x, y) = (lane(0, s, i, Raw), lane(1, s, i, Raw));
                op(
                    "xori",
                    s.scalar(),
                    vec![y.clone(), op("andi", s.scalar(), vec![op("xori", s.scalar(), vec![x, y]), c(i)])],
                )
            })
        }
        (_, "any_true") => {
            // At a narrow shape (the fallback computes where the lanes are) each lane is
            // extended first: compare masks are sign-extended already.
            let any = (1..n).fold(a(0, Sext), |acc, i| op("ori", ty, vec![acc, a(i, Sext)]));
            Program::Scalar(cmp("ne", any, int(0, ty)))
        }
        (_, "all_true") => {
            let nonzero = |i: usize| cmp("ne", a(i, Zext), int(0, ty));
            Program::Scalar((1..n).fold(nonzero(0), |acc, i| op("andi", Type::I32, vec![acc, nonzero(i)])))
        }
        (_, "bitmask") => {
            let top = |i: usize| {
                // The sign bit: of the sign-extended lane for narrow lanes (a compare mask is
                // one already).
                let sign = op("shrui", ty, vec![a(i, Sext), int(i64::from(width(ty)) - 1, ty)]);
                let sign = if ty == Type::I64 { op("wrap", Type::I32, vec![sign]) } else { sign };
                if i == 0 { sign } else { op("shli", Type::I32, vec![sign, int(i as i64, Type::I32)]) }
            };
            Program::Scalar((1..n).fold(top(0), |acc, i| op("ori", Type::I32, vec![acc, top(i)])))
        }
        (_, "abs") if s.is_float() => Program::Vector(s, each(&|i| op("absf", ty, vec![a(i, Raw)]))),
        (_, "abs") => Program::Vector(
            s,
            each(&|i| {
                let x = a(i, Sext);
                select(cmp("slt", x.clone(), int(0, ty)), op("subi", ty, vec![int(0, ty), x.clone()]), x)
            }),
        ),
        (_, "neg") if s.is_float() => Program::Vector(s, each(&|i| op("negf", ty, vec![a(i, Raw)]))),
        (_, "neg") => Program::Vector(s, each(&|i| op("subi", ty, vec![int(0, ty), a(i, Raw)]))),
        (_, "popcnt") => Program::Vector(s, each(&|i| op("popcnt", ty, vec![a(i, Zext)]))),
        (_, "narrow_i16x8_s" | "narrow_i16x8_u" | "narrow_i32x4_s" | "narrow_i32x4_u") => {
            let src = narrower_of_narrow(s);
            let half = src.lanes();
            let bits = s.lane_bits();
            let (lo, hi) = if name.ends_with("_s") {
                (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
            } else {
                (0, (1i64 << bits) - 1)
            };
            Program::Vector(
                s,
                each(&|i| {
                    let x = if i < half { lane(0, src, i, Sext) } else { lane(1, src, i - half, Sext) };
                    clamp(x, lo, hi)
                }),
            )
        }
        (Sig::Shift, _) => {
            let count =
                op("andi", Type::I32, vec![Expr::Scalar(1), int(i64::from(s.lane_bits()) - 1, Type::I32)]);
            let count = if ty == Type::I64 { op("extend_u", Type::I64, vec![count]) } else { count };
            let (f, ext) = match name {
                "shl" => ("shli", Raw),
                "shr_s" => ("shrsi", Sext),
                _ => ("shrui", Zext),
            };
            Program::Vector(s, each(&|i| op(f, ty, vec![a(i, ext), count.clone()])))
        }
        (_, "add" | "sub" | "mul" | "div" | "min" | "max" | "relaxed_min" | "relaxed_max")
            if s.is_float() =>
        {
            let f = match name {
                "add" => "addf",
                "sub" => "subf",
                "mul" => "mulf",
                "div" => "divf",
                "min" | "relaxed_min" => "minf",
                _ => "maxf",
            };
            Program::Vector(s, each(&|i| op(f, ty, vec![a(i, Raw), b(i, Raw)])))
        }
        (_, "add" | "sub" | "mul") => {
            let f = match name {
                "add" => "addi",
                "sub" => "subi",
                _ => "muli",
            };
            Program::Vector(s, each(&|i| op(f, ty, vec![a(i, Raw), b(i, Raw)])))
        }
        (_, "add_sat_s" | "sub_sat_s" | "add_sat_u" | "sub_sat_u") => {
            let signed = name.ends_with("_s");
            let ext = if signed { Sext } else { Zext };
            let f = if name.starts_with("add") { "addi" } else { "subi" };
            let bits = s.lane_bits();
            let (lo, hi) = if signed {
                (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
            } else {
                (0, (1i64 << bits) - 1)
            };
            Program::Vector(s, each(&|i| clamp(op(f, ty, vec![a(i, ext), b(i, ext)]), lo, hi)))
        }
        (_, "min_s" | "min_u" | "max_s" | "max_u") => {
            let ext = if name.ends_with("_s") { Sext } else { Zext };
            let pred = match name {
                "min_s" => "slt",
                "min_u" => "ult",
                "max_s" => "sgt",
                _ => "ugt",
            };
            Program::Vector(s, each(&|i| select(cmp(pred, a(i, ext), b(i, ext)), a(i, ext), b(i, ext))))
        }
        (_, "avgr_u") => Program::Vector(
            s,
            each(&|i| {
                let sum = op("addi", ty, vec![op("addi", ty, vec![a(i, Zext), b(i, Zext)]), int(1, ty)]);
                op("shrui", ty, vec![sum, int(1, ty)])
            }),
        ),
        (_, "q15mulr_sat_s" | "relaxed_q15mulr_s") => Program::Vector(
            s,
            each(&|i| {
                let product = op("muli", ty, vec![a(i, Sext), b(i, Sext)]);
                let rounded =
                    op("shrsi", ty, vec![op("addi", ty, vec![product, int(0x4000, ty)]), int(15, ty)]);
                // Only -32768 * -32768 leaves the range, upwards.
                let max = int(0x7fff, ty);
                select(cmp("sgt", rounded.clone(), max.clone()), max, rounded)
            }),
        ),
        (_, _) if name.starts_with("extadd_pairwise_") => {
            let src = narrower();
            let ext = if name.ends_with("_s") { Sext } else { Zext };
            Program::Vector(
                s,
                each(&|i| op("addi", ty, vec![lane(0, src, 2 * i, ext), lane(0, src, 2 * i + 1, ext)])),
            )
        }
        (_, _) if name.starts_with("extend_") => {
            let src = narrower();
            let ext = if name.ends_with("_s") { Sext } else { Zext };
            let base = if name.starts_with("extend_high") { n } else { 0 };
            Program::Vector(s, each(&|i| widen(lane(0, src, base + i, ext), ty, ext)))
        }
        (_, _) if name.starts_with("extmul_") => {
            let src = narrower();
            let ext = if name.ends_with("_s") { Sext } else { Zext };
            let base = if name.starts_with("extmul_high") { n } else { 0 };
            Program::Vector(
                s,
                each(&|i| {
                    let x = widen(lane(0, src, base + i, ext), ty, ext);
                    let y = widen(lane(1, src, base + i, ext), ty, ext);
                    op("muli", ty, vec![x, y])
                }),
            )
        }
        (_, "dot_i16x8_s") => Program::Vector(
            s,
            each(&|i| {
                let p = |k: usize| {
                    op("muli", ty, vec![lane(0, Shape::I16x8, k, Sext), lane(1, Shape::I16x8, k, Sext)])
                };
                op("addi", ty, vec![p(2 * i), p(2 * i + 1)])
            }),
        ),
        (_, "relaxed_dot_i8x16_i7x16_s") => Program::Vector(
            s,
            each(&|i| {
                let p = |k: usize| {
                    op("muli", ty, vec![lane(0, Shape::I8x16, k, Sext), lane(1, Shape::I8x16, k, Sext)])
                };
                op("addi", ty, vec![p(2 * i), p(2 * i + 1)])
            }),
        ),
        (_, "relaxed_dot_i8x16_i7x16_add_s") => Program::Vector(
            s,
            each(&|i| {
                let p = |k: usize| {
                    op("muli", ty, vec![lane(0, Shape::I8x16, k, Sext), lane(1, Shape::I8x16, k, Sext)])
                };
                // The i16 pairwise sums wrap (as the i16x8 dot does), then add pairwise to i32.
                let pair =
                    |j: usize| op("extend16_s", ty, vec![op("addi", ty, vec![p(2 * j), p(2 * j + 1)])]);
                op(
                    "addi",
                    ty,
                    vec![op("addi", ty, vec![pair(2 * i), pair(2 * i + 1)]), lane(2, Shape::I32x4, i, Raw)],
                )
            }),
        ),
        (_, "ceil" | "floor" | "trunc" | "nearest" | "sqrt") => {
            let f = match name {
                "ceil" => "ceilf",
                "floor" => "floorf",
                "trunc" => "truncf",
                "nearest" => "nearestf",
                _ => "sqrtf",
            };
            Program::Vector(s, each(&|i| op(f, ty, vec![a(i, Raw)])))
        }
        (_, "pmin") => {
            Program::Vector(s, each(&|i| select(cmp("lt", b(i, Raw), a(i, Raw)), b(i, Raw), a(i, Raw))))
        }
        (_, "pmax") => {
            Program::Vector(s, each(&|i| select(cmp("lt", a(i, Raw), b(i, Raw)), b(i, Raw), a(i, Raw))))
        }
        (_, "relaxed_madd" | "relaxed_nmadd") => Program::Vector(
            s,
            each(&|i| {
                let x = if name == "relaxed_nmadd" { op("negf", ty, vec![a(i, Raw)]) } else { a(i, Raw) };
                op("fma", ty, vec![x, b(i, Raw), lane(2, s, i, Raw)])
            }),
        ),
        (
            _,
            "trunc_sat_f32x4_s" | "trunc_sat_f32x4_u" | "relaxed_trunc_f32x4_s" | "relaxed_trunc_f32x4_u",
        ) => {
            let f = if name.ends_with("_s") { "trunc_sat_s" } else { "trunc_sat_u" };
            Program::Vector(s, each(&|i| op(f, Type::I32, vec![lane(0, Shape::F32x4, i, Raw)])))
        }
        (
            _,
            "trunc_sat_f64x2_s_zero"
            | "trunc_sat_f64x2_u_zero"
            | "relaxed_trunc_f64x2_s_zero"
            | "relaxed_trunc_f64x2_u_zero",
        ) => {
            let f = if name.contains("_s_") { "trunc_sat_s" } else { "trunc_sat_u" };
            Program::Vector(
                s,
                each(&|i| {
                    if i < 2 {
                        op(f, Type::I32, vec![lane(0, Shape::F64x2, i, Raw)])
                    } else {
                        int(0, Type::I32)
                    }
                }),
            )
        }
        (_, "convert_i32x4_s" | "convert_i32x4_u" | "convert_low_i32x4_s" | "convert_low_i32x4_u") => {
            let f = if name.ends_with("_s") { "convert_s" } else { "convert_u" };
            Program::Vector(s, each(&|i| op(f, ty, vec![lane(0, Shape::I32x4, i, Raw)])))
        }
        (_, "demote_f64x2_zero") => Program::Vector(
            s,
            each(&|i| {
                if i < 2 {
                    op("demote", Type::F32, vec![lane(0, Shape::F64x2, i, Raw)])
                } else {
                    Expr::Const(0, Type::F32)
                }
            }),
        ),
        (_, "promote_low_f32x4") => {
            Program::Vector(s, each(&|i| op("promote", Type::F64, vec![lane(0, Shape::F32x4, i, Raw)])))
        }
        (_, "relaxed_swizzle") => return relaxed_strict("swizzle"),
        _ => return None,
    })
}

/// The source shape of a narrowing op of result shape `s`.
fn narrower_of_narrow(s: Shape) -> Shape {
    if s == Shape::I8x16 { Shape::I16x8 } else { Shape::I32x4 }
}

/// An extended lane as the wider scalar `ty` (only i32 to i64 changes type).
fn widen(x: Expr, ty: Type, ext: Ext) -> Expr {
    if ty == Type::I64 && x.ty() == Type::I32 {
        op(if ext == Ext::Sext { "extend_s" } else { "extend_u" }, Type::I64, vec![x])
    } else {
        x
    }
}

/// A shuffle at the widest shape that expresses it: byte indices that move whole aligned
/// 2-, 4- or 8-byte lanes become a shuffle of those lanes.
fn shuffle_program(indices: &[u8; 16]) -> Program {
    for shape in [Shape::I64x2, Shape::I32x4, Shape::I16x8] {
        let k = (shape.lane_bits() / 8) as usize;
        let whole = indices.chunks(k).all(|c| {
            (c[0] as usize).is_multiple_of(k)
                && c.iter().enumerate().all(|(j, &x)| x as usize == c[0] as usize + j)
        });
        if whole {
            let lanes = indices
                .chunks(k)
                .map(|c| {
                    let source = c[0] as usize / k;
                    let per = shape.lanes();
                    lane((source / per) as u8, shape, source % per, Ext::Raw)
                })
                .collect();
            return Program::Vector(shape, lanes);
        }
    }
    Program::Vector(
        Shape::I8x16,
        indices.iter().map(|&x| lane(x / 16, Shape::I8x16, (x % 16) as usize, Ext::Raw)).collect(),
    )
}

// ----- evaluating on constants -----

/// An operand of an op being evaluated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Vector([u8; 16]),
    /// A scalar's bits (an f32 in the low 32 bits).
    Scalar(u64),
}

/// Lane `i` of `bytes` at `shape`, as the bits of its scalar (zero-extended).
pub fn get_lane(bytes: &[u8; 16], shape: Shape, i: usize) -> u64 {
    let k = (shape.lane_bits() / 8) as usize;
    let mut le = [0u8; 8];
    le[..k].copy_from_slice(&bytes[i * k..(i + 1) * k]);
    u64::from_le_bytes(le)
}

/// Writes the low lane bits of `value` into lane `i` of `bytes` at `shape`.
pub fn set_lane(bytes: &mut [u8; 16], shape: Shape, i: usize, value: u64) {
    let k = (shape.lane_bits() / 8) as usize;
    bytes[i * k..(i + 1) * k].copy_from_slice(&value.to_le_bytes()[..k]);
}

/// The result of evaluating a program.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Evaluated {
    pub value: Operand,
    /// Some float lane came out NaN from arithmetic, whose payload Wasm leaves open: a folder
    /// must not commit to these bits.
    pub open_nan: bool,
}

/// Runs `program` on `operands`. `None` when an operand is missing or of the wrong kind.
pub fn eval(program: &Program, operands: &[Operand]) -> Option<Evaluated> {
    let mut open_nan = false;
    let value = match program {
        Program::Scalar(e) => Operand::Scalar(eval_expr(e, operands, &mut open_nan)?),
        Program::Vector(shape, lanes) => {
            let mut out = [0u8; 16];
            for (i, e) in lanes.iter().enumerate() {
                let v = eval_expr(e, operands, &mut open_nan)?;
                set_lane(&mut out, *shape, i, v);
            }
            Operand::Vector(out)
        }
    };
    Some(Evaluated { value, open_nan })
}

fn num(ty: Type) -> Num {
    match ty {
        Type::I64 => Num::I64,
        Type::F32 => Num::F32,
        Type::F64 => Num::F64,
        _ => Num::I32,
    }
}

fn eval_expr(e: &Expr, operands: &[Operand], open_nan: &mut bool) -> Option<u64> {
    Some(match e {
        Expr::Lane { operand, shape, lane, ext } => {
            let Operand::Vector(bytes) = operands.get(*operand as usize)? else { return None };
            let raw = get_lane(bytes, *shape, *lane as usize);
            let bits = shape.lane_bits();
            match ext {
                Ext::Sext if shape.is_narrow() => {
                    (((raw << (64 - bits)) as i64) >> (64 - bits)) as u64 & 0xFFFF_FFFF
                }
                _ => raw,
            }
        }
        Expr::Scalar(n) => match operands.get(*n as usize)? {
            Operand::Scalar(v) => *v,
            Operand::Vector(_) => return None,
        },
        Expr::Const(bits, _) => *bits,
        Expr::Pick(index, cases, default) => {
            let i = eval_expr(index, operands, open_nan)? as usize;
            match cases.get(i) {
                Some(case) => eval_expr(case, operands, open_nan)?,
                None => eval_expr(default, operands, open_nan)?,
            }
        }
        Expr::Op(name, ty, args) => {
            let vals: Vec<u64> =
                args.iter().map(|a| eval_expr(a, operands, open_nan)).collect::<Option<_>>()?;
            let arg_ty = args.first().map_or(*ty, Expr::ty);
            let is_f32 = arg_ty == Type::F32;
            let w = width(arg_ty);
            let r = if let Some(pred) = name.strip_prefix("cmpi.") {
                u64::from(scalar::int_compare(pred, w, vals[0], vals[1])?)
            } else if let Some(pred) = name.strip_prefix("cmpf.") {
                u64::from(scalar::float_compare(pred, is_f32, vals[0], vals[1])?)
            } else if *name == "select" {
                if vals[0] as u32 != 0 { vals[1] } else { vals[2] }
            } else if *name == "fma" {
                fused_multiply_add(*ty, vals[0], vals[1], vals[2])
            } else {
                match vals.len() {
                    2 if is_float(*ty) => scalar::float_binary(name, *ty == Type::F32, vals[0], vals[1]),
                    2 => scalar::int_binary(name, width(*ty), vals[0], vals[1]),
                    1 if arg_ty != *ty
                        || matches!(*name, "trunc_sat_s" | "trunc_sat_u" | "convert_s" | "convert_u") =>
                    {
                        scalar::convert(name, num(arg_ty), num(*ty), vals[0])
                    }
                    1 if is_float(*ty) => scalar::float_unary(name, is_f32, vals[0]),
                    1 => scalar::int_unary(name, w, vals[0]),
                    _ => None,
                }?
            };
            if is_float(*ty) && !scalar::is_bit_exact(name) && is_nan(*ty, r) {
                *open_nan = true;
            }
            r & scalar::mask(width(*ty))
        }
    })
}

/// `a * b + c` with one rounding (relaxed `madd`'s deterministic form).
fn fused_multiply_add(ty: Type, a: u64, b: u64, c: u64) -> u64 {
    if ty == Type::F32 {
        let f = |x: u64| f32::from_bits(x as u32);
        u64::from(f(a).mul_add(f(b), f(c)).to_bits())
    } else {
        f64::from_bits(a).mul_add(f64::from_bits(b), f64::from_bits(c)).to_bits()
    }
}

fn is_float(ty: Type) -> bool {
    ty == Type::F32 || ty == Type::F64
}

fn is_nan(ty: Type, bits: u64) -> bool {
    match ty {
        Type::F32 => f32::from_bits(bits as u32).is_nan(),
        _ => f64::from_bits(bits).is_nan(),
    }
}

/// The lane program of an op of `family` with its `shape` attribute, for evaluation: the
/// whole-vector families compute at `i64x2`.
pub fn op_program(
    family: &Family,
    shape: Option<&str>,
    lane_imm: Option<u32>,
    shuffle: Option<&[u8; 16]>,
) -> Option<Program> {
    let shape = match shape {
        Some(s) => Shape::parse(s)?,
        None => Shape::I64x2,
    };
    program(family, shape, lane_imm, shuffle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: &str, shape: &str, operands: &[Operand]) -> Operand {
        let family = crate::simd::family(&format!("simd.{op}")).unwrap();
        let p = op_program(family, (shape != "v128").then_some(shape), None, None).unwrap();
        eval(&p, operands).unwrap().value
    }

    fn v(bytes: [u8; 16]) -> Operand {
        Operand::Vector(bytes)
    }

    #[test]
    fn saturating_and_narrowing_lanes() {
        let mut a = [0u8; 16];
        a[0] = 0x7f;
        a[1] = 0x80;
        let mut b = [0u8; 16];
        b[0] = 1;
        b[1] = 0xff;
        let Operand::Vector(r) = run("add_sat_s", "i8x16", &[v(a), v(b)]) else { panic!() };
        assert_eq!((r[0], r[1]), (0x7f, 0x80), "127 + 1 saturates; -128 + -1 saturates");
        let Operand::Vector(r) = run("add_sat_u", "i8x16", &[v(a), v(b)]) else { panic!() };
        assert_eq!((r[0], r[1]), (0x80, 0xff));
        let Operand::Vector(r) = run("sub_sat_u", "i8x16", &[v(b), v(a)]) else { panic!() };
        assert_eq!((r[0], r[1]), (0, 0x7f));
        // narrow: i16 lanes 0x0100 (256) and 0xff80 (-128) of the first operand.
        let mut w = [0u8; 16];
        w[0..2].copy_from_slice(&256i16.to_le_bytes());
        w[2..4].copy_from_slice(&(-128i16).to_le_bytes());
        let Operand::Vector(r) = run("narrow_i16x8_s", "i8x16", &[v(w), v([0; 16])]) else { panic!() };
        assert_eq!((r[0], r[1]), (0x7f, 0x80));
        let Operand::Vector(r) = run("narrow_i16x8_u", "i8x16", &[v(w), v([0; 16])]) else { panic!() };
        assert_eq!((r[0], r[1]), (0xff, 0));
    }

    #[test]
    fn shuffles_use_the_widest_lanes_they_can() {
        let words: [u8; 16] = [4, 5, 6, 7, 0, 1, 2, 3, 28, 29, 30, 31, 16, 17, 18, 19];
        let Program::Vector(shape, lanes) = shuffle_program(&words) else { panic!() };
        assert_eq!((shape, lanes.len()), (Shape::I32x4, 4));
        let bytes: [u8; 16] = [1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        assert!(matches!(shuffle_program(&bytes), Program::Vector(Shape::I8x16, _)));
        let a: [u8; 16] = std::array::from_fn(|i| i as u8);
        let b: [u8; 16] = std::array::from_fn(|i| 16 + i as u8);
        assert_eq!(eval(&shuffle_program(&words), &[v(a), v(b)]).unwrap().value, v(words));
    }

    #[test]
    fn float_nan_results_are_open_but_sign_ops_are_exact() {
        let nan = f32::NAN.to_bits().to_le_bytes();
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&nan);
        let p = op_program(crate::simd::family("simd.add").unwrap(), Some("f32x4"), None, None).unwrap();
        assert!(eval(&p, &[v(a), v([0; 16])]).unwrap().open_nan);
        let p = op_program(crate::simd::family("simd.neg").unwrap(), Some("f32x4"), None, None).unwrap();
        assert!(!eval(&p, &[v(a)]).unwrap().open_nan);
    }

    #[test]
    fn every_pure_family_has_a_program_at_every_shape() {
        for family in super::super::FAMILIES {
            for &shape in family.shapes {
                let lanes = [0u8; 16];
                let p = op_program(family, (shape != "v128").then_some(shape), Some(0), Some(&lanes));
                let pure = !matches!(
                    family.sig,
                    Sig::Const | Sig::Load | Sig::Store | Sig::LoadLane | Sig::StoreLane
                );
                assert_eq!(p.is_some(), pure, "{shape}.{}", family.name);
            }
        }
    }
}
