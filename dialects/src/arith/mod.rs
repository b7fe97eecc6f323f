//! `arith`: constants, integer and float arithmetic, comparisons, select and conversions,
//! with Wasm's exact semantics (wrapping integers, trapping division and truncation, Wasm's
//! NaN and signed-zero rules). See specs/arith.md.

mod fold;
pub mod semantics;

use wasmir_ir::registry::{
    AttrConstraint, AttrSpec, DialectDef, Fmt, Pattern, Syntax, TypeConstraint, ValueSpec,
};
use wasmir_ir::{Attr, Builder, Location, OpDef, Traits, Type, Value};

pub use fold::{constant_attr, constant_bits, constant_value};

/// The `arith` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "arith",
    summary: "Wasm-exact numeric operations on i32, i64, f32 and f64.",
    ops: OPS,
    types: &[],
    attrs: &[],
    materialize_constant: Some(materialize_constant),
    fold_citations: &[
        "INV-ARITH-001",
        "INV-ARITH-002",
        "INV-ARITH-003",
        "INV-ARITH-004",
        "INV-ARITH-005",
        "INV-ARITH-006",
    ],
};

const INT_PREDICATES: &[&str] = &["eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"];
const FLOAT_PREDICATES: &[&str] = &["eq", "ne", "lt", "le", "gt", "ge"];

const PURE: Traits = Traits::PURE;
const PURE_COMM: Traits = Traits::PURE.union(Traits::COMMUTATIVE);
const TRAPS: Traits = Traits::MAY_TRAP;

