//! The SIMD instruction families: one declaration each (its signature, the lane shapes it
//! exists at, whether its operands commute, whether it is a relaxed-SIMD instruction), from
//! which the op definitions are made. Every one of Wasm's 236 SIMD and 20 relaxed-SIMD
//! instructions is `<shape>.<family>` for one row (a test checks that against wasmparser's
//! list of operators): the importer, the emitter and the docs read this table.

use wasmir_ir::lexer::TokKind;
use wasmir_ir::parser::{OpParser, OperationState, PResult};
use wasmir_ir::printer::OpPrinter;
use wasmir_ir::registry::{AttrConstraint, AttrSpec, Syntax, TypeConstraint, ValueSpec};
use wasmir_ir::{OpDef, OpRef, Traits};

/// What a family's ops take and give (`v` is a `!simd.v128`, `s` the lane's scalar type).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sig {
    /// `(v) -> v`
    Unary,
    /// `(v, v) -> v`
    Binary,
    /// `(v, v, v) -> v`
    Ternary,
    /// `(v) -> i32`: `any_true`, `all_true`, `bitmask`.
    Test,
    /// `(v, i32) -> v`: shifts by a count taken modulo the lane width.
    Shift,
    /// `(s) -> v`
    Splat,
    /// `(v) -> s`, lane `lane`.
    ExtractLane,
    /// `(v, s) -> v`, lane `lane`.
    ReplaceLane,
    /// `(v, v) -> v`, the 16 byte indices `lanes`.
    Shuffle,
    /// `() -> v`, the 16 bytes `value`.
    Const,
    /// `(address) -> v`
    Load,
    /// `(address, v)`
    Store,
    /// `(address, v) -> v`, lane `lane` from memory.
    LoadLane,
    /// `(address, v)`, lane `lane` to memory.
    StoreLane,
}

/// One instruction family.
#[derive(Debug)]
pub struct Family {
    /// The op is `simd.<name>`; the instructions are `<shape>.<name>`.
    pub name: &'static str,
    /// `simd.<name>`.
    pub op: &'static str,
    pub sig: Sig,
    /// The lane shapes it exists at, or `["v128"]` for the whole-vector families.
    pub shapes: &'static [&'static str],
    /// The operands commute (integer lanes, and float lanes as Wasm's NaN rules allow).
    pub commutative: bool,
    /// A relaxed-SIMD instruction: implementation-defined results in some cases.
    pub relaxed: bool,
}

impl Family {
    /// Whether the family works on lanes (and its ops carry `shape`).
    pub fn has_shape(&self) -> bool {
        self.shapes != ["v128"]
    }

    /// Whether its ops access memory.
    pub fn accesses_memory(&self) -> bool {
        matches!(self.sig, Sig::Load | Sig::Store | Sig::LoadLane | Sig::StoreLane)
    }
}

macro_rules! families {
    ($($name:tt $sig:ident [$($shape:ident)*] $($flag:ident)*;)*) => {
        /// Every family, in the order of Wasm's opcodes.
        pub static FAMILIES: &[Family] = &[$(Family {
            name: stringify!($name),
            op: concat!("simd.", stringify!($name)),
            sig: Sig::$sig,
            shapes: &[$(stringify!($shape)),*],
            commutative: flag!(commutative $($flag)*),
            relaxed: flag!(relaxed $($flag)*),
        }),*];

        /// The op definitions, one per family.
        pub(crate) static OPS: &[OpDef] = &[$(OpDef {
            name: concat!("simd.", stringify!($name)),
            summary: concat!("Wasm's `", stringify!($name), "` on ", $(stringify!($shape), " ",)* "vectors"),
            description: description!($sig),
            example: example!($sig, stringify!($name), [$($shape)*]),
            operands: operands!($sig),
            results: results!($sig),
            attrs: attrs!($sig, [$($shape)*]),
            traits: traits!($sig, $($flag)*),
            syntax: Syntax::Custom { parse, print },
            verify: Some(super::verify),
            fold: folder!($sig),
            patterns: patterns!($sig),
            ..OpDef::EMPTY
        }),*];
    };
}

