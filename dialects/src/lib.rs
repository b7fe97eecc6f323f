//! WasmIR dialects, one folder each. Every op is declared once, as an [`OpDef`] table entry,
//! next to its folders, canonicalization patterns and typed builder functions.
//!
//! Registered now: `builtin` (module), `func` (functions, calls, returns), `arith`
//! (Wasm-exact numeric ops), `control` (structured control flow), `global`, `wasm`, and three
//! of the Wasm-native five: `memory` (memories and their kinds, typed regions, checks,
//! atomics), `refs` (references, tables, ExternRef and the managed reference table) and
//! `simd` (v128 and the SIMD instruction families). `gc` and `component` have their folders
//! and module docs; later issues fill them (see ARCHITECTURE.md).
//!
//! [`OpDef`]: wasmir_ir::OpDef

pub mod arith;
pub mod builtin;
pub mod component;
pub mod control;
pub mod func;
pub mod gc;
pub mod global;
pub mod memory;
pub mod refs;
pub mod simd;
pub mod wasm;

use wasmir_ir::Registry;

/// A registry with every dialect this crate implements.
pub fn all_dialects() -> Registry {
    let mut r = Registry::new();
    r.register(&builtin::DIALECT)
        .register(&func::DIALECT)
        .register(&arith::DIALECT)
        .register(&control::DIALECT)
        .register(&global::DIALECT)
        .register(&memory::DIALECT)
        .register(&refs::DIALECT)
        .register(&simd::DIALECT)
        .register(&wasm::DIALECT);
    r
}
