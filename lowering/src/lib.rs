//! Lowerings out of WasmIR: `.wasm` through wasm-encoder (validated with wasmparser before it
//! is returned), `.wat` through wasmprinter, and native code through Cranelift (CLIF text, a
//! JIT that runs exported functions, relocatable objects). LLVM and WIT arrive with later
//! issues. This crate is the only one that depends on wasm-encoder, cranelift or inkwell.

pub mod cranelift;
pub mod legalize;
#[cfg(feature = "llvm")]
pub mod llvm;
pub mod native;
pub mod wasm;

pub use legalize::{Capabilities, Target, legalize};
pub use wasm::size::{SizeReport, size_report};
pub use wasm::{emit_wasm, emit_wat, print_wat};