macro_rules! flag {
    ($want:ident) => { false };
    ($want:ident $first:ident $($rest:ident)*) => {
        flag_eq!($want $first) || flag!($want $($rest)*)
    };
}

macro_rules! flag_eq {
    (commutative commutative) => {
        true
    };
    (relaxed relaxed) => {
        true
    };
    ($a:ident $b:ident) => {
        false
    };
}

/// Pure ops fold (simd/fold.rs); constants and memory accesses do not.
macro_rules! folder {
    (Const) => {
        None
    };
    (Load) => {
        None
    };
    (Store) => {
        None
    };
    (LoadLane) => {
        None
    };
    (StoreLane) => {
        None
    };
    ($sig:ident) => {
        Some(super::fold::fold)
    };
}

macro_rules! patterns {
    (Const) => {
        &[]
    };
    (Load) => {
        &[]
    };
    (Store) => {
        &[]
    };
    (LoadLane) => {
        &[]
    };
    (StoreLane) => {
        &[]
    };
    ($sig:ident) => {
        super::fold::PATTERNS
    };
}

const PURE: Traits = Traits::PURE;
const LOAD: Traits = Traits::MEM_READ.union(Traits::MAY_TRAP);
const STORE: Traits = Traits::MEM_WRITE.union(Traits::MAY_TRAP);

macro_rules! traits {
    (Load, $($flag:ident)*) => { LOAD };
    (LoadLane, $($flag:ident)*) => { LOAD };
    (Store, $($flag:ident)*) => { STORE };
    (StoreLane, $($flag:ident)*) => { STORE };
    ($sig:ident, $($flag:ident)*) => {
        if flag!(commutative $($flag)*) { PURE.union(Traits::COMMUTATIVE) } else { PURE }
    };
}

const V: ValueSpec = ValueSpec::one("vector", TypeConstraint::DialectType("simd.v128"));
const LHS: ValueSpec = ValueSpec::one("lhs", TypeConstraint::DialectType("simd.v128"));
const RHS: ValueSpec = ValueSpec::one("rhs", TypeConstraint::DialectType("simd.v128"));
const THIRD: ValueSpec = ValueSpec::one("third", TypeConstraint::DialectType("simd.v128"));
const SCALAR: ValueSpec = ValueSpec::one("scalar", TypeConstraint::WasmNum);
const COUNT: ValueSpec = ValueSpec::one("count", TypeConstraint::Exactly(wasmir_ir::Type::I32));
const ADDRESS: ValueSpec = ValueSpec::one("address", TypeConstraint::WasmInt);
const RESULT: ValueSpec = ValueSpec::one("result", TypeConstraint::DialectType("simd.v128"));
const TEST: ValueSpec = ValueSpec::one("result", TypeConstraint::Exactly(wasmir_ir::Type::I32));
const SCALAR_RESULT: ValueSpec = ValueSpec::one("result", TypeConstraint::WasmNum);

macro_rules! operands {
    (Unary) => {
        &[V]
    };
    (Binary) => {
        &[LHS, RHS]
    };
    (Ternary) => {
        &[LHS, RHS, THIRD]
    };
    (Test) => {
        &[V]
    };
    (Shift) => {
        &[V, COUNT]
    };
    (Splat) => {
        &[SCALAR]
    };
    (ExtractLane) => {
        &[V]
    };
    (ReplaceLane) => {
        &[V, SCALAR]
    };
    (Shuffle) => {
        &[LHS, RHS]
    };
    (Const) => {
        &[]
    };
    (Load) => {
        &[ADDRESS]
    };
    (Store) => {
        &[ADDRESS, V]
    };
    (LoadLane) => {
        &[ADDRESS, V]
    };
    (StoreLane) => {
        &[ADDRESS, V]
    };
}

macro_rules! results {
    (Test) => {
        &[TEST]
    };
    (ExtractLane) => {
        &[SCALAR_RESULT]
    };
    (Store) => {
        &[]
    };
    (StoreLane) => {
        &[]
    };
    ($sig:ident) => {
        &[RESULT]
    };
}

