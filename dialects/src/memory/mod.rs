//! `memory`: Wasm memories and their low-level instructions (loads and stores of every width,
//! size, grow, fill, copy, init, data segments). The Wasm-native abstractions (memory kinds,
//! typed regions, `memory.check`, atomics) arrive with the memory/refs issue, in this dialect.

use wasmir_ir::lexer::TokKind;
use wasmir_ir::parser::{OpParser, OperationState, PResult};
use wasmir_ir::printer::{OpPrinter, type_to_string};
use wasmir_ir::registry::{
    AttrConstraint, AttrSpec, DialectDef, Fmt, RegionSpec, SymbolResolver, Syntax, TypeConstraint, ValueSpec,
};
use wasmir_ir::{Attr, Context, Diagnostic, OpDef, OpRef, Traits, Type};

use crate::global::{IMPORT, parse_visibility_and_name, print_visibility_and_name, verify_import};

/// The `memory` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "memory",
    summary: "Wasm memories and their instructions.",
    ops: &[MEMORY, LOAD, STORE, SIZE, GROW, FILL, COPY, INIT, DATA, DATA_DROP],
    types: &[],
    attrs: &[],
    materialize_constant: None,
};

const MEM: AttrSpec = AttrSpec::required("memory", AttrConstraint::SymbolRef);
const OFFSET: AttrSpec = AttrSpec::optional("offset", AttrConstraint::IntOf(Type::U64));
const ALIGN: AttrSpec = AttrSpec::optional("align", AttrConstraint::IntOf(Type::U64));
const WIDTH: AttrSpec = AttrSpec::optional("width", AttrConstraint::IntOf(Type::U32));

const MEMORY: OpDef = OpDef {
    name: "memory.memory",
    summary: "A linear memory",
    description: "Defines the memory `sym_name` with `min` pages (and at most `max`) of 64 KiB, \
addressed by `i32` or `i64` (memory64). `shared` marks a memory of the threads proposal. An \
imported memory carries `import = [\"module\", \"name\"]`.",
    example: "memory.memory @mem : i32 {max = 16 : u64, min = 1 : u64}\nmemory.memory @big : i64 {min = 0 : u64}",
    attrs: &[
        AttrSpec::required("sym_name", AttrConstraint::SymbolName),
        AttrSpec::required("address_type", AttrConstraint::Type),
        AttrSpec::required("min", AttrConstraint::IntOf(Type::U64)),
        AttrSpec::optional("max", AttrConstraint::IntOf(Type::U64)),
        AttrSpec::optional("shared", AttrConstraint::Unit),
        AttrSpec::optional("sym_visibility", AttrConstraint::Enum(&["public", "private", "nested"])),
        IMPORT,
    ],
    traits: Traits::SYMBOL,
    syntax: Syntax::Custom { parse: parse_memory, print: print_memory },
    verify: Some(verify_memory),
    ..OpDef::EMPTY
};

