//! `builtin`: the top-level `module` container.

use wasmir_ir::parser::{OpParser, OperationState, PResult};
use wasmir_ir::printer::OpPrinter;
use wasmir_ir::registry::{AttrConstraint, AttrSpec, DialectDef, RegionSpec, Syntax};
use wasmir_ir::{OpDef, OpRef, Traits};

/// The `builtin` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "builtin",
    summary: "The top-level container of every program.",
    ops: &[MODULE],
    types: &[],
    attrs: &[],
    materialize_constant: None,
    fold_citations: &[],
};

const MODULE: OpDef = OpDef {
    name: "builtin.module",
    summary: "A module: a symbol table of functions, globals, memories and tables",
    description: "The top-level container. Its single block holds symbol ops and needs no \
terminator. It is isolated from above: its body is a separate arena and SSA scope. A file \
whose top level is not one module is wrapped in an implicit one. Printed as `module`.",
    example: "module @m {\n  func.func private @f() {\n    func.return\n  }\n}",
    attrs: &[AttrSpec::optional("sym_name", AttrConstraint::SymbolName)],
    regions: &[RegionSpec { name: "body", may_be_empty: false }],
    traits: Traits::ISOLATED_FROM_ABOVE.union(Traits::SYMBOL_TABLE).union(Traits::NO_TERMINATOR),
    syntax: Syntax::Custom { parse: parse_module, print: print_module },
    ..OpDef::EMPTY
};

fn parse_module(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    if p.peek() == wasmir_ir::lexer::TokKind::SymbolId {
        let name = p.parse_symbol_name()?;
        let attr = p.ctx().string_attr(&name);
        state.add_attr(p.ctx(), "sym_name", attr);
    }
    p.parse_optional_attr_dict_with_keyword(state)?;
    let region = p.parse_region(None)?;
    p.ensure_block(region);
    state.regions.push(region);
    Ok(())
}

fn print_module(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    if let Some(name) = op.attr_str("sym_name") {
        p.write(" ");
        p.print_symbol(name);
    }
    p.print_attr_dict_with_keyword(op.attrs(), &["sym_name"]);
    p.write(" ");
    p.with_region_scope(op, |p, regions| p.print_region(regions[0], true));
}
