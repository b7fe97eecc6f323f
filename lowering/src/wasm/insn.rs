//! Instruction selection for `arith`: each op and type to its Wasm instruction.

use wasm_encoder::{Instruction as I, MemArg};
use wasmir_ir::Type;

/// The Wasm instruction of an `arith` op, from its short name, the type of its first operand
/// (`from`), its result type (`to`) and its predicate, if any.
pub(crate) fn arith(short: &str, from: Type, to: Type, predicate: Option<&str>) -> Option<I<'static>> {
    use Type as T;
    let (i32_, i64_, f32_, f64_) = (from == T::I32, from == T::I64, from == T::F32, from == T::F64);
    Some(match short {
        "eqz" if i32_ => I::I32Eqz,
        "eqz" if i64_ => I::I64Eqz,
        "cmpi" => match (predicate?, i64_) {
            ("eq", false) => I::I32Eq,
            ("ne", false) => I::I32Ne,
            ("slt", false) => I::I32LtS,
            ("ult", false) => I::I32LtU,
            ("sgt", false) => I::I32GtS,
            ("ugt", false) => I::I32GtU,
            ("sle", false) => I::I32LeS,
            ("ule", false) => I::I32LeU,
            ("sge", false) => I::I32GeS,
            ("uge", false) => I::I32GeU,
            ("eq", true) => I::I64Eq,
            ("ne", true) => I::I64Ne,
            ("slt", true) => I::I64LtS,
            ("ult", true) => I::I64LtU,
            ("sgt", true) => I::I64GtS,
            ("ugt", true) => I::I64GtU,
            ("sle", true) => I::I64LeS,
            ("ule", true) => I::I64LeU,
            ("sge", true) => I::I64GeS,
            ("uge", true) => I::I64GeU,
            _ => return None,
        },
        "cmpf" => match (predicate?, f64_) {
            ("eq", false) => I::F32Eq,
            ("ne", false) => I::F32Ne,
            ("lt", false) => I::F32Lt,
            ("gt", false) => I::F32Gt,
            ("le", false) => I::F32Le,
            ("ge", false) => I::F32Ge,
            ("eq", true) => I::F64Eq,
            ("ne", true) => I::F64Ne,
            ("lt", true) => I::F64Lt,
            ("gt", true) => I::F64Gt,
            ("le", true) => I::F64Le,
            ("ge", true) => I::F64Ge,
            _ => return None,
        },
        _ if i32_ && to == T::I32 => i32_op(short)?,
        _ if i64_ && to == T::I64 => i64_op(short)?,
        _ if f32_ && to == T::F32 => f32_op(short)?,
        _ if f64_ && to == T::F64 => f64_op(short)?,
        _ => conversion(short, from, to)?,
    })
}

fn i32_op(short: &str) -> Option<I<'static>> {
    Some(match short {
        "clz" => I::I32Clz,
        "ctz" => I::I32Ctz,
        "popcnt" => I::I32Popcnt,
        "addi" => I::I32Add,
        "subi" => I::I32Sub,
        "muli" => I::I32Mul,
        "divsi" => I::I32DivS,
        "divui" => I::I32DivU,
        "remsi" => I::I32RemS,
        "remui" => I::I32RemU,
        "andi" => I::I32And,
        "ori" => I::I32Or,
        "xori" => I::I32Xor,
        "shli" => I::I32Shl,
        "shrsi" => I::I32ShrS,
        "shrui" => I::I32ShrU,
        "rotli" => I::I32Rotl,
        "rotri" => I::I32Rotr,
        "extend8_s" => I::I32Extend8S,
        "extend16_s" => I::I32Extend16S,
        _ => return None,
    })
}

fn i64_op(short: &str) -> Option<I<'static>> {
    Some(match short {
        "clz" => I::I64Clz,
        "ctz" => I::I64Ctz,
        "popcnt" => I::I64Popcnt,
        "addi" => I::I64Add,
        "subi" => I::I64Sub,
        "muli" => I::I64Mul,
        "divsi" => I::I64DivS,
        "divui" => I::I64DivU,
        "remsi" => I::I64RemS,
        "remui" => I::I64RemU,
        "andi" => I::I64And,
        "ori" => I::I64Or,
        "xori" => I::I64Xor,
        "shli" => I::I64Shl,
        "shrsi" => I::I64ShrS,
        "shrui" => I::I64ShrU,
        "rotli" => I::I64Rotl,
        "rotri" => I::I64Rotr,
        "extend8_s" => I::I64Extend8S,
        "extend16_s" => I::I64Extend16S,
        "extend32_s" => I::I64Extend32S,
        _ => return None,
    })
}

