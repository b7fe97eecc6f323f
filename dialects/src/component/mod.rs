//! `component`: WIT-level types, imports and exports, canonical-ABI lift/lower, and use-once
//! resources. Not registered yet: a later issue fills it.
