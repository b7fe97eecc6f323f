//! Legalization: rewrites the Wasm-native abstractions into core Wasm ops for a target, and
//! stops with a located error naming the op, the capability and the profile when an op needs
//! a capability the target lacks and has no fallback.
//!
//! Order: `lower-memory` (regions and checks to address arithmetic, compare-and-branch and
//! plain accesses), `lower-atomics` (atomics to plain accesses without `threads`), `lower-refs`
//! (ExternRef to `externref` or host-table handles, the managed reference table), `lower-simd`
//! (SIMD to scalar lanes without `simd`), then `check-capabilities`. `legalize` runs them all;
//! the emitter runs it before writing Wasm.

mod atomics;
mod capabilities;
mod refs;
mod regions;
mod simd;
pub mod target;

pub use capabilities::check_capabilities;
pub use target::{Capabilities, Target};

use wasmir_dialects::control;
use wasmir_ir::pass::{ModulePass, PassImpl, PassInfo, PassOptionSpec, PassOptions, PassRegistry};
use wasmir_ir::{
    Attr, AttrData, Body, Builder, Context, Diagnostic, FxHashMap, Module, Op, Param, Type, TypeData, Value,
};

/// Runs every legalization for `target`: afterwards the module holds only ops with a Wasm
/// instruction that the target runs.
///
/// Returns whether it may have rewritten anything (a module of core ops only, for a target
/// with SIMD, is left as it is, after one scan).
pub fn legalize(ctx: &Context, module: &mut Module, target: &Target) -> Result<bool, Vec<Diagnostic>> {
    let rewrites = uses_native_abstractions(ctx, module);
    // lower-simd scans for SIMD itself; a target with SIMD keeps it.
    let scalarize = !target.has(Capabilities::SIMD);
    let steps: &[Step] = match (rewrites, scalarize) {
        (true, _) => &[
            regions::lower_memory,
            atomics::lower_atomics,
            refs::lower_refs,
            simd::lower_simd,
            check_capabilities,
        ],
        (false, true) => &[simd::lower_simd, check_capabilities],
        (false, false) => &[check_capabilities],
    };
    for step in steps {
        let errors = step(ctx, module, target);
        if !errors.is_empty() {
            return Err(errors);
        }
    }
    Ok(rewrites || scalarize)
}

/// Whether any op or type of the module is one the lowerings rewrite: region, atomic and
/// handle ops, and region or ExternRef types anywhere (values, signatures).
fn uses_native_abstractions(ctx: &Context, module: &Module) -> bool {
    // Per interned type, decided once (indexed by the type's number: a hash per value costs
    // more than the rest of the walk).
    let mut types: Vec<Option<bool>> = Vec::new();
    let mut is_native = |ty: Type| -> bool {
        let i = ty.as_u32() as usize;
        if i >= types.len() {
            types.resize(i + 1, None);
        }
        *types[i].get_or_insert_with(|| type_is_native(ctx, ty))
    };
    // Which op kinds are rewritten, decided once per kind rather than by name per op.
    let native_kinds: Vec<bool> = ctx
        .registry()
        .ops()
        .map(|(_, def)| {
            regions::REGION_OPS.contains(&def.name)
                || def.name.starts_with("memory.atomic_")
                || refs::is_handle_op(def.name)
        })
        .collect();
    let mut found = false;
    module.body().for_each_body(&mut |body| {
        if found {
            return;
        }
        // Any order will do for a yes/no question: the arena's is the cheapest to walk.
        let live = (0..body.op_capacity()).map(Op::from_index).filter(|&op| body.is_alive(op));
        for op in live {
            let kind = body.op_kind(op);
            let native_op = native_kinds[kind.index()];
            let signature = ctx
                .op_def(kind)
                .has(wasmir_ir::Traits::FUNCTION_LIKE)
                .then(|| ctx.dict_get(body.op_attrs(op), "function_type").and_then(|a| ctx.attr_as_type(a)))
                .flatten();
            let mut values = body.results(op).iter().copied().chain(
                body.op_regions(op)
                    .iter()
                    .flat_map(|&r| body.region_blocks(r))
                    .flat_map(|&b| body.block_args(b).iter().copied()),
            );
            if native_op
                || signature.is_some_and(&mut is_native)
                || values.any(|v| is_native(body.value_type(v)))
            {
                found = true;
                return;
            }
        }
    });
    found
}

fn type_is_native(ctx: &Context, ty: Type) -> bool {
    match ctx.type_data(ty) {
        TypeData::Dialect { params, .. } => {
            wasmir_dialects::memory::region_type(ctx, ty).is_some()
                || wasmir_dialects::refs::externref_type(ctx, ty).is_some()
                || params.iter().any(|p| matches!(p, Param::Type(t) if type_is_native(ctx, *t)))
        }
        TypeData::Function { inputs, results } => {
            inputs.iter().chain(results.iter()).any(|&t| type_is_native(ctx, t))
        }
        _ => false,
    }
}