fn f32_op(short: &str) -> Option<I<'static>> {
    Some(match short {
        "absf" => I::F32Abs,
        "negf" => I::F32Neg,
        "ceilf" => I::F32Ceil,
        "floorf" => I::F32Floor,
        "truncf" => I::F32Trunc,
        "nearestf" => I::F32Nearest,
        "sqrtf" => I::F32Sqrt,
        "addf" => I::F32Add,
        "subf" => I::F32Sub,
        "mulf" => I::F32Mul,
        "divf" => I::F32Div,
        "minf" => I::F32Min,
        "maxf" => I::F32Max,
        "copysign" => I::F32Copysign,
        _ => return None,
    })
}

fn f64_op(short: &str) -> Option<I<'static>> {
    Some(match short {
        "absf" => I::F64Abs,
        "negf" => I::F64Neg,
        "ceilf" => I::F64Ceil,
        "floorf" => I::F64Floor,
        "truncf" => I::F64Trunc,
        "nearestf" => I::F64Nearest,
        "sqrtf" => I::F64Sqrt,
        "addf" => I::F64Add,
        "subf" => I::F64Sub,
        "mulf" => I::F64Mul,
        "divf" => I::F64Div,
        "minf" => I::F64Min,
        "maxf" => I::F64Max,
        "copysign" => I::F64Copysign,
        _ => return None,
    })
}

fn conversion(short: &str, from: Type, to: Type) -> Option<I<'static>> {
    use Type as T;
    Some(match (short, from, to) {
        ("wrap", T::I64, T::I32) => I::I32WrapI64,
        ("extend_s", T::I32, T::I64) => I::I64ExtendI32S,
        ("extend_u", T::I32, T::I64) => I::I64ExtendI32U,
        ("trunc_s", T::F32, T::I32) => I::I32TruncF32S,
        ("trunc_s", T::F64, T::I32) => I::I32TruncF64S,
        ("trunc_u", T::F32, T::I32) => I::I32TruncF32U,
        ("trunc_u", T::F64, T::I32) => I::I32TruncF64U,
        ("trunc_s", T::F32, T::I64) => I::I64TruncF32S,
        ("trunc_s", T::F64, T::I64) => I::I64TruncF64S,
        ("trunc_u", T::F32, T::I64) => I::I64TruncF32U,
        ("trunc_u", T::F64, T::I64) => I::I64TruncF64U,
        ("trunc_sat_s", T::F32, T::I32) => I::I32TruncSatF32S,
        ("trunc_sat_s", T::F64, T::I32) => I::I32TruncSatF64S,
        ("trunc_sat_u", T::F32, T::I32) => I::I32TruncSatF32U,
        ("trunc_sat_u", T::F64, T::I32) => I::I32TruncSatF64U,
        ("trunc_sat_s", T::F32, T::I64) => I::I64TruncSatF32S,
        ("trunc_sat_s", T::F64, T::I64) => I::I64TruncSatF64S,
        ("trunc_sat_u", T::F32, T::I64) => I::I64TruncSatF32U,
        ("trunc_sat_u", T::F64, T::I64) => I::I64TruncSatF64U,
        ("convert_s", T::I32, T::F32) => I::F32ConvertI32S,
        ("convert_s", T::I64, T::F32) => I::F32ConvertI64S,
        ("convert_u", T::I32, T::F32) => I::F32ConvertI32U,
        ("convert_u", T::I64, T::F32) => I::F32ConvertI64U,
        ("convert_s", T::I32, T::F64) => I::F64ConvertI32S,
        ("convert_s", T::I64, T::F64) => I::F64ConvertI64S,
        ("convert_u", T::I32, T::F64) => I::F64ConvertI32U,
        ("convert_u", T::I64, T::F64) => I::F64ConvertI64U,
        ("demote", T::F64, T::F32) => I::F32DemoteF64,
        ("promote", T::F32, T::F64) => I::F64PromoteF32,
        ("reinterpret", T::F32, T::I32) => I::I32ReinterpretF32,
        ("reinterpret", T::F64, T::I64) => I::I64ReinterpretF64,
        ("reinterpret", T::I32, T::F32) => I::F32ReinterpretI32,
        ("reinterpret", T::I64, T::F64) => I::F64ReinterpretI64,
        _ => return None,
    })
}

