//! `refs`: Wasm references and tables. The type `!refs.ref<[null,] HEAP>` is Wasm's
//! reference type, where HEAP is `func`, `extern`, `nofunc`, `noextern` or a function type
//! (a typed function reference); `funcref` is `!refs.ref<null, func>`. Subtyping follows Wasm:
//! non-null <: nullable, typed <: `func`, `nofunc` <: every function heap, `noextern` <:
//! `extern`. The Wasm-native handles are in `handles.rs`: `ExternRef<T>`
//! (`!refs.externref<T>`) and the managed reference table. `FuncRef<sig>` is the typed function
//! reference `!refs.ref<(sig)>`.

mod handles;

pub use handles::{ExternRefType, externref_type, from_handle, make_externref, release_handle, to_handle};

use crate::global::{IMPORT, parse_visibility_and_name, print_visibility_and_name, verify_import};
use wasmir_ir::lexer::TokKind;
use wasmir_ir::parser::{OpParser, OperationState, PResult};
use wasmir_ir::printer::{OpPrinter, type_to_string};
use wasmir_ir::registry::{
    AttrConstraint, AttrSpec, DialectDef, Fmt, ParamDef, RegionSpec, SymbolResolver, Syntax, TypeConstraint,
    ValueSpec,
};
use wasmir_ir::{Context, Diagnostic, OpDef, OpRef, Param, Traits, Type, TypeData};

/// The `refs` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "refs",
    summary: "Wasm references, tables, element segments and indirect calls.",
    ops: &[
        TABLE,
        ELEM,
        NULL,
        IS_NULL,
        FUNC,
        AS_NON_NULL,
        TABLE_GET,
        TABLE_SET,
        TABLE_SIZE,
        TABLE_GROW,
        TABLE_FILL,
        TABLE_COPY,
        TABLE_INIT,
        ELEM_DROP,
        CALL_INDIRECT,
        CALL_REF,
        RETURN_CALL_INDIRECT,
        RETURN_CALL_REF,
        handles::TO_HANDLE,
        handles::FROM_HANDLE,
        handles::RELEASE_HANDLE,
    ],
    types: &[
        handles::EXTERNREF_TYPE,
        ParamDef {
            name: "refs.ref",
            summary: "A Wasm reference type: `!refs.ref<[null,] func|extern|nofunc|noextern|(fn type)>`",
            verify: Some(verify_ref_params),
            subtype: Some(ref_subtype),
            traits: None,
        },
    ],
    attrs: &[],
    materialize_constant: None,
    fold_citations: &[],
};

/// The heap type of a reference.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Heap {
    Func,
    Extern,
    NoFunc,
    NoExtern,
    /// A typed function reference; the function type.
    Typed(Type),
}

/// A decoded `!refs.ref` type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RefType {
    pub nullable: bool,
    pub heap: Heap,
}

fn decode(ctx: &Context, params: &[Param]) -> Option<RefType> {
    let (nullable, rest) = match params {
        [Param::Keyword(k), rest @ ..] if ctx.ident_str(*k) == "null" => (true, rest),
        rest => (false, rest),
    };
    let heap = match rest {
        [Param::Keyword(k)] => match ctx.ident_str(*k) {
            "func" => Heap::Func,
            "extern" => Heap::Extern,
            "nofunc" => Heap::NoFunc,
            "noextern" => Heap::NoExtern,
            _ => return None,
        },
        [Param::Type(t)] if ctx.function_signature(*t).is_some() => Heap::Typed(*t),
        _ => return None,
    };
    Some(RefType { nullable, heap })
}

/// The reference type `ty` is, if it is one.
pub fn ref_type(ctx: &Context, ty: Type) -> Option<RefType> {
    match ctx.type_data(ty) {
        TypeData::Dialect { name, params } if ctx.ident_str(*name) == "refs.ref" => decode(ctx, params),
        _ => None,
    }
}

/// The type `!refs.ref<[null,] heap>`.
pub fn make_ref(ctx: &Context, r: RefType) -> Type {
    let mut params = Vec::new();
    if r.nullable {
        params.push(Param::Keyword(ctx.ident("null")));
    }
    params.push(match r.heap {
        Heap::Func => Param::Keyword(ctx.ident("func")),
        Heap::Extern => Param::Keyword(ctx.ident("extern")),
        Heap::NoFunc => Param::Keyword(ctx.ident("nofunc")),
        Heap::NoExtern => Param::Keyword(ctx.ident("noextern")),
        Heap::Typed(t) => Param::Type(t),
    });
    ctx.dialect_type("refs.ref", params)
}