const LANE: AttrSpec = AttrSpec::required("lane", AttrConstraint::IntOf(wasmir_ir::Type::U32));
const LANES: AttrSpec = AttrSpec::required("lanes", AttrConstraint::String);
const VALUE: AttrSpec = AttrSpec::required("value", AttrConstraint::String);
use crate::memory::{ALIGN, MEM, OFFSET};

macro_rules! attrs {
    (ExtractLane, [$($shape:ident)*]) => { &[shape!($($shape)*), LANE] };
    (ReplaceLane, [$($shape:ident)*]) => { &[shape!($($shape)*), LANE] };
    (Shuffle, [$($shape:ident)*]) => { &[shape!($($shape)*), LANES] };
    (Const, [$($shape:ident)*]) => { &[VALUE] };
    (Load, [$($shape:ident)*]) => { &[MEM, OFFSET, ALIGN] };
    (Store, [$($shape:ident)*]) => { &[MEM, OFFSET, ALIGN] };
    (LoadLane, [$($shape:ident)*]) => { &[MEM, OFFSET, ALIGN, LANE] };
    (StoreLane, [$($shape:ident)*]) => { &[MEM, OFFSET, ALIGN, LANE] };
    ($sig:ident, [v128]) => { &[] };
    ($sig:ident, [$($shape:ident)*]) => { &[shape!($($shape)*)] };
}

macro_rules! shape {
    ($($shape:ident)*) => {
        AttrSpec::required("shape", AttrConstraint::Enum(&[$(stringify!($shape)),*]))
    };
}

macro_rules! description {
    (Unary) => { "A lane-wise operation on one vector, as the Wasm instruction of the same name at `shape` (specs/simd.md)." };
    (Binary) => { "A lane-wise operation on two vectors, as the Wasm instruction of the same name at `shape` (specs/simd.md)." };
    (Ternary) => { "An operation on three vectors, as the Wasm instruction of the same name at `shape` (specs/simd.md)." };
    (Test) => { "A reduction of a vector to an `i32`, as the Wasm instruction of the same name at `shape`." };
    (Shift) => { "Shifts every lane by the count modulo the lane's width." };
    (Splat) => { "A vector with the scalar in every lane (an `i32` for `i8x16` and `i16x8`, which keeps its low bits)." };
    (ExtractLane) => { "Lane `lane` of the vector, extended to `i32` (signed or unsigned by the name) for `i8x16` and `i16x8`." };
    (ReplaceLane) => { "The vector with lane `lane` replaced by the scalar (its low bits for `i8x16` and `i16x8`)." };
    (Shuffle) => { "Byte `i` of the result is byte `lanes[i]` of the 32 bytes of both operands, `lhs` first. `lanes` is 32 hexadecimal digits, byte 0 first." };
    (Const) => { "The 16 bytes `value`, 32 hexadecimal digits, byte 0 (the lowest lane's lowest byte) first." };
    (Load) => { "Reads from the memory at `address + offset` (traps when out of bounds), as the Wasm instruction of the same name." };
    (Store) => { "Writes the vector's 16 bytes at `address + offset` (traps when out of bounds)." };
    (LoadLane) => { "The vector with lane `lane` (of the width in the name) read from `address + offset`." };
    (StoreLane) => { "Writes lane `lane` (of the width in the name) at `address + offset`." };
}