/// A load instruction for a value type, access width and extension.
pub(crate) fn load(ty: Type, width: u32, sign: Option<&str>, m: wasm_encoder::MemArg) -> Option<I<'static>> {
    use Type as T;
    Some(match (ty, width, sign) {
        (T::I32, 32, _) => I::I32Load(m),
        (T::I64, 64, _) => I::I64Load(m),
        (T::F32, 32, _) => I::F32Load(m),
        (T::F64, 64, _) => I::F64Load(m),
        (T::I32, 8, Some("s")) => I::I32Load8S(m),
        (T::I32, 8, _) => I::I32Load8U(m),
        (T::I32, 16, Some("s")) => I::I32Load16S(m),
        (T::I32, 16, _) => I::I32Load16U(m),
        (T::I64, 8, Some("s")) => I::I64Load8S(m),
        (T::I64, 8, _) => I::I64Load8U(m),
        (T::I64, 16, Some("s")) => I::I64Load16S(m),
        (T::I64, 16, _) => I::I64Load16U(m),
        (T::I64, 32, Some("s")) => I::I64Load32S(m),
        (T::I64, 32, _) => I::I64Load32U(m),
        _ => return None,
    })
}

/// A store instruction for a value type and access width.
pub(crate) fn store(ty: Type, width: u32, m: wasm_encoder::MemArg) -> Option<I<'static>> {
    use Type as T;
    Some(match (ty, width) {
        (T::I32, 32) => I::I32Store(m),
        (T::I64, 64) => I::I64Store(m),
        (T::F32, 32) => I::F32Store(m),
        (T::F64, 64) => I::F64Store(m),
        (T::I32, 8) => I::I32Store8(m),
        (T::I32, 16) => I::I32Store16(m),
        (T::I64, 8) => I::I64Store8(m),
        (T::I64, 16) => I::I64Store16(m),
        (T::I64, 32) => I::I64Store32(m),
        _ => return None,
    })
}

