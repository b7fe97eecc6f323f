//! Typed regions of the `memory` dialect: Pod types and their layout, the region types
//! `SharedSlice<T>`, `ExternRegion<T>` and `Local<T>`, and the ops that make, check, access,
//! copy and fill them. specs/memory.md gives their semantics; `lower-memory` (lowering/) turns
//! them into core Wasm.

use wasmir_ir::lexer::TokKind;
use wasmir_ir::parser::{OpParser, OperationState, PResult};
use wasmir_ir::printer::{OpPrinter, type_to_string};
use wasmir_ir::registry::{
    AttrConstraint, AttrSpec, Fmt, ParamDef, SymbolResolver, Syntax, TypeConstraint, ValueSpec,
};
use wasmir_ir::{
    AttrData, Body, Context, Diagnostic, Op, OpDef, OpRef, Param, Traits, Type, TypeData, Value,
};

/// The region types and Pod aggregates this file declares.
pub(crate) const TYPES: &[ParamDef] = &[
    ParamDef {
        name: "memory.array",
        summary: "A fixed-size array of Pod elements: `!memory.array<T, N>`",
        verify: Some(verify_array_params),
        subtype: None,
        traits: None,
    },
    ParamDef {
        name: "memory.record",
        summary: "A record of Pod fields laid out as in C: `!memory.record<T1, T2, ...>`",
        verify: Some(verify_record_params),
        subtype: None,
        traits: None,
    },
    ParamDef {
        name: "memory.slice",
        summary: "SharedSlice<T: Pod>: a pointer and a length (in elements) into a linear or shared memory: `!memory.slice<T, @mem>`",
        verify: Some(verify_region_params),
        subtype: None,
        traits: None,
    },
    ParamDef {
        name: "memory.extern",
        summary: "ExternRegion<T: Pod>: a host-owned region of a managed memory: `!memory.extern<T, @mem>`",
        verify: Some(verify_region_params),
        subtype: None,
        traits: None,
    },
    ParamDef {
        name: "memory.local",
        summary: "Local<T: Pod>: a frame-local region on the memory's shadow stack: `!memory.local<T, @mem>`",
        verify: Some(verify_region_params),
        subtype: None,
        traits: None,
    },
];

/// Which kind of region a region type is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// `!memory.slice`: SharedSlice.
    Slice,
    /// `!memory.extern`: ExternRegion.
    Extern,
    /// `!memory.local`: Local.
    Local,
}

/// A decoded region type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionType {
    pub kind: RegionKind,
    /// The element type `T`.
    pub elem: Type,
    /// The memory the region lives in.
    pub memory: String,
}

/// Decodes a region type.
pub fn region_type(ctx: &Context, ty: Type) -> Option<RegionType> {
    let TypeData::Dialect { name, params } = ctx.type_data(ty) else { return None };
    let kind = match ctx.ident_str(*name) {
        "memory.slice" => RegionKind::Slice,
        "memory.extern" => RegionKind::Extern,
        "memory.local" => RegionKind::Local,
        _ => return None,
    };
    match params.as_ref() {
        [Param::Type(elem), Param::Attr(mem)] => {
            Some(RegionType { kind, elem: *elem, memory: ctx.attr_as_symbol(*mem)?.to_string() })
        }
        _ => None,
    }
}

/// The region type of `kind` with elements `elem` in memory `memory`.
pub fn make_region_type(ctx: &Context, kind: RegionKind, elem: Type, memory: &str) -> Type {
    let name = match kind {
        RegionKind::Slice => "memory.slice",
        RegionKind::Extern => "memory.extern",
        RegionKind::Local => "memory.local",
    };
    ctx.dialect_type(name, vec![Param::Type(elem), Param::Attr(ctx.symbol_ref_attr(memory))])
}

/// `!memory.array<elem, len>`.
pub fn array_type(ctx: &Context, elem: Type, len: u32) -> Type {
    ctx.dialect_type(
        "memory.array",
        vec![Param::Type(elem), Param::Attr(ctx.int_attr(i64::from(len), Type::I64))],
    )
}

/// `!memory.record<fields...>`.
pub fn record_type(ctx: &Context, fields: &[Type]) -> Type {
    ctx.dialect_type("memory.record", fields.iter().map(|&t| Param::Type(t)).collect())
}

