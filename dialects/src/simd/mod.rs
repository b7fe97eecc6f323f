//! `simd`: Wasm's 128-bit vectors. One type, `!simd.v128`, with the lane shape (`i8x16` ...
//! `f64x2`) on the op, as Wasm and Binaryen have it; one op per instruction family
//! (`simd.add` with `shape = i32x4` is `i32x4.add`). `table.rs` declares the families, and
//! every SIMD and relaxed-SIMD instruction maps to one family and shape by its Wasm name
//! (`instruction_name`, `family_of_parts`). specs/simd.md gives the representation and why.

pub mod fold;
pub mod semantics;
mod table;

pub use semantics::Shape;
pub use table::{FAMILIES, Family, Sig};

use wasmir_ir::printer::type_to_string;
use wasmir_ir::registry::{DialectDef, ParamDef, SymbolResolver};
use wasmir_ir::{Context, Diagnostic, OpRef, Type};

/// The `simd` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "simd",
    summary: "Wasm SIMD: the v128 type and one op per instruction family, the lane shape on the op.",
    ops: table::OPS,
    types: &[ParamDef {
        name: "simd.v128",
        summary: "A 128-bit vector, `!simd.v128`: its lanes are what the op reading it says (Wasm's v128)",
        verify: Some(
            |_, params| {
                if params.is_empty() { Ok(()) } else { Err("`!simd.v128` takes no parameters".into()) }
            },
        ),
        subtype: None,
        traits: None,
    }],
    attrs: &[],
    materialize_constant: Some(fold::materialize_constant),
    fold_citations: &["INV-SIMD-001", "INV-SIMD-004", "INV-ARITH-004"],
};

/// `!simd.v128`.
pub fn v128(ctx: &Context) -> Type {
    ctx.dialect_type("simd.v128", Vec::new())
}

/// Whether `ty` is `!simd.v128`.
pub fn is_v128(ctx: &Context, ty: Type) -> bool {
    matches!(ctx.type_data(ty), wasmir_ir::TypeData::Dialect { name, params } if params.is_empty() && ctx.ident_str(*name) == "simd.v128")
}

/// The lane shapes, with their lane count and the scalar type of a lane.
pub const SHAPES: &[(&str, u32, Type)] = &[
    ("i8x16", 16, Type::I32),
    ("i16x8", 8, Type::I32),
    ("i32x4", 4, Type::I32),
    ("i64x2", 2, Type::I64),
    ("f32x4", 4, Type::F32),
    ("f64x2", 2, Type::F64),
];

/// The number of lanes and the scalar type of a lane of `shape` (`i8x16` and `i16x8` lanes
/// are read and written as `i32`, as in Wasm).
pub fn shape_lanes(shape: &str) -> Option<(u32, Type)> {
    SHAPES.iter().find(|s| s.0 == shape).map(|&(_, n, t)| (n, t))
}

/// The families by name (the verifier, bce and the emitter ask for every SIMD op).
static BY_NAME: std::sync::LazyLock<wasmir_ir::FxHashMap<&'static str, &'static Family>> =
    std::sync::LazyLock::new(|| FAMILIES.iter().map(|f| (f.name, f)).collect());

/// The family declaration of an op of this dialect.
pub fn family(name: &str) -> Option<&'static Family> {
    BY_NAME.get(name.strip_prefix("simd.")?).copied()
}

/// The Wasm name of the instruction an op of family `family` and shape `shape` is
/// (`i32x4.add`, `v128.load8_splat`), or `None` when the family has no such shape.
pub fn instruction_name(family: &Family, shape: Option<&str>) -> Option<String> {
    let shape = match (family.shapes, shape) {
        (["v128"], None) => "v128",
        (shapes, Some(s)) if shapes.contains(&s) => s,
        _ => return None,
    };
    Some(format!("{shape}.{}", family.name))
}

/// The family and shape (`None` for whole-vector families) of the instruction
/// `<shape>.<family>`, given its two parts.
pub fn family_of_parts(shape: &str, family: &str) -> Option<(&'static Family, Option<&'static str>)> {
    let family = *BY_NAME.get(family)?;
    let shape = family.shapes.iter().find(|&&s| s == shape)?;
    Some((family, (*shape != "v128").then_some(*shape)))
}

