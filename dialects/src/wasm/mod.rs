//! `wasm`: how a module presents itself as a Wasm binary: exports, the start function and
//! custom sections. (Imports are the `import` attribute of the imported symbol's own op.)

use wasmir_ir::registry::{AttrConstraint, AttrSpec, DialectDef, Fmt, SymbolResolver, Syntax};
use wasmir_ir::{Diagnostic, OpDef, OpRef};

/// The `wasm` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "wasm",
    summary: "Module-level Wasm structure: exports, start function, custom sections.",
    ops: &[EXPORT, START, CUSTOM],
    types: &[],
    attrs: &[],
    materialize_constant: None,
    fold_citations: &[],
};

const EXPORT: OpDef = OpDef {
    name: "wasm.export",
    summary: "Exports a symbol under a name",
    description: "Makes the function, global, memory or table `target` visible to the host as \
`name`. A symbol may be exported under several names; export order is kept.",
    example: "func.func @f() {\n  func.return\n}\nwasm.export \"run\" @f",
    attrs: &[
        AttrSpec::required("name", AttrConstraint::String),
        AttrSpec::required("target", AttrConstraint::SymbolRef),
    ],
    syntax: Syntax::Format(&[Fmt::Attr("name"), Fmt::Attr("target"), Fmt::AttrDict]),
    verify: Some(verify_export),
    ..OpDef::EMPTY
};

const START: OpDef = OpDef {
    name: "wasm.start",
    summary: "Names the start function",
    description: "The function runs when the module is instantiated. It takes and returns nothing.",
    example: "func.func @init() {\n  func.return\n}\nwasm.start @init",
    attrs: &[AttrSpec::required("function", AttrConstraint::SymbolRef)],
    syntax: Syntax::Format(&[Fmt::Attr("function"), Fmt::AttrDict]),
    verify: Some(verify_start),
    ..OpDef::EMPTY
};

const CUSTOM: OpDef = OpDef {
    name: "wasm.custom",
    summary: "A custom section, carried through",
    description: "A custom section other than `name` (which WasmIR regenerates from symbol \
names), kept byte for byte and emitted after the standard sections.",
    example: "wasm.custom \"producers\" \"\\01\\0Alanguage\"",
    attrs: &[
        AttrSpec::required("name", AttrConstraint::String),
        AttrSpec::required("data", AttrConstraint::Bytes),
    ],
    syntax: Syntax::Format(&[Fmt::Attr("name"), Fmt::Attr("data"), Fmt::AttrDict]),
    ..OpDef::EMPTY
};

fn verify_export(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let Some(target) = op.attr("target").and_then(|a| ctx.attr_as_symbol(a)) else { return };
    let Some(info) = symbols.resolve(target) else { return };
    let kind = ctx.op_def(info.kind).name;
    if !matches!(kind, "func.func" | "global.global" | "memory.memory" | "refs.table") {
        errors.push(Diagnostic::error(
            op.loc(),
            format!("'wasm.export' op cannot export `@{target}`, a `{kind}`"),
        ));
    }
}

fn verify_start(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let Some(name) = op.attr("function").and_then(|a| ctx.attr_as_symbol(a)) else { return };
    let Some(info) = symbols.resolve(name) else { return };
    let fty = ctx.dict_get(info.attrs, "function_type").and_then(|a| ctx.attr_as_type(a));
    let ok = fty.and_then(|t| ctx.function_signature(t)).is_some_and(|(i, r)| i.is_empty() && r.is_empty());
    if !ok {
        errors.push(Diagnostic::error(
            op.loc(),
            format!("'wasm.start' op `@{name}` must be a function of type () -> ()"),
        ));
    }
}

// ----- typed builder API -----

/// `wasm.export "name" @target` at the end of `module`.
pub fn export(
    ctx: &wasmir_ir::Context,
    module: &mut wasmir_ir::Module,
    name: &str,
    target: &str,
) -> wasmir_ir::Op {
    let mut mb = module.builder(ctx);
    let attrs = [("name", ctx.string_attr(name)), ("target", ctx.symbol_ref_attr(target))];
    mb.op("wasm.export", &[], &[], &attrs)
}
