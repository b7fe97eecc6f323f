//! What the native backends (Cranelift, LLVM) share: the module layout and `vmctx` slots the
//! generated code reads, and the runtime that instantiates a module and calls into it.

pub mod layout;
pub mod runtime;

pub use layout::{Imports, Layout, MAX_CALL_DEPTH};
pub use runtime::{CallOutcome, Instance, TrapCode};

/// An integer word of a runtime function's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    I32,
    I64,
}

/// Host functions the generated code calls (`wasmir_rt_*`), each taking `vmctx` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Libcall {
    /// (vmctx, memory, delta: i64) -> i64 old pages or -1
    MemoryGrow,
    /// (vmctx, memory, dst: i64, value: i32, len: i64)
    MemoryFill,
    /// (vmctx, dst memory, src memory, dst: i64, src: i64, len: i64)
    MemoryCopy,
    /// (vmctx, memory, segment, dst: i64, src: i32, len: i32)
    MemoryInit,
    /// (vmctx, segment)
    DataDrop,
    /// (vmctx, table, init: i64, delta: i32) -> i32 old size or -1
    TableGrow,
    /// (vmctx, table, dst: i32, value: i64, len: i32)
    TableFill,
    /// (vmctx, dst table, src table, dst: i32, src: i32, len: i32)
    TableCopy,
    /// (vmctx, table, segment, dst: i32, src: i32, len: i32)
    TableInit,
    /// (vmctx, segment)
    ElemDrop,
}

impl Libcall {
    pub const ALL: [Libcall; 10] = [
        Libcall::MemoryGrow,
        Libcall::MemoryFill,
        Libcall::MemoryCopy,
        Libcall::MemoryInit,
        Libcall::DataDrop,
        Libcall::TableGrow,
        Libcall::TableFill,
        Libcall::TableCopy,
        Libcall::TableInit,
        Libcall::ElemDrop,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            Libcall::MemoryGrow => "wasmir_rt_memory_grow",
            Libcall::MemoryFill => "wasmir_rt_memory_fill",
            Libcall::MemoryCopy => "wasmir_rt_memory_copy",
            Libcall::MemoryInit => "wasmir_rt_memory_init",
            Libcall::DataDrop => "wasmir_rt_data_drop",
            Libcall::TableGrow => "wasmir_rt_table_grow",
            Libcall::TableFill => "wasmir_rt_table_fill",
            Libcall::TableCopy => "wasmir_rt_table_copy",
            Libcall::TableInit => "wasmir_rt_table_init",
            Libcall::ElemDrop => "wasmir_rt_elem_drop",
        }
    }

    /// Parameter and result words (`vmctx` first).
    pub fn params(self) -> (&'static [Word], &'static [Word]) {
        use Word::{I32, I64};
        match self {
            Libcall::MemoryGrow => (&[I64, I32, I64], &[I64]),
            Libcall::MemoryFill => (&[I64, I32, I64, I32, I64], &[]),
            Libcall::MemoryCopy => (&[I64, I32, I32, I64, I64, I64], &[]),
            Libcall::MemoryInit => (&[I64, I32, I32, I64, I32, I32], &[]),
            Libcall::DataDrop | Libcall::ElemDrop => (&[I64, I32], &[]),
            Libcall::TableGrow => (&[I64, I32, I64, I32], &[I32]),
            Libcall::TableFill => (&[I64, I32, I32, I64, I32], &[]),
            Libcall::TableCopy | Libcall::TableInit => (&[I64, I32, I32, I32, I32, I32], &[]),
        }
    }
}

/// Exclusive bounds `(lo, hi)` of the floats (f32 when `from_f32`) that truncate to an integer
/// (i32 when `to_i32`) without trapping.
pub fn trunc_bounds(from_f32: bool, to_i32: bool, signed: bool) -> (f64, f64) {
    match (to_i32, signed, from_f32) {
        (true, true, true) => (-2147483904.0, 2147483648.0),
        (true, true, false) => (-2147483649.0, 2147483648.0),
        (true, false, _) => (-1.0, 4294967296.0),
        (false, true, true) => (-9223373136366403584.0, 9223372036854775808.0),
        (false, true, false) => (-9223372036854777856.0, 9223372036854775808.0),
        (false, false, _) => (-1.0, 18446744073709551616.0),
    }
}
