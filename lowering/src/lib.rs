//! Lowerings out of WasmIR. Now: `.wasm` through wasm-encoder (validated with wasmparser
//! before it is returned) and `.wat` through wasmprinter. Cranelift, LLVM and WIT arrive with
//! later issues. This crate is the only one that depends on wasm-encoder, cranelift or inkwell.

pub mod legalize;
pub mod wasm;

pub use legalize::{Capabilities, Target, legalize};
pub use wasm::{emit_wasm, emit_wat};
