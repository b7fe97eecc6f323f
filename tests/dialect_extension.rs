//! A dialect defined outside the workspace, as an embedder would write one: its own types and
//! attributes (`!test.pair<...>`, `#test.level<...>`), an op with a declarative format and a
//! verifier hook, all parsed, printed, verified and round-tripped by the generic machinery.

use wasmir::ir::registry::{
    AttrConstraint, AttrSpec, DialectDef, Fmt, ParamDef, SymbolResolver, Syntax, TypeConstraint, ValueSpec,
};
use wasmir::ir::{Context, Diagnostic, OpDef, OpRef, Param, Registry, Traits};

fn verify_pair(_: &Context, params: &[Param]) -> Result<(), String> {
    match params {
        [Param::Type(_), Param::Type(_)] => Ok(()),
        _ => Err(format!("expects two type parameters, got {}", params.len())),
    }
}

fn verify_level(ctx: &Context, params: &[Param]) -> Result<(), String> {
    match params {
        [Param::Attr(a)] if ctx.attr_as_int(*a).is_some_and(|v| (0..=3).contains(&v)) => Ok(()),
        _ => Err("expects one integer from 0 to 3".into()),
    }
}

fn verify_make(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    if op.operands().len() != 2 {
        errors.push(Diagnostic::error(op.loc(), "'test.make_pair' op takes two values"));
    }
}

static TEST_DIALECT: DialectDef = DialectDef {
    name: "test",
    summary: "A dialect defined by a test",
    ops: &[OpDef {
        name: "test.make_pair",
        summary: "Pairs two values",
        example: "",
        operands: &[ValueSpec::many("parts", TypeConstraint::Any)],
        results: &[ValueSpec::one("pair", TypeConstraint::DialectType("test.pair"))],
        attrs: &[AttrSpec::optional("level", AttrConstraint::Any)],
        traits: Traits::PURE,
        syntax: Syntax::Format(&[Fmt::Operands("parts"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("pair")]),
        verify: Some(verify_make),
        ..OpDef::EMPTY
    }],
    types: &[ParamDef {
        name: "test.pair",
        summary: "A pair of values",
        verify: Some(verify_pair),
        subtype: None,
        traits: None,
    }],
    attrs: &[ParamDef {
        name: "test.level",
        summary: "A level from 0 to 3",
        verify: Some(verify_level),
        subtype: None,
        traits: None,
    }],
    materialize_constant: None,
    fold_citations: &[],
};

fn context() -> Context {
    let mut registry: Registry = wasmir::dialects::all_dialects();
    registry.register(&TEST_DIALECT);
    Context::new(registry)
}

const INPUT: &str = r#"func.func @f(%arg0: i32, %arg1: i64) -> !test.pair<i32, i64> {
  %0 = test.make_pair %arg0, %arg1 {level = #test.level<2>} : !test.pair<i32, i64>
  func.return %0 : !test.pair<i32, i64>
}
"#;

#[test]
fn dialect_types_attributes_and_ops_round_trip() {
    let ctx = context();
    let module = wasmir::parse(&ctx, "ext.wir", INPUT).expect("parses");
    wasmir::verify(&ctx, &module).expect("verifies");
    let printed = wasmir::print(&ctx, &module);
    assert_eq!(
        printed,
        format!("module {{\n{}}}\n", INPUT.lines().map(|l| format!("  {l}\n")).collect::<String>())
    );
    let generic = wasmir::ir::printer::print_module(
        &ctx,
        &module,
        wasmir::ir::printer::PrintOptions { generic: true, debug_info: false },
    );
    assert!(
        generic.contains(
            r#""test.make_pair"(%arg0, %arg1) {level = #test.level<2>} : (i32, i64) -> !test.pair<i32, i64>"#
        ),
        "{generic}"
    );
    let reparsed = wasmir::parse(&ctx, "generic.wir", &generic).expect("generic form parses");
    assert_eq!(wasmir::print(&ctx, &reparsed), printed);
}

#[test]
fn dialect_parameter_checks_and_hooks_report_located_errors() {
    let ctx = context();
    let err =
        wasmir::parse(&ctx, "bad.wir", "func.func private @f(!test.pair<i32>)").expect_err("one parameter");
    assert_eq!(err.message, "invalid `!test.pair`: expects two type parameters, got 1");
    assert_eq!(wasmir::ir::diagnostics::location_prefix(&ctx, err.loc).as_deref(), Some("bad.wir:1:22"));
    let err = wasmir::parse(&ctx, "bad.wir", "func.func private @f() attributes {test.x = #test.level<9>}")
        .expect_err("out of range");
    assert_eq!(err.message, "invalid `#test.level`: expects one integer from 0 to 3");
    let module = wasmir::parse(
        &ctx,
        "bad.wir",
        "func.func @f(%arg0: i32) {\n  %0 = test.make_pair %arg0 : !test.pair<i32, i32>\n  func.return\n}",
    )
    .expect("parses");
    let errors = wasmir::verify(&ctx, &module).expect_err("the hook rejects one value");
    assert_eq!(errors[0].message, "'test.make_pair' op takes two values");
    // Without the dialect, the same text is rejected at the first unknown name.
    let err = wasmir::parse(&wasmir::context(), "x.wir", INPUT).expect_err("unknown type");
    assert_eq!(err.message, "unknown type `!test.pair`");
}
