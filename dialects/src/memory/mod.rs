//! `memory`: Wasm memories with their kind (linear, shared, managed) and their instructions
//! (loads and stores of every width, size, grow, fill, copy, init, data segments, atomics),
//! plus the typed regions of `regions.rs` (SharedSlice, ExternRegion, Local, Pod types,
//! `memory.check`).

mod decls;
mod regions;

pub use decls::{MemoryDecl, memory_decls};
pub use regions::{
    PodShape, RegionKind, RegionType, array_type, check_dominates, elem_load, elem_store, is_pod, layout,
    len, make_region_type, make_slice, path_of, pod_shape, project, record_type, region_type, scalar_access,
    subslice,
};

use wasmir_ir::lexer::TokKind;
use wasmir_ir::parser::{OpParser, OperationState, PResult};
use wasmir_ir::printer::{OpPrinter, type_to_string};
use wasmir_ir::registry::{
    AttrConstraint, AttrSpec, DialectDef, Fmt, RegionSpec, SymbolResolver, Syntax, TypeConstraint, ValueSpec,
};
use wasmir_ir::{Context, Diagnostic, OpDef, OpRef, Traits, Type};

use crate::global::{IMPORT, parse_visibility_and_name, print_visibility_and_name, verify_import};

/// The `memory` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "memory",
    summary: "Wasm memories and their instructions.",
    ops: &[
        MEMORY,
        LOAD,
        STORE,
        SIZE,
        GROW,
        FILL,
        COPY,
        INIT,
        DATA,
        DATA_DROP,
        ATOMIC_LOAD,
        ATOMIC_STORE,
        ATOMIC_RMW,
        ATOMIC_CMPXCHG,
        ATOMIC_WAIT,
        ATOMIC_NOTIFY,
        ATOMIC_FENCE,
        regions::MAKE_SLICE,
        regions::LOCAL_ALLOC,
        regions::LEN,
        regions::PTR,
        regions::SUBSLICE,
        regions::ELEM_LOAD,
        regions::ELEM_STORE,
        regions::CHECK,
        regions::REGION_COPY,
        regions::REGION_FILL,
    ],
    types: regions::TYPES,
    attrs: &[],
    materialize_constant: None,
    fold_citations: &[],
};

pub(crate) const MEM: AttrSpec = AttrSpec::required("memory", AttrConstraint::SymbolRef);
pub(crate) const OFFSET: AttrSpec = AttrSpec::optional("offset", AttrConstraint::IntOf(Type::U64));
pub(crate) const ALIGN: AttrSpec = AttrSpec::optional("align", AttrConstraint::IntOf(Type::U64));
const WIDTH: AttrSpec = AttrSpec::optional("width", AttrConstraint::IntOf(Type::U32));

/// The values of `memory.memory`'s `kind`.
pub const MEMORY_KINDS: &[&str] = &["linear", "shared", "managed"];

/// The read-modify-write operations of `memory.atomic_rmw`.
pub const RMW_OPS: &[&str] = &["add", "sub", "and", "or", "xor", "xchg"];