/// The Wasm instruction of an atomic access: the op's short name, the operation of a
/// read-modify-write, the value type and the width in bits.
pub(crate) fn atomic(short: &str, rmw: Option<&str>, ty: Type, width: u32, m: MemArg) -> Option<I<'static>> {
    use Type as T;
    Some(match (short, rmw, ty, width) {
        ("atomic_load", None, T::I32, 32) => I::I32AtomicLoad(m),
        ("atomic_load", None, T::I64, 64) => I::I64AtomicLoad(m),
        ("atomic_load", None, T::I32, 8) => I::I32AtomicLoad8U(m),
        ("atomic_load", None, T::I32, 16) => I::I32AtomicLoad16U(m),
        ("atomic_load", None, T::I64, 8) => I::I64AtomicLoad8U(m),
        ("atomic_load", None, T::I64, 16) => I::I64AtomicLoad16U(m),
        ("atomic_load", None, T::I64, 32) => I::I64AtomicLoad32U(m),
        ("atomic_store", None, T::I32, 32) => I::I32AtomicStore(m),
        ("atomic_store", None, T::I64, 64) => I::I64AtomicStore(m),
        ("atomic_store", None, T::I32, 8) => I::I32AtomicStore8(m),
        ("atomic_store", None, T::I32, 16) => I::I32AtomicStore16(m),
        ("atomic_store", None, T::I64, 8) => I::I64AtomicStore8(m),
        ("atomic_store", None, T::I64, 16) => I::I64AtomicStore16(m),
        ("atomic_store", None, T::I64, 32) => I::I64AtomicStore32(m),
        ("atomic_rmw", Some("add"), T::I32, 32) => I::I32AtomicRmwAdd(m),
        ("atomic_rmw", Some("add"), T::I64, 64) => I::I64AtomicRmwAdd(m),
        ("atomic_rmw", Some("add"), T::I32, 8) => I::I32AtomicRmw8AddU(m),
        ("atomic_rmw", Some("add"), T::I32, 16) => I::I32AtomicRmw16AddU(m),
        ("atomic_rmw", Some("add"), T::I64, 8) => I::I64AtomicRmw8AddU(m),
        ("atomic_rmw", Some("add"), T::I64, 16) => I::I64AtomicRmw16AddU(m),
        ("atomic_rmw", Some("add"), T::I64, 32) => I::I64AtomicRmw32AddU(m),
        ("atomic_rmw", Some("sub"), T::I32, 32) => I::I32AtomicRmwSub(m),
        ("atomic_rmw", Some("sub"), T::I64, 64) => I::I64AtomicRmwSub(m),
        ("atomic_rmw", Some("sub"), T::I32, 8) => I::I32AtomicRmw8SubU(m),
        ("atomic_rmw", Some("sub"), T::I32, 16) => I::I32AtomicRmw16SubU(m),
        ("atomic_rmw", Some("sub"), T::I64, 8) => I::I64AtomicRmw8SubU(m),
        ("atomic_rmw", Some("sub"), T::I64, 16) => I::I64AtomicRmw16SubU(m),
        ("atomic_rmw", Some("sub"), T::I64, 32) => I::I64AtomicRmw32SubU(m),
        ("atomic_rmw", Some("and"), T::I32, 32) => I::I32AtomicRmwAnd(m),
        ("atomic_rmw", Some("and"), T::I64, 64) => I::I64AtomicRmwAnd(m),
        ("atomic_rmw", Some("and"), T::I32, 8) => I::I32AtomicRmw8AndU(m),
        ("atomic_rmw", Some("and"), T::I32, 16) => I::I32AtomicRmw16AndU(m),
        ("atomic_rmw", Some("and"), T::I64, 8) => I::I64AtomicRmw8AndU(m),
        ("atomic_rmw", Some("and"), T::I64, 16) => I::I64AtomicRmw16AndU(m),
        ("atomic_rmw", Some("and"), T::I64, 32) => I::I64AtomicRmw32AndU(m),
        ("atomic_rmw", Some("or"), T::I32, 32) => I::I32AtomicRmwOr(m),
        ("atomic_rmw", Some("or"), T::I64, 64) => I::I64AtomicRmwOr(m),
        ("atomic_rmw", Some("or"), T::I32, 8) => I::I32AtomicRmw8OrU(m),
        ("atomic_rmw", Some("or"), T::I32, 16) => I::I32AtomicRmw16OrU(m),
        ("atomic_rmw", Some("or"), T::I64, 8) => I::I64AtomicRmw8OrU(m),
        ("atomic_rmw", Some("or"), T::I64, 16) => I::I64AtomicRmw16OrU(m),
        ("atomic_rmw", Some("or"), T::I64, 32) => I::I64AtomicRmw32OrU(m),
        ("atomic_rmw", Some("xor"), T::I32, 32) => I::I32AtomicRmwXor(m),
        ("atomic_rmw", Some("xor"), T::I64, 64) => I::I64AtomicRmwXor(m),
        ("atomic_rmw", Some("xor"), T::I32, 8) => I::I32AtomicRmw8XorU(m),
        ("atomic_rmw", Some("xor"), T::I32, 16) => I::I32AtomicRmw16XorU(m),
        ("atomic_rmw", Some("xor"), T::I64, 8) => I::I64AtomicRmw8XorU(m),
        ("atomic_rmw", Some("xor"), T::I64, 16) => I::I64AtomicRmw16XorU(m),
        ("atomic_rmw", Some("xor"), T::I64, 32) => I::I64AtomicRmw32XorU(m),
        ("atomic_rmw", Some("xchg"), T::I32, 32) => I::I32AtomicRmwXchg(m),
        ("atomic_rmw", Some("xchg"), T::I64, 64) => I::I64AtomicRmwXchg(m),
        ("atomic_rmw", Some("xchg"), T::I32, 8) => I::I32AtomicRmw8XchgU(m),
        ("atomic_rmw", Some("xchg"), T::I32, 16) => I::I32AtomicRmw16XchgU(m),
        ("atomic_rmw", Some("xchg"), T::I64, 8) => I::I64AtomicRmw8XchgU(m),
        ("atomic_rmw", Some("xchg"), T::I64, 16) => I::I64AtomicRmw16XchgU(m),
        ("atomic_rmw", Some("xchg"), T::I64, 32) => I::I64AtomicRmw32XchgU(m),
        ("atomic_cmpxchg", None, T::I32, 32) => I::I32AtomicRmwCmpxchg(m),
        ("atomic_cmpxchg", None, T::I64, 64) => I::I64AtomicRmwCmpxchg(m),
        ("atomic_cmpxchg", None, T::I32, 8) => I::I32AtomicRmw8CmpxchgU(m),
        ("atomic_cmpxchg", None, T::I32, 16) => I::I32AtomicRmw16CmpxchgU(m),
        ("atomic_cmpxchg", None, T::I64, 8) => I::I64AtomicRmw8CmpxchgU(m),
        ("atomic_cmpxchg", None, T::I64, 16) => I::I64AtomicRmw16CmpxchgU(m),
        ("atomic_cmpxchg", None, T::I64, 32) => I::I64AtomicRmw32CmpxchgU(m),
        ("atomic_wait", None, T::I32, 32) => I::MemoryAtomicWait32(m),
        ("atomic_wait", None, T::I64, 64) => I::MemoryAtomicWait64(m),
        ("atomic_notify", None, T::I32, 32) => I::MemoryAtomicNotify(m),
        _ => return None,
    })
}
