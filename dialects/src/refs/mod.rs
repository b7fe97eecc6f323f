//! `refs`: externref, funcref, typed function references, tables, `call_indirect`, `call_ref`,
//! and `ExternRef<T>`/`FuncRef` handles. Filled by the round-trip and memory/refs issues.
