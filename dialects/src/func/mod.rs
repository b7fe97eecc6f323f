//! `func`: functions, direct calls and returns.

use wasmir_ir::lexer::TokKind;
use wasmir_ir::parser::{ArgDecl, OpParser, OperationState, PResult};
use wasmir_ir::printer::{OpPrinter, type_to_string};
use wasmir_ir::registry::{
    AttrConstraint, AttrSpec, DialectDef, Fmt, RegionSpec, SymbolResolver, Syntax, TypeConstraint, ValueSpec,
};
use wasmir_ir::{Body, Builder, Context, Diagnostic, Module, NewOp, Op, OpDef, OpRef, Traits, Type, Value};

/// The `func` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "func",
    summary: "Functions, direct calls and returns.",
    ops: &[FUNC, CALL, RETURN],
    types: &[],
    attrs: &[],
    materialize_constant: None,
    fold_citations: &[],
};

const FUNC: OpDef = OpDef {
    name: "func.func",
    summary: "A function definition or declaration",
    description: "Defines the symbol `sym_name` with type `function_type`. The body's single \
block takes the parameters as arguments and ends in a terminator; every `func.return` in it \
returns the declared result types. Without a body it is a declaration (an import, once the \
Wasm frontend exists). Isolated from above: the body is its own arena and SSA scope, which is \
what lets function passes run in parallel. `sym_visibility` is `public` (default), `private` \
(may be removed when unused) or `nested`.",
    example: "func.func @add(%arg0: i32, %arg1: i32) -> i32 {\n  %0 = arith.addi %arg0, %arg1 : i32\n  func.return %0 : i32\n}\nfunc.func private @ext(i64) -> (i32, i32)",
    attrs: &[
        AttrSpec::required("sym_name", AttrConstraint::SymbolName),
        AttrSpec::required("function_type", AttrConstraint::FunctionType),
        AttrSpec::optional("sym_visibility", AttrConstraint::Enum(&["public", "private", "nested"])),
        crate::global::IMPORT,
    ],
    regions: &[RegionSpec { name: "body", may_be_empty: true }],
    traits: Traits::ISOLATED_FROM_ABOVE.union(Traits::SYMBOL).union(Traits::FUNCTION_LIKE),
    syntax: Syntax::Custom { parse: parse_func, print: print_func },
    verify: Some(verify_func),
    ..OpDef::EMPTY
};