/// The shape of a Pod type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodShape {
    /// A scalar: an integer of 8 to 64 bits or a float.
    Scalar(Type),
    /// `len` elements of one type.
    Array(Type, u32),
    /// Fields in order.
    Record(Vec<Type>),
}

/// The Pod shape of `ty`, or why it is not Pod. Pod types are integers, floats, `v128`, and
/// fixed arrays and records of Pod; never references, regions or functions.
pub fn pod_shape(ctx: &Context, ty: Type) -> Result<PodShape, String> {
    let shown = || type_to_string(ctx, ty);
    match ctx.type_data(ty) {
        TypeData::Int { width: 8 | 16 | 32 | 64, .. } | TypeData::Float(_) => Ok(PodShape::Scalar(ty)),
        TypeData::Int { width, .. } => {
            Err(format!("`{}` is not Pod: a {width}-bit integer has no byte layout", shown()))
        }
        TypeData::Dialect { name, params } => match (ctx.ident_str(*name), params.as_ref()) {
            ("simd.v128", _) => Ok(PodShape::Scalar(ty)),
            ("memory.array", [Param::Type(elem), Param::Attr(n)]) => {
                pod_shape(ctx, *elem)?;
                Ok(PodShape::Array(*elem, ctx.attr_as_int(*n).unwrap_or(0) as u32))
            }
            ("memory.record", fields) => {
                let mut types = Vec::with_capacity(fields.len());
                for f in fields {
                    let Param::Type(t) = f else {
                        return Err(format!("`{}` is not a well-formed record", shown()));
                    };
                    pod_shape(ctx, *t)?;
                    types.push(*t);
                }
                Ok(PodShape::Record(types))
            }
            _ => Err(format!(
                "`{}` is not Pod: only integers, floats, v128 and arrays and records of them are",
                shown()
            )),
        },
        TypeData::None | TypeData::Function { .. } => Err(format!("`{}` is not Pod", shown())),
    }
}

/// Whether `ty` is Pod.
pub fn is_pod(ctx: &Context, ty: Type) -> bool {
    pod_shape(ctx, ty).is_ok()
}

/// `(size, alignment)` in bytes of a Pod type; records are laid out as in C (each field at the
/// next multiple of its alignment, the size rounded up to the largest alignment).
pub fn layout(ctx: &Context, ty: Type) -> Option<(u32, u32)> {
    match pod_shape(ctx, ty).ok()? {
        PodShape::Scalar(t) => {
            let bytes = match ctx.type_data(t) {
                TypeData::Int { width, .. } => u32::from(*width) / 8,
                TypeData::Float(wasmir_ir::FloatKind::F32) => 4,
                TypeData::Float(wasmir_ir::FloatKind::F64) => 8,
                _ => 16,
            };
            Some((bytes, bytes))
        }
        PodShape::Array(elem, n) => {
            let (size, align) = layout(ctx, elem)?;
            Some((size.checked_mul(n)?, align))
        }
        PodShape::Record(fields) => {
            let (mut size, mut align) = (0u32, 1u32);
            for f in fields {
                let (s, a) = layout(ctx, f)?;
                size = size.checked_next_multiple_of(a)?.checked_add(s)?;
                align = align.max(a);
            }
            Some((size.checked_next_multiple_of(align)?, align))
        }
    }
}

/// Follows `path` (record field or array element indices) into `ty`: the type reached and its
/// byte offset.
pub fn project(ctx: &Context, ty: Type, path: &[u32]) -> Result<(Type, u32), String> {
    let (mut ty, mut offset) = (ty, 0u32);
    for &step in path {
        match pod_shape(ctx, ty)? {
            PodShape::Array(elem, n) if step < n => {
                offset += layout(ctx, elem).ok_or("the layout overflows")?.0 * step;
                ty = elem;
            }
            PodShape::Record(fields) if (step as usize) < fields.len() => {
                let mut at = 0u32;
                for (i, &f) in fields.iter().enumerate() {
                    let (s, a) = layout(ctx, f).ok_or("the layout overflows")?;
                    at = at.next_multiple_of(a);
                    if i == step as usize {
                        break;
                    }
                    at += s;
                }
                offset += at;
                ty = fields[step as usize];
            }
            _ => return Err(format!("`{}` has no element or field {step}", type_to_string(ctx, ty))),
        }
    }
    Ok((ty, offset))
}

