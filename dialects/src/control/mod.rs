//! `control`: Wasm's structured control flow on single-block regions (see specs/core.md and
//! specs/control.md). `block`, `loop` and `if` open labels; `br`, `br_if` and `br_table` name
//! their target by depth (0 is the innermost label), exactly like Wasm's label indices; a
//! region ends with `yield` (fall out with the construct's results), a branch, `func.return`,
//! `return_call` or `unreachable`. Loop-carried values are the loop region's arguments.

use wasmir_ir::lexer::TokKind;
use wasmir_ir::parser::{ArgDecl, OpParser, OperationState, PResult};
use wasmir_ir::printer::{OpPrinter, type_to_string};
use wasmir_ir::registry::{
    AttrConstraint, AttrSpec, DialectDef, Fmt, RegionSpec, SymbolResolver, Syntax, TypeConstraint, ValueSpec,
};
use wasmir_ir::{Body, Builder, Context, Diagnostic, NewOp, Op, OpDef, OpRef, SmallVec, Traits, Type, Value};

/// The `control` dialect.
pub static DIALECT: DialectDef = DialectDef {
    name: "control",
    summary: "Wasm's structured control flow: labels, branches by depth, loops with region arguments.",
    ops: &[BLOCK, LOOP, IF, YIELD, BR, BR_IF, BR_TABLE, BR_ON_NULL, BR_ON_NON_NULL, UNREACHABLE, RETURN_CALL],
    types: &[],
    attrs: &[],
    materialize_constant: None,
    fold_citations: &[],
};

const ANY_RESULTS: &[ValueSpec] = &[ValueSpec::many("results", TypeConstraint::Any)];
const ANY_VALUES: &[ValueSpec] = &[ValueSpec::many("values", TypeConstraint::Any)];
const DEPTH: AttrSpec = AttrSpec::required("depth", AttrConstraint::IntOf(Type::U32));

const BLOCK: OpDef = OpDef {
    name: "control.block",
    summary: "A block label: branches to it exit the block",
    description: "Runs its region once. The region ends with `control.yield` of the results, or \
a branch; a branch to this label (depth counting outward from the branch) leaves the block with \
the branch's values as the block's results. Wasm's `block`.",
    example: "func.func @f(%arg0: i32) -> i32 {\n  %0 = control.block -> i32 {\n    control.br_if %arg0, 0 (%arg0 : i32)\n    %1 = arith.constant 7 : i32\n    control.yield %1 : i32\n  }\n  func.return %0 : i32\n}",
    results: ANY_RESULTS,
    regions: &[RegionSpec { name: "body", may_be_empty: false }],
    traits: Traits::LABEL,
    syntax: Syntax::Custom { parse: parse_block, print: print_block },
    verify: Some(verify_label),
    ..OpDef::EMPTY
};

const LOOP: OpDef = OpDef {
    name: "control.loop",
    summary: "A loop label: branches to it start the next iteration",
    description: "The region's arguments are the loop-carried values, initialized from the \
operands. A branch to this label starts the next iteration with the branch's values as the new \
arguments; `control.yield` at the end leaves the loop with its results. Wasm's `loop`, with \
Wasm locals that the loop changes promoted to region arguments.",
    example: "func.func @count(%arg0: i32) -> i32 {\n  %0 = arith.constant 0 : i32\n  %1 = control.loop (%arg1: i32 = %0) -> i32 {\n    %2 = arith.constant 1 : i32\n    %3 = arith.addi %arg1, %2 : i32\n    %4 = arith.cmpi ult, %3, %arg0 : i32\n    control.br_if %4, 0 (%3 : i32)\n    control.yield %3 : i32\n  }\n  func.return %1 : i32\n}",
    operands: &[ValueSpec::many("inits", TypeConstraint::Any)],
    results: ANY_RESULTS,
    regions: &[RegionSpec { name: "body", may_be_empty: false }],
    traits: Traits::LABEL.union(Traits::LOOP),
    syntax: Syntax::Custom { parse: parse_loop, print: print_loop },
    verify: Some(verify_label),
    ..OpDef::EMPTY
};

