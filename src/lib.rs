//! WasmIR: an MLIR-style, multi-dialect compiler framework for WebAssembly.
//!
//! This facade re-exports what a frontend needs and wires the crates together: a [`context`]
//! with every dialect, the [`pass_registry`] with every pass, [`parse`], [`verify`] and
//! [`print`], and the [`driver`] behind `wasmir-opt`.
//!
//! # Building IR without text
//!
//! ```
//! use wasmir::dialects::{arith, func};
//! use wasmir::ir::{Module, Type};
//!
//! let ctx = wasmir::context();
//! let mut module = Module::new(&ctx);
//! // fn scale(x: i32) -> i32 { x * 3 + 1 }
//! func::build_func(&ctx, &mut module, "scale", &[Type::I32], &[Type::I32], |b, args| {
//!     let three = arith::const_i32(b, 3);
//!     let one = arith::const_i32(b, 1);
//!     let product = arith::muli(b, args[0], three);
//!     let sum = arith::addi(b, product, one);
//!     func::ret(b, &[sum]);
//! });
//! wasmir::verify(&ctx, &module).expect("the built IR is valid");
//! let text = wasmir::print(&ctx, &module);
//! assert_eq!(
//!     text,
//!     "module {
//!   func.func @scale(%arg0: i32) -> i32 {
//!     %0 = arith.constant 3 : i32
//!     %1 = arith.constant 1 : i32
//!     %2 = arith.muli %arg0, %0 : i32
//!     %3 = arith.addi %2, %1 : i32
//!     func.return %3 : i32
//!   }
//! }
//! "
//! );
//! // The text parses back to the same module.
//! let reparsed = wasmir::parse(&ctx, "scale.wir", &text).unwrap();
//! assert_eq!(wasmir::print(&ctx, &reparsed), text);
//! ```

pub mod driver;
pub mod run;

pub use wasmir_dialects as dialects;
pub use wasmir_frontends as frontends;
pub use wasmir_ir as ir;
pub use wasmir_lowering as lowering;
pub use wasmir_rewrites as rewrites;
pub use wasmir_verifier as verifier;

use wasmir_ir::pass::PassRegistry;
use wasmir_ir::printer::{PrintOptions, print_module};
use wasmir_ir::{Context, Diagnostic, Module};

/// A context with every dialect WasmIR implements.
pub fn context() -> Context {
    Context::new(wasmir_dialects::all_dialects())
}

/// Every registered pass.
pub fn pass_registry() -> PassRegistry {
    let mut registry = PassRegistry::new();
    wasmir_rewrites::register_passes(&mut registry);
    wasmir_lowering::legalize::register_passes(&mut registry);
    registry
}

/// Parses textual IR (custom or generic form) into a module. `name` is used in diagnostics.
pub fn parse(ctx: &Context, name: &str, text: &str) -> Result<Module, Diagnostic> {
    wasmir_ir::parser::parse_str(ctx, name, text)
}

/// Verifies a module; `Err` holds every error found.
pub fn verify(ctx: &Context, module: &Module) -> Result<(), Vec<Diagnostic>> {
    let errors = wasmir_verifier::verify_module(ctx, module);
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Prints a module in the custom form.
pub fn print(ctx: &Context, module: &Module) -> String {
    print_module(ctx, module, PrintOptions::default())
}

/// Every rewrite rule (dialect folders and patterns, rewrite passes, legalizations that rely
/// on the contract), each with the invariants it cites.
pub fn rewrite_rules(ctx: &Context) -> Vec<wasmir_ir::registry::RewriteRule> {
    let mut rules = wasmir_rewrites::registered_rules(ctx);
    rules.extend(wasmir_lowering::legalize::RULES.iter().map(|&(name, identity, citations)| {
        wasmir_ir::registry::RewriteRule { name: name.to_string(), identity, citations }
    }));
    rules
}

/// Legalizes a copy of `module` for `target` (regions, checks, atomics, ExternRef) and emits
/// a validated `.wasm` binary. `module` itself is left as it is.
pub fn compile_to_wasm(
    ctx: &Context,
    module: &Module,
    target: &wasmir_lowering::Target,
) -> Result<Vec<u8>, Vec<Diagnostic>> {
    let mut lowered = module.clone();
    if wasmir_lowering::legalize(ctx, &mut lowered, target)? {
        verify(ctx, &lowered)?;
    }
    wasmir_lowering::emit_wasm(ctx, &lowered).map_err(|d| vec![d])
}

/// Runs a textual pipeline (`"canonicalize,cse"`) with verification after each pass.
pub fn run_pipeline(ctx: &Context, module: &mut Module, pipeline: &str) -> Result<(), Vec<Diagnostic>> {
    let passes = pass_registry()
        .parse_pipeline(pipeline)
        .map_err(|e| vec![Diagnostic::error(wasmir_ir::Location::Unknown, e)])?;
    let mut pm = wasmir_ir::pass::PassManager::new(passes);
    pm.verify_with(Some(wasmir_verifier::verify_module));
    pm.run(ctx, module)
        .map(|_| ())
        .map_err(|(_, diagnostics)| diagnostics.into_iter().filter(Diagnostic::is_error).collect())
}
