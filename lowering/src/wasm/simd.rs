//! `simd` ops to Wasm SIMD instructions. wasmparser's list of SIMD and relaxed-SIMD operators
//! (`for_each_visit_simd_operator!`) generates `operator`, which builds the operator of a Wasm
//! name from the op's immediates; wasm-encoder's re-encoder turns it into the instruction. The
//! family table (dialects/src/simd/table.rs) gives the name of an op's instruction. No
//! instruction is written here by hand.

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

macro_rules! define_operator {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The SIMD operator wasmparser's visitor calls `visit_<name>` (`i32x4_add`), with these
        /// immediates; `None` for an unknown name or a missing immediate.
        fn operator(name: &str, imm: &Immediates) -> Option<Operator<'static>> {
            let _ = imm;
            Some(match name {
                $( n if n == &stringify!($visit)["visit_".len()..] => Operator::$op $({ $($arg: imm.$arg?),* })?, )*
                _ => return None,
            })
        }
    };
}

wasmparser::for_each_visit_simd_operator!(define_operator);

/// The instruction of the Wasm SIMD instruction named `<shape>_<family>`.
pub(crate) fn instruction(name: &str, imm: &Immediates) -> Option<Instruction<'static>> {
    let op = operator(name, imm)?;
    RoundtripReencoder.instruction(op).ok()
}