const IF: OpDef = OpDef {
    name: "control.if",
    summary: "A two-way conditional label",
    description: "Runs `then` when the i32 condition is non-zero, else `else`. Both end with \
`control.yield` of the results or a branch; a branch to this label leaves it with the branch's \
values. `else` may be omitted (no block) only when there are no results. Wasm's `if`.",
    example: "func.func @max(%arg0: i32, %arg1: i32) -> i32 {\n  %0 = arith.cmpi sgt, %arg0, %arg1 : i32\n  %1 = control.if %0 -> i32 {\n    control.yield %arg0 : i32\n  } else {\n    control.yield %arg1 : i32\n  }\n  func.return %1 : i32\n}",
    operands: &[ValueSpec::one("condition", TypeConstraint::Exactly(Type::I32))],
    results: ANY_RESULTS,
    regions: &[
        RegionSpec { name: "then", may_be_empty: false },
        RegionSpec { name: "else", may_be_empty: true },
    ],
    traits: Traits::LABEL,
    syntax: Syntax::Custom { parse: parse_if, print: print_if },
    verify: Some(verify_label),
    ..OpDef::EMPTY
};

const YIELD: OpDef = OpDef {
    name: "control.yield",
    summary: "Falls out of the enclosing construct with its results",
    description: "Ends a region of `control.block`, `control.loop` or `control.if` (or another \
op that declares yielding regions); the values become the construct's results and must match \
their types (checked by the construct).",
    example: "func.func @f(%arg0: f64) -> f64 {\n  %0 = control.block -> f64 {\n    control.yield %arg0 : f64\n  }\n  func.return %0 : f64\n}",
    operands: ANY_VALUES,
    traits: Traits::TERMINATOR,
    syntax: Syntax::Format(&[Fmt::Operands("values"), Fmt::AttrDict, Fmt::OptionalTypes("values")]),
    verify: Some(verify_yield),
    ..OpDef::EMPTY
};

const BR: OpDef = OpDef {
    name: "control.br",
    summary: "Branches to the label `depth` levels out",
    description: "Depth 0 is the innermost enclosing `block`, `loop` or `if`. The values are \
the target's results (block, if) or its next region arguments (loop). Wasm's `br`.",
    example: "func.func @f(%arg0: i32) -> i32 {\n  %0 = control.block -> i32 {\n    control.br 0 (%arg0 : i32)\n  }\n  func.return %0 : i32\n}",
    operands: ANY_VALUES,
    attrs: &[DEPTH],
    traits: Traits::TERMINATOR,
    syntax: Syntax::Custom { parse: parse_br, print: print_br },
    verify: Some(verify_branch),
    branch_depths: Some(single_depth),
    ..OpDef::EMPTY
};

const BR_IF: OpDef = OpDef {
    name: "control.br_if",
    summary: "Branches when the i32 condition is non-zero, else continues",
    description: "Like `control.br` when the condition is non-zero; otherwise execution continues \
with the next op. Wasm's `br_if`; the values it would carry stay available as SSA values.",
    example: "func.func @f(%arg0: i32) {\n  control.block {\n    control.br_if %arg0, 0\n    control.yield\n  }\n  func.return\n}",
    operands: &[
        ValueSpec::one("condition", TypeConstraint::Exactly(Type::I32)),
        ValueSpec::many("values", TypeConstraint::Any),
    ],
    attrs: &[DEPTH],
    syntax: Syntax::Custom { parse: parse_br_if, print: print_br_if },
    verify: Some(verify_branch),
    branch_depths: Some(single_depth),
    ..OpDef::EMPTY
};

