//! Lowerings out of WasmIR: `.wasm` (wasm-encoder), Cranelift, LLVM (inkwell) and WIT.
//!
//! This crate is deliberately empty until the Wasm round-trip issue fills it. It is the only
//! crate that may depend on wasm-encoder, cranelift or inkwell (see ARCHITECTURE.md).
