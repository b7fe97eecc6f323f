//! Tables from Wasm operators to `arith` and `memory` ops: one line per instruction.

use wasmir_ir::{Attr, AttrData, Context, Type};
use wasmparser::{MemArg, Operator};

const I32: Type = Type::I32;
const I64: Type = Type::I64;
const F32: Type = Type::F32;
const F64: Type = Type::F64;

/// A numeric instruction as `(op name, operand count, result type)`.
pub(crate) fn numeric(op: &Operator<'_>) -> Option<(&'static str, usize, Type)> {
    use Operator::*;
    Some(match op {
        I32Eqz => ("arith.eqz", 1, I32),
        I64Eqz => ("arith.eqz", 1, I32),
        I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU | I32GeS | I32GeU => {
            ("arith.cmpi", 2, I32)
        }
        I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU | I64GeS | I64GeU => {
            ("arith.cmpi", 2, I32)
        }
        F32Eq | F32Ne | F32Lt | F32Gt | F32Le | F32Ge | F64Eq | F64Ne | F64Lt | F64Gt | F64Le | F64Ge => {
            ("arith.cmpf", 2, I32)
        }
        I32Clz => ("arith.clz", 1, I32),
        I32Ctz => ("arith.ctz", 1, I32),
        I32Popcnt => ("arith.popcnt", 1, I32),
        I64Clz => ("arith.clz", 1, I64),
        I64Ctz => ("arith.ctz", 1, I64),
        I64Popcnt => ("arith.popcnt", 1, I64),
        I32Add => ("arith.addi", 2, I32),
        I32Sub => ("arith.subi", 2, I32),
        I32Mul => ("arith.muli", 2, I32),
        I32DivS => ("arith.divsi", 2, I32),
        I32DivU => ("arith.divui", 2, I32),
        I32RemS => ("arith.remsi", 2, I32),
        I32RemU => ("arith.remui", 2, I32),
        I32And => ("arith.andi", 2, I32),
        I32Or => ("arith.ori", 2, I32),
        I32Xor => ("arith.xori", 2, I32),
        I32Shl => ("arith.shli", 2, I32),
        I32ShrS => ("arith.shrsi", 2, I32),
        I32ShrU => ("arith.shrui", 2, I32),
        I32Rotl => ("arith.rotli", 2, I32),
        I32Rotr => ("arith.rotri", 2, I32),
        I64Add => ("arith.addi", 2, I64),
        I64Sub => ("arith.subi", 2, I64),
        I64Mul => ("arith.muli", 2, I64),
        I64DivS => ("arith.divsi", 2, I64),
        I64DivU => ("arith.divui", 2, I64),
        I64RemS => ("arith.remsi", 2, I64),
        I64RemU => ("arith.remui", 2, I64),
        I64And => ("arith.andi", 2, I64),
        I64Or => ("arith.ori", 2, I64),
        I64Xor => ("arith.xori", 2, I64),
        I64Shl => ("arith.shli", 2, I64),
        I64ShrS => ("arith.shrsi", 2, I64),
        I64ShrU => ("arith.shrui", 2, I64),
        I64Rotl => ("arith.rotli", 2, I64),
        I64Rotr => ("arith.rotri", 2, I64),
        F32Abs => ("arith.absf", 1, F32),
        F32Neg => ("arith.negf", 1, F32),
        F32Ceil => ("arith.ceilf", 1, F32),
        F32Floor => ("arith.floorf", 1, F32),
        F32Trunc => ("arith.truncf", 1, F32),
        F32Nearest => ("arith.nearestf", 1, F32),
        F32Sqrt => ("arith.sqrtf", 1, F32),
        F32Add => ("arith.addf", 2, F32),
        F32Sub => ("arith.subf", 2, F32),
        F32Mul => ("arith.mulf", 2, F32),
        F32Div => ("arith.divf", 2, F32),
        F32Min => ("arith.minf", 2, F32),
        F32Max => ("arith.maxf", 2, F32),
        F32Copysign => ("arith.copysign", 2, F32),
        F64Abs => ("arith.absf", 1, F64),
        F64Neg => ("arith.negf", 1, F64),
        F64Ceil => ("arith.ceilf", 1, F64),
        F64Floor => ("arith.floorf", 1, F64),
        F64Trunc => ("arith.truncf", 1, F64),
        F64Nearest => ("arith.nearestf", 1, F64),
        F64Sqrt => ("arith.sqrtf", 1, F64),
        F64Add => ("arith.addf", 2, F64),
        F64Sub => ("arith.subf", 2, F64),
        F64Mul => ("arith.mulf", 2, F64),
        F64Div => ("arith.divf", 2, F64),
        F64Min => ("arith.minf", 2, F64),
        F64Max => ("arith.maxf", 2, F64),
        F64Copysign => ("arith.copysign", 2, F64),
        I32WrapI64 => ("arith.wrap", 1, I32),
        I32TruncF32S | I32TruncF64S => ("arith.trunc_s", 1, I32),
        I32TruncF32U | I32TruncF64U => ("arith.trunc_u", 1, I32),
        I64TruncF32S | I64TruncF64S => ("arith.trunc_s", 1, I64),
        I64TruncF32U | I64TruncF64U => ("arith.trunc_u", 1, I64),
        I32TruncSatF32S | I32TruncSatF64S => ("arith.trunc_sat_s", 1, I32),
        I32TruncSatF32U | I32TruncSatF64U => ("arith.trunc_sat_u", 1, I32),
        I64TruncSatF32S | I64TruncSatF64S => ("arith.trunc_sat_s", 1, I64),
        I64TruncSatF32U | I64TruncSatF64U => ("arith.trunc_sat_u", 1, I64),
        I64ExtendI32S => ("arith.extend_s", 1, I64),
        I64ExtendI32U => ("arith.extend_u", 1, I64),
        F32ConvertI32S | F32ConvertI64S => ("arith.convert_s", 1, F32),
        F32ConvertI32U | F32ConvertI64U => ("arith.convert_u", 1, F32),
        F64ConvertI32S | F64ConvertI64S => ("arith.convert_s", 1, F64),
        F64ConvertI32U | F64ConvertI64U => ("arith.convert_u", 1, F64),
        F32DemoteF64 => ("arith.demote", 1, F32),
        F64PromoteF32 => ("arith.promote", 1, F64),
        I32ReinterpretF32 => ("arith.reinterpret", 1, I32),
        I64ReinterpretF64 => ("arith.reinterpret", 1, I64),
        F32ReinterpretI32 => ("arith.reinterpret", 1, F32),
        F64ReinterpretI64 => ("arith.reinterpret", 1, F64),
        I32Extend8S => ("arith.extend8_s", 1, I32),
        I32Extend16S => ("arith.extend16_s", 1, I32),
        I64Extend8S => ("arith.extend8_s", 1, I64),
        I64Extend16S => ("arith.extend16_s", 1, I64),
        I64Extend32S => ("arith.extend32_s", 1, I64),
        _ => return None,
    })
}

