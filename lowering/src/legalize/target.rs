//! Targets: host profiles (`browser`, `node`, `wasmtime`, `embedded`) as capability sets, with
//! `+cap`/`-cap` overrides (`--target=wasmtime,-simd,+threads`).

use std::fmt;

bitflags::bitflags! {
    /// What a host can run. Capabilities are opt-in: a target has exactly the ones its profile
    /// lists plus the ones added with `+cap`.
    #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
    pub struct Capabilities: u32 {
        /// Shared memories, atomics, wait and notify (the threads proposal).
        const THREADS = 1 << 0;
        /// 128-bit SIMD.
        const SIMD = 1 << 1;
        /// WasmGC: struct and array types.
        const GC = 1 << 2;
        /// `externref`, `funcref` values, several tables and table instructions.
        const REFERENCE_TYPES = 1 << 3;
        /// memory.copy, memory.fill, memory.init, data.drop and the table counterparts.
        const BULK_MEMORY = 1 << 4;
        /// More than one memory.
        const MULTI_MEMORY = 1 << 5;
        /// 64-bit memories and tables.
        const MEMORY64 = 1 << 6;
        /// return_call and its indirect forms.
        const TAIL_CALL = 1 << 7;
        /// The component model (components, WIT interfaces, canonical ABI).
        const COMPONENT_MODEL = 1 << 8;
        /// Exception handling.
        const EXCEPTIONS = 1 << 9;
        /// Typed function references, call_ref, br_on_null.
        const FUNCTION_REFERENCES = 1 << 10;
        /// Several results and block parameters.
        const MULTI_VALUE = 1 << 11;
    }
}

/// Every capability with its spelling in `--target`.
pub const CAPABILITY_NAMES: &[(&str, Capabilities)] = &[
    ("threads", Capabilities::THREADS),
    ("simd", Capabilities::SIMD),
    ("gc", Capabilities::GC),
    ("reference-types", Capabilities::REFERENCE_TYPES),
    ("bulk-memory", Capabilities::BULK_MEMORY),
    ("multi-memory", Capabilities::MULTI_MEMORY),
    ("memory64", Capabilities::MEMORY64),
    ("tail-call", Capabilities::TAIL_CALL),
    ("component-model", Capabilities::COMPONENT_MODEL),
    ("exceptions", Capabilities::EXCEPTIONS),
    ("function-references", Capabilities::FUNCTION_REFERENCES),
    ("multi-value", Capabilities::MULTI_VALUE),
];

/// The host profiles and what each runs by default.
pub const PROFILES: &[(&str, Capabilities)] = &[
    // Current browsers without cross-origin isolation (so no shared memory), and without
    // multi-memory (not in every engine) or the component model.
    (
        "browser",
        Capabilities::SIMD
            .union(Capabilities::GC)
            .union(Capabilities::REFERENCE_TYPES)
            .union(Capabilities::BULK_MEMORY)
            .union(Capabilities::MEMORY64)
            .union(Capabilities::TAIL_CALL)
            .union(Capabilities::EXCEPTIONS)
            .union(Capabilities::FUNCTION_REFERENCES)
            .union(Capabilities::MULTI_VALUE),
    ),
    // Node.js: V8 as in browsers, with threads (worker_threads and SharedArrayBuffer) and
    // multi-memory.
    (
        "node",
        Capabilities::THREADS
            .union(Capabilities::SIMD)
            .union(Capabilities::GC)
            .union(Capabilities::REFERENCE_TYPES)
            .union(Capabilities::BULK_MEMORY)
            .union(Capabilities::MULTI_MEMORY)
            .union(Capabilities::MEMORY64)
            .union(Capabilities::TAIL_CALL)
            .union(Capabilities::EXCEPTIONS)
            .union(Capabilities::FUNCTION_REFERENCES)
            .union(Capabilities::MULTI_VALUE),
    ),
    // Wasmtime: everything WasmIR can emit.
    ("wasmtime", Capabilities::all()),
    // Small interpreters and microcontroller runtimes: Wasm 1.0 with multi-value.
    ("embedded", Capabilities::MULTI_VALUE),
];

/// A target: the profile as the user spelled it, and its capabilities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The spelling, e.g. `wasmtime,-simd`, for diagnostics.
    pub spec: String,
    pub capabilities: Capabilities,
}

impl Target {
    /// Parses `PROFILE[,+cap|-cap...]`.
    pub fn parse(spec: &str) -> Result<Target, String> {
        let mut parts = spec.split(',').map(str::trim);
        let profile = parts.next().unwrap_or_default();
        let Some(&(_, mut capabilities)) = PROFILES.iter().find(|(name, _)| *name == profile) else {
            return Err(format!(
                "unknown target `{profile}`; the profiles are {}",
                PROFILES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ));
        };
        for part in parts {
            let (add, name) = match part.split_at_checked(1) {
                Some(("+", name)) => (true, name),
                Some(("-", name)) => (false, name),
                _ => return Err(format!("`{part}`: a capability override is `+name` or `-name`")),
            };
            let Some(&(_, cap)) = CAPABILITY_NAMES.iter().find(|(n, _)| *n == name) else {
                return Err(format!(
                    "unknown capability `{name}`; the capabilities are {}",
                    CAPABILITY_NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ));
            };
            capabilities.set(cap, add);
        }
        Ok(Target { spec: spec.to_string(), capabilities })
    }

    /// Whether the target has `cap`.
    pub fn has(&self, cap: Capabilities) -> bool {
        self.capabilities.contains(cap)
    }
}

impl Default for Target {
    /// `wasmtime`, the profile the tests execute on.
    fn default() -> Self {
        Target::parse("wasmtime").expect("a built-in profile")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

/// The spelling of a single capability.
pub fn capability_name(cap: Capabilities) -> &'static str {
    CAPABILITY_NAMES.iter().find(|(_, c)| *c == cap).map_or("?", |(n, _)| n)
}
