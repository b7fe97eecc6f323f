//! `bounds-checks-explicit`, which puts a `memory.check` before every memory access, and
//! `count-checks`, which counts the checks a run executes: the passes around `bce`.

use wasmir_ir::pass::{FunctionPass, FunctionUnit, ModulePass};
use wasmir_ir::{Builder, Context, Diagnostic, Module, Op, Type};

/// The global `count-checks` adds and exports.
pub const CHECK_COUNTER: &str = "__wasmir_checks";

/// `count-checks`: instruments a module so that a run reports how many checks it executed
/// (how `bce`'s dynamic effect is measured).
#[derive(Debug, Clone, Copy)]
pub struct CountChecks;

impl ModulePass for CountChecks {
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic> {
        if wasmir_ir::SymbolTable::build(ctx, module.body(), module.block()).lookup(CHECK_COUNTER).is_some() {
            return vec![Diagnostic::error(
                wasmir_ir::Location::Unknown,
                format!("count-checks: the module already has a symbol `@{CHECK_COUNTER}`"),
            )];
        }
        let funcs: Vec<Op> = {
            let body = module.body();
            body.block_ops(module.block()).filter(|&op| body.child(op).is_some()).collect()
        };
        for func in funcs {
            let Some(body) = module.body_mut().child_mut(func) else { continue };
            for op in body.preorder() {
                if ctx.op_def(body.op_kind(op)).name != "memory.check" {
                    continue;
                }
                let counter = ctx.symbol_ref_attr(CHECK_COUNTER);
                let mut b = Builder::before(ctx, body, op);
                b.loc = b.body.op_loc(op);
                let count = b.op1("global.get", &[], Type::I64, &[("global", counter)]);
                let one = b.op1("arith.constant", &[], Type::I64, &[("value", ctx.int_attr(1, Type::I64))]);
                let next = b.op1("arith.addi", &[count, one], Type::I64, &[]);
                b.op("global.set", &[next], &[], &[("global", counter)]);
            }
        }
        wasmir_dialects::global::build_global(ctx, module, CHECK_COUNTER, Type::I64, true, 0);
        wasmir_dialects::wasm::export(ctx, module, CHECK_COUNTER, CHECK_COUNTER);
        Vec::new()
    }
}

/// `bounds-checks-explicit`.
#[derive(Debug, Clone, Copy)]
pub struct BoundsChecksExplicit;

impl FunctionPass for BoundsChecksExplicit {
    fn run(&self, ctx: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic> {
        let body = &mut *func.body;
        for op in body.preorder() {
            let name = ctx.op_def(body.op_kind(op)).name;
            let attrs = body.op_attrs(op);
            let get = |n: &str| ctx.dict_get(attrs, n);
            match name {
                "memory.load"
                | "memory.store"
                | "memory.atomic_load"
                | "memory.atomic_store"
                | "memory.atomic_rmw"
                | "memory.atomic_cmpxchg"
                | "memory.atomic_wait"
                | "memory.atomic_notify" => {
                    let value_type = match name {
                        "memory.load" | "memory.atomic_load" => body.value_type(body.results(op)[0]),
                        "memory.atomic_notify" => Type::I32,
                        _ => body.value_type(body.operands(op)[1]),
                    };
                    let full = if matches!(value_type, Type::I64 | Type::F64) { 64 } else { 32 };
                    let width = get("width").and_then(|a| ctx.attr_as_int(a)).unwrap_or(full);
                    let mut check_attrs = vec![
                        ("memory", get("memory").expect("verified accesses name their memory")),
                        ("size", ctx.int_attr(width / 8, Type::U32)),
                    ];
                    check_attrs.extend(get("offset").map(|o| ("offset", o)));
                    let address = body.operands(op)[0];
                    let mut b = Builder::before(ctx, body, op);
                    b.loc = b.body.op_loc(op);
                    b.op("memory.check", &[address], &[], &check_attrs);
                }
                // A SIMD access reads or writes the bytes its family says (16 for `v128.load`,
                // 8 for `load8x8_s`, 4 for `load32_splat` or `store32_lane`).
                _ if let Some(bytes) = wasmir_dialects::simd::family(name)
                    .filter(|f| f.accesses_memory())
                    .and_then(wasmir_dialects::simd::access_bytes) =>
                {
                    let mut check_attrs = vec![
                        ("memory", get("memory").expect("verified accesses name their memory")),
                        ("size", ctx.int_attr(i64::from(bytes), Type::U32)),
                    ];
                    check_attrs.extend(get("offset").map(|o| ("offset", o)));
                    let address = body.operands(op)[0];
                    let mut b = Builder::before(ctx, body, op);
                    b.loc = b.body.op_loc(op);
                    b.op("memory.check", &[address], &[], &check_attrs);
                }
                "memory.elem_load" | "memory.elem_store" if get("unchecked").is_none() => {
                    let (region, index) = (body.operands(op)[0], body.operands(op)[1]);
                    let mut b = Builder::before(ctx, body, op);
                    b.loc = b.body.op_loc(op);
                    b.op("memory.check", &[region, index], &[], &[]);
                    let unchecked = ctx.dict_with(attrs, "unchecked", Some(wasmir_ir::Attr::UNIT));
                    body.set_attrs(op, unchecked);
                }
                _ => {}
            }
        }
        Vec::new()
    }
}