/// The Wasm value type a scalar element is loaded as, and the bits accessed.
pub fn scalar_access(ty: Type) -> Option<(Type, u32)> {
    Some(match ty {
        Type::I8 => (Type::I32, 8),
        Type::I16 => (Type::I32, 16),
        Type::I32 | Type::F32 => (ty, 32),
        Type::I64 | Type::F64 => (ty, 64),
        _ => return None,
    })
}

fn verify_array_params(ctx: &Context, params: &[Param]) -> Result<(), String> {
    match params {
        [Param::Type(elem), Param::Attr(n)] if ctx.attr_as_int(*n).is_some_and(|n| n >= 0) => {
            pod_shape(ctx, *elem).map(|_| ())
        }
        _ => Err("expected `<element type, length>`".into()),
    }
}

fn verify_record_params(ctx: &Context, params: &[Param]) -> Result<(), String> {
    for p in params {
        let Param::Type(t) = p else { return Err("expected a list of field types".into()) };
        pod_shape(ctx, *t)?;
    }
    Ok(())
}

fn verify_region_params(ctx: &Context, params: &[Param]) -> Result<(), String> {
    match params {
        [Param::Type(elem), Param::Attr(mem)] if ctx.attr_as_symbol(*mem).is_some() => {
            pod_shape(ctx, *elem).map(|_| ()).map_err(|e| format!("the element type must be Pod: {e}"))
        }
        _ => Err("expected `<element type, @memory>`".into()),
    }
}

const REGION: TypeConstraint = TypeConstraint::Any;
const CHECKED: Traits = Traits::MEM_READ.union(Traits::MAY_TRAP);