const LOAD: OpDef = OpDef {
    name: "memory.load",
    summary: "Loads a value",
    description: "Reads `width` bits (the result type's width by default) at `address + offset` \
and extends them to the result type, signed or unsigned by `sign`, when narrower. Traps when \
the access is out of bounds. `align` (bytes) is a hint. Every Wasm load.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32) -> (i32, i64) {\n  %0 = memory.load @mem, %arg0 {offset = 4 : u64} : i32\n  %1 = memory.load @mem, %arg0 {align = 1 : u64, sign = \"s\", width = 8 : u32} : i64\n  func.return %0, %1 : i32, i64\n}",
    operands: &[ValueSpec::one("address", TypeConstraint::WasmInt)],
    results: &[ValueSpec::one("result", TypeConstraint::WasmNum)],
    attrs: &[MEM, OFFSET, ALIGN, WIDTH, AttrSpec::optional("sign", AttrConstraint::Enum(&["s", "u"]))],
    traits: Traits::MEM_READ.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Operands("address"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("result"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const STORE: OpDef = OpDef {
    name: "memory.store",
    summary: "Stores a value",
    description: "Writes the low `width` bits of the value (all of it by default) at `address + \
offset`. Traps when the access is out of bounds. Every Wasm store.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: f64) {\n  memory.store @mem, %arg0, %arg1 {offset = 8 : u64} : f64\n  memory.store @mem, %arg0, %arg0 {width = 16 : u32} : i32\n  func.return\n}",
    operands: &[
        ValueSpec::one("address", TypeConstraint::WasmInt),
        ValueSpec::one("value", TypeConstraint::WasmNum),
    ],
    attrs: &[MEM, OFFSET, ALIGN, WIDTH],
    traits: Traits::MEM_WRITE.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Operands("address"),
        Fmt::Lit(","),
        Fmt::Operands("value"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("value"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const SIZE: OpDef = OpDef {
    name: "memory.size",
    summary: "The memory's size in pages",
    description: "Of the address type. Wasm's `memory.size`.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f() -> i32 {\n  %0 = memory.size @mem : i32\n  func.return %0 : i32\n}",
    results: &[ValueSpec::one("result", TypeConstraint::WasmInt)],
    attrs: &[MEM],
    traits: Traits::MEM_READ,
    syntax: Syntax::Format(&[Fmt::Attr("memory"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("result")]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const GROW: OpDef = OpDef {
    name: "memory.grow",
    summary: "Grows the memory",
    description: "Adds `delta` pages and returns the old size, or -1 when it cannot. Wasm's `memory.grow`.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32) -> i32 {\n  %0 = memory.grow @mem, %arg0 : i32\n  func.return %0 : i32\n}",
    operands: &[ValueSpec::one("delta", TypeConstraint::WasmInt)],
    results: &[ValueSpec::one("result", TypeConstraint::SameAs("delta"))],
    attrs: &[MEM],
    traits: Traits::MEM_READ.union(Traits::MEM_WRITE),
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Operands("delta"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("result"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const FILL: OpDef = OpDef {
    name: "memory.fill",
    summary: "Fills bytes",
    description: "Sets `length` bytes from `dest` to the low byte of `value`; traps when out of bounds. Wasm's `memory.fill`.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i32, %arg2: i32) {\n  memory.fill @mem, %arg0, %arg1, %arg2 : i32\n  func.return\n}",
    operands: &[
        ValueSpec::one("dest", TypeConstraint::WasmInt),
        ValueSpec::one("value", TypeConstraint::Exactly(Type::I32)),
        ValueSpec::one("length", TypeConstraint::SameAs("dest")),
    ],
    attrs: &[MEM],
    traits: Traits::MEM_WRITE.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Operands("dest"),
        Fmt::Lit(","),
        Fmt::Operands("value"),
        Fmt::Lit(","),
        Fmt::Operands("length"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("dest"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const COPY: OpDef = OpDef {
    name: "memory.copy",
    summary: "Copies bytes, possibly between memories",
    description: "Copies `length` bytes from `source` in `src_memory` to `dest` in `memory` \
(overlap is handled as by memmove); traps when out of bounds. Wasm's `memory.copy`.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i32, %arg2: i32) {\n  memory.copy @mem, @mem, %arg0, %arg1, %arg2 : (i32, i32, i32) -> ()\n  func.return\n}",
    operands: &[
        ValueSpec::one("dest", TypeConstraint::WasmInt),
        ValueSpec::one("source", TypeConstraint::WasmInt),
        ValueSpec::one("length", TypeConstraint::WasmInt),
    ],
    attrs: &[MEM, AttrSpec::required("src_memory", AttrConstraint::SymbolRef)],
    traits: Traits::MEM_READ.union(Traits::MEM_WRITE).union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Attr("src_memory"),
        Fmt::Lit(","),
        Fmt::Operands("dest"),
        Fmt::Lit(","),
        Fmt::Operands("source"),
        Fmt::Lit(","),
        Fmt::Operands("length"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::FunctionalType,
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const INIT: OpDef = OpDef {
    name: "memory.init",
    summary: "Copies from a data segment",
    description: "Copies `length` bytes at `source` of the passive segment `segment` to `dest`; \
traps when out of bounds or when the segment was dropped (a dropped segment has length 0). Wasm's `memory.init`.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nmemory.data @greeting = \"hello\"\nfunc.func @f(%arg0: i32, %arg1: i32, %arg2: i32) {\n  memory.init @mem, @greeting, %arg0, %arg1, %arg2 : i32\n  memory.data_drop @greeting\n  func.return\n}",
    operands: &[
        ValueSpec::one("dest", TypeConstraint::WasmInt),
        ValueSpec::one("source", TypeConstraint::Exactly(Type::I32)),
        ValueSpec::one("length", TypeConstraint::Exactly(Type::I32)),
    ],
    attrs: &[MEM, AttrSpec::required("segment", AttrConstraint::SymbolRef)],
    traits: Traits::MEM_READ.union(Traits::MEM_WRITE).union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Attr("segment"),
        Fmt::Lit(","),
        Fmt::Operands("dest"),
        Fmt::Lit(","),
        Fmt::Operands("source"),
        Fmt::Lit(","),
        Fmt::Operands("length"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("dest"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const DATA: OpDef = OpDef {
    name: "memory.data",
    summary: "A data segment",
    description: "Bytes for a memory. Active when it names a `memory`: written at the offset its \
region computes (a constant expression ending in `control.yield`) during instantiation. \
Passive otherwise: used by `memory.init`.",
    example: "memory.memory @mem : i32 {min = 1 : u64}\nmemory.data @msg = \"hi\\00\" attributes {memory = @mem} {\n  %0 = arith.constant 16 : i32\n  control.yield %0 : i32\n}\nmemory.data @later = \"\\FF\\FE\"",
    attrs: &[
        AttrSpec::required("sym_name", AttrConstraint::SymbolName),
        AttrSpec::required("data", AttrConstraint::Bytes),
        AttrSpec::optional("memory", AttrConstraint::SymbolRef),
        AttrSpec::optional("sym_visibility", AttrConstraint::Enum(&["public", "private", "nested"])),
    ],
    regions: &[RegionSpec { name: "offset", may_be_empty: true }],
    traits: Traits::SYMBOL,
    syntax: Syntax::Custom { parse: parse_data, print: print_data },
    verify: Some(verify_data),
    ..OpDef::EMPTY
};

const DATA_DROP: OpDef = OpDef {
    name: "memory.data_drop",
    summary: "Drops a data segment",
    description: "The segment's bytes can no longer be used by `memory.init`. Wasm's `data.drop`.",
    example: "memory.data @d = \"x\"\nfunc.func @f() {\n  memory.data_drop @d\n  func.return\n}",
    attrs: &[AttrSpec::required("segment", AttrConstraint::SymbolRef)],
    traits: Traits::MEM_WRITE,
    syntax: Syntax::Format(&[Fmt::Attr("segment"), Fmt::AttrDict]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

fn parse_memory(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    parse_visibility_and_name(p, state)?;
    if p.eat_keyword("shared") {
        state.add_attr(ctx, "shared", Attr::UNIT);
    }
    p.expect(TokKind::Colon, "`:` and the address type")?;
    let ty = p.parse_type()?;
    state.add_attr(ctx, "address_type", ctx.type_attr(ty));
    p.parse_optional_attr_dict(state)
}

fn print_memory(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    print_visibility_and_name(p, op);
    if op.attr("shared").is_some() {
        p.write(" shared");
    }
    p.write(" : ");
    if let Some(t) = op.attr("address_type").and_then(|a| op.ctx.attr_as_type(a)) {
        p.print_type(t);
    }
    p.print_attr_dict(op.attrs(), &["sym_name", "sym_visibility", "shared", "address_type"]);
}

fn parse_data(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    parse_visibility_and_name(p, state)?;
    p.expect(TokKind::Equal, "`=` and the segment's bytes")?;
    let data = p.parse_attr()?;
    state.add_attr(ctx, "data", data);
    p.parse_optional_attr_dict_with_keyword(state)?;
    let offset = if p.peek() == TokKind::LBrace { p.parse_region(None)? } else { p.empty_region() };
    state.regions.push(offset);
    Ok(())
}

fn print_data(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    print_visibility_and_name(p, op);
    p.write(" = ");
    if let Some(d) = op.attr("data") {
        p.print_attr(d);
    }
    p.print_attr_dict_with_keyword(op.attrs(), &["sym_name", "sym_visibility", "data"]);
    let (body, regions) = op.regions();
    if !body.region_blocks(regions[0]).is_empty() {
        p.write(" ");
        p.with_region_scope(op, |p, regions| p.print_region(regions[0], false));
    }
}

fn verify_memory(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    verify_import(op, errors);
    let ty = op.attr("address_type").and_then(|a| ctx.attr_as_type(a));
    if !matches!(ty, Some(Type::I32 | Type::I64)) {
        errors.push(Diagnostic::error(op.loc(), "'memory.memory' op address type must be i32 or i64"));
    }
    let (min, max) = (op.attr_int("min").map(|v| v as u64), op.attr_int("max").map(|v| v as u64));
    if let (Some(min), Some(max)) = (min, max)
        && max < min
    {
        errors.push(Diagnostic::error(
            op.loc(),
            format!("'memory.memory' op max ({max}) is below min ({min})"),
        ));
    }
}

/// The address type of the memory `name`, if it resolves to one.
fn memory_address_type(ctx: &Context, symbols: &dyn SymbolResolver, name: &str) -> Option<Type> {
    let info = symbols.resolve(name)?;
    (ctx.op_def(info.kind).name == "memory.memory")
        .then(|| ctx.dict_get(info.attrs, "address_type").and_then(|a| ctx.attr_as_type(a)))
        .flatten()
}

fn verify_access(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let name = op.name();
    let mut err = |msg: String| errors.push(Diagnostic::error(op.loc(), format!("'{name}' op {msg}")));
    for attr in ["memory", "src_memory"] {
        let Some(mem) = op.attr(attr).and_then(|a| ctx.attr_as_symbol(a)) else { continue };
        if symbols.resolve(mem).is_some() && memory_address_type(ctx, symbols, mem).is_none() {
            err(format!("`@{mem}` is not a memory"));
        }
    }
    if let Some(seg) = op.attr("segment").and_then(|a| ctx.attr_as_symbol(a))
        && let Some(info) = symbols.resolve(seg)
        && ctx.op_def(info.kind).name != "memory.data"
    {
        err(format!("`@{seg}` is not a data segment"));
    }
    let address = |attr: &str| {
        op.attr(attr).and_then(|a| ctx.attr_as_symbol(a)).and_then(|m| memory_address_type(ctx, symbols, m))
    };
    let Some(addr_ty) = address("memory") else { return };
    let t = |ty: Type| type_to_string(ctx, ty);
    let check = |value: Option<Type>, expected: Type, what: &str, err: &mut dyn FnMut(String)| {
        if let Some(v) = value
            && v != expected
        {
            err(format!("{what} must be `{}` (the memory's address type), but is `{}`", t(expected), t(v)));
        }
    };
    match name {
        "memory.load" | "memory.store" => {
            check(
                op.operand_group("address").first().map(|&v| op.value_type(v)),
                addr_ty,
                "the address",
                &mut err,
            );
            let value_ty =
                op.results().first().or(op.operand_group("value").first()).map(|&v| op.value_type(v));
            let Some(value_ty) = value_ty else { return };
            let full = if matches!(value_ty, Type::I64 | Type::F64) { 64 } else { 32 };
            let width = op.attr_int("width").unwrap_or(full);
            let is_float = matches!(value_ty, Type::F32 | Type::F64);
            if !matches!(width, 8 | 16 | 32 | 64) || width > full || (is_float && width != full) {
                err(format!("cannot access {width} bits of a `{}`", t(value_ty)));
            }
            if name == "memory.load" && (width < full) != op.attr("sign").is_some() {
                err("needs `sign` exactly when it loads fewer bits than its type has".into());
            }
            if let Some(align) = op.attr_int("align")
                && (align <= 0 || (align as u64).count_ones() != 1 || align > width / 8)
            {
                err(format!(
                    "alignment {align} must be a power of two no larger than the access ({} bytes)",
                    width / 8
                ));
            }
        }
        "memory.size" | "memory.grow" | "memory.fill" | "memory.init" => {
            let first = op.operands().first().or(op.results().first()).map(|&v| op.value_type(v));
            check(first, addr_ty, "the address or size", &mut err);
        }
        "memory.copy" => {
            check(Some(op.value_type(op.operand(0))), addr_ty, "the destination", &mut err);
            if let Some(src_ty) = address("src_memory") {
                check(Some(op.value_type(op.operand(1))), src_ty, "the source", &mut err);
                let len = if addr_ty == Type::I64 && src_ty == Type::I64 { Type::I64 } else { Type::I32 };
                check(Some(op.value_type(op.operand(2))), len, "the length", &mut err);
            }
        }
        _ => {}
    }
}

fn verify_data(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let (body, regions) = op.regions();
    let active = op.attr("memory").and_then(|a| ctx.attr_as_symbol(a));
    let has_offset = !body.region_blocks(regions[0]).is_empty();
    match active {
        None if has_offset => {
            errors.push(Diagnostic::error(op.loc(), "'memory.data' op has an offset but names no memory"));
        }
        Some(_) if !has_offset => {
            errors.push(Diagnostic::error(op.loc(), "'memory.data' op names a memory but has no offset"));
        }
        Some(mem) => {
            let Some(addr_ty) = memory_address_type(ctx, symbols, mem) else {
                if symbols.resolve(mem).is_some() {
                    errors.push(Diagnostic::error(
                        op.loc(),
                        format!("'memory.data' op `@{mem}` is not a memory"),
                    ));
                }
                return;
            };
            let block = body.region_blocks(regions[0])[0];
            let yielded = body
                .block_last(block)
                .map(|l| body.operands(l).iter().map(|&v| body.value_type(v)).collect::<Vec<_>>());
            if yielded.as_deref() != Some(&[addr_ty]) {
                errors.push(Diagnostic::error(
                    op.loc(),
                    format!("'memory.data' op offset must yield one `{}`", type_to_string(ctx, addr_ty)),
                ));
            }
        }
        None => {}
    }
}