/// The predicate of a comparison instruction.
pub(crate) fn predicate(op: &Operator<'_>) -> Option<&'static str> {
    use Operator::*;
    Some(match op {
        I32Eq | I64Eq | F32Eq | F64Eq => "eq",
        I32Ne | I64Ne | F32Ne | F64Ne => "ne",
        I32LtS | I64LtS => "slt",
        I32LtU | I64LtU => "ult",
        I32GtS | I64GtS => "sgt",
        I32GtU | I64GtU => "ugt",
        I32LeS | I64LeS => "sle",
        I32LeU | I64LeU => "ule",
        I32GeS | I64GeS => "sge",
        I32GeU | I64GeU => "uge",
        F32Lt | F64Lt => "lt",
        F32Gt | F64Gt => "gt",
        F32Le | F64Le => "le",
        F32Ge | F64Ge => "ge",
        _ => return None,
    })
}

/// The value of a constant instruction, with its exact bits.
/// A constant operator's bits and type: what identifies its attribute.
pub(crate) fn constant_bits(op: &Operator<'_>) -> Option<(u64, Type)> {
    Some(match *op {
        Operator::I32Const { value } => (value as u32 as u64, I32),
        Operator::I64Const { value } => (value as u64, I64),
        Operator::F32Const { value } => (u64::from(value.bits()), F32),
        Operator::F64Const { value } => (value.bits(), F64),
        _ => return None,
    })
}

pub(crate) fn constant(ctx: &Context, op: &Operator<'_>) -> Option<Attr> {
    Some(match *op {
        Operator::I32Const { value } => ctx.int_attr(i64::from(value), I32),
        Operator::I64Const { value } => ctx.int_attr(value, I64),
        Operator::F32Const { value } => {
            ctx.intern_attr(AttrData::Float { bits: u64::from(value.bits()), ty: F32 })
        }
        Operator::F64Const { value } => ctx.intern_attr(AttrData::Float { bits: value.bits(), ty: F64 }),
        _ => return None,
    })
}

/// A load as `(result type, width in bits, sign of the extension, memarg)`.
pub(crate) fn load(op: &Operator<'_>) -> Option<(Type, u32, Option<&'static str>, MemArg)> {
    use Operator::*;
    Some(match *op {
        I32Load { memarg } => (I32, 32, None, memarg),
        I64Load { memarg } => (I64, 64, None, memarg),
        F32Load { memarg } => (F32, 32, None, memarg),
        F64Load { memarg } => (F64, 64, None, memarg),
        I32Load8S { memarg } => (I32, 8, Some("s"), memarg),
        I32Load8U { memarg } => (I32, 8, Some("u"), memarg),
        I32Load16S { memarg } => (I32, 16, Some("s"), memarg),
        I32Load16U { memarg } => (I32, 16, Some("u"), memarg),
        I64Load8S { memarg } => (I64, 8, Some("s"), memarg),
        I64Load8U { memarg } => (I64, 8, Some("u"), memarg),
        I64Load16S { memarg } => (I64, 16, Some("s"), memarg),
        I64Load16U { memarg } => (I64, 16, Some("u"), memarg),
        I64Load32S { memarg } => (I64, 32, Some("s"), memarg),
        I64Load32U { memarg } => (I64, 32, Some("u"), memarg),
        _ => return None,
    })
}

/// A store as `(value type, width in bits, memarg)`.
pub(crate) fn store(op: &Operator<'_>) -> Option<(Type, u32, MemArg)> {
    use Operator::*;
    Some(match *op {
        I32Store { memarg } => (I32, 32, memarg),
        I64Store { memarg } => (I64, 64, memarg),
        F32Store { memarg } => (F32, 32, memarg),
        F64Store { memarg } => (F64, 64, memarg),
        I32Store8 { memarg } => (I32, 8, memarg),
        I32Store16 { memarg } => (I32, 16, memarg),
        I64Store8 { memarg } => (I64, 8, memarg),
        I64Store16 { memarg } => (I64, 16, memarg),
        I64Store32 { memarg } => (I64, 32, memarg),
        _ => return None,
    })
}

/// An atomic access (every threads instruction but `atomic.fence`).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Atomic {
    /// The op: `memory.atomic_load`, `_store`, `_rmw`, `_cmpxchg`, `_wait` or `_notify`.
    pub name: &'static str,
    /// The operation of a read-modify-write.
    pub rmw: Option<&'static str>,
    /// The value type (the expected value's for wait, the count's for notify).
    pub ty: Type,
    /// Bits accessed.
    pub width: u32,
    pub memarg: MemArg,
}