const BR_TABLE: OpDef = OpDef {
    name: "control.br_table",
    summary: "Branches to the label selected by an index",
    description: "Branches to `targets[index]`, or to `default` when the index is out of range. \
Every target takes the same values. Wasm's `br_table`.",
    example: "func.func @f(%arg0: i32) -> i32 {\n  %0 = control.block -> i32 {\n    %1 = control.block -> i32 {\n      %2 = arith.constant 10 : i32\n      control.br_table %arg0 [0, 1], 1 (%2 : i32)\n    }\n    control.yield %1 : i32\n  }\n  func.return %0 : i32\n}",
    operands: &[
        ValueSpec::one("index", TypeConstraint::Exactly(Type::I32)),
        ValueSpec::many("values", TypeConstraint::Any),
    ],
    attrs: &[
        AttrSpec::required("targets", AttrConstraint::Array),
        AttrSpec::required("default", AttrConstraint::IntOf(Type::U32)),
    ],
    traits: Traits::TERMINATOR,
    syntax: Syntax::Custom { parse: parse_br_table, print: print_br_table },
    verify: Some(verify_branch),
    branch_depths: Some(table_depths),
    ..OpDef::EMPTY
};

const BR_ON_NULL: OpDef = OpDef {
    name: "control.br_on_null",
    summary: "Branches when a reference is null, else continues with it as non-null",
    description: "When `ref` is null, branches like `control.br` with the values; otherwise the \
result is `ref` as a non-null reference. Wasm's `br_on_null`.",
    example: "func.func @f(%arg0: !refs.ref<null, extern>) -> i32 {\n  %0 = control.block -> i32 {\n    %1 = arith.constant 1 : i32\n    %2 = control.br_on_null %arg0, 0 (%1 : i32) : !refs.ref<extern>\n    %3 = arith.constant 0 : i32\n    control.yield %3 : i32\n  }\n  func.return %0 : i32\n}",
    operands: &[
        ValueSpec::one("ref", TypeConstraint::DialectType("refs.ref")),
        ValueSpec::many("values", TypeConstraint::Any),
    ],
    results: &[ValueSpec::one("result", TypeConstraint::DialectType("refs.ref"))],
    attrs: &[DEPTH],
    syntax: Syntax::Custom { parse: parse_br_on_null, print: print_br_on_null },
    verify: Some(verify_branch),
    branch_depths: Some(single_depth),
    ..OpDef::EMPTY
};

const BR_ON_NON_NULL: OpDef = OpDef {
    name: "control.br_on_non_null",
    summary: "Branches with a reference when it is not null",
    description: "When `ref` is not null, branches with the values followed by `ref` as a \
non-null reference; otherwise continues. Wasm's `br_on_non_null`.",
    example: "func.func @f(%arg0: !refs.ref<null, extern>) -> !refs.ref<extern> {\n  %0 = control.block -> !refs.ref<extern> {\n    control.br_on_non_null %arg0, 0\n    control.unreachable\n  }\n  func.return %0 : !refs.ref<extern>\n}",
    operands: &[
        ValueSpec::one("ref", TypeConstraint::DialectType("refs.ref")),
        ValueSpec::many("values", TypeConstraint::Any),
    ],
    attrs: &[DEPTH],
    syntax: Syntax::Custom { parse: parse_br_on_non_null, print: print_br_on_non_null },
    verify: Some(verify_branch),
    branch_depths: Some(single_depth),
    ..OpDef::EMPTY
};

const UNREACHABLE: OpDef = OpDef {
    name: "control.unreachable",
    summary: "Traps",
    description: "Ends execution of the whole call with a trap. Wasm's `unreachable`.",
    example: "func.func @f() -> i32 {\n  control.unreachable\n}",
    traits: Traits::TERMINATOR.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[Fmt::AttrDict]),
    ..OpDef::EMPTY
};