/// `funcref`.
pub fn funcref(ctx: &Context) -> Type {
    make_ref(ctx, RefType { nullable: true, heap: Heap::Func })
}

/// `externref`.
pub fn externref(ctx: &Context) -> Type {
    make_ref(ctx, RefType { nullable: true, heap: Heap::Extern })
}

fn verify_ref_params(ctx: &Context, params: &[Param]) -> Result<(), String> {
    decode(ctx, params).map(|_| ()).ok_or_else(|| {
        "expects `[null,] func|extern|nofunc|noextern` or `[null,] (function type)`".to_string()
    })
}

fn heap_subtype(sub: Heap, sup: Heap) -> bool {
    sub == sup
        || matches!(
            (sub, sup),
            (Heap::Typed(_), Heap::Func)
                | (Heap::NoFunc, Heap::Func | Heap::Typed(_))
                | (Heap::NoExtern, Heap::Extern)
        )
}

fn ref_subtype(ctx: &Context, sub: &[Param], sup: &[Param]) -> bool {
    match (decode(ctx, sub), decode(ctx, sup)) {
        (Some(a), Some(b)) => (!a.nullable || b.nullable) && heap_subtype(a.heap, b.heap),
        _ => false,
    }
}

const REF: TypeConstraint = TypeConstraint::DialectType("refs.ref");
const TABLE_ATTR: AttrSpec = AttrSpec::required("table", AttrConstraint::SymbolRef);
const VIS: AttrSpec =
    AttrSpec::optional("sym_visibility", AttrConstraint::Enum(&["public", "private", "nested"]));

const TABLE: OpDef = OpDef {
    name: "refs.table",
    summary: "A table of references",
    description: "Defines the table `sym_name` of `elem_type` references with `min` (at most \
`max`) entries, indexed by `address_type` (i32, or i64 for table64). Entries start as null, or \
as the value of the initializer region when the element type is non-nullable or one is given.",
    example: "refs.table @t : i32, !refs.ref<null, func> {max = 8 : u64, min = 2 : u64}",
    attrs: &[
        AttrSpec::required("sym_name", AttrConstraint::SymbolName),
        AttrSpec::required("elem_type", AttrConstraint::Type),
        AttrSpec::required("address_type", AttrConstraint::Type),
        AttrSpec::required("min", AttrConstraint::IntOf(Type::U64)),
        AttrSpec::optional("max", AttrConstraint::IntOf(Type::U64)),
        VIS,
        IMPORT,
    ],
    regions: &[RegionSpec { name: "init", may_be_empty: true }],
    traits: Traits::SYMBOL,
    syntax: Syntax::Custom { parse: parse_table, print: print_table },
    verify: Some(verify_table),
    ..OpDef::EMPTY
};

const ELEM: OpDef = OpDef {
    name: "refs.elem",
    summary: "An element segment",
    description: "References for a table: its `items` region yields them (each a constant \
expression). Active when it names a `table` (with an `offset` region), declarative when \
`declarative` is set (it only declares functions that `refs.func` may name), passive otherwise.",
    example: "refs.table @t : i32, !refs.ref<null, func> {min = 4 : u64}\nfunc.func @f() {\n  func.return\n}\nrefs.elem @e : !refs.ref<null, func> attributes {table = @t} {\n  %0 = refs.func @f : !refs.ref<() -> ()>\n  %1 = refs.null : !refs.ref<null, func>\n  control.yield %0, %1 : !refs.ref<() -> ()>, !refs.ref<null, func>\n} offset {\n  %0 = arith.constant 1 : i32\n  control.yield %0 : i32\n}",
    attrs: &[
        AttrSpec::required("sym_name", AttrConstraint::SymbolName),
        AttrSpec::required("elem_type", AttrConstraint::Type),
        AttrSpec::optional("table", AttrConstraint::SymbolRef),
        AttrSpec::optional("declarative", AttrConstraint::Unit),
        VIS,
    ],
    regions: &[
        RegionSpec { name: "items", may_be_empty: false },
        RegionSpec { name: "offset", may_be_empty: true },
    ],
    traits: Traits::SYMBOL,
    syntax: Syntax::Custom { parse: parse_elem, print: print_elem },
    verify: Some(verify_elem),
    ..OpDef::EMPTY
};