/// The bytes a family's memory access reads or writes (the natural alignment), for the
/// memory families.
pub fn access_bytes(family: &Family) -> Option<u32> {
    let n = family.name;
    Some(match family.sig {
        Sig::Load | Sig::Store if n == "load" || n == "store" => 16,
        Sig::Load if n.ends_with("_splat") || n.ends_with("_zero") => {
            n.trim_start_matches("load").split('_').next()?.parse::<u32>().ok()? / 8
        }
        Sig::Load => 8, // load8x8_s and the other extending loads read 64 bits
        Sig::LoadLane | Sig::StoreLane => {
            n.trim_start_matches("load").trim_start_matches("store").split('_').next()?.parse::<u32>().ok()?
                / 8
        }
        _ => return None,
    })
}

/// Parses a `value` or `lanes` attribute: 32 hexadecimal digits, byte 0 first.
pub fn parse_bytes(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Writes 16 bytes as a `value` or `lanes` attribute.
pub fn format_bytes(bytes: &[u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks what the declaration cannot say: the value types of the family at this shape, lane
/// indices, shuffle indices, constants, alignment, and the memory accessed.
fn verify(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let name = op.name();
    let mut err = |msg: String| errors.push(Diagnostic::error(op.loc(), format!("'{name}' op {msg}")));
    let Some(family) = family(name) else { return };
    let shape = op.attr("shape").and_then(|a| ctx.attr_as_str(a));
    let lane_info = shape.and_then(shape_lanes);
    let v128 = v128(ctx);
    let t = |ty: Type| type_to_string(ctx, ty);
    let expect = |what: &str, value: Option<wasmir_ir::Value>, ty: Type, err: &mut dyn FnMut(String)| {
        if let Some(v) = value
            && op.value_type(v) != ty
        {
            err(format!("{what} must be `{}`, but is `{}`", t(ty), t(op.value_type(v))));
        }
    };
    // Vector operands and results are v128; the others depend on the family.
    let scalar = lane_info.map(|(_, ty)| ty);
    for (i, &v) in op.operands().iter().enumerate() {
        let ty = match (family.sig, i) {
            (Sig::Splat, 0) | (Sig::ReplaceLane, 1) => scalar,
            (Sig::Shift, 1) => Some(Type::I32),
            (Sig::Load | Sig::Store | Sig::LoadLane | Sig::StoreLane, 0) => None, // the memory's
            _ => Some(v128),
        };
        if let Some(ty) = ty {
            expect(&format!("operand #{i}"), Some(v), ty, &mut err);
        }
    }
    let result_ty = match family.sig {
        Sig::Test => Some(Type::I32),
        Sig::ExtractLane => scalar,
        Sig::Store | Sig::StoreLane => None,
        _ => Some(v128),
    };
    if let Some(ty) = result_ty {
        expect("the result", op.results().first().copied(), ty, &mut err);
    }
    // Lane indices.
    if let Some(lane) = op.attr_int("lane") {
        let lanes = match family.sig {
            Sig::LoadLane | Sig::StoreLane => access_bytes(family).map(|b| 16 / b),
            _ => lane_info.map(|(n, _)| n),
        };
        if let Some(n) = lanes
            && !(0..i64::from(n)).contains(&lane)
        {
            err(format!("lane {lane} is out of range: the vector has {n} lanes here"));
        }
    }
    for attr in ["value", "lanes"] {
        let Some(text) = op.attr(attr).and_then(|a| ctx.attr_as_str(a)) else { continue };
        match parse_bytes(text) {
            None => err(format!("`{attr}` must be 32 hexadecimal digits (16 bytes), but is \"{text}\"")),
            Some(bytes) if attr == "lanes" => {
                if let Some(&b) = bytes.iter().find(|&&b| b >= 32) {
                    err(format!("shuffle lane index {b} is out of range: two vectors have 32 lanes"));
                }
            }
            Some(_) => {}
        }
    }
    // Memory: an existing memory, its address type, and an alignment no larger than the access.
    if let Some(bytes) = access_bytes(family) {
        if let Some(align) = op.attr_int("align")
            && (align <= 0 || align & (align - 1) != 0 || align > i64::from(bytes))
        {
            err(format!(
                "alignment {align} must be a power of two no larger than the access ({bytes} bytes)"
            ));
        }
        if let Some(mem) = op.attr("memory").and_then(|a| ctx.attr_as_symbol(a))
            && symbols.resolve(mem).is_some()
        {
            match crate::memory::memory_address_type(ctx, symbols, mem) {
                None => err(format!("`@{mem}` is not a memory")),
                Some(addr_ty) => expect("the address", op.operands().first().copied(), addr_ty, &mut err),
            }
        }
    }
}