const RETURN_CALL: OpDef = OpDef {
    name: "control.return_call",
    summary: "A tail call",
    description: "Calls `callee` and returns its results from the enclosing function, reusing \
the frame. The callee's results must equal the function's (checked by `func.func`). Wasm's \
`return_call`.",
    example: "func.func private @g(i32) -> i64\nfunc.func @f(%arg0: i32) -> i64 {\n  control.return_call @g(%arg0) : (i32) -> i64\n}",
    operands: &[ValueSpec::many("operands", TypeConstraint::Any)],
    attrs: &[
        AttrSpec::required("callee", AttrConstraint::SymbolRef),
        AttrSpec::required("callee_type", AttrConstraint::FunctionType),
    ],
    traits: Traits::TERMINATOR.union(Traits::RETURN_LIKE).union(Traits::CALL_LIKE),
    syntax: Syntax::Format(&[
        Fmt::Attr("callee"),
        Fmt::Lit("("),
        Fmt::Operands("operands"),
        Fmt::Lit(")"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Attr("callee_type"),
    ]),
    verify: Some(verify_return_call),
    ..OpDef::EMPTY
};

// ----- syntax -----

fn parse_results(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let results = if p.eat(TokKind::Arrow) { p.parse_result_types()? } else { Vec::new() };
    state.result_types = Some(results.into_iter().collect());
    p.parse_optional_attr_dict_with_keyword(state)
}

fn print_results(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    let results = op.result_types();
    if !results.is_empty() {
        p.write(" -> ");
        p.print_result_types(&results);
    }
    p.print_attr_dict_with_keyword(op.attrs(), &[]);
}

fn parse_block(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    parse_results(p, state)?;
    let region = p.parse_region(None)?;
    state.regions.push(region);
    Ok(())
}

fn print_block(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    print_results(p, op);
    p.write(" ");
    p.with_region_scope(op, |p, regions| p.print_region(regions[0], false));
}

fn parse_loop(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let mut args: Vec<ArgDecl<'_>> = Vec::new();
    if p.eat(TokKind::LParen) && !p.eat(TokKind::RParen) {
        loop {
            let decl = p.parse_arg_decl()?;
            p.expect(TokKind::Equal, "`=` and the initial value")?;
            let init = p.parse_operand()?;
            if !p.ctx().is_subtype(p.value_type(init), decl.ty) {
                return Err(p.error_here(format!(
                    "the initial value of `{}` has type `{}`, not `{}`",
                    decl.name,
                    type_to_string(p.ctx(), p.value_type(init)),
                    type_to_string(p.ctx(), decl.ty)
                )));
            }
            state.operands.push(init);
            args.push(decl);
            if p.eat(TokKind::RParen) {
                break;
            }
            p.expect(TokKind::Comma, "`,` or `)` in the loop arguments")?;
        }
    }
    parse_results(p, state)?;
    let region = p.parse_region(Some(&args))?;
    state.regions.push(region);
    Ok(())
}

fn print_loop(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    p.with_region_scope(op, |p, regions| {
        let args = p.entry_args(regions[0]);
        if !args.is_empty() {
            p.write(" (");
            for (i, (&a, &init)) in args.iter().zip(op.operands()).enumerate() {
                if i > 0 {
                    p.write(", ");
                }
                p.print_arg_decl(a);
                p.write(" = ");
                p.print_operand(init);
            }
            p.write(")");
        }
        print_results(p, op);
        p.write(" ");
        p.print_region(regions[0], true);
    });
}

fn parse_if(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let condition = p.parse_operand()?;
    state.operands.push(condition);
    parse_results(p, state)?;
    let then = p.parse_region(None)?;
    let otherwise = if p.eat_keyword("else") { p.parse_region(None)? } else { p.empty_region() };
    state.regions.push(then);
    state.regions.push(otherwise);
    Ok(())
}

fn print_if(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    p.write(" ");
    p.print_operand(op.operand(0));
    print_results(p, op);
    p.with_region_scope(op, |p, regions| {
        p.write(" ");
        p.print_region(regions[0], false);
        if !region_is_empty(op, 1) {
            p.write(" else ");
            p.print_region(regions[1], false);
        }
    });
}

fn region_is_empty(op: OpRef<'_>, index: usize) -> bool {
    let (body, regions) = op.regions();
    body.region_blocks(regions[index]).is_empty()
}

fn parse_depth(p: &mut OpParser<'_, '_>, state: &mut OperationState, name: &str) -> PResult<()> {
    let at = p.here();
    let ctx = p.ctx();
    let depth = Some(p.parse_integer("a branch depth")?).filter(|&d| (0..=i64::from(u32::MAX)).contains(&d));
    match depth {
        Some(d) => {
            state.add_attr(ctx, name, ctx.int_attr(d, Type::U32));
            Ok(())
        }
        None => Err(Diagnostic::error(at, "a branch depth is an integer from 0 to 4294967295")),
    }
}

/// ` (%a, %b : i32, i64)` after a branch, possibly absent.
fn parse_branch_values(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    if p.eat(TokKind::LParen) {
        let values = p.parse_operand_list()?;
        if !values.is_empty() {
            p.expect(TokKind::Colon, "`:` and the types of the branch values")?;
            let types = p.parse_type_list()?;
            let actual: Vec<Type> = values.iter().map(|&v| p.value_type(v)).collect();
            if actual.as_slice() != types.as_slice() {
                return Err(p.error_here("the branch values do not have the listed types"));
            }
        }
        p.expect(TokKind::RParen, "`)` closing the branch values")?;
        state.operands.extend(values);
    }
    p.parse_optional_attr_dict(state)
}

fn print_branch_values(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>, elided: &[&str]) {
    let values = op.operand_group("values");
    if !values.is_empty() {
        p.write(" (");
        p.print_operands(values);
        p.write(" : ");
        let types: Vec<Type> = values.iter().map(|&v| op.value_type(v)).collect();
        p.print_types(&types);
        p.write(")");
    }
    p.print_attr_dict(op.attrs(), elided);
}

fn print_depth(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>, name: &str) {
    p.write(&op.attr_int(name).unwrap_or(0).to_string());
}

fn parse_br(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    parse_depth(p, state, "depth")?;
    parse_branch_values(p, state)
}

fn print_br(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    p.write(" ");
    print_depth(p, op, "depth");
    print_branch_values(p, op, &["depth"]);
}

fn parse_br_if(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let condition = p.parse_operand()?;
    state.operands.push(condition);
    p.expect(TokKind::Comma, "`,` and the depth")?;
    parse_depth(p, state, "depth")?;
    parse_branch_values(p, state)
}

fn print_br_if(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    p.write(" ");
    p.print_operand(op.operand(0));
    p.write(", ");
    print_depth(p, op, "depth");
    print_branch_values(p, op, &["depth"]);
}

fn parse_br_on_null(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let reference = p.parse_operand()?;
    state.operands.push(reference);
    p.expect(TokKind::Comma, "`,` and the depth")?;
    parse_depth(p, state, "depth")?;
    parse_branch_values(p, state)?;
    p.expect(TokKind::Colon, "`:` and the non-null result type")?;
    let ty = p.parse_type()?;
    state.result_types = Some(wasmir_ir::smallvec![ty]);
    Ok(())
}

fn print_br_on_null(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    print_br_if(p, op);
    p.write(" : ");
    p.print_type(op.result_types()[0]);
}

fn parse_br_on_non_null(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let reference = p.parse_operand()?;
    state.operands.push(reference);
    p.expect(TokKind::Comma, "`,` and the depth")?;
    parse_depth(p, state, "depth")?;
    parse_branch_values(p, state)
}

fn print_br_on_non_null(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    print_br_if(p, op);
}

fn parse_br_table(p: &mut OpParser<'_, '_>, state: &mut OperationState) -> PResult<()> {
    let ctx = p.ctx();
    let index = p.parse_operand()?;
    state.operands.push(index);
    p.expect(TokKind::LSquare, "`[` starting the branch targets")?;
    let mut targets = Vec::new();
    if !p.eat(TokKind::RSquare) {
        loop {
            let at = p.here();
            let d = Some(p.parse_integer("a branch depth")?)
                .filter(|&d| (0..=i64::from(u32::MAX)).contains(&d))
                .ok_or_else(|| Diagnostic::error(at, "a branch depth is an integer from 0 to 4294967295"))?;
            targets.push(ctx.int_attr(d, Type::U32));
            if p.eat(TokKind::RSquare) {
                break;
            }
            p.expect(TokKind::Comma, "`,` or `]` in the branch targets")?;
        }
    }
    state.add_attr(ctx, "targets", ctx.array_attr(targets));
    p.expect(TokKind::Comma, "`,` and the default depth")?;
    parse_depth(p, state, "default")?;
    parse_branch_values(p, state)
}

fn print_br_table(p: &mut OpPrinter<'_, '_>, op: OpRef<'_>) {
    let ctx = op.ctx;
    p.write(" ");
    p.print_operand(op.operand(0));
    p.write(" [");
    let targets = table_targets(ctx, op);
    p.write(&targets.iter().map(u32::to_string).collect::<Vec<_>>().join(", "));
    p.write("], ");
    print_depth(p, op, "default");
    print_branch_values(p, op, &["targets", "default"]);
}

// ----- verification -----

/// The depth of a branch with one target.
fn single_depth(op: OpRef<'_>) -> Vec<u32> {
    op.attr_int("depth").map(|d| d as u32).into_iter().collect()
}

/// Every depth a `br_table` may jump to: its targets and its default.
fn table_depths(op: OpRef<'_>) -> Vec<u32> {
    let mut depths = table_targets(op.ctx, op);
    depths.extend(op.attr_int("default").map(|d| d as u32));
    depths
}

/// The depths of a `br_table`'s targets.
pub fn table_targets(ctx: &Context, op: OpRef<'_>) -> Vec<u32> {
    let Some(a) = op.attr("targets") else { return Vec::new() };
    match ctx.attr_data(a) {
        wasmir_ir::AttrData::Array(items) => {
            items.iter().filter_map(|&i| ctx.attr_as_int(i)).map(|d| d as u32).collect()
        }
        _ => Vec::new(),
    }
}

/// The label ops enclosing `op` in its function body, innermost first, at most `limit` of
/// them (deeply nested code makes the whole chain expensive to collect per branch).
pub fn enclosing_labels(ctx: &Context, body: &Body, op: Op, limit: usize) -> Vec<Op> {
    let mut labels = Vec::new();
    let mut at = body.parent_op(op);
    while let Some(p) = at {
        if labels.len() == limit {
            break;
        }
        if ctx.op_def(body.op_kind(p)).has(Traits::LABEL) {
            labels.push(p);
        }
        at = body.parent_op(p);
    }
    labels
}

/// What a branch to `label` must carry: a loop's region argument types, or the results.
pub fn label_types(ctx: &Context, body: &Body, label: Op) -> Vec<Type> {
    if ctx.op_def(body.op_kind(label)).has(Traits::LOOP) {
        let region = body.op_regions(label)[0];
        body.region_blocks(region)
            .first()
            .map(|&b| body.block_args(b).iter().map(|&a| body.value_type(a)).collect())
            .unwrap_or_default()
    } else {
        body.results(label).iter().map(|&r| body.value_type(r)).collect()
    }
}

fn types_str(ctx: &Context, types: &[Type]) -> String {
    types.iter().map(|&t| type_to_string(ctx, t)).collect::<Vec<_>>().join(", ")
}

fn verify_branch(op: OpRef<'_>, scope: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let mut depths = vec![op.attr_int("depth").or_else(|| op.attr_int("default")).unwrap_or(0) as u32];
    if op.name() == "control.br_table" {
        depths = table_targets(ctx, op);
        depths.push(op.attr_int("default").unwrap_or(0) as u32);
    }
    let deepest = depths.iter().copied().max().unwrap_or(0) as usize;
    // The verifier tracks the enclosing labels (outermost first); alone, a hook walks up.
    let tracked = scope.enclosing_labels();
    let walked =
        if tracked.is_none() { enclosing_labels(ctx, op.body, op.op, deepest + 1) } else { Vec::new() };
    let label_at = |depth: usize| match tracked {
        Some(labels) => labels.len().checked_sub(depth + 1).map(|i| labels[i]),
        None => walked.get(depth).copied(),
    };
    let enclosing = tracked.map_or(walked.len(), |labels| labels.len().min(deepest + 1));
    let mut values: Vec<Type> = op.operand_group("values").iter().map(|&v| op.value_type(v)).collect();
    if op.name() == "control.br_on_non_null" {
        // The branch also carries the reference, known to be non-null there.
        let reference = op.value_type(op.operand(0));
        let non_null = crate::refs::ref_type(ctx, reference)
            .map(|r| crate::refs::make_ref(ctx, crate::refs::RefType { nullable: false, ..r }));
        values.extend(non_null);
    }
    if op.name() == "control.br_on_null" {
        let input = crate::refs::ref_type(ctx, op.value_type(op.operand(0)));
        let output = crate::refs::ref_type(ctx, op.result_types()[0]);
        if !matches!((input, output), (Some(a), Some(b)) if !b.nullable && a.heap == b.heap) {
            errors.push(Diagnostic::error(
                op.loc(),
                "'control.br_on_null' op result must be the reference's type without `null`",
            ));
        }
    }
    for depth in depths {
        let Some(target) = label_at(depth as usize) else {
            errors.push(Diagnostic::error(
                op.loc(),
                format!(
                    "'{}' op branches to depth {depth}, but only {} labels enclose it",
                    op.name(),
                    enclosing
                ),
            ));
            continue;
        };
        let expected = label_types(ctx, op.body, target);
        if !ctx.are_subtypes(&values, &expected) {
            errors.push(
                Diagnostic::error(
                    op.loc(),
                    format!(
                        "'{}' op carries ({}) to depth {depth}, but that label takes ({})",
                        op.name(),
                        types_str(ctx, &values),
                        types_str(ctx, &expected)
                    ),
                )
                .with_note(op.body.op_loc(target), "the label is here"),
            );
        }
    }
}

fn verify_yield(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    if op.body.parent_op(op.op).is_none() {
        errors.push(Diagnostic::error(
            op.loc(),
            "'control.yield' op must end a region of a construct such as `control.block`; a function returns with `func.return`",
        ));
    }
}

/// Checks that every region of a label op ends with values of the right types, and a loop's
/// region arguments match its operands.
fn verify_label(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let body = op.body;
    let results = op.result_types();
    let regions = body.op_regions(op.op);
    if op.def().has(Traits::LOOP)
        && let Some(&entry) = body.region_blocks(regions[0]).first()
    {
        let args: Vec<Type> = body.block_args(entry).iter().map(|&a| body.value_type(a)).collect();
        let inits = op.operand_types();
        if !ctx.are_subtypes(&inits, &args) {
            errors.push(Diagnostic::error(
                op.loc(),
                format!(
                    "'control.loop' op region arguments ({}) do not match the initial values ({})",
                    types_str(ctx, &args),
                    types_str(ctx, &inits)
                ),
            ));
        }
    }
    if op.name() == "control.if" && body.region_blocks(regions[1]).is_empty() && !results.is_empty() {
        errors.push(Diagnostic::error(op.loc(), "'control.if' op with results needs an `else` region"));
    }
    for &region in regions {
        for &block in body.region_blocks(region) {
            let Some(last) = body.block_last(block) else { continue };
            if ctx.op_def(body.op_kind(last)).name != "control.yield" {
                continue;
            }
            let yielded: Vec<Type> = body.operands(last).iter().map(|&v| body.value_type(v)).collect();
            if !ctx.are_subtypes(&yielded, &results) {
                errors.push(
                    Diagnostic::error(
                        body.op_loc(last),
                        format!(
                            "'control.yield' op yields ({}) but the enclosing '{}' has results ({})",
                            types_str(ctx, &yielded),
                            op.name(),
                            types_str(ctx, &results)
                        ),
                    )
                    .with_note(op.loc(), "the construct is here"),
                );
            }
        }
    }
}

fn verify_return_call(op: OpRef<'_>, symbols: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let ctx = op.ctx;
    let Some(callee) = op.attr("callee").and_then(|a| ctx.attr_as_symbol(a)) else { return };
    let Some(info) = symbols.resolve(callee) else { return };
    let fty = ctx.dict_get(info.attrs, "function_type").and_then(|a| ctx.attr_as_type(a));
    let declared = op.attr("callee_type").and_then(|a| ctx.attr_as_type(a));
    if fty.is_none() || fty != declared {
        errors.push(
            Diagnostic::error(op.loc(), format!("'control.return_call' op type does not match `@{callee}`"))
                .with_note(info.loc, "the callee is defined here"),
        );
        return;
    }
    if let Some((inputs, _)) = fty.and_then(|t| ctx.function_signature(t))
        && !ctx.are_subtypes(&op.operand_types(), inputs)
    {
        errors.push(Diagnostic::error(
            op.loc(),
            format!("'control.return_call' op operands do not match `@{callee}`"),
        ));
    }
}

// ----- typed builder API -----

/// Fills a region's block, given a builder at its end and the block's arguments.
type RegionFiller<'f> = &'f mut dyn FnMut(&mut Builder<'_>, &[Value]);

/// Builds an op of `name` with one region per entry of `fill`: one block with arguments of
/// `arg_types` filled by the builder, or an empty region for `None`; returns the op's results.
fn build_with_regions(
    b: &mut Builder<'_>,
    name: &str,
    operands: &[Value],
    results: &[Type],
    arg_types: &[Type],
    fill: &mut [Option<RegionFiller<'_>>],
) -> Vec<Value> {
    let mut regions = SmallVec::<[wasmir_ir::Region; 1]>::new();
    for f in fill.iter_mut() {
        let Some(f) = f else {
            regions.push(b.body.create_region());
            continue;
        };
        let (region, block) = b.region_with_block(arg_types);
        let args = b.body.block_args(block).to_vec();
        b.with_block(block, |inner| f(inner, &args));
        regions.push(region);
    }
    let mut new = NewOp::new(b.kind(name), b.loc);
    new.operands = operands.into();
    new.result_types = results.into();
    new.regions = regions;
    let op = b.create(new);
    b.body.results(op).to_vec()
}

/// `control.if condition { then } [else { otherwise }]` with `results`; each region must end
/// with a terminator (`yield_`, a branch or `unreachable`).
pub fn build_if(
    b: &mut Builder<'_>,
    condition: Value,
    results: &[Type],
    mut then: impl FnMut(&mut Builder<'_>),
    otherwise: Option<&mut dyn FnMut(&mut Builder<'_>)>,
) -> Vec<Value> {
    let mut then = |b: &mut Builder<'_>, _: &[Value]| then(b);
    match otherwise {
        Some(otherwise) => {
            let mut otherwise = |b: &mut Builder<'_>, _: &[Value]| otherwise(b);
            build_with_regions(
                b,
                "control.if",
                &[condition],
                results,
                &[],
                &mut [Some(&mut then), Some(&mut otherwise)],
            )
        }
        None => build_with_regions(b, "control.if", &[condition], results, &[], &mut [Some(&mut then), None]),
    }
}

/// `control.block -> results { body }`.
pub fn build_block(
    b: &mut Builder<'_>,
    results: &[Type],
    mut body: impl FnMut(&mut Builder<'_>),
) -> Vec<Value> {
    let mut body = |b: &mut Builder<'_>, _: &[Value]| body(b);
    build_with_regions(b, "control.block", &[], results, &[], &mut [Some(&mut body)])
}

/// `control.loop (args = inits) -> results { body(args) }`.
pub fn build_loop(
    b: &mut Builder<'_>,
    inits: &[Value],
    results: &[Type],
    mut body: impl FnMut(&mut Builder<'_>, &[Value]),
) -> Vec<Value> {
    let arg_types: Vec<Type> = inits.iter().map(|&v| b.body.value_type(v)).collect();
    build_with_regions(b, "control.loop", inits, results, &arg_types, &mut [Some(&mut body)])
}

/// `control.yield values`.
pub fn yield_(b: &mut Builder<'_>, values: &[Value]) -> Op {
    b.op("control.yield", values, &[], &[])
}

/// `control.br_if condition, depth (values)`.
pub fn br_if(b: &mut Builder<'_>, condition: Value, depth: u32, values: &[Value]) -> Op {
    let mut operands = vec![condition];
    operands.extend_from_slice(values);
    let depth = b.ctx.int_attr(i64::from(depth), Type::U32);
    b.op("control.br_if", &operands, &[], &[("depth", depth)])
}

/// `control.unreachable`.
pub fn unreachable(b: &mut Builder<'_>) -> Op {
    b.op("control.unreachable", &[], &[], &[])
}