const fn simple(
    name: &'static str,
    summary: &'static str,
    description: &'static str,
    example: &'static str,
    operands: &'static [ValueSpec],
    results: &'static [ValueSpec],
    attrs: &'static [AttrSpec],
    traits: Traits,
    syntax: &'static [Fmt],
) -> OpDef {
    OpDef {
        name,
        summary,
        description,
        example,
        operands,
        results,
        attrs,
        traits,
        syntax: Syntax::Format(syntax),
        verify: Some(verify_refs_op),
        ..OpDef::EMPTY
    }
}

const NULL: OpDef = simple(
    "refs.null",
    "A null reference",
    "The null reference of a nullable reference type. Wasm's `ref.null`.",
    "func.func @f() -> !refs.ref<null, extern> {\n  %0 = refs.null : !refs.ref<null, extern>\n  func.return %0 : !refs.ref<null, extern>\n}",
    &[],
    &[ValueSpec::one("result", REF)],
    &[],
    Traits::PURE,
    &[Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("result")],
);

const IS_NULL: OpDef = simple(
    "refs.is_null",
    "Tests a reference for null",
    "1 (as i32) if the reference is null, else 0. Wasm's `ref.is_null`.",
    "func.func @f(%arg0: !refs.ref<null, func>) -> i32 {\n  %0 = refs.is_null %arg0 : !refs.ref<null, func>\n  func.return %0 : i32\n}",
    &[ValueSpec::one("ref", REF)],
    &[ValueSpec::one("result", TypeConstraint::Exactly(Type::I32))],
    &[],
    Traits::PURE,
    &[Fmt::Operands("ref"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("ref")],
);

const FUNC: OpDef = simple(
    "refs.func",
    "A reference to a function",
    "A non-null typed reference to `function`. Wasm's `ref.func`.",
    "func.func @f(%arg0: i32) -> i32 {\n  func.return %arg0 : i32\n}\nfunc.func @g() -> !refs.ref<(i32) -> i32> {\n  %0 = refs.func @f : !refs.ref<(i32) -> i32>\n  func.return %0 : !refs.ref<(i32) -> i32>\n}",
    &[],
    &[ValueSpec::one("result", REF)],
    &[AttrSpec::required("function", AttrConstraint::SymbolRef)],
    Traits::PURE,
    &[Fmt::Attr("function"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("result")],
);

const AS_NON_NULL: OpDef = simple(
    "refs.as_non_null",
    "Asserts a reference is not null",
    "The same reference as non-null; traps when it is null. Wasm's `ref.as_non_null`.",
    "func.func @f(%arg0: !refs.ref<null, extern>) -> !refs.ref<extern> {\n  %0 = refs.as_non_null %arg0 : (!refs.ref<null, extern>) -> !refs.ref<extern>\n  func.return %0 : !refs.ref<extern>\n}",
    &[ValueSpec::one("ref", REF)],
    &[ValueSpec::one("result", REF)],
    &[],
    Traits::MAY_TRAP,
    &[Fmt::Operands("ref"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::FunctionalType],
);

const TABLE_GET: OpDef = simple(
    "refs.table_get",
    "Reads a table entry",
    "Traps when the index is out of bounds. Wasm's `table.get`.",
    "refs.table @t : i32, !refs.ref<null, extern> {min = 1 : u64}\nfunc.func @f(%arg0: i32) -> !refs.ref<null, extern> {\n  %0 = refs.table_get @t, %arg0 : !refs.ref<null, extern>\n  func.return %0 : !refs.ref<null, extern>\n}",
    &[ValueSpec::one("index", TypeConstraint::WasmInt)],
    &[ValueSpec::one("result", REF)],
    &[TABLE_ATTR],
    Traits::MEM_READ.union(Traits::MAY_TRAP),
    &[
        Fmt::Attr("table"),
        Fmt::Lit(","),
        Fmt::Operands("index"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("result"),
    ],
);

const TABLE_SET: OpDef = simple(
    "refs.table_set",
    "Writes a table entry",
    "Traps when the index is out of bounds. Wasm's `table.set`.",
    "refs.table @t : i32, !refs.ref<null, extern> {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: !refs.ref<null, extern>) {\n  refs.table_set @t, %arg0, %arg1 : !refs.ref<null, extern>\n  func.return\n}",
    &[ValueSpec::one("index", TypeConstraint::WasmInt), ValueSpec::one("value", REF)],
    &[],
    &[TABLE_ATTR],
    Traits::MEM_WRITE.union(Traits::MAY_TRAP),
    &[
        Fmt::Attr("table"),
        Fmt::Lit(","),
        Fmt::Operands("index"),
        Fmt::Lit(","),
        Fmt::Operands("value"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("value"),
    ],
);

const TABLE_SIZE: OpDef = simple(
    "refs.table_size",
    "The table's size",
    "Wasm's `table.size`.",
    "refs.table @t : i32, !refs.ref<null, func> {min = 1 : u64}\nfunc.func @f() -> i32 {\n  %0 = refs.table_size @t : i32\n  func.return %0 : i32\n}",
    &[],
    &[ValueSpec::one("result", TypeConstraint::WasmInt)],
    &[TABLE_ATTR],
    Traits::MEM_READ,
    &[Fmt::Attr("table"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("result")],
);

const TABLE_GROW: OpDef = simple(
    "refs.table_grow",
    "Grows the table",
    "Adds `delta` entries set to `init` and returns the old size, or -1. Wasm's `table.grow`.",
    "refs.table @t : i32, !refs.ref<null, func> {min = 1 : u64}\nfunc.func @f(%arg0: !refs.ref<null, func>, %arg1: i32) -> i32 {\n  %0 = refs.table_grow @t, %arg0, %arg1 : (!refs.ref<null, func>, i32) -> i32\n  func.return %0 : i32\n}",
    &[ValueSpec::one("init", REF), ValueSpec::one("delta", TypeConstraint::WasmInt)],
    &[ValueSpec::one("result", TypeConstraint::SameAs("delta"))],
    &[TABLE_ATTR],
    Traits::MEM_READ.union(Traits::MEM_WRITE),
    &[
        Fmt::Attr("table"),
        Fmt::Lit(","),
        Fmt::Operands("init"),
        Fmt::Lit(","),
        Fmt::Operands("delta"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::FunctionalType,
    ],
);

const TABLE_FILL: OpDef = simple(
    "refs.table_fill",
    "Fills table entries",
    "Sets `length` entries from `dest` to `value`; traps when out of bounds. Wasm's `table.fill`.",
    "refs.table @t : i32, !refs.ref<null, func> {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: !refs.ref<null, func>, %arg2: i32) {\n  refs.table_fill @t, %arg0, %arg1, %arg2 : (i32, !refs.ref<null, func>, i32) -> ()\n  func.return\n}",
    &[
        ValueSpec::one("dest", TypeConstraint::WasmInt),
        ValueSpec::one("value", REF),
        ValueSpec::one("length", TypeConstraint::SameAs("dest")),
    ],
    &[],
    &[TABLE_ATTR],
    Traits::MEM_WRITE.union(Traits::MAY_TRAP),
    &[
        Fmt::Attr("table"),
        Fmt::Lit(","),
        Fmt::Operands("dest"),
        Fmt::Lit(","),
        Fmt::Operands("value"),
        Fmt::Lit(","),
        Fmt::Operands("length"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::FunctionalType,
    ],
);

const TABLE_COPY: OpDef = simple(
    "refs.table_copy",
    "Copies table entries, possibly between tables",
    "Wasm's `table.copy`; traps when out of bounds.",
    "refs.table @t : i32, !refs.ref<null, func> {min = 4 : u64}\nfunc.func @f(%arg0: i32, %arg1: i32, %arg2: i32) {\n  refs.table_copy @t, @t, %arg0, %arg1, %arg2 : (i32, i32, i32) -> ()\n  func.return\n}",
    &[
        ValueSpec::one("dest", TypeConstraint::WasmInt),
        ValueSpec::one("source", TypeConstraint::WasmInt),
        ValueSpec::one("length", TypeConstraint::WasmInt),
    ],
    &[],
    &[TABLE_ATTR, AttrSpec::required("src_table", AttrConstraint::SymbolRef)],
    Traits::MEM_READ.union(Traits::MEM_WRITE).union(Traits::MAY_TRAP),
    &[
        Fmt::Attr("table"),
        Fmt::Lit(","),
        Fmt::Attr("src_table"),
        Fmt::Lit(","),
        Fmt::Operands("dest"),
        Fmt::Lit(","),
        Fmt::Operands("source"),
        Fmt::Lit(","),
        Fmt::Operands("length"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::FunctionalType,
    ],
);

const TABLE_INIT: OpDef = simple(
    "refs.table_init",
    "Copies from an element segment",
    "Wasm's `table.init`; traps when out of bounds or when the segment was dropped.",
    "refs.table @t : i32, !refs.ref<null, func> {min = 4 : u64}\nrefs.elem @e : !refs.ref<null, func> {\n  %0 = refs.null : !refs.ref<null, func>\n  control.yield %0 : !refs.ref<null, func>\n}\nfunc.func @f(%arg0: i32, %arg1: i32, %arg2: i32) {\n  refs.table_init @t, @e, %arg0, %arg1, %arg2 : (i32, i32, i32) -> ()\n  refs.elem_drop @e\n  func.return\n}",
    &[
        ValueSpec::one("dest", TypeConstraint::WasmInt),
        ValueSpec::one("source", TypeConstraint::Exactly(Type::I32)),
        ValueSpec::one("length", TypeConstraint::Exactly(Type::I32)),
    ],
    &[],
    &[TABLE_ATTR, AttrSpec::required("segment", AttrConstraint::SymbolRef)],
    Traits::MEM_READ.union(Traits::MEM_WRITE).union(Traits::MAY_TRAP),
    &[
        Fmt::Attr("table"),
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
        Fmt::FunctionalType,
    ],
);

const ELEM_DROP: OpDef = simple(
    "refs.elem_drop",
    "Drops an element segment",
    "Wasm's `elem.drop`.",
    "refs.elem @e : !refs.ref<null, func> {\n  control.yield\n}\nfunc.func @f() {\n  refs.elem_drop @e\n  func.return\n}",
    &[],
    &[],
    &[AttrSpec::required("segment", AttrConstraint::SymbolRef)],
    Traits::MEM_WRITE,
    &[Fmt::Attr("segment"), Fmt::AttrDict],
);

const CALLEE_TYPE: AttrSpec = AttrSpec::required("callee_type", AttrConstraint::FunctionType);

const CALL_INDIRECT: OpDef = OpDef {
    name: "refs.call_indirect",
    summary: "Calls through a table",
    description: "Calls the function at `index` in `table`; traps when the index is out of \
bounds, the entry is null, or its type is not `callee_type`. Wasm's `call_indirect`.",
    example: "refs.table @t : i32, !refs.ref<null, func> {min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i64) -> i64 {\n  %0 = refs.call_indirect @t, %arg0 (%arg1) : (i64) -> i64\n  func.return %0 : i64\n}",
    operands: &[
        ValueSpec::one("index", TypeConstraint::WasmInt),
        ValueSpec::many("operands", TypeConstraint::Any),
    ],
    results: &[ValueSpec::many("results", TypeConstraint::Any)],
    attrs: &[TABLE_ATTR, CALLEE_TYPE],
    traits: Traits::MAY_TRAP,
    syntax: Syntax::Custom { parse: parse_indirect, print: print_indirect },
    verify: Some(verify_refs_op),
    ..OpDef::EMPTY
};

const CALL_REF: OpDef = OpDef {
    name: "refs.call_ref",
    summary: "Calls a typed function reference",
    description: "Calls the function the reference points to; traps when it is null. Wasm's `call_ref`.",
    example: "func.func @f(%arg0: !refs.ref<null, (i32) -> i32>, %arg1: i32) -> i32 {\n  %0 = refs.call_ref %arg0 (%arg1) : (i32) -> i32\n  func.return %0 : i32\n}",
    operands: &[ValueSpec::one("callee", REF), ValueSpec::many("operands", TypeConstraint::Any)],
    results: &[ValueSpec::many("results", TypeConstraint::Any)],
    attrs: &[CALLEE_TYPE],
    traits: Traits::MAY_TRAP,
    syntax: Syntax::Custom { parse: parse_indirect, print: print_indirect },
    verify: Some(verify_refs_op),
    ..OpDef::EMPTY
};

const RETURN_CALL_INDIRECT: OpDef = OpDef {
    name: "refs.return_call_indirect",
    summary: "A tail call through a table",
    description: "`refs.call_indirect` whose results the enclosing function returns. Wasm's `return_call_indirect`.",
    example: "refs.table @t : i32, !refs.ref<null, func> {min = 1 : u64}\nfunc.func @f(%arg0: i32) -> i32 {\n  refs.return_call_indirect @t, %arg0 (%arg0) : (i32) -> i32\n}",
    operands: &[
        ValueSpec::one("index", TypeConstraint::WasmInt),
        ValueSpec::many("operands", TypeConstraint::Any),
    ],
    attrs: &[TABLE_ATTR, CALLEE_TYPE],
    traits: Traits::MAY_TRAP.union(Traits::TERMINATOR).union(Traits::RETURN_LIKE),
    syntax: Syntax::Custom { parse: parse_indirect, print: print_indirect },
    verify: Some(verify_refs_op),
    ..OpDef::EMPTY
};

const RETURN_CALL_REF: OpDef = OpDef {
    name: "refs.return_call_ref",
    summary: "A tail call of a typed function reference",
    description: "`refs.call_ref` whose results the enclosing function returns. Wasm's `return_call_ref`.",
    example: "func.func @f(%arg0: !refs.ref<(i32) -> i32>, %arg1: i32) -> i32 {\n  refs.return_call_ref %arg0 (%arg1) : (i32) -> i32\n}",
    operands: &[ValueSpec::one("callee", REF), ValueSpec::many("operands", TypeConstraint::Any)],
    attrs: &[CALLEE_TYPE],
    traits: Traits::MAY_TRAP.union(Traits::TERMINATOR).union(Traits::RETURN_LIKE),
    syntax: Syntax::Custom { parse: parse_indirect, print: print_indirect },
    verify: Some(verify_refs_op),
    ..OpDef::EMPTY
};

// ----- syntax -----

fn parse_table(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    parse_visibility_and_name(p, state)?;
    p.expect(TokKind::Colon, "`:`, the address type and the element type")?;
    let addr = p.parse_type()?;
    p.expect(TokKind::Comma, "`,` and the element type")?;
    let elem = p.parse_type()?;
    state.add_attr(ctx, "address_type", ctx.type_attr(addr));
    state.add_attr(ctx, "elem_type", ctx.type_attr(elem));
    p.parse_optional_attr_dict(state)?;
    let init = if p.peek() == TokKind::LBrace { p.parse_region(None)? } else { p.empty_region() };
    state.regions.push(init);
    Ok(())
}

fn print_table(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    let ctx = op.ctx;
    print_visibility_and_name(p, op);
    p.write(" : ");
    for (i, name) in ["address_type", "elem_type"].into_iter().enumerate() {
        if i > 0 {
            p.write(", ");
        }
        if let Some(t) = op.attr(name).and_then(|a| ctx.attr_as_type(a)) {
            p.print_type(t);
        }
    }
    p.print_attr_dict(op.attrs(), &["sym_name", "sym_visibility", "address_type", "elem_type"]);
    let (body, regions) = op.regions();
    if !body.region_blocks(regions[0]).is_empty() {
        p.write(" ");
        p.with_region_scope(op, |p, regions| p.print_region(regions[0], false));
    }
}

fn parse_elem(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    parse_visibility_and_name(p, state)?;
    p.expect(TokKind::Colon, "`:` and the element type")?;
    let elem = p.parse_type()?;
    state.add_attr(ctx, "elem_type", ctx.type_attr(elem));
    p.parse_optional_attr_dict_with_keyword(state)?;
    let items = p.parse_region(None)?;
    p.ensure_block(items);
    let offset = if p.eat_keyword("offset") { p.parse_region(None)? } else { p.empty_region() };
    state.regions.push(items);
    state.regions.push(offset);
    Ok(())
}

fn print_elem(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    print_visibility_and_name(p, op);
    p.write(" : ");
    if let Some(t) = op.attr("elem_type").and_then(|a| op.ctx.attr_as_type(a)) {
        p.print_type(t);
    }
    p.print_attr_dict_with_keyword(op.attrs(), &["sym_name", "sym_visibility", "elem_type"]);
    let (body, regions) = op.regions();
    let has_offset = !body.region_blocks(regions[1]).is_empty();
    p.with_region_scope(op, |p, regions| {
        p.write(" ");
        p.print_region(regions[0], false);
        if has_offset {
            p.write(" offset ");
            p.print_region(regions[1], false);
        }
    });
}

fn parse_indirect(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    if p.peek() == TokKind::SymbolId {
        let table = p.parse_symbol_name()?;
        state.add_attr(ctx, "table", ctx.symbol_ref_attr(&table));
        p.expect(TokKind::Comma, "`,` and the index")?;
    }
    let first = p.parse_operand()?;
    state.operands.push(first);
    p.expect(TokKind::LParen, "`(` starting the call's operands")?;
    let operands = p.parse_operand_list()?;
    p.expect(TokKind::RParen, "`)` closing the call's operands")?;
    state.operands.extend(operands);
    p.parse_optional_attr_dict(state)?;
    p.expect(TokKind::Colon, "`:` and the callee's type")?;
    let at = p.here();
    let fty = p.parse_type()?;
    let Some((_, results)) = ctx.function_signature(fty) else {
        return Err(Diagnostic::error(at, "expected the callee's function type"));
    };
    let returns = ctx.op_def(state.kind).has(Traits::TERMINATOR);
    state.result_types = Some(if returns { Default::default() } else { results.iter().copied().collect() });
    state.add_attr(ctx, "callee_type", ctx.type_attr(fty));
    Ok(())
}

fn print_indirect(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    p.write(" ");
    if let Some(t) = op.attr("table").and_then(|a| op.ctx.attr_as_symbol(a)) {
        p.print_symbol(t);
        p.write(", ");
    }
    p.print_operand(op.operand(0));
    p.write(" (");
    p.print_operands(&op.operands()[1..]);
    p.write(")");
    p.print_attr_dict(op.attrs(), &["table", "callee_type"]);
    p.write(" : ");
    if let Some(a) = op.attr("callee_type") {
        p.print_attr(a);
    }
}

// ----- verification -----

fn verify_table(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let imported = verify_import(op, errors);
    let elem = op.attr("elem_type").and_then(|a| ctx.attr_as_type(a));
    let Some(r) = elem.and_then(|t| ref_type(ctx, t)) else {
        errors.push(Diagnostic::error(op.loc(), "'refs.table' op element type must be a `!refs.ref`"));
        return;
    };
    let (body, regions) = op.regions();
    if !r.nullable && !imported && body.region_blocks(regions[0]).is_empty() {
        errors.push(Diagnostic::error(
            op.loc(),
            "'refs.table' op of non-nullable references needs an initializer",
        ));
    }
}

fn verify_elem(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let Some(elem) = op.attr("elem_type").and_then(|a| ctx.attr_as_type(a)) else { return };
    let (body, regions) = op.regions();
    if let Some(&items) = body.region_blocks(regions[0]).first()
        && let Some(last) = body.block_last(items)
    {
        for &v in body.operands(last) {
            if !ctx.is_subtype(body.value_type(v), elem) {
                errors.push(Diagnostic::error(
                    body.op_loc(last),
                    format!(
                        "'refs.elem' op item of type `{}` is not a `{}`",
                        type_to_string(ctx, body.value_type(v)),
                        type_to_string(ctx, elem)
                    ),
                ));
            }
        }
    }
    let active = op.attr("table").and_then(|a| ctx.attr_as_symbol(a));
    let has_offset = !body.region_blocks(regions[1]).is_empty();
    if active.is_some() != has_offset {
        errors.push(Diagnostic::error(
            op.loc(),
            "'refs.elem' op needs an offset exactly when it names a table",
        ));
    }
    if let Some(t) = active
        && let Some(info) = symbols.resolve(t)
        && ctx.op_def(info.kind).name != "refs.table"
    {
        errors.push(Diagnostic::error(op.loc(), format!("'refs.elem' op `@{t}` is not a table")));
    }
}

fn table_info(ctx: &Context, symbols: &dyn SymbolResolver, name: &str) -> Option<(Type, Type)> {
    let info = symbols.resolve(name)?;
    if ctx.op_def(info.kind).name != "refs.table" {
        return None;
    }
    let get = |k| ctx.dict_get(info.attrs, k).and_then(|a| ctx.attr_as_type(a));
    Some((get("address_type")?, get("elem_type")?))
}

fn verify_refs_op(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let name = op.name();
    let mut err = |msg: String| errors.push(Diagnostic::error(op.loc(), format!("'{name}' op {msg}")));
    let t = |ty: Type| type_to_string(ctx, ty);
    if let Some(tab) = op.attr("table").and_then(|a| ctx.attr_as_symbol(a))
        && symbols.resolve(tab).is_some()
    {
        let Some((addr, elem)) = table_info(ctx, symbols, tab) else {
            err(format!("`@{tab}` is not a table"));
            return;
        };
        if let Some(&index) = op.operands().first()
            && matches!(
                name,
                "refs.table_get"
                    | "refs.table_set"
                    | "refs.table_fill"
                    | "refs.call_indirect"
                    | "refs.return_call_indirect"
                    | "refs.table_init"
            )
            && op.value_type(index) != addr
        {
            err(format!("index must be `{}` (the table's address type)", t(addr)));
        }
        if name == "refs.table_get" && op.result_types() != [elem] {
            err(format!("result must be `{}` (the table's element type)", t(elem)));
        }
        if matches!(name, "refs.table_set" | "refs.table_fill" | "refs.table_grow") {
            let value = op
                .operand_group("value")
                .first()
                .or(op.operand_group("init").first())
                .map(|&v| op.value_type(v));
            if let Some(v) = value
                && !ctx.is_subtype(v, elem)
            {
                err(format!("value of type `{}` does not fit a table of `{}`", t(v), t(elem)));
            }
        }
        if matches!(name, "refs.table_size" | "refs.table_grow") && op.result_types() != [addr] {
            err(format!("result must be `{}` (the table's address type)", t(addr)));
        }
    }
    if let Some(f) = op.attr("function").and_then(|a| ctx.attr_as_symbol(a))
        && let Some(info) = symbols.resolve(f)
    {
        let fty = ctx.dict_get(info.attrs, "function_type").and_then(|a| ctx.attr_as_type(a));
        let expected = fty.map(|ft| make_ref(ctx, RefType { nullable: false, heap: Heap::Typed(ft) }));
        if expected.is_none() || !ctx.is_subtype(expected.unwrap_or(Type::NONE), op.result_types()[0]) {
            err(format!("`@{f}` is not a function of the result's reference type"));
        }
    }
    if name == "refs.null" && ref_type(ctx, op.result_types()[0]).is_some_and(|r| !r.nullable) {
        err("result type must be nullable".into());
    }
    if name == "refs.as_non_null" {
        let (input, output) = (ref_type(ctx, op.operand_types()[0]), ref_type(ctx, op.result_types()[0]));
        if !matches!((input, output), (Some(a), Some(b)) if !b.nullable && a.heap == b.heap) {
            err("result must be the operand's type without `null`".into());
        }
    }
    if let Some(fty) = op.attr("callee_type").and_then(|a| ctx.attr_as_type(a)) {
        let Some((inputs, results)) = ctx.function_signature(fty) else { return };
        let args: Vec<Type> = op.operand_group("operands").iter().map(|&v| op.value_type(v)).collect();
        if !ctx.are_subtypes(&args, inputs) {
            err("operands do not match the callee type".into());
        }
        if !op.def().has(Traits::TERMINATOR) && op.result_types() != results {
            err("results do not match the callee type".into());
        }
        if let Some(&callee) = op.operand_group("callee").first() {
            let ok = ref_type(ctx, op.value_type(callee)).is_some_and(|r| match r.heap {
                Heap::Typed(ft) => ft == fty,
                Heap::NoFunc => true,
                _ => false,
            });
            if !ok {
                err(format!("callee must be a reference to `{}`", t(fty)));
            }
        }
    }
}