/// The rewrites legalization performs that rely on the contract (the others are plain
/// lowerings to equivalent Wasm).
pub const RULES: &[(&str, &str, &[&str])] = &[
    (
        "lower-atomics.plain-access",
        "atomic op on an unshared memory == plain access + alignment trap, without threads",
        &["INV-MEM-001", "INV-MEM-007"],
    ),
    (
        "lower-refs.externref-direct",
        "ExternRef<T> == externref: a pass-through needs no table slot",
        &["INV-REF-001", "INV-REF-002"],
    ),
];

/// A module pass running a legalization step for the target its options name.
struct StepPass {
    step: Step,
    target: Target,
}

type Step = fn(&Context, &mut Module, &Target) -> Vec<Diagnostic>;

impl ModulePass for StepPass {
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic> {
        (self.step)(ctx, module, &self.target)
    }
}

const TARGET_OPTION: &[PassOptionSpec] = &[PassOptionSpec {
    name: "target",
    doc: "host profile and overrides, as in --target (for example `browser,+threads`)",
    default: "wasmtime",
}];

macro_rules! step_pass {
    ($name:literal, $summary:literal, $step:expr) => {
        PassInfo {
            name: $name,
            summary: $summary,
            options: TARGET_OPTION,
            create: |options: &PassOptions| {
                let target = Target::parse(options.get("target"))?;
                Ok(PassImpl::Module(Box::new(StepPass { step: $step, target })))
            },
        }
    };
}

/// Registers `legalize`, `lower-memory`, `lower-atomics`, `lower-refs`, `lower-simd` and
/// `check-capabilities`, each with a `target` option.
pub fn register_passes(registry: &mut PassRegistry) {
    registry
        .register(step_pass!("legalize", "Every legalization below, in order, for the target", |c, m, t| {
            legalize(c, m, t).err().unwrap_or_default()
        }))
        .register(step_pass!(
            "lower-memory",
            "Regions, memory.check and Local frames to address arithmetic, branches to a trap and plain accesses",
            regions::lower_memory
        ))
        .register(step_pass!(
            "lower-atomics",
            "Atomics to plain accesses when the target lacks threads (memories that are not shared only)",
            atomics::lower_atomics
        ))
        .register(step_pass!(
            "lower-refs",
            "ExternRef to externref (host-table handles without reference types); the managed reference table",
            refs::lower_refs
        ))
        .register(step_pass!(
            "lower-simd",
            "SIMD to scalar code (lanes in SSA values, vectors as four i32 at boundaries) when the target lacks simd",
            simd::lower_simd
        ))
        .register(step_pass!(
            "check-capabilities",
            "An error for every op that needs a capability the target lacks",
            check_capabilities
        ));
}

// ----- shared machinery -----

/// The function ops of a module (those with a body to lower).
pub(crate) fn functions(ctx: &Context, module: &Module) -> Vec<Op> {
    let body = module.body();
    body.block_ops(module.block())
        .filter(|&op| body.child(op).is_some() && ctx.op_def(body.op_kind(op)).name == "func.func")
        .collect()
}

/// Whether any op of the module (at any depth) satisfies `pred`.
pub(crate) fn any_op(ctx: &Context, module: &Module, pred: &dyn Fn(&str) -> bool) -> bool {
    let mut found = false;
    module.body().for_each_body(&mut |b| {
        found = found || b.preorder().into_iter().any(|op| pred(ctx.op_def(b.op_kind(op)).name));
    });
    found
}

/// Rewrites every type in the module that `convert` maps (value types, block arguments, and
/// types inside attributes such as function signatures), recursively through function types
/// and dialect type parameters. Returns whether anything changed.
pub(crate) fn convert_types(
    ctx: &Context,
    module: &mut Module,
    convert: &dyn Fn(Type) -> Option<Type>,
) -> bool {
    let mut converter = TypeConverter {
        ctx,
        convert,
        types: FxHashMap::default(),
        attrs: FxHashMap::default(),
        changed: false,
    };
    converter.body(module.body_mut());
    converter.changed
}

/// Memoizes conversions: types and attributes are interned, so most repeat.
struct TypeConverter<'a> {
    ctx: &'a Context,
    convert: &'a dyn Fn(Type) -> Option<Type>,
    types: FxHashMap<Type, Type>,
    attrs: FxHashMap<Attr, Attr>,
    changed: bool,
}

