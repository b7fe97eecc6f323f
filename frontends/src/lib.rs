//! Importers into WasmIR: `.wasm` binaries (validated by wasmparser) and `.wat` text (the wast
//! crate's parser and encoder, then the binary importer). This crate is the only one that reads Wasm input.

mod function;
mod liveness;
mod names;
mod ops;
mod simd;
pub mod wasm;

use wasmir_ir::{Context, Diagnostic, Location, Module};

pub use wasm::{MAX_BLOCK_NESTING, supported_features};

/// The input formats `wasmir-opt` reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// Textual WasmIR.
    Wir,
    /// WebAssembly text.
    Wat,
    /// A WebAssembly binary.
    Wasm,
}

impl InputFormat {
    /// The format a file name implies (`.wasm`, `.wat`/`.wast`), else WasmIR; bytes starting
    /// with `\0asm` are a binary whatever the name.
    pub fn detect(name: &str, bytes: &[u8]) -> Self {
        if bytes.starts_with(b"\0asm") || name.ends_with(".wasm") {
            InputFormat::Wasm
        } else if name.ends_with(".wat") || name.ends_with(".wast") {
            InputFormat::Wat
        } else {
            InputFormat::Wir
        }
    }
}

/// Imports a `.wasm` binary. Errors point at the byte offset where the problem is.
pub fn import_wasm(ctx: &Context, name: &str, bytes: &[u8]) -> Result<Module, Diagnostic> {
    let file = ctx.sources().add(name, "");
    wasm::import_wasm(ctx, file, bytes)
}

/// Imports WebAssembly text. Syntax errors point at the line and column.
pub fn import_wat(ctx: &Context, name: &str, text: &str) -> Result<Module, Diagnostic> {
    let file = ctx.sources().add(name, text);
    let error = |e: wast::Error| {
        let at = e.span().offset() as u32;
        Diagnostic::error(
            Location::Span { file, start: at, end: at },
            format!("invalid WebAssembly text: {}", e.message()),
        )
    };
    let buffer = wast::parser::ParseBuffer::new(text).map_err(error)?;
    let mut wat = wast::parser::parse::<wast::Wat<'_>>(&buffer).map_err(error)?;
    let bytes = wat.encode().map_err(error)?;
    let binary = ctx.sources().add(format!("{name} (as binary)"), "");
    wasm::import_wasm(ctx, binary, &bytes)
}
