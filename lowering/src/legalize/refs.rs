//! `lower-refs`: ExternRef values and the managed reference table.
//!
//! With `reference-types`, `!refs.externref<T>` becomes Wasm's `externref` (so a reference
//! passed straight to an import needs no table slot), and the handle ops, when a function
//! uses them, get a module-owned table `@__wasmir_refs` of `externref` with slot 0 kept null,
//! plus two helper functions (allocation reuses released slots, found from a hint, before it
//! grows the table). Without `reference-types`, the host owns the table: an ExternRef is an
//! `i32` slot of it everywhere, `refs.to_handle`/`refs.from_handle` are that slot itself, and
//! `refs.release_handle` calls the import `"wasmir:refs" "release"`.

use super::target::Capabilities;
use super::{Target, any_op, convert_types, functions};
use wasmir_dialects::refs;
use wasmir_ir::{Body, Builder, Context, Diagnostic, FxHashMap, Module, Op, Type, Value};

const TABLE: &str = "__wasmir_refs";
const ALLOC: &str = "__wasmir_refs_alloc";
const RELEASE: &str = "__wasmir_refs_release";

/// The managed table's helpers for hosts with reference types, in WasmIR text.
const RUNTIME: &str = r#"
global.global @__wasmir_refs_hint mut : i32 {
  %0 = arith.constant 1 : i32
  control.yield %0 : i32
}
refs.table @__wasmir_refs : i32, !refs.ref<null, extern> {min = 1 : u64}
func.func private @__wasmir_refs_alloc(%arg0: !refs.ref<null, extern>) -> i32 {
  %0 = refs.is_null %arg0 : !refs.ref<null, extern>
  control.if %0 {
    %1 = arith.constant 0 : i32
    func.return %1 : i32
  }
  %2 = refs.table_size @__wasmir_refs : i32
  %3 = global.get @__wasmir_refs_hint : i32
  control.block {
    control.loop (%arg1: i32 = %3) {
      %4 = arith.cmpi uge, %arg1, %2 : i32
      control.br_if %4, 1
      %5 = refs.table_get @__wasmir_refs, %arg1 : !refs.ref<null, extern>
      %6 = refs.is_null %5 : !refs.ref<null, extern>
      control.if %6 {
        refs.table_set @__wasmir_refs, %arg1, %arg0 : !refs.ref<null, extern>
        %7 = arith.constant 1 : i32
        %8 = arith.addi %arg1, %7 : i32
        global.set @__wasmir_refs_hint, %8 : i32
        func.return %arg1 : i32
      }
      %9 = arith.constant 1 : i32
      %10 = arith.addi %arg1, %9 : i32
      control.br 0 (%10 : i32)
    }
    control.yield
  }
  %11 = arith.constant 1 : i32
  %12 = refs.table_grow @__wasmir_refs, %arg0, %11 : (!refs.ref<null, extern>, i32) -> i32
  %13 = arith.constant -1 : i32
  %14 = arith.cmpi eq, %12, %13 : i32
  control.if %14 {
    control.unreachable
  }
  %15 = arith.constant 1 : i32
  %16 = arith.addi %12, %15 : i32
  global.set @__wasmir_refs_hint, %16 : i32
  func.return %12 : i32
}
func.func private @__wasmir_refs_release(%arg0: i32) {
  %0 = arith.constant 0 : i32
  %1 = arith.cmpi eq, %arg0, %0 : i32
  control.if %1 {
    func.return
  }
  %2 = refs.null : !refs.ref<null, extern>
  refs.table_set @__wasmir_refs, %arg0, %2 : !refs.ref<null, extern>
  %3 = global.get @__wasmir_refs_hint : i32
  %4 = arith.cmpi ult, %arg0, %3 : i32
  control.if %4 {
    global.set @__wasmir_refs_hint, %arg0 : i32
    control.yield
  }
  func.return
}
"#;

pub(crate) fn lower_refs(ctx: &Context, module: &mut Module, target: &Target) -> Vec<Diagnostic> {
    let has_refs = target.has(Capabilities::REFERENCE_TYPES);
    let uses_handles = any_op(ctx, module, &is_handle_op);
    if uses_handles {
        if let Err(e) = add_runtime(ctx, module, if has_refs { RUNTIME } else { HOST_RUNTIME }) {
            return vec![e];
        }
        for func in functions(ctx, module) {
            let Some(body) = module.body_mut().child_mut(func) else { continue };
            lower_handle_ops(ctx, body, has_refs);
        }
    }
    let lowered = if has_refs { refs::externref(ctx) } else { Type::I32 };
    convert_types(ctx, module, &|ty| refs::externref_type(ctx, ty).map(|_| lowered));
    Vec::new()
}

fn lower_handle_ops(ctx: &Context, body: &mut Body, has_refs: bool) {
    let ops: Vec<Op> =
        body.preorder().into_iter().filter(|&op| is_handle_op(ctx.op_def(body.op_kind(op)).name)).collect();
    for op in ops {
        let name = ctx.op_def(body.op_kind(op)).name;
        let operand = body.operands(op)[0];
        let mut b = Builder::before(ctx, body, op);
        b.loc = b.body.op_loc(op);
        let results: Vec<Value> = match (name, has_refs) {
            ("refs.to_handle", true) => wasmir_dialects::func::call(&mut b, ALLOC, &[operand], &[Type::I32]),
            ("refs.from_handle", true) => {
                let table = ctx.symbol_ref_attr(TABLE);
                vec![b.op1("refs.table_get", &[operand], refs::externref(ctx), &[("table", table)])]
            }
            ("refs.release_handle", _) => {
                wasmir_dialects::func::call(&mut b, RELEASE, &[operand], &[]);
                vec![]
            }
            // Without reference types the reference is already a host slot.
            _ => vec![operand],
        };
        body.replace_op(op, &results);
    }
}

/// The managed reference table's ops.
pub(crate) fn is_handle_op(name: &str) -> bool {
    matches!(name, "refs.to_handle" | "refs.from_handle" | "refs.release_handle")
}

/// The host's release function, for hosts without reference types.
const HOST_RUNTIME: &str =
    r#"func.func private @__wasmir_refs_release(i32) attributes {import = ["wasmir:refs", "release"]}"#;

/// Adds the runtime `text` declares to the module (once).
fn add_runtime(ctx: &Context, module: &mut Module, text: &str) -> Result<(), Diagnostic> {
    let body = module.body();
    if body.block_ops(module.block()).any(|op| wasmir_ir::symbol_name(ctx, body, op) == Some(RELEASE)) {
        return Ok(());
    }
    let runtime = wasmir_ir::parser::parse_str(ctx, "<wasmir refs runtime>", text)?;
    let from = runtime.body();
    let to_block = module.block();
    let mut values = FxHashMap::default();
    for op in from.block_ops(runtime.block()) {
        let copied = module.body_mut().copy_op_from(from, op, &mut values);
        module.body_mut().append_op(to_block, copied);
    }
    Ok(())
}
