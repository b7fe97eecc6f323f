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

/// Builds one operator from its immediates (`None` when one it needs is missing).
type Build = fn(&Immediates) -> Option<Operator<'static>>;

macro_rules! define_operators {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// Every SIMD operator by the name wasmparser's visitor gives it after `visit_`
        /// (`i32x4_add`), with how to build it.
        static OPERATORS: std::sync::LazyLock<wasmir_ir::FxHashMap<&'static str, Build>> =
            std::sync::LazyLock::new(|| {
                [$((
                    &stringify!($visit)["visit_".len()..],
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

/// The SIMD operator named `name`, with these immediates.
fn operator(name: &str, imm: &Immediates) -> Option<Operator<'static>> {
    OPERATORS.get(name).and_then(|build| build(imm))
}

/// The instruction of the Wasm SIMD instruction named `<shape>_<family>`.
pub(crate) fn instruction(name: &str, imm: &Immediates) -> Option<Instruction<'static>> {
    let op = operator(name, imm)?;
    RoundtripReencoder.instruction(op).ok()
}