const CALL: OpDef = OpDef {
    name: "func.call",
    summary: "A direct call",
    description: "Calls the function `callee` with the operands and produces its results. The \
operand and result types must equal the callee's `function_type`. A call may have any effect, \
so it is never removed or reordered by the generic passes.",
    example: "func.func private @g(i32) -> i64\nfunc.func @f(%arg0: i32) -> i64 {\n  %0 = func.call @g(%arg0) : (i32) -> i64\n  func.return %0 : i64\n}",
    operands: &[ValueSpec::many("operands", TypeConstraint::Any)],
    results: &[ValueSpec::many("results", TypeConstraint::Any)],
    attrs: &[AttrSpec::required("callee", AttrConstraint::SymbolRef)],
    traits: Traits::CALL_LIKE,
    syntax: Syntax::Format(&[
        Fmt::Attr("callee"),
        Fmt::Lit("("),
        Fmt::Operands("operands"),
        Fmt::Lit(")"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::FunctionalType,
    ]),
    verify: Some(verify_call),
    ..OpDef::EMPTY
};

const RETURN: OpDef = OpDef {
    name: "func.return",
    summary: "Returns from the enclosing function",
    description: "Ends the function with the given values, which must match the function's \
result types (checked by `func.func`). It may appear at the end of any block nested in the \
function, like Wasm's `return`.",
    example: "func.func @id(%arg0: f64) -> f64 {\n  func.return %arg0 : f64\n}",
    operands: &[ValueSpec::many("operands", TypeConstraint::Any)],
    traits: Traits::TERMINATOR.union(Traits::RETURN_LIKE),
    syntax: Syntax::Format(&[Fmt::Operands("operands"), Fmt::AttrDict, Fmt::OptionalTypes("operands")]),
    ..OpDef::EMPTY
};

fn parse_func(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    if p.peek() == TokKind::BareId {
        let at = p.here();
        let vis = p.parse_keyword("a visibility or the function name")?;
        if !matches!(vis, "public" | "private" | "nested") {
            return Err(Diagnostic::error(
                at,
                format!("expected `private`, `public` or `nested`, found `{vis}`"),
            ));
        }
        // `public` is the default: it is not stored, so both spellings are the same IR.
        if vis != "public" {
            state.add_attr(ctx, "sym_visibility", ctx.string_attr(vis));
        }
    }
    let name = p.parse_symbol_name()?;
    state.add_attr(ctx, "sym_name", ctx.string_attr(&name));
    // Parameters: named (`%a: i32`, a definition) or bare types (a declaration).
    p.expect(TokKind::LParen, "`(` starting the parameters")?;
    let mut args: Vec<ArgDecl<'_>> = Vec::new();
    let mut inputs: Vec<Type> = Vec::new();
    let mut named = None;
    if !p.eat(TokKind::RParen) {
        loop {
            let is_named = p.peek() == TokKind::ValueId;
            if *named.get_or_insert(is_named) != is_named {
                return Err(p.error_here("parameters must be all named (`%a: i32`) or all bare types"));
            }
            if is_named {
                let decl = p.parse_arg_decl()?;
                inputs.push(decl.ty);
                args.push(decl);
            } else {
                inputs.push(p.parse_type()?);
            }
            if p.eat(TokKind::RParen) {
                break;
            }
            p.expect(TokKind::Comma, "`,` or `)` in the parameters")?;
        }
    }
    let results = if p.eat(TokKind::Arrow) { p.parse_result_types()? } else { Vec::new() };
    state.add_attr(ctx, "function_type", ctx.type_attr(ctx.function_type(&inputs, &results)));
    p.parse_optional_attr_dict_with_keyword(state)?;
    let region = if p.peek() == TokKind::LBrace {
        if named == Some(false) {
            return Err(p.error_here("a function with a body must name its parameters (`%arg0: i32`)"));
        }
        p.parse_region(Some(&args))?
    } else {
        if named == Some(true) {
            return Err(p.expected("`{` starting the body of a function with named parameters"));
        }
        p.empty_region()
    };
    state.regions.push(region);
    Ok(())
}

fn print_func(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    let ctx = op.ctx;
    if let Some(vis) = op.attr_str("sym_visibility") {
        p.write(" ");
        p.write(vis);
    }
    p.write(" ");
    p.print_symbol(op.attr_str("sym_name").unwrap_or(""));
    let fty = op.attr("function_type").and_then(|a| ctx.attr_as_type(a));
    let (inputs, results) = fty.and_then(|t| ctx.function_signature(t)).unwrap_or((&[], &[]));
    let declaration = p.region_is_empty(op, 0);
    // One scope for the signature and the body: the parameters are the body's arguments.
    p.with_region_scope(op, |p, regions| {
        p.write("(");
        if declaration {
            p.print_types(inputs);
        } else {
            for (i, a) in p.entry_args(regions[0]).into_iter().enumerate() {
                if i > 0 {
                    p.write(", ");
                }
                p.print_arg_decl(a);
            }
        }
        p.write(")");
        if !results.is_empty() {
            p.write(" -> ");
            p.print_result_types(results);
        }
        p.print_attr_dict_with_keyword(op.attrs(), &["sym_name", "function_type", "sym_visibility"]);
        if !declaration {
            p.write(" ");
            p.print_region(regions[0], true);
        }
    });
}

fn verify_func(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    if crate::global::verify_import(op, errors) {
        return;
    }
    let Some(fty) = op.attr("function_type").and_then(|a| ctx.attr_as_type(a)) else { return };
    let Some((inputs, results)) = ctx.function_signature(fty) else { return };
    let (body, regions) = op.regions();
    let Some(&entry) = regions.first().and_then(|&r| body.region_blocks(r).first()) else { return };
    let arg_types: Vec<Type> = body.block_args(entry).iter().map(|&a| body.value_type(a)).collect();
    if arg_types != inputs {
        errors.push(Diagnostic::error(
            op.loc(),
            format!(
                "'func.func' op entry block arguments ({}) do not match the parameter types ({})",
                types_str(ctx, &arg_types),
                types_str(ctx, inputs)
            ),
        ));
    }
    for inner in body.preorder() {
        let def = ctx.op_def(body.op_kind(inner));
        if !def.has(Traits::RETURN_LIKE) {
            continue;
        }
        // A tail call returns its callee's results; a return returns its operands.
        let callee_type = ctx.dict_get(body.op_attrs(inner), "callee_type").and_then(|a| ctx.attr_as_type(a));
        let returned: Vec<Type> = if let Some(callee_type) = callee_type {
            match ctx.function_signature(callee_type) {
                Some((_, callee_results)) => callee_results.to_vec(),
                None => continue,
            }
        } else {
            body.operands(inner).iter().map(|&v| body.value_type(v)).collect()
        };
        if !ctx.are_subtypes(&returned, results) {
            errors.push(
                Diagnostic::error(
                    body.op_loc(inner),
                    format!(
                        "'{}' op returns ({}) but the function returns ({})",
                        def.name,
                        types_str(ctx, &returned),
                        types_str(ctx, results)
                    ),
                )
                .with_note(op.loc(), "the function is declared here"),
            );
        }
    }
}

fn verify_call(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let Some(callee) = op.attr("callee").and_then(|a| ctx.attr_as_symbol(a)) else { return };
    let Some(info) = symbols.resolve(callee) else { return };
    let Some(fty) = ctx.dict_get(info.attrs, "function_type").and_then(|a| ctx.attr_as_type(a)) else {
        errors.push(
            Diagnostic::error(op.loc(), format!("'func.call' op callee `@{callee}` is not a function"))
                .with_note(info.loc, "the symbol is defined here"),
        );
        return;
    };
    let Some((inputs, results)) = ctx.function_signature(fty) else { return };
    let (operand_types, result_types) = (op.operand_types(), op.result_types());
    if !ctx.are_subtypes(&operand_types, inputs) || result_types != results {
        errors.push(
            Diagnostic::error(
                op.loc(),
                format!(
                    "'func.call' op has type ({}) -> ({}) but `@{callee}` has type {}",
                    types_str(ctx, &operand_types),
                    types_str(ctx, &result_types),
                    type_to_string(ctx, fty)
                ),
            )
            .with_note(info.loc, "the callee is defined here"),
        );
    }
}

fn types_str(ctx: &Context, types: &[Type]) -> String {
    types.iter().map(|&t| type_to_string(ctx, t)).collect::<Vec<_>>().join(", ")
}

// ----- typed builder API -----

/// Builds `func.func @name(inputs) -> results` at the end of `module`, with `build` filling
/// the body from the entry block's arguments. Returns the function op.
pub fn build_func(
    ctx: &Context,
    module: &mut Module,
    name: &str,
    inputs: &[Type],
    results: &[Type],
    build: impl FnOnce(&mut Builder<'_>, &[Value]),
) -> Op {
    let (mut body, entry) = Body::with_root_block();
    for &t in inputs {
        body.add_block_arg(entry, t);
    }
    let args: Vec<Value> = body.block_args(entry).to_vec();
    {
        let mut b = Builder::at_end(ctx, &mut body, entry);
        build(&mut b, &args);
    }
    let mut mb = module.builder(ctx);
    let kind = mb.kind("func.func");
    let mut new = NewOp::new(kind, mb.loc);
    new.attrs = mb.attrs(&[
        ("sym_name", ctx.string_attr(name)),
        ("function_type", ctx.type_attr(ctx.function_type(inputs, results))),
    ]);
    new.child = Some(body);
    mb.create(new)
}

/// `func.return values`.
pub fn ret(b: &mut Builder<'_>, values: &[Value]) -> Op {
    b.op("func.return", values, &[], &[])
}

/// `func.call @callee(args) : (...) -> results`; returns the call's results.
pub fn call(b: &mut Builder<'_>, callee: &str, args: &[Value], results: &[Type]) -> Vec<Value> {
    let callee = b.ctx.symbol_ref_attr(callee);
    let op = b.op("func.call", args, results, &[("callee", callee)]);
    b.body.results(op).to_vec()
}

/// Declares `func.func private @name(inputs) -> results` imported as `import_module`
/// `import_name`. Returns the function op.
pub fn build_import(
    ctx: &Context,
    module: &mut Module,
    name: &str,
    inputs: &[Type],
    results: &[Type],
    (import_module, import_name): (&str, &str),
) -> Op {
    let mut body = Body::new();
    let region = body.create_region();
    body.set_roots(&[region]);
    let mut mb = module.builder(ctx);
    let kind = mb.kind("func.func");
    let mut new = NewOp::new(kind, mb.loc);
    new.attrs = mb.attrs(&[
        ("sym_name", ctx.string_attr(name)),
        ("function_type", ctx.type_attr(ctx.function_type(inputs, results))),
        ("sym_visibility", ctx.string_attr("private")),
        ("import", ctx.array_attr(vec![ctx.string_attr(import_module), ctx.string_attr(import_name)])),
    ]);
    new.child = Some(body);
    mb.create(new)
}
