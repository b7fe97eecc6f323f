//! `global`: Wasm globals as module-level symbols with constant-expression initializers, and
//! `global.get` / `global.set`. (Wasm locals need no ops: the importer promotes them to SSA
//! values; see specs/control.md.)

use wasmir_ir::lexer::TokKind;
use wasmir_ir::parser::{OpParser, OperationState, PResult};
use wasmir_ir::printer::{OpPrinter, type_to_string};
use wasmir_ir::registry::{
    AttrConstraint, AttrSpec, DialectDef, Fmt, RegionSpec, SymbolResolver, Syntax, TypeConstraint, ValueSpec,
};
use wasmir_ir::{Attr, Diagnostic, OpDef, OpRef, Traits, Type};

/// The `global` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "global",
    summary: "Wasm globals: symbols with constant initializers, read and written by name.",
    ops: &[GLOBAL, GET, SET],
    types: &[],
    attrs: &[],
    materialize_constant: None,
    fold_citations: &[],
};

/// The attribute naming where an imported entity comes from: `["module", "name"]`.
pub const IMPORT: AttrSpec = AttrSpec::optional("import", AttrConstraint::Array);

const GLOBAL: OpDef = OpDef {
    name: "global.global",
    summary: "A global variable",
    description: "Defines the symbol `sym_name` holding a value of `type`; `mut` makes it \
writable. Its initializer region computes the initial value from constants and other globals \
and ends with `control.yield`; an imported global (`import = [\"module\", \"name\"]`) has no \
initializer.",
    example: "global.global @counter mut : i32 {\n  %0 = arith.constant 42 : i32\n  control.yield %0 : i32\n}\nglobal.global @limit : i64 attributes {import = [\"env\", \"limit\"]}\nfunc.func @bump() -> i32 {\n  %0 = global.get @counter : i32\n  %1 = arith.constant 1 : i32\n  %2 = arith.addi %0, %1 : i32\n  global.set @counter, %2 : i32\n  func.return %2 : i32\n}",
    attrs: &[
        AttrSpec::required("sym_name", AttrConstraint::SymbolName),
        AttrSpec::required("type", AttrConstraint::Type),
        AttrSpec::optional("mutable", AttrConstraint::Unit),
        AttrSpec::optional("sym_visibility", AttrConstraint::Enum(&["public", "private", "nested"])),
        IMPORT,
    ],
    regions: &[RegionSpec { name: "init", may_be_empty: true }],
    traits: Traits::SYMBOL,
    syntax: Syntax::Custom { parse: parse_global, print: print_global },
    verify: Some(verify_global),
    ..OpDef::EMPTY
};