const BINARY_FMT: &[Fmt] = &[
    Fmt::Operands("lhs"),
    Fmt::Lit(","),
    Fmt::Operands("rhs"),
    Fmt::AttrDict,
    Fmt::Lit(":"),
    Fmt::Type("result"),
];
const UNARY_FMT: &[Fmt] = &[Fmt::Operands("operand"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("result")];
const TEST_FMT: &[Fmt] = &[Fmt::Operands("operand"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("operand")];
const CMP_FMT: &[Fmt] = &[
    Fmt::Attr("predicate"),
    Fmt::Lit(","),
    Fmt::Operands("lhs"),
    Fmt::Lit(","),
    Fmt::Operands("rhs"),
    Fmt::AttrDict,
    Fmt::Lit(":"),
    Fmt::Type("lhs"),
];
const CONVERT_FMT: &[Fmt] = &[
    Fmt::Operands("input"),
    Fmt::AttrDict,
    Fmt::Lit(":"),
    Fmt::Type("input"),
    Fmt::Lit("to"),
    Fmt::Type("result"),
];

/// A `&'static [ValueSpec]` of one value, usable in constant op tables.
macro_rules! one {
    ($name:literal, $ty:expr) => {{
        const SPEC: &[ValueSpec] = &[ValueSpec::one($name, $ty)];
        SPEC
    }};
}

const INT_BINARY: &[ValueSpec] =
    &[ValueSpec::one("lhs", TypeConstraint::WasmInt), ValueSpec::one("rhs", TypeConstraint::SameAs("lhs"))];
const FLOAT_BINARY: &[ValueSpec] =
    &[ValueSpec::one("lhs", TypeConstraint::WasmFloat), ValueSpec::one("rhs", TypeConstraint::SameAs("lhs"))];
const SAME_AS_LHS: &[ValueSpec] = &[ValueSpec::one("result", TypeConstraint::SameAs("lhs"))];
const SAME_AS_OPERAND: &[ValueSpec] = &[ValueSpec::one("result", TypeConstraint::SameAs("operand"))];
const I32_RESULT: &[ValueSpec] = &[ValueSpec::one("result", TypeConstraint::Exactly(Type::I32))];

macro_rules! bin_example {
    ($op:literal, $ty:literal) => {
        concat!(
            "func.func @f(%arg0: ",
            $ty,
            ", %arg1: ",
            $ty,
            ") -> ",
            $ty,
            " {\n  %0 = ",
            $op,
            " %arg0, %arg1 : ",
            $ty,
            "\n  func.return %0 : ",
            $ty,
            "\n}"
        )
    };
}
macro_rules! unary_example {
    ($op:literal, $ty:literal) => {
        concat!(
            "func.func @f(%arg0: ",
            $ty,
            ") -> ",
            $ty,
            " {\n  %0 = ",
            $op,
            " %arg0 : ",
            $ty,
            "\n  func.return %0 : ",
            $ty,
            "\n}"
        )
    };
}
macro_rules! convert_example {
    ($op:literal, $from:literal, $to:literal) => {
        concat!(
            "func.func @f(%arg0: ",
            $from,
            ") -> ",
            $to,
            " {\n  %0 = ",
            $op,
            " %arg0 : ",
            $from,
            " to ",
            $to,
            "\n  func.return %0 : ",
            $to,
            "\n}"
        )
    };
}

const fn int_binary(
    name: &'static str,
    summary: &'static str,
    description: &'static str,
    example: &'static str,
    traits: Traits,
    patterns: &'static [Pattern],
) -> OpDef {
    OpDef {
        name,
        summary,
        description,
        example,
        operands: INT_BINARY,
        results: SAME_AS_LHS,
        traits,
        syntax: Syntax::Format(BINARY_FMT),
        fold: Some(fold::fold),
        patterns,
        ..OpDef::EMPTY
    }
}

const fn float_binary(
    name: &'static str,
    summary: &'static str,
    description: &'static str,
    example: &'static str,
    traits: Traits,
) -> OpDef {
    OpDef {
        name,
        summary,
        description,
        example,
        operands: FLOAT_BINARY,
        results: SAME_AS_LHS,
        traits,
        syntax: Syntax::Format(BINARY_FMT),
        fold: Some(fold::fold),
        ..OpDef::EMPTY
    }
}

const fn unary(
    name: &'static str,
    operands: &'static [ValueSpec],
    summary: &'static str,
    description: &'static str,
    example: &'static str,
) -> OpDef {
    OpDef {
        name,
        summary,
        description,
        example,
        operands,
        results: SAME_AS_OPERAND,
        traits: PURE,
        syntax: Syntax::Format(UNARY_FMT),
        fold: Some(fold::fold),
        ..OpDef::EMPTY
    }
}

const fn conversion(
    name: &'static str,
    operands: &'static [ValueSpec],
    results: &'static [ValueSpec],
    traits: Traits,
    summary: &'static str,
    description: &'static str,
    example: &'static str,
) -> OpDef {
    OpDef {
        name,
        summary,
        description,
        example,
        operands,
        results,
        traits,
        syntax: Syntax::Format(CONVERT_FMT),
        verify: Some(fold::verify_conversion),
        fold: Some(fold::fold),
        ..OpDef::EMPTY
    }
}

use TypeConstraint::{Exactly, WasmFloat, WasmInt, WasmNum};

const I32: TypeConstraint = Exactly(Type::I32);
const I64: TypeConstraint = Exactly(Type::I64);
const F32: TypeConstraint = Exactly(Type::F32);
const F64: TypeConstraint = Exactly(Type::F64);

static OPS: &[OpDef] = &[
    OpDef {
        name: "arith.constant",
        summary: "A numeric constant",
        description: "Produces the typed number `value` (i32, i64, f32 or f64). Floats keep their \
exact bits: NaNs and infinities print as hex bit patterns (`0x7FC00000 : f32`).",
        example: "func.func @f() -> f32 {\n  %0 = arith.constant 0x7FC00001 : f32\n  func.return %0 : f32\n}",
        results: &[ValueSpec::one("result", TypeConstraint::SameAs("value"))],
        attrs: &[AttrSpec::required("value", AttrConstraint::Number)],
        traits: Traits::PURE.union(Traits::CONSTANT_LIKE),
        syntax: Syntax::Format(&[Fmt::Attr("value"), Fmt::AttrDict]),
        verify: Some(fold::verify_constant),
        fold: Some(fold::fold),
        ..OpDef::EMPTY
    },
    int_binary(
        "arith.addi",
        "Wrapping integer addition",
        "`lhs + rhs` modulo 2^N.",
        bin_example!("arith.addi", "i32"),
        PURE_COMM,
        &[],
    ),
    int_binary(
        "arith.subi",
        "Wrapping integer subtraction",
        "`lhs - rhs` modulo 2^N.",
        bin_example!("arith.subi", "i64"),
        PURE,
        &[fold::SUB_CONST_TO_ADD],
    ),
    int_binary(
        "arith.muli",
        "Wrapping integer multiplication",
        "`lhs * rhs` modulo 2^N (the low N bits of the product).",
        bin_example!("arith.muli", "i32"),
        PURE_COMM,
        &[fold::MUL_POW2_TO_SHL],
    ),
    int_binary(
        "arith.divsi",
        "Signed integer division, truncating",
        "Traps when `rhs` is 0 or when `lhs` is the minimum value and `rhs` is -1 (overflow). Never removed even when unused: the trap is its effect.",
        bin_example!("arith.divsi", "i32"),
        TRAPS,
        &[],
    ),
    int_binary(
        "arith.divui",
        "Unsigned integer division",
        "Traps when `rhs` is 0.",
        bin_example!("arith.divui", "i64"),
        TRAPS,
        &[],
    ),
    int_binary(
        "arith.remsi",
        "Signed remainder",
        "The remainder has the sign of `lhs`. Traps when `rhs` is 0; the minimum value modulo -1 is 0 (no trap).",
        bin_example!("arith.remsi", "i32"),
        TRAPS,
        &[],
    ),
    int_binary(
        "arith.remui",
        "Unsigned remainder",
        "Traps when `rhs` is 0.",
        bin_example!("arith.remui", "i32"),
        TRAPS,
        &[],
    ),
    int_binary("arith.andi", "Bitwise and", "", bin_example!("arith.andi", "i32"), PURE_COMM, &[]),
    int_binary("arith.ori", "Bitwise or", "", bin_example!("arith.ori", "i64"), PURE_COMM, &[]),
    int_binary("arith.xori", "Bitwise exclusive or", "", bin_example!("arith.xori", "i32"), PURE_COMM, &[]),
    int_binary(
        "arith.shli",
        "Shift left",
        "The shift count is taken modulo N.",
        bin_example!("arith.shli", "i32"),
        PURE,
        &[],
    ),
    int_binary(
        "arith.shrsi",
        "Arithmetic shift right",
        "The shift count is taken modulo N; the sign bit fills.",
        bin_example!("arith.shrsi", "i32"),
        PURE,
        &[],
    ),
    int_binary(
        "arith.shrui",
        "Logical shift right",
        "The shift count is taken modulo N; zeros fill.",
        bin_example!("arith.shrui", "i64"),
        PURE,
        &[],
    ),
    int_binary(
        "arith.rotli",
        "Rotate left",
        "The rotate count is taken modulo N.",
        bin_example!("arith.rotli", "i32"),
        PURE,
        &[],
    ),
    int_binary(
        "arith.rotri",
        "Rotate right",
        "The rotate count is taken modulo N.",
        bin_example!("arith.rotri", "i64"),
        PURE,
        &[],
    ),
    unary(
        "arith.clz",
        one!("operand", WasmInt),
        "Count leading zero bits",
        "N for 0.",
        unary_example!("arith.clz", "i32"),
    ),
    unary(
        "arith.ctz",
        one!("operand", WasmInt),
        "Count trailing zero bits",
        "N for 0.",
        unary_example!("arith.ctz", "i64"),
    ),
    unary(
        "arith.popcnt",
        one!("operand", WasmInt),
        "Count one bits",
        "",
        unary_example!("arith.popcnt", "i32"),
    ),
    unary(
        "arith.extend8_s",
        one!("operand", WasmInt),
        "Sign-extend the low 8 bits",
        "Wasm's `iN.extend8_s`.",
        unary_example!("arith.extend8_s", "i32"),
    ),
    unary(
        "arith.extend16_s",
        one!("operand", WasmInt),
        "Sign-extend the low 16 bits",
        "Wasm's `iN.extend16_s`.",
        unary_example!("arith.extend16_s", "i64"),
    ),
    unary(
        "arith.extend32_s",
        one!("operand", I64),
        "Sign-extend the low 32 bits of an i64",
        "Wasm's `i64.extend32_s`.",
        unary_example!("arith.extend32_s", "i64"),
    ),
    OpDef {
        name: "arith.eqz",
        summary: "Test for zero",
        description: "1 (as i32) if the operand is 0, else 0.",
        example: "func.func @f(%arg0: i64) -> i32 {\n  %0 = arith.eqz %arg0 : i64\n  func.return %0 : i32\n}",
        operands: &[ValueSpec::one("operand", WasmInt)],
        results: I32_RESULT,
        traits: PURE,
        syntax: Syntax::Format(TEST_FMT),
        fold: Some(fold::fold),
        ..OpDef::EMPTY
    },
    OpDef {
        name: "arith.cmpi",
        summary: "Integer comparison",
        description: "1 (as i32) if the predicate holds, else 0. Predicates: `eq`, `ne`, signed \
`slt sle sgt sge` and unsigned `ult ule ugt uge`.",
        example: "func.func @f(%arg0: i32, %arg1: i32) -> i32 {\n  %0 = arith.cmpi ult, %arg0, %arg1 : i32\n  func.return %0 : i32\n}",
        operands: INT_BINARY,
        results: I32_RESULT,
        attrs: &[AttrSpec::required("predicate", AttrConstraint::Enum(INT_PREDICATES))],
        traits: PURE,
        syntax: Syntax::Format(CMP_FMT),
        fold: Some(fold::fold),
        ..OpDef::EMPTY
    },
    float_binary(
        "arith.addf",
        "Float addition",
        "IEEE 754 addition, round to nearest even. A NaN result is some arithmetic NaN (Wasm leaves the payload open), so a NaN result is never folded.",
        bin_example!("arith.addf", "f64"),
        PURE_COMM,
    ),
    float_binary("arith.subf", "Float subtraction", "", bin_example!("arith.subf", "f32"), PURE),
    float_binary("arith.mulf", "Float multiplication", "", bin_example!("arith.mulf", "f64"), PURE_COMM),
    float_binary(
        "arith.divf",
        "Float division",
        "Division by zero gives an infinity or NaN; it never traps.",
        bin_example!("arith.divf", "f32"),
        PURE,
    ),
    float_binary(
        "arith.minf",
        "Wasm float minimum",
        "NaN if either operand is NaN; -0 is smaller than +0.",
        bin_example!("arith.minf", "f64"),
        PURE_COMM,
    ),
    float_binary(
        "arith.maxf",
        "Wasm float maximum",
        "NaN if either operand is NaN; +0 is larger than -0.",
        bin_example!("arith.maxf", "f32"),
        PURE_COMM,
    ),
    float_binary(
        "arith.copysign",
        "Copy the sign bit",
        "The magnitude of `lhs` with the sign bit of `rhs`; exact on NaNs.",
        bin_example!("arith.copysign", "f64"),
        PURE,
    ),
    unary(
        "arith.absf",
        one!("operand", WasmFloat),
        "Clear the sign bit",
        "Exact on NaNs (only the sign bit changes).",
        unary_example!("arith.absf", "f32"),
    ),
    unary(
        "arith.negf",
        one!("operand", WasmFloat),
        "Flip the sign bit",
        "Exact on NaNs (only the sign bit changes).",
        unary_example!("arith.negf", "f64"),
    ),
    unary("arith.sqrtf", one!("operand", WasmFloat), "Square root", "", unary_example!("arith.sqrtf", "f64")),
    unary("arith.ceilf", one!("operand", WasmFloat), "Round up", "", unary_example!("arith.ceilf", "f32")),
    unary(
        "arith.floorf",
        one!("operand", WasmFloat),
        "Round down",
        "",
        unary_example!("arith.floorf", "f64"),
    ),
    unary(
        "arith.truncf",
        one!("operand", WasmFloat),
        "Round toward zero",
        "",
        unary_example!("arith.truncf", "f32"),
    ),
    unary(
        "arith.nearestf",
        one!("operand", WasmFloat),
        "Round to nearest, ties to even",
        "",
        unary_example!("arith.nearestf", "f64"),
    ),
    OpDef {
        name: "arith.cmpf",
        summary: "Float comparison",
        description: "1 (as i32) if the predicate holds, else 0. Every predicate is false when an \
operand is NaN, except `ne`, which is true.",
        example: "func.func @f(%arg0: f32, %arg1: f32) -> i32 {\n  %0 = arith.cmpf le, %arg0, %arg1 : f32\n  func.return %0 : i32\n}",
        operands: FLOAT_BINARY,
        results: I32_RESULT,
        attrs: &[AttrSpec::required("predicate", AttrConstraint::Enum(FLOAT_PREDICATES))],
        traits: PURE,
        syntax: Syntax::Format(CMP_FMT),
        fold: Some(fold::fold),
        ..OpDef::EMPTY
    },
    OpDef {
        name: "arith.select",
        summary: "Choose between two values",
        description: "`true_value` if `condition` (an i32) is non-zero, else `false_value`. Both \
values are always evaluated (they are SSA values), as in Wasm's `select`.",
        example: "func.func @f(%arg0: i32, %arg1: f64, %arg2: f64) -> f64 {\n  %0 = arith.select %arg0, %arg1, %arg2 : f64\n  func.return %0 : f64\n}",
        operands: &[
            ValueSpec::one("condition", I32),
            ValueSpec::one("true_value", TypeConstraint::Any),
            ValueSpec::one("false_value", TypeConstraint::SameAs("true_value")),
        ],
        results: &[ValueSpec::one("result", TypeConstraint::SameAs("true_value"))],
        traits: PURE,
        syntax: Syntax::Format(&[
            Fmt::Operands("condition"),
            Fmt::Lit(","),
            Fmt::Operands("true_value"),
            Fmt::Lit(","),
            Fmt::Operands("false_value"),
            Fmt::AttrDict,
            Fmt::Lit(":"),
            Fmt::Type("result"),
        ]),
        fold: Some(fold::fold),
        patterns: &[fold::SELECT_EQZ_SWAP],
        ..OpDef::EMPTY
    },
    conversion(
        "arith.wrap",
        one!("input", I64),
        one!("result", I32),
        PURE,
        "Keep the low 32 bits",
        "Wasm's `i32.wrap_i64`.",
        convert_example!("arith.wrap", "i64", "i32"),
    ),
    conversion(
        "arith.extend_s",
        one!("input", I32),
        one!("result", I64),
        PURE,
        "Sign-extend i32 to i64",
        "Wasm's `i64.extend_i32_s`.",
        convert_example!("arith.extend_s", "i32", "i64"),
    ),
    conversion(
        "arith.extend_u",
        one!("input", I32),
        one!("result", I64),
        PURE,
        "Zero-extend i32 to i64",
        "Wasm's `i64.extend_i32_u`.",
        convert_example!("arith.extend_u", "i32", "i64"),
    ),
    conversion(
        "arith.trunc_s",
        one!("input", WasmFloat),
        one!("result", WasmInt),
        TRAPS,
        "Truncate a float to a signed integer",
        "Traps on NaN and when the truncated value does not fit.",
        convert_example!("arith.trunc_s", "f64", "i32"),
    ),
    conversion(
        "arith.trunc_u",
        one!("input", WasmFloat),
        one!("result", WasmInt),
        TRAPS,
        "Truncate a float to an unsigned integer",
        "Traps on NaN and when the truncated value does not fit.",
        convert_example!("arith.trunc_u", "f32", "i64"),
    ),
    conversion(
        "arith.trunc_sat_s",
        one!("input", WasmFloat),
        one!("result", WasmInt),
        PURE,
        "Saturating truncation to a signed integer",
        "NaN gives 0; out-of-range values clamp.",
        convert_example!("arith.trunc_sat_s", "f32", "i32"),
    ),
    conversion(
        "arith.trunc_sat_u",
        one!("input", WasmFloat),
        one!("result", WasmInt),
        PURE,
        "Saturating truncation to an unsigned integer",
        "NaN gives 0; out-of-range values clamp.",
        convert_example!("arith.trunc_sat_u", "f64", "i64"),
    ),
    conversion(
        "arith.convert_s",
        one!("input", WasmInt),
        one!("result", WasmFloat),
        PURE,
        "Signed integer to float",
        "Rounds to nearest, ties to even.",
        convert_example!("arith.convert_s", "i64", "f64"),
    ),
    conversion(
        "arith.convert_u",
        one!("input", WasmInt),
        one!("result", WasmFloat),
        PURE,
        "Unsigned integer to float",
        "Rounds to nearest, ties to even.",
        convert_example!("arith.convert_u", "i32", "f32"),
    ),
    conversion(
        "arith.demote",
        one!("input", F64),
        one!("result", F32),
        PURE,
        "f64 to f32",
        "Rounds to nearest; a NaN result is not folded.",
        convert_example!("arith.demote", "f64", "f32"),
    ),
    conversion(
        "arith.promote",
        one!("input", F32),
        one!("result", F64),
        PURE,
        "f32 to f64",
        "Exact for numbers; a NaN result is not folded.",
        convert_example!("arith.promote", "f32", "f64"),
    ),
    conversion(
        "arith.reinterpret",
        one!("input", WasmNum),
        one!("result", WasmNum),
        PURE,
        "Reinterpret the bits",
        "Between i32 and f32, or i64 and f64; exact on every bit pattern.",
        convert_example!("arith.reinterpret", "f32", "i32"),
    ),
];

fn materialize_constant(b: &mut Builder<'_>, value: Attr, ty: Type, loc: Location) -> Option<Value> {
    if !matches!(ty, Type::I32 | Type::I64 | Type::F32 | Type::F64) || b.ctx.attr_type(value) != Some(ty) {
        return None;
    }
    let saved = b.loc;
    b.loc = loc;
    let v = b.op1("arith.constant", &[], ty, &[("value", value)]);
    b.loc = saved;
    Some(v)
}

// ----- typed builder API -----

/// `arith.constant` of an i32.
pub fn const_i32(b: &mut Builder<'_>, v: i32) -> Value {
    let a = b.ctx.int_attr(i64::from(v), Type::I32);
    b.op1("arith.constant", &[], Type::I32, &[("value", a)])
}
/// `arith.constant` of an i64.
pub fn const_i64(b: &mut Builder<'_>, v: i64) -> Value {
    let a = b.ctx.int_attr(v, Type::I64);
    b.op1("arith.constant", &[], Type::I64, &[("value", a)])
}
/// `arith.constant` of an f32 (exact bits).
pub fn const_f32(b: &mut Builder<'_>, v: f32) -> Value {
    let a = b.ctx.f32_attr(v);
    b.op1("arith.constant", &[], Type::F32, &[("value", a)])
}
/// `arith.constant` of an f64 (exact bits).
pub fn const_f64(b: &mut Builder<'_>, v: f64) -> Value {
    let a = b.ctx.f64_attr(v);
    b.op1("arith.constant", &[], Type::F64, &[("value", a)])
}
/// A binary op of this dialect by short name (`"addi"`, `"mulf"`, ...): `lhs op rhs`.
pub fn binary_op(b: &mut Builder<'_>, op: &str, lhs: Value, rhs: Value) -> Value {
    let ty = b.body.value_type(lhs);
    b.op1(&format!("arith.{op}"), &[lhs, rhs], ty, &[])
}
/// `arith.addi lhs, rhs`.
pub fn addi(b: &mut Builder<'_>, lhs: Value, rhs: Value) -> Value {
    binary_op(b, "addi", lhs, rhs)
}
/// `arith.muli lhs, rhs`.
pub fn muli(b: &mut Builder<'_>, lhs: Value, rhs: Value) -> Value {
    binary_op(b, "muli", lhs, rhs)
}
/// `arith.cmpi predicate, lhs, rhs` (an i32 0 or 1).
pub fn cmpi(b: &mut Builder<'_>, predicate: &str, lhs: Value, rhs: Value) -> Value {
    let p = b.ctx.string_attr(predicate);
    b.op1("arith.cmpi", &[lhs, rhs], Type::I32, &[("predicate", p)])
}
/// `arith.select condition, a, b`.
pub fn select(b: &mut Builder<'_>, condition: Value, if_true: Value, if_false: Value) -> Value {
    let ty = b.body.value_type(if_true);
    b.op1("arith.select", &[condition, if_true, if_false], ty, &[])
}
