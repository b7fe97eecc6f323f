//! `gc`: struct and array types with subtyping, and their two lowerings (WasmGC, or linear
//! memory with a handle table). Not registered yet: a later issue fills it.