impl TypeConverter<'_> {
    fn ty(&mut self, ty: Type) -> Type {
        if let Some(&t) = self.types.get(&ty) {
            return t;
        }
        let ctx = self.ctx;
        let out = match (self.convert)(ty) {
            Some(t) => t,
            None => match ctx.type_data(ty) {
                TypeData::Function { inputs, results } => {
                    let inputs: Vec<Type> = inputs.iter().map(|&t| self.ty(t)).collect();
                    let results: Vec<Type> = results.iter().map(|&t| self.ty(t)).collect();
                    ctx.function_type(&inputs, &results)
                }
                TypeData::Dialect { name, params } if params.iter().any(|p| matches!(p, Param::Type(_))) => {
                    let params = params
                        .iter()
                        .map(|p| match p {
                            Param::Type(t) => Param::Type(self.ty(*t)),
                            other => other.clone(),
                        })
                        .collect();
                    ctx.dialect_type(ctx.ident_str(*name), params)
                }
                _ => ty,
            },
        };
        self.types.insert(ty, out);
        out
    }

    fn attr(&mut self, attr: Attr) -> Attr {
        if let Some(&a) = self.attrs.get(&attr) {
            return a;
        }
        let ctx = self.ctx;
        let out = match ctx.attr_data(attr) {
            AttrData::Type(t) => {
                let new = self.ty(*t);
                if new == *t { attr } else { ctx.type_attr(new) }
            }
            AttrData::Array(items) => {
                let new: Vec<Attr> = items.iter().map(|&a| self.attr(a)).collect();
                if new[..] == items[..] { attr } else { ctx.array_attr(new) }
            }
            AttrData::Dict(entries) => {
                let new: Vec<_> = entries.iter().map(|&(k, v)| (k, self.attr(v))).collect();
                if new[..] == entries[..] { attr } else { ctx.dict_attr(new) }
            }
            _ => attr,
        };
        self.attrs.insert(attr, out);
        out
    }

    fn body(&mut self, body: &mut Body) {
        let ops = body.preorder();
        let mut values: Vec<Value> = Vec::new();
        for &r in body.roots() {
            for &block in body.region_blocks(r) {
                values.extend_from_slice(body.block_args(block));
            }
        }
        for &op in &ops {
            let attrs = body.op_attrs(op);
            let converted = self.attr(attrs);
            if converted != attrs {
                body.set_attrs(op, converted);
                self.changed = true;
            }
            values.extend_from_slice(body.results(op));
            for &r in body.op_regions(op) {
                for &block in body.region_blocks(r) {
                    values.extend_from_slice(body.block_args(block));
                }
            }
        }
        for v in values {
            let ty = body.value_type(v);
            let new = self.ty(ty);
            if new != ty {
                body.set_value_type(v, new);
                self.changed = true;
            }
        }
        for (_, child) in body.isolated_children_mut() {
            self.body(child);
        }
    }
}

/// Builds IR for a lowering: constants, arithmetic and the failure path of a check.
pub(crate) struct Emit<'a, 'b> {
    pub b: Builder<'a>,
    /// Called before trapping when a check fails (the memory's panic handler).
    pub handler: Option<&'b str>,
}

impl Emit<'_, '_> {
    pub fn i32(&mut self, v: i32) -> Value {
        wasmir_dialects::arith::const_i32(&mut self.b, v)
    }
    pub fn i64(&mut self, v: i64) -> Value {
        wasmir_dialects::arith::const_i64(&mut self.b, v)
    }
    /// `arith.OP lhs, rhs`.
    pub fn bin(&mut self, op: &str, lhs: Value, rhs: Value) -> Value {
        wasmir_dialects::arith::binary_op(&mut self.b, op, lhs, rhs)
    }
    pub fn cmp(&mut self, predicate: &str, lhs: Value, rhs: Value) -> Value {
        wasmir_dialects::arith::cmpi(&mut self.b, predicate, lhs, rhs)
    }
    /// A conversion such as `arith.extend_u` or `arith.wrap`.
    pub fn convert(&mut self, op: &str, value: Value, to: Type) -> Value {
        self.b.op1(&format!("arith.{op}"), &[value], to, &[])
    }
    /// `i32 -> i64` zero extension.
    pub fn zext(&mut self, v: Value) -> Value {
        self.convert("extend_u", v, Type::I64)
    }
    /// `i64 -> i32`, keeping the low bits.
    pub fn wrap(&mut self, v: Value) -> Value {
        self.convert("wrap", v, Type::I32)
    }
    /// When `condition` is non-zero: call the panic handler, if any, then trap.
    pub fn fail_if(&mut self, condition: Value) {
        let handler = self.handler;
        control::build_if(
            &mut self.b,
            condition,
            &[],
            |b| {
                if let Some(h) = handler {
                    wasmir_dialects::func::call(b, h, &[], &[]);
                }
                control::unreachable(b);
            },
            None,
        );
    }
    /// Runs `body(i)` for `i` in `0..count` (an i32), in order.
    pub fn counted_loop(&mut self, count: Value, mut body: impl FnMut(&mut Emit<'_, '_>, Value)) {
        let handler = self.handler;
        control::build_block(&mut self.b, &[], |b| {
            let empty = b.op1("arith.eqz", &[count], Type::I32, &[]);
            control::br_if(b, empty, 0, &[]);
            let zero = wasmir_dialects::arith::const_i32(b, 0);
            control::build_loop(b, &[zero], &[], |b, args| {
                let i = args[0];
                let mut inner =
                    Emit { b: Builder { ctx: b.ctx, body: &mut *b.body, ip: b.ip, loc: b.loc }, handler };
                body(&mut inner, i);
                let one = inner.i32(1);
                let next = inner.bin("addi", i, one);
                let more = inner.cmp("ult", next, count);
                control::br_if(&mut inner.b, more, 0, &[next]);
                control::yield_(&mut inner.b, &[]);
            });
            control::yield_(b, &[]);
        });
    }
}