pub(crate) const MAKE_SLICE: OpDef = OpDef {
    name: "memory.make_slice",
    summary: "Makes a SharedSlice or an ExternRegion",
    description: "A region of `length` elements starting at byte address `pointer` of the \
result type's memory. Checks that the whole region lies inside the memory (`pointer + length * \
size(T)` no larger than the memory's size in bytes, computed without overflow); when it does \
not, fails as a `memory.check` does. Every access through the region then needs only an index \
check. The result is a `!memory.slice` (a linear or shared memory) or a `!memory.extern` (a \
managed memory).",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i32) -> i32 {\n  %0 = memory.make_slice %arg0, %arg1 : !memory.slice<i32, @mem>\n  %1 = memory.len %0 : !memory.slice<i32, @mem>\n  func.return %1 : i32\n}",
    operands: &[
        ValueSpec::one("pointer", TypeConstraint::Exactly(Type::I32)),
        ValueSpec::one("length", TypeConstraint::Exactly(Type::I32)),
    ],
    results: &[ValueSpec::one("result", REGION)],
    traits: CHECKED,
    syntax: Syntax::Format(&[
        Fmt::Operands("pointer"),
        Fmt::Lit(","),
        Fmt::Operands("length"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("result"),
    ]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

pub(crate) const LOCAL_ALLOC: OpDef = OpDef {
    name: "memory.local_alloc",
    summary: "Allocates a frame-local region",
    description: "A `Local<T>`: a region of `count` (default 1) elements `T` in the current \
call's frame on the memory's shadow stack, whose top is the global the memory names as \
`stack_pointer` (the stack grows down). Its bytes start as zero; the frame is released when \
the function returns (not when it traps, as in C). Only in a function's entry block, so every \
frame has a fixed size. Fails as a `memory.check` does when the stack pointer is below the \
frame's size.",
    example: "global.global @sp mut : i32 {\n  %0 = arith.constant 65536 : i32\n  control.yield %0 : i32\n}\nmemory.memory @mem : i32 {min = 1 : u64, stack_pointer = @sp}\nfunc.func @f(%arg0: i32) -> i32 {\n  %0 = memory.local_alloc {count = 4 : u32} : !memory.local<i32, @mem>\n  %1 = arith.constant 3 : i32\n  memory.elem_store %0[%1], %arg0 : !memory.local<i32, @mem>, i32\n  %2 = memory.elem_load %0[%1] : !memory.local<i32, @mem> -> i32\n  func.return %2 : i32\n}",
    attrs: &[AttrSpec::optional("count", AttrConstraint::IntOf(Type::U32))],
    results: &[ValueSpec::one("result", REGION)],
    traits: Traits::MEM_WRITE.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("result")]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

pub(crate) const LEN: OpDef = OpDef {
    name: "memory.len",
    summary: "A region's length in elements",
    description: "An `i32`.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: !memory.slice<f64, @mem>) -> i32 {\n  %0 = memory.len %arg0 : !memory.slice<f64, @mem>\n  func.return %0 : i32\n}",
    operands: &[ValueSpec::one("region", REGION)],
    results: &[ValueSpec::one("result", TypeConstraint::Exactly(Type::I32))],
    traits: Traits::PURE,
    syntax: Syntax::Format(&[Fmt::Operands("region"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("region")]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

pub(crate) const PTR: OpDef = OpDef {
    name: "memory.ptr",
    summary: "A region's base address",
    description: "The byte address of element 0, an `i32`; for passing the region to code that \
takes a pointer and a length.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: !memory.slice<i8, @mem>) -> i32 {\n  %0 = memory.ptr %arg0 : !memory.slice<i8, @mem>\n  func.return %0 : i32\n}",
    operands: &[ValueSpec::one("region", REGION)],
    results: &[ValueSpec::one("result", TypeConstraint::Exactly(Type::I32))],
    traits: Traits::PURE,
    syntax: Syntax::Format(&[Fmt::Operands("region"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("region")]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

pub(crate) const SUBSLICE: OpDef = OpDef {
    name: "memory.subslice",
    summary: "A sub-region",
    description: "The `length` elements of `region` from element `start`. Fails as a \
`memory.check` does unless `start + length` (without overflow) is at most the region's length.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: !memory.slice<i16, @mem>, %arg1: i32) -> !memory.slice<i16, @mem> {\n  %0 = arith.constant 2 : i32\n  %1 = memory.subslice %arg0, %0, %arg1 : !memory.slice<i16, @mem>\n  func.return %1 : !memory.slice<i16, @mem>\n}",
    operands: &[
        ValueSpec::one("region", REGION),
        ValueSpec::one("start", TypeConstraint::Exactly(Type::I32)),
        ValueSpec::one("length", TypeConstraint::Exactly(Type::I32)),
    ],
    results: &[ValueSpec::one("result", TypeConstraint::SameAs("region"))],
    traits: Traits::MAY_TRAP,
    syntax: Syntax::Format(&[
        Fmt::Operands("region"),
        Fmt::Lit(","),
        Fmt::Operands("start"),
        Fmt::Lit(","),
        Fmt::Operands("length"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("region"),
    ]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

const PATH: AttrSpec = AttrSpec::optional("path", AttrConstraint::Array);
const UNCHECKED: AttrSpec = AttrSpec::optional("unchecked", AttrConstraint::Any);

pub(crate) const ELEM_LOAD: OpDef = OpDef {
    name: "memory.elem_load",
    summary: "Loads an element of a region",
    description: "Checks `index` against the region's length as `memory.check` does, then loads \
the element (or, with `path = [i, ...]`, the scalar that many record fields or array elements \
into it). An `i8` or `i16` scalar loads as an `i32`, extended by `sign`; a `v128` element loads \
whole. With `unchecked`, the \
check is left out: legal only where a `memory.check` of the same region and index dominates the \
access (the verifier proves it). `unchecked = \"bce.RULE\"` records instead that bounds-check \
elimination proved the index in range by that rule (a constant index, a loop counter).",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: !memory.slice<!memory.record<i8, f64>, @mem>, %arg1: i32) -> (i32, f64) {\n  %0 = memory.elem_load %arg0[%arg1] {path = [0 : u32], sign = \"s\"} : !memory.slice<!memory.record<i8, f64>, @mem> -> i32\n  memory.check %arg0[%arg1] : !memory.slice<!memory.record<i8, f64>, @mem>\n  %1 = memory.elem_load %arg0[%arg1] {path = [1 : u32], unchecked} : !memory.slice<!memory.record<i8, f64>, @mem> -> f64\n  func.return %0, %1 : i32, f64\n}",
    operands: &[
        ValueSpec::one("region", REGION),
        ValueSpec::one("index", TypeConstraint::Exactly(Type::I32)),
    ],
    // A Wasm number or a v128 (the verifier checks it is the element's).
    results: &[ValueSpec::one("result", TypeConstraint::Any)],
    attrs: &[PATH, UNCHECKED, AttrSpec::optional("sign", AttrConstraint::Enum(&["s", "u"]))],
    traits: CHECKED,
    syntax: Syntax::Format(&[
        Fmt::Operands("region"),
        Fmt::Lit("["),
        Fmt::Operands("index"),
        Fmt::Lit("]"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("region"),
        Fmt::Lit("->"),
        Fmt::Type("result"),
    ]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

pub(crate) const ELEM_STORE: OpDef = OpDef {
    name: "memory.elem_store",
    summary: "Stores an element of a region",
    description: "Checks `index` as `memory.elem_load` does, then stores the value (wrapped to \
the element's width for `i8` and `i16`) into the element or the scalar `path` selects. \
`unchecked` as for `memory.elem_load`.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: !memory.slice<i8, @mem>, %arg1: i32, %arg2: i32) {\n  memory.elem_store %arg0[%arg1], %arg2 : !memory.slice<i8, @mem>, i32\n  func.return\n}",
    operands: &[
        ValueSpec::one("region", REGION),
        ValueSpec::one("index", TypeConstraint::Exactly(Type::I32)),
        ValueSpec::one("value", TypeConstraint::Any),
    ],
    attrs: &[PATH, UNCHECKED],
    traits: Traits::MEM_WRITE.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[
        Fmt::Operands("region"),
        Fmt::Lit("["),
        Fmt::Operands("index"),
        Fmt::Lit("]"),
        Fmt::Lit(","),
        Fmt::Operands("value"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("region"),
        Fmt::Lit(","),
        Fmt::Type("value"),
    ]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

pub(crate) const CHECK: OpDef = OpDef {
    name: "memory.check",
    summary: "An explicit bounds check",
    description: "Region form `memory.check %r[%i] : type`: passes when `i` (unsigned) is below \
the region's length. Address form `memory.check @mem, %addr {size = N : u32, offset = K : u64} \
: i32`: passes when `addr + offset + size` (without overflow) is at most the memory's size in \
bytes. When the check fails, the module's answer is defined: with a `panic_handler` named on \
the memory, that function (of type `() -> ()`) is called, and then (or without one) the program \
traps as `unreachable` does. Nothing else happens before the failure, so a check and the access \
it guards fail at the same point. Bounds-check elimination removes the checks it proves.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: !memory.slice<i32, @mem>, %arg1: i32) {\n  memory.check %arg0[%arg1] : !memory.slice<i32, @mem>\n  memory.check @mem, %arg1 {offset = 4 : u64, size = 8 : u32} : i32\n  func.return\n}",
    operands: &[
        ValueSpec::one("subject", TypeConstraint::Any),
        ValueSpec::many("index", TypeConstraint::Any),
    ],
    attrs: &[
        AttrSpec::optional("memory", AttrConstraint::SymbolRef),
        AttrSpec::optional("size", AttrConstraint::IntOf(Type::U32)),
        AttrSpec::optional("offset", AttrConstraint::IntOf(Type::U64)),
    ],
    traits: CHECKED,
    syntax: Syntax::Custom { parse: parse_check, print: print_check },
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

pub(crate) const REGION_COPY: OpDef = OpDef {
    name: "memory.region_copy",
    summary: "Copies one region into another",
    description: "Copies every element of `source` to `dest`, which may overlap it (as \
memmove) and may be of another region kind with the same element type. Fails as a \
`memory.check` does unless both have the same length; then nothing is written.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: !memory.slice<i64, @mem>, %arg1: !memory.slice<i64, @mem>) {\n  memory.region_copy %arg0, %arg1 : !memory.slice<i64, @mem>, !memory.slice<i64, @mem>\n  func.return\n}",
    operands: &[ValueSpec::one("dest", REGION), ValueSpec::one("source", REGION)],
    traits: Traits::MEM_READ.union(Traits::MEM_WRITE).union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[
        Fmt::Operands("dest"),
        Fmt::Lit(","),
        Fmt::Operands("source"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("dest"),
        Fmt::Lit(","),
        Fmt::Type("source"),
    ]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

pub(crate) const REGION_FILL: OpDef = OpDef {
    name: "memory.region_fill",
    summary: "Sets every element of a region",
    description: "Stores `value` into every element (a scalar element type only).",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: !memory.slice<f32, @mem>, %arg1: f32) {\n  memory.region_fill %arg0, %arg1 : !memory.slice<f32, @mem>, f32\n  func.return\n}",
    operands: &[ValueSpec::one("dest", REGION), ValueSpec::one("value", TypeConstraint::WasmNum)],
    traits: Traits::MEM_WRITE,
    syntax: Syntax::Format(&[
        Fmt::Operands("dest"),
        Fmt::Lit(","),
        Fmt::Operands("value"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("dest"),
        Fmt::Lit(","),
        Fmt::Type("value"),
    ]),
    verify: Some(verify_region_op),
    ..OpDef::EMPTY
};

fn parse_check(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    if p.peek() == TokKind::SymbolId {
        let mem = p.parse_attr()?;
        state.add_attr(ctx, "memory", mem);
        p.expect(TokKind::Comma, "`,` and the address")?;
        let address = p.parse_operand()?;
        p.parse_optional_attr_dict(state)?;
        p.expect(TokKind::Colon, "`:` and the address type")?;
        let ty = p.parse_type()?;
        check_operand_type(p, address, ty)?;
        state.operands.push(address);
    } else {
        let region = p.parse_operand()?;
        p.expect(TokKind::LSquare, "`[` and the index")?;
        let index = p.parse_operand()?;
        p.expect(TokKind::RSquare, "`]`")?;
        p.parse_optional_attr_dict(state)?;
        p.expect(TokKind::Colon, "`:` and the region type")?;
        let ty = p.parse_type()?;
        check_operand_type(p, region, ty)?;
        state.operands.push(region);
        state.operands.push(index);
    }
    Ok(())
}

/// The custom form names the operand's type; it must be the type the value has.
fn check_operand_type(p: &OpParser<'_, '_>, value: Value, ty: Type) -> PResult<()> {
    if p.value_type(value) == ty {
        return Ok(());
    }
    Err(p.error_here(format!(
        "the operand is `{}`, not `{}`",
        type_to_string(p.ctx(), p.value_type(value)),
        type_to_string(p.ctx(), ty)
    )))
}

fn print_check(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    let subject = op.operand(0);
    if let [index] = op.operand_group("index") {
        p.write(" ");
        p.print_operand(subject);
        p.write("[");
        p.print_operand(*index);
        p.write("]");
        p.print_attr_dict(op.attrs(), &[]);
    } else {
        p.write(" ");
        if let Some(mem) = op.attr("memory") {
            p.print_attr(mem);
        }
        p.write(", ");
        p.print_operand(subject);
        p.print_attr_dict(op.attrs(), &["memory"]);
    }
    p.write(" : ");
    p.print_type(op.value_type(subject));
}

/// The `path` attribute as indices.
pub fn path_of(op: OpRef<'_>) -> Option<Vec<u32>> {
    let Some(path) = op.attr("path") else { return Some(Vec::new()) };
    let AttrData::Array(items) = op.ctx.attr_data(path) else { return None };
    items.iter().map(|&a| op.ctx.attr_as_int(a).and_then(|v| u32::try_from(v).ok())).collect()
}

/// What a region op's memory must be: its kind and, for `Local`, a stack pointer.
fn check_region_memory(
    op: OpRef<'_>,
    region: &RegionType,
    symbols: &dyn SymbolResolver,
    err: &mut dyn FnMut(String),
) {
    let ctx = op.ctx;
    let Some(info) = symbols.resolve(&region.memory) else {
        err(format!("`@{}` does not name a memory", region.memory));
        return;
    };
    if ctx.op_def(info.kind).name != "memory.memory" {
        err(format!("`@{}` is not a memory", region.memory));
        return;
    }
    let kind = ctx.dict_get(info.attrs, "kind").and_then(|a| ctx.attr_as_str(a)).unwrap_or("linear");
    let address = ctx.dict_get(info.attrs, "address_type").and_then(|a| ctx.attr_as_type(a));
    if address != Some(Type::I32) {
        err(format!("not supported yet: a region of `@{}`, a 64-bit memory", region.memory));
    }
    match (region.kind, kind) {
        (RegionKind::Extern, "managed") | (RegionKind::Slice | RegionKind::Local, "linear" | "shared") => {}
        (RegionKind::Extern, _) => err(format!(
            "an ExternRegion must live in a `managed` memory, and `@{}` is `{kind}`",
            region.memory
        )),
        (_, _) => err(format!(
            "a SharedSlice or Local must live in a `linear` or `shared` memory, and `@{}` is `{kind}`",
            region.memory
        )),
    }
    if region.kind == RegionKind::Local && ctx.dict_get(info.attrs, "stack_pointer").is_none() {
        err(format!("a Local needs a shadow stack, but `@{}` names no `stack_pointer`", region.memory));
    }
}

fn verify_region_op(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let name = op.name();
    let mut err = |msg: String| errors.push(Diagnostic::error(op.loc(), format!("'{name}' op {msg}")));
    let t = |ty: Type| type_to_string(ctx, ty);
    // The region this op works on, and the other region of a copy.
    let regions: Vec<Type> = match name {
        "memory.make_slice" | "memory.local_alloc" => {
            op.results().iter().map(|&v| op.value_type(v)).collect()
        }
        "memory.region_copy" => op.operands().iter().map(|&v| op.value_type(v)).collect(),
        "memory.check" if op.operand_group("index").is_empty() => Vec::new(),
        _ => vec![op.value_type(op.operand(0))],
    };
    let mut decoded = Vec::new();
    for ty in regions {
        match region_type(ctx, ty) {
            None => err(format!(
                "expects a region (`!memory.slice`, `!memory.extern` or `!memory.local`), not `{}`",
                t(ty)
            )),
            Some(r) => {
                if let Err(e) = pod_shape(ctx, r.elem) {
                    err(format!("needs a Pod element type: {e}"));
                }
                check_region_memory(op, &r, symbols, &mut err);
                decoded.push(r);
            }
        }
    }
    match name {
        "memory.make_slice" if decoded.first().is_some_and(|r| r.kind == RegionKind::Local) => {
            err("cannot make a Local; `memory.local_alloc` does".into());
        }
        "memory.local_alloc" if decoded.first().is_some_and(|r| r.kind != RegionKind::Local) => {
            err("allocates a `!memory.local` only".into());
        }
        "memory.local_alloc" => {
            let body = op.body;
            let in_entry = body.op_block(op.op).is_some_and(|b| {
                body.block_region(b)
                    .is_some_and(|r| body.roots().contains(&r) && body.region_blocks(r)[0] == b)
            });
            if !in_entry {
                err("must be in the function's entry block, so the frame has a fixed size".into());
            }
        }
        "memory.region_copy" => {
            if let [d, s] = decoded.as_slice()
                && d.elem != s.elem
            {
                err(format!(
                    "copies between regions of different element types (`{}` and `{}`)",
                    t(d.elem),
                    t(s.elem)
                ));
            }
        }
        "memory.check" if decoded.is_empty() => {
            let Some(mem) = op.attr("memory").and_then(|a| ctx.attr_as_symbol(a)) else {
                err("needs `memory` in its address form".into());
                return;
            };
            if op.attr_int("size").is_none() {
                err("needs `size` (bytes) in its address form".into());
            }
            let address_type = symbols
                .resolve(mem)
                .filter(|i| ctx.op_def(i.kind).name == "memory.memory")
                .and_then(|i| ctx.dict_get(i.attrs, "address_type"))
                .and_then(|a| ctx.attr_as_type(a));
            match address_type {
                None => err(format!("`@{mem}` is not a memory")),
                Some(a) if a != op.value_type(op.operand(0)) => {
                    err(format!("the address must be `{}` (the memory's address type)", t(a)))
                }
                Some(_) => {}
            }
        }
        "memory.check" => {
            if op.attr("memory").is_some() || op.attr("size").is_some() || op.attr("offset").is_some() {
                err("takes no `memory`, `size` or `offset` in its region form".into());
            }
            if op.operand_group("index").len() != 1 || op.value_type(op.operand(1)) != Type::I32 {
                err("checks one `i32` index".into());
            }
        }
        "memory.elem_load" | "memory.elem_store" => {
            let Some(region) = decoded.first() else { return };
            let Some(path) = path_of(op) else {
                err("`path` must be a list of non-negative integers".into());
                return;
            };
            let scalar = match project(ctx, region.elem, &path) {
                Ok((ty, _)) => ty,
                Err(e) => {
                    err(format!("cannot follow `path`: {e}"));
                    return;
                }
            };
            // A v128 element is accessed whole, as one vector.
            let vector = crate::simd::is_v128(ctx, scalar).then_some((scalar, 128));
            let Some((wasm_ty, bits)) = scalar_access(scalar).or(vector) else {
                err(format!(
                    "accesses scalars only, and `{}` is not one (select one with `path`)",
                    t(scalar)
                ));
                return;
            };
            let value = if name == "memory.elem_load" { op.result(0) } else { op.operand(2) };
            if op.value_type(value) != wasm_ty {
                err(format!(
                    "accesses `{}` as `{}`, but the value is `{}`",
                    t(scalar),
                    t(wasm_ty),
                    t(op.value_type(value))
                ));
            }
            if name == "memory.elem_load" && (bits < 32) != op.attr("sign").is_some() {
                err("needs `sign` exactly when the scalar is `i8` or `i16`".into());
            }
            // `unchecked` alone needs a dominating check; `unchecked = "rule"` names the rewrite
            // rule that proved the index in range (bounds-check elimination writes it, and
            // `--explain-rewrites` logs the proof).
            let proved_by_rule = op.attr("unchecked").is_some_and(|a| ctx.attr_as_str(a).is_some());
            if op.attr("unchecked").is_some()
                && !proved_by_rule
                && !check_dominates(ctx, op.body, op.op, op.operand(0), op.operand(1))
            {
                err("is `unchecked`, but no `memory.check` of the same region and index dominates it".into());
            }
        }
        "memory.region_fill" => {
            if let Some(region) = decoded.first()
                && scalar_access(region.elem).map(|(w, _)| w) != Some(op.value_type(op.operand(1)))
            {
                err(format!(
                    "fills `{}` elements with a `{}`",
                    t(region.elem),
                    t(op.value_type(op.operand(1)))
                ));
            }
        }
        _ => {}
    }
}

/// Whether a `memory.check` of `region[index]` dominates `op`: it comes earlier in `op`'s
/// block or in a block that encloses it (structured control flow makes that dominance).
pub fn check_dominates(ctx: &Context, body: &Body, op: Op, region: Value, index: Value) -> bool {
    let mut at = Some(op);
    while let Some(current) = at {
        let mut prev = body.prev_op(current);
        while let Some(p) = prev {
            if ctx.op_def(body.op_kind(p)).name == "memory.check" && body.operands(p) == [region, index] {
                return true;
            }
            prev = body.prev_op(p);
        }
        at = body.parent_op(current);
    }
    false
}

// ----- typed builder API -----

/// `memory.make_slice pointer, length : region_type`.
pub fn make_slice(b: &mut wasmir_ir::Builder<'_>, pointer: Value, length: Value, region_type: Type) -> Value {
    b.op1("memory.make_slice", &[pointer, length], region_type, &[])
}

/// `memory.len region`.
pub fn len(b: &mut wasmir_ir::Builder<'_>, region: Value) -> Value {
    b.op1("memory.len", &[region], Type::I32, &[])
}

/// `memory.elem_load region[index]` of a scalar element (`i8`/`i16` zero-extended).
pub fn elem_load(b: &mut wasmir_ir::Builder<'_>, region: Value, index: Value) -> Value {
    let ctx = b.ctx;
    let elem = region_type(ctx, b.body.value_type(region)).map_or(Type::I32, |r| r.elem);
    let (ty, bits) = scalar_access(elem).unwrap_or((Type::I32, 32));
    let sign = ctx.string_attr("u");
    let attrs: &[(&str, wasmir_ir::Attr)] = if bits < 32 { &[("sign", sign)] } else { &[] };
    b.op1("memory.elem_load", &[region, index], ty, attrs)
}

/// `memory.elem_store region[index], value`.
pub fn elem_store(b: &mut wasmir_ir::Builder<'_>, region: Value, index: Value, value: Value) -> Op {
    b.op("memory.elem_store", &[region, index, value], &[], &[])
}

/// `memory.subslice region, start, length`.
pub fn subslice(b: &mut wasmir_ir::Builder<'_>, region: Value, start: Value, length: Value) -> Value {
    let ty = b.body.value_type(region);
    b.op1("memory.subslice", &[region, start, length], ty, &[])
}
