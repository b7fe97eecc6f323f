//! Importers into WasmIR: `.wasm` (wasmparser) and `.wat` (wat).
//!
//! This crate is deliberately empty until the Wasm round-trip issue fills it. It is the only
//! crate that may depend on wasmparser or wat for input (see ARCHITECTURE.md).