/// The atomic access an instruction is, if it is one.
pub(crate) fn atomic(op: &Operator<'_>) -> Option<Atomic> {
    use Operator::*;
    let (name, rmw, ty, width, memarg) = match *op {
        I32AtomicLoad { memarg } => ("memory.atomic_load", None, I32, 32, memarg),
        I64AtomicLoad { memarg } => ("memory.atomic_load", None, I64, 64, memarg),
        I32AtomicLoad8U { memarg } => ("memory.atomic_load", None, I32, 8, memarg),
        I32AtomicLoad16U { memarg } => ("memory.atomic_load", None, I32, 16, memarg),
        I64AtomicLoad8U { memarg } => ("memory.atomic_load", None, I64, 8, memarg),
        I64AtomicLoad16U { memarg } => ("memory.atomic_load", None, I64, 16, memarg),
        I64AtomicLoad32U { memarg } => ("memory.atomic_load", None, I64, 32, memarg),
        I32AtomicStore { memarg } => ("memory.atomic_store", None, I32, 32, memarg),
        I64AtomicStore { memarg } => ("memory.atomic_store", None, I64, 64, memarg),
        I32AtomicStore8 { memarg } => ("memory.atomic_store", None, I32, 8, memarg),
        I32AtomicStore16 { memarg } => ("memory.atomic_store", None, I32, 16, memarg),
        I64AtomicStore8 { memarg } => ("memory.atomic_store", None, I64, 8, memarg),
        I64AtomicStore16 { memarg } => ("memory.atomic_store", None, I64, 16, memarg),
        I64AtomicStore32 { memarg } => ("memory.atomic_store", None, I64, 32, memarg),
        I32AtomicRmwAdd { memarg } => ("memory.atomic_rmw", Some("add"), I32, 32, memarg),
        I64AtomicRmwAdd { memarg } => ("memory.atomic_rmw", Some("add"), I64, 64, memarg),
        I32AtomicRmw8AddU { memarg } => ("memory.atomic_rmw", Some("add"), I32, 8, memarg),
        I32AtomicRmw16AddU { memarg } => ("memory.atomic_rmw", Some("add"), I32, 16, memarg),
        I64AtomicRmw8AddU { memarg } => ("memory.atomic_rmw", Some("add"), I64, 8, memarg),
        I64AtomicRmw16AddU { memarg } => ("memory.atomic_rmw", Some("add"), I64, 16, memarg),
        I64AtomicRmw32AddU { memarg } => ("memory.atomic_rmw", Some("add"), I64, 32, memarg),
        I32AtomicRmwSub { memarg } => ("memory.atomic_rmw", Some("sub"), I32, 32, memarg),
        I64AtomicRmwSub { memarg } => ("memory.atomic_rmw", Some("sub"), I64, 64, memarg),
        I32AtomicRmw8SubU { memarg } => ("memory.atomic_rmw", Some("sub"), I32, 8, memarg),
        I32AtomicRmw16SubU { memarg } => ("memory.atomic_rmw", Some("sub"), I32, 16, memarg),
        I64AtomicRmw8SubU { memarg } => ("memory.atomic_rmw", Some("sub"), I64, 8, memarg),
        I64AtomicRmw16SubU { memarg } => ("memory.atomic_rmw", Some("sub"), I64, 16, memarg),
        I64AtomicRmw32SubU { memarg } => ("memory.atomic_rmw", Some("sub"), I64, 32, memarg),
        I32AtomicRmwAnd { memarg } => ("memory.atomic_rmw", Some("and"), I32, 32, memarg),
        I64AtomicRmwAnd { memarg } => ("memory.atomic_rmw", Some("and"), I64, 64, memarg),
        I32AtomicRmw8AndU { memarg } => ("memory.atomic_rmw", Some("and"), I32, 8, memarg),
        I32AtomicRmw16AndU { memarg } => ("memory.atomic_rmw", Some("and"), I32, 16, memarg),
        I64AtomicRmw8AndU { memarg } => ("memory.atomic_rmw", Some("and"), I64, 8, memarg),
        I64AtomicRmw16AndU { memarg } => ("memory.atomic_rmw", Some("and"), I64, 16, memarg),
        I64AtomicRmw32AndU { memarg } => ("memory.atomic_rmw", Some("and"), I64, 32, memarg),
        I32AtomicRmwOr { memarg } => ("memory.atomic_rmw", Some("or"), I32, 32, memarg),
        I64AtomicRmwOr { memarg } => ("memory.atomic_rmw", Some("or"), I64, 64, memarg),
        I32AtomicRmw8OrU { memarg } => ("memory.atomic_rmw", Some("or"), I32, 8, memarg),
        I32AtomicRmw16OrU { memarg } => ("memory.atomic_rmw", Some("or"), I32, 16, memarg),
        I64AtomicRmw8OrU { memarg } => ("memory.atomic_rmw", Some("or"), I64, 8, memarg),
        I64AtomicRmw16OrU { memarg } => ("memory.atomic_rmw", Some("or"), I64, 16, memarg),
        I64AtomicRmw32OrU { memarg } => ("memory.atomic_rmw", Some("or"), I64, 32, memarg),
        I32AtomicRmwXor { memarg } => ("memory.atomic_rmw", Some("xor"), I32, 32, memarg),
        I64AtomicRmwXor { memarg } => ("memory.atomic_rmw", Some("xor"), I64, 64, memarg),
        I32AtomicRmw8XorU { memarg } => ("memory.atomic_rmw", Some("xor"), I32, 8, memarg),
        I32AtomicRmw16XorU { memarg } => ("memory.atomic_rmw", Some("xor"), I32, 16, memarg),
        I64AtomicRmw8XorU { memarg } => ("memory.atomic_rmw", Some("xor"), I64, 8, memarg),
        I64AtomicRmw16XorU { memarg } => ("memory.atomic_rmw", Some("xor"), I64, 16, memarg),
        I64AtomicRmw32XorU { memarg } => ("memory.atomic_rmw", Some("xor"), I64, 32, memarg),
        I32AtomicRmwXchg { memarg } => ("memory.atomic_rmw", Some("xchg"), I32, 32, memarg),
        I64AtomicRmwXchg { memarg } => ("memory.atomic_rmw", Some("xchg"), I64, 64, memarg),
        I32AtomicRmw8XchgU { memarg } => ("memory.atomic_rmw", Some("xchg"), I32, 8, memarg),
        I32AtomicRmw16XchgU { memarg } => ("memory.atomic_rmw", Some("xchg"), I32, 16, memarg),
        I64AtomicRmw8XchgU { memarg } => ("memory.atomic_rmw", Some("xchg"), I64, 8, memarg),
        I64AtomicRmw16XchgU { memarg } => ("memory.atomic_rmw", Some("xchg"), I64, 16, memarg),
        I64AtomicRmw32XchgU { memarg } => ("memory.atomic_rmw", Some("xchg"), I64, 32, memarg),
        I32AtomicRmwCmpxchg { memarg } => ("memory.atomic_cmpxchg", None, I32, 32, memarg),
        I64AtomicRmwCmpxchg { memarg } => ("memory.atomic_cmpxchg", None, I64, 64, memarg),
        I32AtomicRmw8CmpxchgU { memarg } => ("memory.atomic_cmpxchg", None, I32, 8, memarg),
        I32AtomicRmw16CmpxchgU { memarg } => ("memory.atomic_cmpxchg", None, I32, 16, memarg),
        I64AtomicRmw8CmpxchgU { memarg } => ("memory.atomic_cmpxchg", None, I64, 8, memarg),
        I64AtomicRmw16CmpxchgU { memarg } => ("memory.atomic_cmpxchg", None, I64, 16, memarg),
        I64AtomicRmw32CmpxchgU { memarg } => ("memory.atomic_cmpxchg", None, I64, 32, memarg),
        MemoryAtomicWait32 { memarg } => ("memory.atomic_wait", None, I32, 32, memarg),
        MemoryAtomicWait64 { memarg } => ("memory.atomic_wait", None, I64, 64, memarg),
        MemoryAtomicNotify { memarg } => ("memory.atomic_notify", None, I32, 32, memarg),
        _ => return None,
    };
    Some(Atomic { name, rmw, ty, width, memarg })
}