macro_rules! example {
    (Unary, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: !simd.v128) -> !simd.v128 {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0 : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (Binary, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: !simd.v128, %arg1: !simd.v128) -> !simd.v128 {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0, %arg1 : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (Shuffle, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: !simd.v128, %arg1: !simd.v128) -> !simd.v128 {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0, %arg1 {lanes = \"00010203101112130405060714151617\"} : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (Ternary, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: !simd.v128, %arg1: !simd.v128, %arg2: !simd.v128) -> !simd.v128 {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0, %arg1, %arg2 : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (Test, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: !simd.v128) -> i32 {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0 : i32\n  func.return %0 : i32\n}") };
    (Shift, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: !simd.v128, %arg1: i32) -> !simd.v128 {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0, %arg1 : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (Splat, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: i32) -> !simd.v128 {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0 : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (ExtractLane, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: !simd.v128) -> ", lane_type!($shape), " {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0 {lane = 1 : u32} : ", lane_type!($shape), "\n  func.return %0 : ", lane_type!($shape), "\n}") };
    (ReplaceLane, $name:expr, [$shape:ident $($rest:ident)*]) => { concat!("func.func @f(%arg0: !simd.v128, %arg1: i32) -> !simd.v128 {\n  %0 = simd.", $name, shape_prefix!($shape), " %arg0, %arg1 {lane = 15 : u32} : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (Const, $name:expr, [$shape:ident]) => { "func.func @f() -> !simd.v128 {\n  %0 = simd.const {value = \"000102030405060708090a0b0c0d0e0f\"} : !simd.v128\n  func.return %0 : !simd.v128\n}" };
    (Load, $name:expr, [$shape:ident]) => { concat!("memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32) -> !simd.v128 {\n  %0 = simd.", $name, " @mem, %arg0 {offset = 16 : u64} : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (Store, $name:expr, [$shape:ident]) => { concat!("memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: !simd.v128) {\n  simd.", $name, " @mem, %arg0, %arg1 {align = 4 : u64}\n  func.return\n}") };
    (LoadLane, $name:expr, [$shape:ident]) => { concat!("memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: !simd.v128) -> !simd.v128 {\n  %0 = simd.", $name, " @mem, %arg0, %arg1 {lane = 1 : u32} : !simd.v128\n  func.return %0 : !simd.v128\n}") };
    (StoreLane, $name:expr, [$shape:ident]) => { concat!("memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: !simd.v128) {\n  simd.", $name, " @mem, %arg0, %arg1 {lane = 0 : u32}\n  func.return\n}") };
}

macro_rules! shape_prefix {
    (v128) => {
        ""
    };
    ($shape:ident) => {
        concat!(" ", stringify!($shape), ",")
    };
}

macro_rules! lane_type {
    (i8x16) => {
        "i32"
    };
    (i16x8) => {
        "i32"
    };
    (i32x4) => {
        "i32"
    };
    (i64x2) => {
        "i64"
    };
    (f32x4) => {
        "f32"
    };
    (f64x2) => {
        "f64"
    };
}

families! {
    load Load [v128] ;
    load8x8_s Load [v128] ;
    load8x8_u Load [v128] ;
    load16x4_s Load [v128] ;
    load16x4_u Load [v128] ;
    load32x2_s Load [v128] ;
    load32x2_u Load [v128] ;
    load8_splat Load [v128] ;
    load16_splat Load [v128] ;
    load32_splat Load [v128] ;
    load64_splat Load [v128] ;
    load32_zero Load [v128] ;
    load64_zero Load [v128] ;
    store Store [v128] ;
    load8_lane LoadLane [v128] ;
    load16_lane LoadLane [v128] ;
    load32_lane LoadLane [v128] ;
    load64_lane LoadLane [v128] ;
    store8_lane StoreLane [v128] ;
    store16_lane StoreLane [v128] ;
    store32_lane StoreLane [v128] ;
    store64_lane StoreLane [v128] ;
    const Const [v128] ;
    shuffle Shuffle [i8x16] ;
    extract_lane_s ExtractLane [i8x16 i16x8] ;
    extract_lane_u ExtractLane [i8x16 i16x8] ;
    replace_lane ReplaceLane [i8x16 i16x8 i32x4 i64x2 f32x4 f64x2] ;
    extract_lane ExtractLane [i32x4 i64x2 f32x4 f64x2] ;
    swizzle Binary [i8x16] ;
    splat Splat [i8x16 i16x8 i32x4 i64x2 f32x4 f64x2] ;
    eq Binary [i8x16 i16x8 i32x4 i64x2 f32x4 f64x2] ;
    ne Binary [i8x16 i16x8 i32x4 i64x2 f32x4 f64x2] ;
    lt_s Binary [i8x16 i16x8 i32x4 i64x2] ;
    lt_u Binary [i8x16 i16x8 i32x4] ;
    gt_s Binary [i8x16 i16x8 i32x4 i64x2] ;
    gt_u Binary [i8x16 i16x8 i32x4] ;
    le_s Binary [i8x16 i16x8 i32x4 i64x2] ;
    le_u Binary [i8x16 i16x8 i32x4] ;
    ge_s Binary [i8x16 i16x8 i32x4 i64x2] ;
    ge_u Binary [i8x16 i16x8 i32x4] ;
    lt Binary [f32x4 f64x2] ;
    gt Binary [f32x4 f64x2] ;
    le Binary [f32x4 f64x2] ;
    ge Binary [f32x4 f64x2] ;
    not Unary [v128] ;
    and Binary [v128] commutative;
    andnot Binary [v128] ;
    or Binary [v128] commutative;
    xor Binary [v128] commutative;
    bitselect Ternary [v128] ;
    any_true Test [v128] ;
    abs Unary [i8x16 i16x8 i32x4 i64x2 f32x4 f64x2] ;
    neg Unary [i8x16 i16x8 i32x4 i64x2 f32x4 f64x2] ;
    popcnt Unary [i8x16] ;
    all_true Test [i8x16 i16x8 i32x4 i64x2] ;
    bitmask Test [i8x16 i16x8 i32x4 i64x2] ;
    narrow_i16x8_s Binary [i8x16] ;
    narrow_i16x8_u Binary [i8x16] ;
    shl Shift [i8x16 i16x8 i32x4 i64x2] ;
    shr_s Shift [i8x16 i16x8 i32x4 i64x2] ;
    shr_u Shift [i8x16 i16x8 i32x4 i64x2] ;
    add Binary [i8x16 i16x8 i32x4 i64x2 f32x4 f64x2] ;
    add_sat_s Binary [i8x16 i16x8] commutative;
    add_sat_u Binary [i8x16 i16x8] commutative;
    sub Binary [i8x16 i16x8 i32x4 i64x2 f32x4 f64x2] ;
    sub_sat_s Binary [i8x16 i16x8] ;
    sub_sat_u Binary [i8x16 i16x8] ;
    min_s Binary [i8x16 i16x8 i32x4] commutative;
    min_u Binary [i8x16 i16x8 i32x4] commutative;
    max_s Binary [i8x16 i16x8 i32x4] commutative;
    max_u Binary [i8x16 i16x8 i32x4] commutative;
    avgr_u Binary [i8x16 i16x8] commutative;
    extadd_pairwise_i8x16_s Unary [i16x8] ;
    extadd_pairwise_i8x16_u Unary [i16x8] ;
    q15mulr_sat_s Binary [i16x8] commutative;
    narrow_i32x4_s Binary [i16x8] ;
    narrow_i32x4_u Binary [i16x8] ;
    extend_low_i8x16_s Unary [i16x8] ;
    extend_high_i8x16_s Unary [i16x8] ;
    extend_low_i8x16_u Unary [i16x8] ;
    extend_high_i8x16_u Unary [i16x8] ;
    mul Binary [i16x8 i32x4 i64x2 f32x4 f64x2] ;
    extmul_low_i8x16_s Binary [i16x8] ;
    extmul_high_i8x16_s Binary [i16x8] ;
    extmul_low_i8x16_u Binary [i16x8] ;
    extmul_high_i8x16_u Binary [i16x8] ;
    extadd_pairwise_i16x8_s Unary [i32x4] ;
    extadd_pairwise_i16x8_u Unary [i32x4] ;
    extend_low_i16x8_s Unary [i32x4] ;
    extend_high_i16x8_s Unary [i32x4] ;
    extend_low_i16x8_u Unary [i32x4] ;
    extend_high_i16x8_u Unary [i32x4] ;
    dot_i16x8_s Binary [i32x4] commutative;
    extmul_low_i16x8_s Binary [i32x4] ;
    extmul_high_i16x8_s Binary [i32x4] ;
    extmul_low_i16x8_u Binary [i32x4] ;
    extmul_high_i16x8_u Binary [i32x4] ;
    extend_low_i32x4_s Unary [i64x2] ;
    extend_high_i32x4_s Unary [i64x2] ;
    extend_low_i32x4_u Unary [i64x2] ;
    extend_high_i32x4_u Unary [i64x2] ;
    extmul_low_i32x4_s Binary [i64x2] ;
    extmul_high_i32x4_s Binary [i64x2] ;
    extmul_low_i32x4_u Binary [i64x2] ;
    extmul_high_i32x4_u Binary [i64x2] ;
    ceil Unary [f32x4 f64x2] ;
    floor Unary [f32x4 f64x2] ;
    trunc Unary [f32x4 f64x2] ;
    nearest Unary [f32x4 f64x2] ;
    sqrt Unary [f32x4 f64x2] ;
    div Binary [f32x4 f64x2] ;
    min Binary [f32x4 f64x2] ;
    max Binary [f32x4 f64x2] ;
    pmin Binary [f32x4 f64x2] ;
    pmax Binary [f32x4 f64x2] ;
    trunc_sat_f32x4_s Unary [i32x4] ;
    trunc_sat_f32x4_u Unary [i32x4] ;
    convert_i32x4_s Unary [f32x4] ;
    convert_i32x4_u Unary [f32x4] ;
    trunc_sat_f64x2_s_zero Unary [i32x4] ;
    trunc_sat_f64x2_u_zero Unary [i32x4] ;
    convert_low_i32x4_s Unary [f64x2] ;
    convert_low_i32x4_u Unary [f64x2] ;
    demote_f64x2_zero Unary [f32x4] ;
    promote_low_f32x4 Unary [f64x2] ;
    relaxed_swizzle Binary [i8x16] relaxed;
    relaxed_trunc_f32x4_s Unary [i32x4] relaxed;
    relaxed_trunc_f32x4_u Unary [i32x4] relaxed;
    relaxed_trunc_f64x2_s_zero Unary [i32x4] relaxed;
    relaxed_trunc_f64x2_u_zero Unary [i32x4] relaxed;
    relaxed_madd Ternary [f32x4 f64x2] relaxed;
    relaxed_nmadd Ternary [f32x4 f64x2] relaxed;
    relaxed_laneselect Ternary [i8x16 i16x8 i32x4 i64x2] relaxed;
    relaxed_min Binary [f32x4 f64x2] relaxed;
    relaxed_max Binary [f32x4 f64x2] relaxed;
    relaxed_q15mulr_s Binary [i16x8] relaxed;
    relaxed_dot_i8x16_i7x16_s Binary [i16x8] relaxed;
    relaxed_dot_i8x16_i7x16_add_s Ternary [i32x4] relaxed;
}

/// `simd.<family> [shape,] [@memory,] operands [attributes] [: result type]`.
fn parse(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    let family = super::family(ctx.op_def(state.kind).name).expect("a simd op");
    if family.has_shape() {
        let shape = p.parse_keyword("a lane shape")?;
        let attr = ctx.string_attr(shape);
        state.add_attr(ctx, "shape", attr);
        p.expect(TokKind::Comma, "`,` after the shape")?;
    }
    if family.accesses_memory() {
        let memory = p.parse_attr()?;
        state.add_attr(ctx, "memory", memory);
        p.expect(TokKind::Comma, "`,` after the memory")?;
    }
    if !matches!(family.sig, Sig::Const) {
        state.operands = p.parse_operand_list()?;
    }
    p.parse_optional_attr_dict(state)?;
    if !matches!(family.sig, Sig::Store | Sig::StoreLane) {
        p.expect(TokKind::Colon, "`:` and the result type")?;
        let ty = p.parse_type()?;
        state.result_types = Some(wasmir_ir::smallvec![ty]);
    }
    Ok(())
}

fn print(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    let ctx = op.ctx;
    if let Some(shape) = op.attr("shape").and_then(|a| ctx.attr_as_str(a)) {
        p.write(" ");
        p.write(shape);
        p.write(",");
    }
    if let Some(memory) = op.attr("memory") {
        p.write(" ");
        p.print_attr(memory);
        p.write(",");
    }
    if !op.operands().is_empty() {
        p.write(" ");
        p.print_operands(op.operands());
    }
    p.print_attr_dict(op.attrs(), &["shape", "memory"]);
    if let Some(&r) = op.results().first() {
        p.write(" : ");
        p.print_type(op.value_type(r));
    }
}
