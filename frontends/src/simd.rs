//! SIMD operators to `simd` ops. wasmparser's own list of SIMD and relaxed-SIMD operators
//! (`for_each_visit_simd_operator!`) generates `decode`, which gives each operator's Wasm name
//! and immediates; the dialect's family table (dialects/src/simd/table.rs) gives the op, the
//! shape and the types. No instruction is written here by hand.

use wasmir_dialects::simd::{self, Family, Sig};
use wasmir_ir::{Context, Type};
use wasmparser::{MemArg, Operator};

/// The immediates of a SIMD operator, by wasmparser's names for them.
#[derive(Default, Debug)]
pub(crate) struct Immediates {
    pub memarg: Option<MemArg>,
    pub lane: Option<u8>,
    pub lanes: Option<[u8; 16]>,
    pub value: Option<wasmparser::V128>,
}

macro_rules! define_decode {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The name of a SIMD operator as wasmparser's visitor spells it (`i32x4_add`), and its
        /// immediates; `None` for every other operator.
        pub(crate) fn decode(op: &Operator<'_>) -> Option<(&'static str, Immediates)> {
            match op {
                $(
                    Operator::$op $({ $($arg),* })? => {
                        #[allow(unused_mut)]
                        let mut imm = Immediates::default();
                        $($( imm.$arg = Some(*$arg); )*)?
                        Some((&stringify!($visit)["visit_".len()..], imm))
                    }
                )*
                _ => None,
            }
        }
    };
}

wasmparser::for_each_visit_simd_operator!(define_decode);

/// The family and shape of a decoded name (`i32x4_add` is `add` at `i32x4`).
pub(crate) fn family_of(name: &str) -> Option<(&'static Family, Option<&'static str>)> {
    static BY_NAME: std::sync::LazyLock<
        wasmir_ir::FxHashMap<&'static str, (&'static Family, Option<&'static str>)>,
    > = std::sync::LazyLock::new(|| {
        wasmparser::for_each_visit_simd_operator!(every_name)
            .iter()
            .filter_map(|&name| {
                let (shape, family) = name.split_once('_')?;
                Some((name, simd::family_of_parts(shape, family)?))
            })
            .collect()
    });
    BY_NAME.get(name).copied()
}

macro_rules! every_name {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        &[$(&stringify!($visit)["visit_".len()..]),*]
    };
}
use every_name;

/// The type of the op's result, if it has one: the lane's scalar type for `extract_lane`,
/// `i32` for the tests, no result for stores, `!simd.v128` for the rest.
pub(crate) fn result_type(ctx: &Context, family: &Family, shape: Option<&str>) -> Option<Type> {
    match family.sig {
        Sig::Store | Sig::StoreLane => None,
        Sig::Test => Some(Type::I32),
        Sig::ExtractLane => shape.and_then(simd::shape_lanes).map(|(_, ty)| ty),
        _ => Some(simd::v128(ctx)),
    }
}

/// How many operands the op takes from the stack.
pub(crate) fn arity(family: &Family) -> usize {
    match family.sig {
        Sig::Const => 0,
        Sig::Unary | Sig::Test | Sig::Splat | Sig::ExtractLane | Sig::Load => 1,
        Sig::Binary
        | Sig::Shift
        | Sig::ReplaceLane
        | Sig::Shuffle
        | Sig::Store
        | Sig::LoadLane
        | Sig::StoreLane => 2,
        Sig::Ternary => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::every_name;

    /// Every SIMD and relaxed-SIMD operator wasmparser knows is one family at one shape of the
    /// dialect's table, and every family and shape of the table is an operator.
    #[test]
    fn the_family_table_covers_every_simd_operator() {
        let names: &[&str] = wasmparser::for_each_visit_simd_operator!(every_name);
        assert_eq!(names.len(), 256, "236 SIMD and 20 relaxed-SIMD instructions");
        let mut pairs = std::collections::BTreeSet::new();
        for name in names {
            let (family, shape) = super::family_of(name).unwrap_or_else(|| panic!("`{name}` has no family"));
            assert!(pairs.insert((family.name, shape)), "`{name}` maps to a pair another name has");
        }
        let declared: usize = wasmir_dialects::simd::FAMILIES.iter().map(|f| f.shapes.len()).sum();
        assert_eq!(declared, names.len(), "the table declares a family and shape no operator has");
    }
}
