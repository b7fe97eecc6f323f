//! `simd`: v128 with lane shapes and the Wasm SIMD instruction set, plus the scalar fallback
//! used when the target lacks SIMD. Not registered yet: a later issue fills it.
