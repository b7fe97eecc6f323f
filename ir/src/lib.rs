//! WasmIR core: context, arenas and handles, ops/regions/blocks/values, interned types and
//! attributes, the dialect registry, builder and rewriter, textual parser and printer,
//! diagnostics with locations, and the pass manager.
//!
//! # Data model
//!
//! A [`Context`] holds what all IR shares: the frozen [`Registry`] of dialects, and interned
//! [`Type`]s, [`Attr`]s and identifiers (equal things have equal `u32` handles). IR lives in
//! [`Body`] arenas: one per isolated scope. An op declared `ISOLATED_FROM_ABOVE` (a module,
//! a function) owns its regions in a child body, so handles ([`Op`], [`Block`], [`Region`],
//! [`Value`]) are local to the body that allocated them and function bodies can be rewritten
//! in parallel. Values are SSA with use lists; ops sit in blocks as a linked list, so
//! inserting, erasing and moving cost O(1) and replace-all-uses costs the number of uses.
//!
//! The crate knows no dialect: every op comes from an [`OpDef`] in the registry, and that one
//! declaration drives parsing, printing, verification and folding. The only op name it
//! mentions is [`MODULE_OP`], the top-level container.

mod attrs;
mod body;
mod builder;
mod context;
pub mod diagnostics;
pub mod docs;
mod entity;
mod interner;
pub mod lexer;
mod location;
mod module;
pub mod parser;
pub mod pass;
pub mod printer;
pub mod registry;
mod rewriter;
mod types;
mod view;
mod walk;

pub use attrs::{Attr, AttrData, Ident};

/// Recursive walks over nested regions (the parser, the printer, the translators) grow
/// their stack on the heap when less than this is left: enough for the deepest chain of
/// frames between two checks, which in a debug build (a backend's translation of one op)
/// takes a few hundred KiB ...
pub const STACK_RED_ZONE: usize = 1024 * 1024;
/// ... by this much at a time. So any nesting depth runs on any thread, a rayon worker's
/// small stack included.
pub const STACK_SEGMENT: usize = 8 * 1024 * 1024;
pub use body::{Block, BlockOps, Body, NewOp, Op, Region, Use, Value, ValueDef};
pub use builder::{Builder, InsertPoint};
pub use context::{Context, normalize_int};
pub use diagnostics::{Diagnostic, Severity};
pub use location::{FileId, Location, SourceFile, SourceMap};
pub use module::{MODULE_OP, Module, SymbolTable, is_private_symbol, symbol_name};
pub use registry::{OpDef, OpKind, Registry, Traits};
pub use rewriter::Rewriter;
pub use types::{FloatKind, Param, Signedness, Type, TypeData};
pub use view::{OpRef, group_range, group_ranges};
pub use walk::EnclosingLabels;

/// Re-exported so dialects and passes share one hash map and small-vector type.
pub use rustc_hash::{FxHashMap, FxHashSet};
pub use smallvec::{SmallVec, smallvec};