const GET: OpDef = OpDef {
    name: "global.get",
    summary: "Reads a global",
    description: "The current value of the global `global`. Wasm's `global.get`.",
    example: "global.global @g : f64 {\n  %0 = arith.constant 1.5 : f64\n  control.yield %0 : f64\n}\nfunc.func @f() -> f64 {\n  %0 = global.get @g : f64\n  func.return %0 : f64\n}",
    results: &[ValueSpec::one("result", TypeConstraint::Any)],
    attrs: &[AttrSpec::required("global", AttrConstraint::SymbolRef)],
    traits: Traits::MEM_READ,
    syntax: Syntax::Format(&[Fmt::Attr("global"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("result")]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

const SET: OpDef = OpDef {
    name: "global.set",
    summary: "Writes a mutable global",
    description: "Stores the value into the global `global`, which must be `mut`. Wasm's `global.set`.",
    example: "global.global @g mut : i64 {\n  %0 = arith.constant 0 : i64\n  control.yield %0 : i64\n}\nfunc.func @f(%arg0: i64) {\n  global.set @g, %arg0 : i64\n  func.return\n}",
    operands: &[ValueSpec::one("value", TypeConstraint::Any)],
    attrs: &[AttrSpec::required("global", AttrConstraint::SymbolRef)],
    traits: Traits::MEM_WRITE,
    syntax: Syntax::Format(&[
        Fmt::Attr("global"),
        Fmt::Lit(","),
        Fmt::Operands("value"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("value"),
    ]),
    verify: Some(verify_access),
    ..OpDef::EMPTY
};

/// Parses `[visibility] @name`, shared by symbol ops with custom syntax.
pub fn parse_visibility_and_name(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    if p.peek() == TokKind::BareId {
        let at = p.here();
        let vis = p.parse_keyword("a visibility or the symbol name")?;
        if !matches!(vis, "public" | "private" | "nested") {
            return Err(Diagnostic::error(
                at,
                format!("expected `private`, `public` or `nested`, found `{vis}`"),
            ));
        }
        if vis != "public" {
            state.add_attr(ctx, "sym_visibility", ctx.string_attr(vis));
        }
    }
    let name = p.parse_symbol_name()?;
    state.add_attr(ctx, "sym_name", ctx.string_attr(&name));
    Ok(())
}

/// Prints `[visibility] @name`.
pub fn print_visibility_and_name(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    if let Some(vis) = op.attr_str("sym_visibility") {
        p.write(" ");
        p.write(vis);
    }
    p.write(" ");
    p.print_symbol(op.attr_str("sym_name").unwrap_or(""));
}

fn parse_global(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    parse_visibility_and_name(p, state)?;
    if p.eat_keyword("mut") {
        state.add_attr(ctx, "mutable", Attr::UNIT);
    }
    p.expect(TokKind::Colon, "`:` and the global's type")?;
    let ty = p.parse_type()?;
    state.add_attr(ctx, "type", ctx.type_attr(ty));
    p.parse_optional_attr_dict_with_keyword(state)?;
    let init = if p.peek() == TokKind::LBrace { p.parse_region(None)? } else { p.empty_region() };
    state.regions.push(init);
    Ok(())
}

fn print_global(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    print_visibility_and_name(p, op);
    if op.attr("mutable").is_some() {
        p.write(" mut");
    }
    p.write(" : ");
    if let Some(t) = op.attr("type").and_then(|a| op.ctx.attr_as_type(a)) {
        p.print_type(t);
    }
    p.print_attr_dict_with_keyword(op.attrs(), &["sym_name", "sym_visibility", "mutable", "type"]);
    let (body, regions) = op.regions();
    if !body.region_blocks(regions[0]).is_empty() {
        p.write(" ");
        p.with_region_scope(op, |p, regions| p.print_region(regions[0], false));
    }
}

/// The `["module", "name"]` of an imported entity.
pub fn import_names(op: OpRef<'_>) -> Option<(String, String)> {
    let ctx = op.ctx;
    let items = match ctx.attr_data(op.attr("import")?) {
        wasmir_ir::AttrData::Array(items) => items.clone(),
        _ => return None,
    };
    match items.as_ref() {
        [m, n] => Some((ctx.attr_as_str(*m)?.to_string(), ctx.attr_as_str(*n)?.to_string())),
        _ => None,
    }
}

/// Checks `import` (two strings, and no body), shared by every importable op.
pub fn verify_import(op: OpRef<'_>, errors: &mut Vec<Diagnostic>) -> bool {
    if op.attr("import").is_none() {
        return false;
    }
    if import_names(op).is_none() {
        errors.push(Diagnostic::error(
            op.loc(),
            format!("'{}' op attribute `import` must be [\"module\", \"name\"]", op.name()),
        ));
    }
    let (body, regions) = op.regions();
    if regions.iter().any(|&r| !body.region_blocks(r).is_empty()) {
        errors.push(Diagnostic::error(
            op.loc(),
            format!("'{}' op is imported and cannot have a body", op.name()),
        ));
    }
    true
}

fn verify_global(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let Some(ty) = op.attr("type").and_then(|a| ctx.attr_as_type(a)) else { return };
    if verify_import(op, errors) {
        return;
    }
    let (body, regions) = op.regions();
    let Some(&block) = body.region_blocks(regions[0]).first() else {
        errors.push(Diagnostic::error(op.loc(), "'global.global' op needs an initializer or an `import`"));
        return;
    };
    let Some(last) = body.block_last(block) else { return };
    let yielded: Vec<Type> = body.operands(last).iter().map(|&v| body.value_type(v)).collect();
    if ctx.op_def(body.op_kind(last)).name != "control.yield" || !ctx.are_subtypes(&yielded, &[ty]) {
        errors.push(Diagnostic::error(
            op.loc(),
            format!(
                "'global.global' op initializer must end with `control.yield` of one `{}`",
                type_to_string(ctx, ty)
            ),
        ));
    }
}

fn verify_access(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let Some(name) = op.attr("global").and_then(|a| ctx.attr_as_symbol(a)) else { return };
    let Some(info) = symbols.resolve(name) else { return };
    if ctx.op_def(info.kind).name != "global.global" {
        errors.push(Diagnostic::error(op.loc(), format!("'{}' op `@{name}` is not a global", op.name())));
        return;
    }
    let declared = ctx.dict_get(info.attrs, "type").and_then(|a| ctx.attr_as_type(a));
    let used = op.results().first().or(op.operands().first()).map(|&v| op.value_type(v));
    let fits = match (declared, used) {
        // A read gives the declared type; a write may store a subtype.
        (Some(d), Some(u)) if op.name() == "global.set" => ctx.is_subtype(u, d),
        (d, u) => d == u,
    };
    if !fits {
        errors.push(
            Diagnostic::error(
                op.loc(),
                format!("'{}' op type does not match the global `@{name}`", op.name()),
            )
            .with_note(info.loc, "the global is defined here"),
        );
    }
    if op.name() == "global.set" && ctx.dict_get(info.attrs, "mutable").is_none() {
        errors.push(
            Diagnostic::error(op.loc(), format!("'global.set' op writes the immutable global `@{name}`"))
                .with_note(info.loc, "the global is defined here"),
        );
    }
}

// ----- typed builder API -----

/// `global.global @name [mut] : ty { arith.constant init; control.yield }` at the end of
/// `module`, for an integer type.
pub fn build_global(
    ctx: &wasmir_ir::Context,
    module: &mut wasmir_ir::Module,
    name: &str,
    ty: wasmir_ir::Type,
    mutable: bool,
    init: i64,
) -> wasmir_ir::Op {
    let mut mb = module.builder(ctx);
    let (region, block) = mb.region_with_block(&[]);
    mb.with_block(block, |b| {
        let value = b.op1("arith.constant", &[], ty, &[("value", ctx.int_attr(init, ty))]);
        b.op("control.yield", &[value], &[], &[]);
    });
    let mut attrs = vec![("sym_name", ctx.string_attr(name)), ("type", ctx.type_attr(ty))];
    if mutable {
        attrs.push(("mutable", wasmir_ir::Attr::UNIT));
    }
    let mut new = wasmir_ir::NewOp::new(mb.kind("global.global"), mb.loc);
    new.attrs = mb.attrs(&attrs);
    new.regions = [region].into();
    mb.create(new)
}