const MEMORY: OpDef = OpDef {
    name: "memory.memory",
    summary: "A linear memory",
    description: "Defines the memory `sym_name` with `min` pages (and at most `max`) of 64 KiB, \
addressed by `i32` or `i64` (memory64). Its `kind` says who may see it: `linear` (the default: \
private to this instance), `shared` (visible to other threads; Wasm's shared memory) or \
`managed` (owned by the host or a runtime, so it must be imported). The custom form spells a \
kind other than `linear` as a keyword before the colon. An imported memory carries `import = \
[\"module\", \"name\"]`.",
    example: "memory.memory @mem : i32 {max = 16 : u64, min = 1 : u64}\nmemory.memory @big : i64 {min = 0 : u64}\nmemory.memory @threads shared : i32 {max = 4 : u64, min = 1 : u64}\nmemory.memory @host managed : i32 {import = [\"env\", \"memory\"], min = 1 : u64}",
    attrs: &[
        AttrSpec::required("sym_name", AttrConstraint::SymbolName),
        AttrSpec::required("address_type", AttrConstraint::Type),
        AttrSpec::required("min", AttrConstraint::IntOf(Type::U64)),
        AttrSpec::optional("max", AttrConstraint::IntOf(Type::U64)),
        AttrSpec::optional("kind", AttrConstraint::Enum(MEMORY_KINDS)),
        AttrSpec::optional("panic_handler", AttrConstraint::SymbolRef),
        AttrSpec::optional("stack_pointer", AttrConstraint::SymbolRef),
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
    description: "Sets `length` bytes from `dest` to the low byte of `value`; traps when out of bounds, before writing \
anything (INV-MEM-009). Wasm's `memory.fill`.",
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
(overlap is handled as by memmove); traps when either range is out of bounds, before writing anything \
(INV-MEM-009). Wasm's `memory.copy`.",
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
traps when out of bounds or when the segment was dropped (a dropped segment has length 0), before writing \
anything (INV-MEM-009). Wasm's `memory.init`.",
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

const ATOMIC: Traits = Traits::MEM_READ.union(Traits::MEM_WRITE).union(Traits::MAY_TRAP);

const ATOMIC_LOAD: OpDef = OpDef {
    name: "memory.atomic_load",
    summary: "Loads a value atomically",
    description: "Reads `width` bits (the result type's width by default) at `address + offset` \
as one indivisible access, zero-extending a narrower value. Traps when the access is out of \
bounds or the effective address is not a multiple of the access size. Sequentially consistent. \
Wasm's `iN.atomic.load*`.",
    example: "memory.memory @mem shared : i32 {max = 1 : u64, min = 1 : u64}\nfunc.func @f(%arg0: i32) -> (i32, i64) {\n  %0 = memory.atomic_load @mem, %arg0 {offset = 4 : u64} : i32\n  %1 = memory.atomic_load @mem, %arg0 {width = 8 : u32} : i64\n  func.return %0, %1 : i32, i64\n}",
    operands: &[ValueSpec::one("address", TypeConstraint::WasmInt)],
    results: &[ValueSpec::one("result", TypeConstraint::WasmInt)],
    attrs: &[MEM, OFFSET, WIDTH],
    traits: ATOMIC,
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

const ATOMIC_STORE: OpDef = OpDef {
    name: "memory.atomic_store",
    summary: "Stores a value atomically",
    description: "Writes the low `width` bits of the value at `address + offset` as one \
indivisible access. Traps when out of bounds or misaligned. Wasm's `iN.atomic.store*`.",
    example: "memory.memory @mem shared : i32 {max = 1 : u64, min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i64) {\n  memory.atomic_store @mem, %arg0, %arg1 {width = 16 : u32} : i64\n  func.return\n}",
    operands: &[
        ValueSpec::one("address", TypeConstraint::WasmInt),
        ValueSpec::one("value", TypeConstraint::WasmInt),
    ],
    attrs: &[MEM, OFFSET, WIDTH],
    traits: ATOMIC,
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

const ATOMIC_RMW: OpDef = OpDef {
    name: "memory.atomic_rmw",
    summary: "Atomic read-modify-write",
    description: "Atomically reads `width` bits at `address + offset`, combines them with the \
value by `op` (`add`, `sub`, `and`, `or`, `xor` wrapping at `width` bits, or `xchg`, which \
replaces them), writes the low `width` bits back and returns the old bits zero-extended. Traps \
when out of bounds or misaligned. Wasm's `iN.atomic.rmw*`.",
    example: "memory.memory @mem shared : i32 {max = 1 : u64, min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i32) -> (i32, i32) {\n  %0 = memory.atomic_rmw add @mem, %arg0, %arg1 : i32\n  %1 = memory.atomic_rmw xchg @mem, %arg0, %arg1 {width = 8 : u32} : i32\n  func.return %0, %1 : i32, i32\n}",
    operands: &[
        ValueSpec::one("address", TypeConstraint::WasmInt),
        ValueSpec::one("value", TypeConstraint::WasmInt),
    ],
    results: &[ValueSpec::one("result", TypeConstraint::SameAs("value"))],
    attrs: &[AttrSpec::required("op", AttrConstraint::Enum(RMW_OPS)), MEM, OFFSET, WIDTH],
    traits: ATOMIC,
    syntax: Syntax::Format(&[
        Fmt::Attr("op"),
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

const ATOMIC_CMPXCHG: OpDef = OpDef {
    name: "memory.atomic_cmpxchg",
    summary: "Atomic compare and exchange",
    description: "Atomically reads `width` bits at `address + offset`; when they equal the low \
`width` bits of `expected`, writes the low `width` bits of `replacement`. Returns the old bits \
zero-extended. Traps when out of bounds or misaligned. Wasm's `iN.atomic.rmw*.cmpxchg`.",
    example: "memory.memory @mem shared : i32 {max = 1 : u64, min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i64, %arg2: i64) -> i64 {\n  %0 = memory.atomic_cmpxchg @mem, %arg0, %arg1, %arg2 {width = 32 : u32} : i64\n  func.return %0 : i64\n}",
    operands: &[
        ValueSpec::one("address", TypeConstraint::WasmInt),
        ValueSpec::one("expected", TypeConstraint::WasmInt),
        ValueSpec::one("replacement", TypeConstraint::SameAs("expected")),
    ],
    results: &[ValueSpec::one("result", TypeConstraint::SameAs("expected"))],
    attrs: &[MEM, OFFSET, WIDTH],
    traits: ATOMIC,
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Operands("address"),
        Fmt::Lit(","),
        Fmt::Operands("expected"),
        Fmt::Lit(","),
        Fmt::Operands("replacement"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("expected"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const ATOMIC_WAIT: OpDef = OpDef {
    name: "memory.atomic_wait",
    summary: "Waits for a notification",
    description: "When the value at `address + offset` (of `expected`'s type) equals `expected`, \
suspends the thread until notified or until `timeout` nanoseconds pass (negative: forever). \
Returns 0 (woken), 1 (the value differed) or 2 (timed out). Traps when out of bounds, \
misaligned, or when the memory is not shared. Wasm's `memory.atomic.wait32/64`.",
    example: "memory.memory @mem shared : i32 {max = 1 : u64, min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i32, %arg2: i64) -> i32 {\n  %0 = memory.atomic_wait @mem, %arg0, %arg1, %arg2 : i32\n  func.return %0 : i32\n}",
    operands: &[
        ValueSpec::one("address", TypeConstraint::WasmInt),
        ValueSpec::one("expected", TypeConstraint::WasmInt),
        ValueSpec::one("timeout", TypeConstraint::Exactly(Type::I64)),
    ],
    results: &[ValueSpec::one("result", TypeConstraint::Exactly(Type::I32))],
    attrs: &[MEM, OFFSET],
    traits: ATOMIC,
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Operands("address"),
        Fmt::Lit(","),
        Fmt::Operands("expected"),
        Fmt::Lit(","),
        Fmt::Operands("timeout"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("expected"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const ATOMIC_NOTIFY: OpDef = OpDef {
    name: "memory.atomic_notify",
    summary: "Wakes waiting threads",
    description: "Wakes at most `count` threads waiting at `address + offset` and returns how \
many it woke (0 for a memory that is not shared). Traps when out of bounds or not 4-aligned. \
Wasm's `memory.atomic.notify`.",
    example: "memory.memory @mem shared : i32 {max = 1 : u64, min = 1 : u64}\nfunc.func @f(%arg0: i32, %arg1: i32) -> i32 {\n  %0 = memory.atomic_notify @mem, %arg0, %arg1 : i32\n  func.return %0 : i32\n}",
    operands: &[
        ValueSpec::one("address", TypeConstraint::WasmInt),
        ValueSpec::one("count", TypeConstraint::Exactly(Type::I32)),
    ],
    results: &[ValueSpec::one("result", TypeConstraint::Exactly(Type::I32))],
    attrs: &[MEM, OFFSET],
    traits: ATOMIC,
    syntax: Syntax::Format(&[
        Fmt::Attr("memory"),
        Fmt::Lit(","),
        Fmt::Operands("address"),
        Fmt::Lit(","),
        Fmt::Operands("count"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("address"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const ATOMIC_FENCE: OpDef = OpDef {
    name: "memory.atomic_fence",
    summary: "A sequentially consistent fence",
    description: "Orders every memory access before it against every access after it, for all \
threads. Wasm's `atomic.fence`.",
    example: "func.func @f() {\n  memory.atomic_fence\n  func.return\n}",
    traits: Traits::MEM_READ.union(Traits::MEM_WRITE),
    syntax: Syntax::Format(&[Fmt::AttrDict]),
    ..OpDef::EMPTY
};

fn parse_memory(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    parse_visibility_and_name(p, state)?;
    for kind in ["shared", "managed"] {
        if p.eat_keyword(kind) {
            state.add_attr(ctx, "kind", ctx.string_attr(kind));
        }
    }
    p.expect(TokKind::Colon, "`:` and the address type")?;
    let ty = p.parse_type()?;
    state.add_attr(ctx, "address_type", ctx.type_attr(ty));
    p.parse_optional_attr_dict(state)
}

fn print_memory(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    print_visibility_and_name(p, op);
    if let Some(kind @ ("shared" | "managed")) = op.attr_str("kind") {
        p.write(&format!(" {kind}"));
    }
    p.write(" : ");
    if let Some(t) = op.attr("address_type").and_then(|a| op.ctx.attr_as_type(a)) {
        p.print_type(t);
    }
    p.print_attr_dict(op.attrs(), &["sym_name", "sym_visibility", "kind", "address_type"]);
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

fn verify_memory(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    verify_import(op, errors);
    let resolve = |attr: &str| {
        let name = op.attr(attr).and_then(|a| ctx.attr_as_symbol(a))?;
        Some((name, symbols.resolve(name).map(|info| (ctx.op_def(info.kind).name, info.attrs))))
    };
    if let Some((name, target)) = resolve("panic_handler") {
        let fty = ctx.function_type(&[], &[]);
        let is_handler = target.is_some_and(|(kind, attrs)| {
            kind == "func.func"
                && ctx.dict_get(attrs, "function_type").and_then(|a| ctx.attr_as_type(a)) == Some(fty)
        });
        if !is_handler {
            errors.push(Diagnostic::error(
                op.loc(),
                format!("'memory.memory' op panic handler `@{name}` must be a function of type `() -> ()`"),
            ));
        }
    }
    if let Some((name, target)) = resolve("stack_pointer") {
        let address = op.attr("address_type").and_then(|a| ctx.attr_as_type(a));
        let is_stack_pointer = target.is_some_and(|(kind, attrs)| {
            kind == "global.global"
                && ctx.dict_get(attrs, "mutable").is_some()
                && ctx.dict_get(attrs, "type").and_then(|a| ctx.attr_as_type(a)) == address
        });
        if !is_stack_pointer {
            errors.push(Diagnostic::error(
                op.loc(),
                format!(
                    "'memory.memory' op stack pointer `@{name}` must be a mutable global of the address type"
                ),
            ));
        }
    }
    let ty = op.attr("address_type").and_then(|a| ctx.attr_as_type(a));
    if !matches!(ty, Some(Type::I32 | Type::I64)) {
        errors.push(Diagnostic::error(op.loc(), "'memory.memory' op address type must be i32 or i64"));
    }
    if op.attr_str("kind") == Some("managed") && op.attr("import").is_none() {
        errors.push(Diagnostic::error(
            op.loc(),
            "'memory.memory' op a `managed` memory belongs to the host, so it must be imported",
        ));
    }
    if op.attr_str("kind") == Some("shared") && op.attr_int("max").is_none() {
        errors.push(Diagnostic::error(op.loc(), "'memory.memory' op a `shared` memory needs a `max`"));
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
pub(crate) fn memory_address_type(ctx: &Context, symbols: &dyn SymbolResolver, name: &str) -> Option<Type> {
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
        "memory.atomic_load"
        | "memory.atomic_store"
        | "memory.atomic_rmw"
        | "memory.atomic_cmpxchg"
        | "memory.atomic_wait"
        | "memory.atomic_notify" => {
            check(
                op.operand_group("address").first().map(|&v| op.value_type(v)),
                addr_ty,
                "the address",
                &mut err,
            );
            let value_ty = match name {
                "memory.atomic_load" => op.results().first(),
                "memory.atomic_store" | "memory.atomic_rmw" => op.operand_group("value").first(),
                "memory.atomic_notify" => None,
                _ => op.operand_group("expected").first(),
            };
            let Some(value_ty) = value_ty.map(|&v| op.value_type(v)) else { return };
            let full = if value_ty == Type::I64 { 64 } else { 32 };
            let width = op.attr_int("width").unwrap_or(full);
            if !matches!(width, 8 | 16 | 32 | 64) || width > full {
                err(format!("cannot access {width} bits of a `{}`", t(value_ty)));
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
