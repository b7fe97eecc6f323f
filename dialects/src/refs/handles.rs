//! `ExternRef<T>` (`!refs.externref<T>`, or `!refs.externref<T, own>` for a use-once host
//! resource) and the managed reference table's ops. `lower-refs` (lowering/) maps ExternRef
//! to `externref` on hosts with reference types and to i32 host-table handles on hosts
//! without.

use wasmir_ir::printer::type_to_string;
use wasmir_ir::registry::{Fmt, ParamDef, SymbolResolver, Syntax, TypeConstraint, TypeTraits, ValueSpec};
use wasmir_ir::{Context, Diagnostic, OpDef, OpRef, Param, Traits, Type, TypeData};

/// `!refs.externref<T[, own]>`.
pub(crate) const EXTERNREF_TYPE: ParamDef = ParamDef {
    name: "refs.externref",
    summary: "ExternRef<T>: an opaque host reference of interface T; `own` makes it a use-once resource",
    verify: Some(verify_externref_params),
    subtype: None,
    traits: Some(externref_traits),
};

/// A decoded `!refs.externref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternRefType {
    /// The host interface T names.
    pub interface: String,
    /// `own`: a linear (use-once) resource.
    pub owned: bool,
}

/// Decodes an ExternRef type.
pub fn externref_type(ctx: &Context, ty: Type) -> Option<ExternRefType> {
    let TypeData::Dialect { name, params } = ctx.type_data(ty) else { return None };
    if ctx.ident_str(*name) != "refs.externref" {
        return None;
    }
    match params.as_ref() {
        [Param::Keyword(t)] => Some(ExternRefType { interface: ctx.ident_str(*t).to_string(), owned: false }),
        [Param::Keyword(t), Param::Keyword(o)] if ctx.ident_str(*o) == "own" => {
            Some(ExternRefType { interface: ctx.ident_str(*t).to_string(), owned: true })
        }
        _ => None,
    }
}

/// `!refs.externref<interface[, own]>`.
pub fn make_externref(ctx: &Context, interface: &str, owned: bool) -> Type {
    let mut params = vec![Param::Keyword(ctx.ident(interface))];
    if owned {
        params.push(Param::Keyword(ctx.ident("own")));
    }
    ctx.dialect_type("refs.externref", params)
}

fn verify_externref_params(ctx: &Context, params: &[Param]) -> Result<(), String> {
    match params {
        [Param::Keyword(_)] => Ok(()),
        [Param::Keyword(_), Param::Keyword(o)] if ctx.ident_str(*o) == "own" => Ok(()),
        _ => Err("expected `<Interface>` or `<Interface, own>`".into()),
    }
}

fn externref_traits(ctx: &Context, params: &[Param]) -> TypeTraits {
    let owned = matches!(params, [_, Param::Keyword(o)] if ctx.ident_str(*o) == "own");
    if owned { TypeTraits::OPAQUE | TypeTraits::LINEAR } else { TypeTraits::OPAQUE }
}

pub(crate) const TO_HANDLE: OpDef = OpDef {
    name: "refs.to_handle",
    summary: "Stores an ExternRef in the managed reference table",
    description: "Returns an i32 handle that `refs.from_handle` turns back into the same \
reference, so that the reference can be kept in linear memory or passed where only numbers \
go. Handle 0 stands for null and is never allocated; other handles are distinct until released \
with `refs.release_handle`, and then reused. With reference types the table is a Wasm table of \
`externref` owned by the module (created only when a handle op is used); without, the host owns \
it. Not for `own` resources, which cannot be duplicated.",
    example: "func.func @keep(%arg0: !refs.externref<Window>) -> i32 {\n  %0 = refs.to_handle %arg0 : !refs.externref<Window>\n  func.return %0 : i32\n}",
    operands: &[ValueSpec::one("reference", TypeConstraint::DialectType("refs.externref"))],
    results: &[ValueSpec::one("handle", TypeConstraint::Exactly(Type::I32))],
    traits: Traits::MEM_WRITE.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[
        Fmt::Operands("reference"),
        Fmt::AttrDict,
        Fmt::Lit(":"),
        Fmt::Type("reference"),
    ]),
    verify: Some(verify_handle_op),
    ..OpDef::EMPTY
};

pub(crate) const FROM_HANDLE: OpDef = OpDef {
    name: "refs.from_handle",
    summary: "Reads an ExternRef back from its handle",
    description: "The reference stored under the handle: null for handle 0, and for a released \
handle whatever the slot holds now (null, or a later reference), as with a file descriptor. \
Traps when the handle was never allocated.",
    example: "func.func @get(%arg0: i32) -> !refs.externref<Window> {\n  %0 = refs.from_handle %arg0 : !refs.externref<Window>\n  func.return %0 : !refs.externref<Window>\n}",
    operands: &[ValueSpec::one("handle", TypeConstraint::Exactly(Type::I32))],
    results: &[ValueSpec::one("reference", TypeConstraint::DialectType("refs.externref"))],
    traits: Traits::MEM_READ.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[Fmt::Operands("handle"), Fmt::AttrDict, Fmt::Lit(":"), Fmt::Type("reference")]),
    verify: Some(verify_handle_op),
    ..OpDef::EMPTY
};

pub(crate) const RELEASE_HANDLE: OpDef = OpDef {
    name: "refs.release_handle",
    summary: "Frees a handle of the managed reference table",
    description: "The slot may be reused by a later `refs.to_handle`. Releasing handle 0 does \
nothing; releasing a handle that was never allocated traps. On a host without reference types \
the handle and the reference it was made from are one host slot, so neither may be used after \
the release.",
    example: "func.func @drop(%arg0: i32) {\n  refs.release_handle %arg0\n  func.return\n}",
    operands: &[ValueSpec::one("handle", TypeConstraint::Exactly(Type::I32))],
    traits: Traits::MEM_WRITE.union(Traits::MAY_TRAP),
    syntax: Syntax::Format(&[Fmt::Operands("handle"), Fmt::AttrDict]),
    ..OpDef::EMPTY
};

fn verify_handle_op(op: OpRef<'_>, _: &dyn SymbolResolver, errors: &mut Vec<Diagnostic>) {
    let reference = if op.name() == "refs.to_handle" { op.operand(0) } else { op.result(0) };
    let ty = op.value_type(reference);
    match externref_type(op.ctx, ty) {
        Some(r) if r.owned => errors.push(Diagnostic::error(
            op.loc(),
            format!(
                "'{}' op cannot hold `{}` in the table: an `own` resource is used exactly once and cannot be duplicated",
                op.name(),
                type_to_string(op.ctx, ty)
            ),
        )),
        _ => {}
    }
}

// ----- typed builder API -----

/// `refs.to_handle reference`.
pub fn to_handle(b: &mut wasmir_ir::Builder<'_>, reference: wasmir_ir::Value) -> wasmir_ir::Value {
    b.op1("refs.to_handle", &[reference], Type::I32, &[])
}

/// `refs.from_handle handle : reference_type`.
pub fn from_handle(
    b: &mut wasmir_ir::Builder<'_>,
    handle: wasmir_ir::Value,
    reference_type: Type,
) -> wasmir_ir::Value {
    b.op1("refs.from_handle", &[handle], reference_type, &[])
}

/// `refs.release_handle handle`.
pub fn release_handle(b: &mut wasmir_ir::Builder<'_>, handle: wasmir_ir::Value) -> wasmir_ir::Op {
    b.op("refs.release_handle", &[handle], &[], &[])
}
