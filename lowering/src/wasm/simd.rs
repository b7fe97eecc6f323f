//! `simd` ops to Wasm SIMD instructions. wasmparser's list of SIMD and relaxed-SIMD operators
//! (`for_each_visit_simd_operator!`) generates `OPERATORS`, which builds the operator of a
//! shape and family from the op's immediates; wasm-encoder's re-encoder turns it into the
//! instruction. No instruction is written here by hand.

use wasm_encoder::Instruction;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{MemArg, Operator, V128};

/// The immediates an op of the dialect holds, in wasmparser's form.
#[derive(Default, Debug)]
pub(crate) struct Immediates {
    pub memarg: Option<MemArg>,
    pub lane: Option<u8>,
    pub lanes: Option<[u8; 16]>,
    pub value: Option<V128>,
}

/// Builds one operator from its immediates (`None` when one it needs is missing).
type Build = fn(&Immediates) -> Option<Operator<'static>>;

macro_rules! define_operators {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// Every SIMD operator by its shape (`v128` for whole-vector instructions) and family
        /// (`i32x4_add` is `("i32x4", "add")` to wasmparser's visitor), with how to build it.
        static OPERATORS: std::sync::LazyLock<wasmir_ir::FxHashMap<(&'static str, &'static str), Build>> =
            std::sync::LazyLock::new(|| {
                [$((
                    stringify!($visit)["visit_".len()..].split_once('_').expect("<shape>_<family>"),
                    (|imm: &Immediates| {
                        let _ = imm;
                        Some(Operator::$op $({ $($arg: imm.$arg?),* })?)
                    }) as Build,
                )),*]
                .into_iter()
                .collect()
            });
    };
}

wasmparser::for_each_visit_simd_operator!(define_operators);

/// The instruction `<shape>.<family>` (`v128` for the whole-vector families) with these
/// immediates; `None` for an unknown instruction or a missing immediate.
pub(crate) fn instruction(shape: &str, family: &str, imm: &Immediates) -> Option<Instruction<'static>> {
    let op = OPERATORS.get(&(shape, family)).and_then(|build| build(imm))?;
    RoundtripReencoder.instruction(op).ok()
}
