//! `simd` ops to CLIF vectors, as wasmtime translates them: a v128 travels as `i8x16` and is
//! bitcast (little-endian, so no lane moves) to the lanes each op reads; every family maps to
//! the CLIF instruction of the same meaning, relaxed ones to their deterministic form
//! (specs/simd.md). Memory accesses are bounds-checked like scalar ones, for their true width.

use super::{Access, FunctionTranslator};
use crate::native::layout::unsupported;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2};
use cranelift_codegen::ir::{self, ConstantData, Endianness, InstBuilder, MemFlagsData};
use cranelift_module::Module;
use wasmir_dialects::simd::{Family, Shape, Sig, access_bytes, parse_bytes};
use wasmir_ir::{Diagnostic, Op};

/// The CLIF vector type of a lane shape.
fn vector_type(shape: Shape) -> ir::Type {
    match shape {
        Shape::I8x16 => I8X16,
        Shape::I16x8 => I16X8,
        Shape::I32x4 => I32X4,
        Shape::I64x2 => I64X2,
        Shape::F32x4 => F32X4,
        Shape::F64x2 => F64X2,
    }
}

/// The CLIF type of one lane as memory and `insertlane` hold it.
fn lane_type(shape: Shape) -> ir::Type {
    match shape {
        Shape::I8x16 => I8,
        Shape::I16x8 => I16,
        other => vector_type(other).lane_type(),
    }
}

/// The shape of lanes of `bits`.
fn int_shape(bits: u32) -> Shape {
    match bits {
        8 => Shape::I8x16,
        16 => Shape::I16x8,
        32 => Shape::I32x4,
        _ => Shape::I64x2,
    }
}

fn flags() -> MemFlagsData {
    let mut f = MemFlagsData::new();
    f.set_notrap();
    f
}

impl<M: Module> FunctionTranslator<'_, '_, M> {
    /// A vector constant of type `ty` with these bytes (byte 0 first).
    pub(super) fn vector_constant(&mut self, ty: ir::Type, bytes: [u8; 16]) -> ir::Value {
        let handle = self.b.func.dfg.constants.insert(ConstantData::from(&bytes[..]));
        self.b.ins().vconst(ty, handle)
    }

    /// `v` as a vector of `ty` (a no-op reinterpretation of the 128 bits).
    fn as_vector(&mut self, v: ir::Value, ty: ir::Type) -> ir::Value {
        if self.b.func.dfg.value_type(v) == ty {
            return v;
        }
        let mut f = MemFlagsData::new();
        f.set_endianness(Endianness::Little);
        self.b.ins().bitcast(ty, f, v)
    }

    /// Records a vector result in the canonical `i8x16`.
    fn set_vector(&mut self, op: Op, v: ir::Value) {
        let v = self.as_vector(v, I8X16);
        self.set_results(op, &[v]);
    }

    pub(super) fn simd(&mut self, op: Op, family: &'static Family) -> Result<(), Diagnostic> {
        let loc = self.body.op_loc(op);
        let shape_name =
            self.ctx.dict_get(self.body.op_attrs(op), "shape").and_then(|a| self.ctx.attr_as_str(a));
        let shape = shape_name.and_then(Shape::parse);
        let ty = shape.map_or(I8X16, vector_type);
        let lane = self.attr_int(op, "lane").unwrap_or(0) as u8;
        let operands = self.operands(op);
        let name = family.name;
        if family.accesses_memory() {
            return self.simd_access(op, family, &operands);
        }
        let a = |t: &mut Self, i: usize, ty: ir::Type| {
            let v = operands[i];
            t.as_vector(v, ty)
        };
        // The shape one lane narrower, read by the widening ops.
        let narrower = match shape {
            Some(Shape::I16x8) => I8X16,
            Some(Shape::I32x4) => I16X8,
            _ => I32X4,
        };
        let result: ir::Value = match (family.sig, name) {
            (Sig::Const, _) => {
                let bytes = self
                    .ctx
                    .dict_get(self.body.op_attrs(op), "value")
                    .and_then(|a| self.ctx.attr_as_str(a))
                    .and_then(parse_bytes)
                    .unwrap_or([0; 16]);
                self.vector_constant(I8X16, bytes)
            }
            (Sig::Splat, _) => {
                let s = shape.ok_or_else(|| unsupported(loc, "a splat without a shape"))?;
                let x =
                    if s.is_narrow() { self.b.ins().ireduce(lane_type(s), operands[0]) } else { operands[0] };
                self.b.ins().splat(ty, x)
            }
            (Sig::ExtractLane, _) => {
                shape.ok_or_else(|| unsupported(loc, "a lane read without a shape"))?;
                let v = a(self, 0, ty);
                let x = self.b.ins().extractlane(v, lane);
                let x = match name {
                    "extract_lane_s" => self.b.ins().sextend(I32, x),
                    "extract_lane_u" => self.b.ins().uextend(I32, x),
                    _ => x,
                };
                self.set_results(op, &[x]);
                return Ok(());
            }
            (Sig::ReplaceLane, _) => {
                let s = shape.ok_or_else(|| unsupported(loc, "a lane write without a shape"))?;
                let v = a(self, 0, ty);
                let x =
                    if s.is_narrow() { self.b.ins().ireduce(lane_type(s), operands[1]) } else { operands[1] };
                self.b.ins().insertlane(v, x, lane)
            }
            (Sig::Shuffle, _) => {
                let lanes = self
                    .ctx
                    .dict_get(self.body.op_attrs(op), "lanes")
                    .and_then(|a| self.ctx.attr_as_str(a))
                    .and_then(parse_bytes)
                    .unwrap_or([0; 16]);
                let (x, y) = (a(self, 0, I8X16), a(self, 1, I8X16));
                let mask = self.b.func.dfg.immediates.push(ConstantData::from(&lanes[..]));
                self.b.ins().shuffle(x, y, mask)
            }
            (_, "swizzle" | "relaxed_swizzle") => {
                let (x, y) = (a(self, 0, I8X16), a(self, 1, I8X16));
                self.b.ins().swizzle(x, y)
            }
            (Sig::Test, "any_true") => {
                let v = a(self, 0, I8X16);
                let t = self.b.ins().vany_true(v);
                let r = self.b.ins().uextend(I32, t);
                self.set_results(op, &[r]);
                return Ok(());
            }
            (Sig::Test, _) => {
                let v = a(self, 0, ty);
                let r = if name == "all_true" {
                    let t = self.b.ins().vall_true(v);
                    self.b.ins().uextend(I32, t)
                } else {
                    self.b.ins().vhigh_bits(I32, v)
                };
                self.set_results(op, &[r]);
                return Ok(());
            }
            (Sig::Shift, _) => {
                let v = a(self, 0, ty);
                match name {
                    "shl" => self.b.ins().ishl(v, operands[1]),
                    "shr_s" => self.b.ins().sshr(v, operands[1]),
                    _ => self.b.ins().ushr(v, operands[1]),
                }
            }
            (_, "not") => {
                let v = a(self, 0, I8X16);
                self.b.ins().bnot(v)
            }
            (_, "and" | "or" | "xor" | "andnot") => {
                let (x, y) = (a(self, 0, I8X16), a(self, 1, I8X16));
                match name {
                    "and" => self.b.ins().band(x, y),
                    "or" => self.b.ins().bor(x, y),
                    "xor" => self.b.ins().bxor(x, y),
                    _ => self.b.ins().band_not(x, y),
                }
            }
            (_, "bitselect" | "relaxed_laneselect") => {
                let t = if name == "bitselect" { I8X16 } else { ty };
                let (x, y, c) = (a(self, 0, t), a(self, 1, t), a(self, 2, t));
                self.b.ins().bitselect(c, x, y)
            }
            (_, "eq" | "ne" | "lt" | "gt" | "le" | "ge") if ty.lane_type().is_float() => {
                let cc = match name {
                    "eq" => FloatCC::Equal,
                    "ne" => FloatCC::NotEqual,
                    "lt" => FloatCC::LessThan,
                    "gt" => FloatCC::GreaterThan,
                    "le" => FloatCC::LessThanOrEqual,
                    _ => FloatCC::GreaterThanOrEqual,
                };
                let (x, y) = (a(self, 0, ty), a(self, 1, ty));
                self.b.ins().fcmp(cc, x, y)
            }
            (_, "eq" | "ne" | "lt_s" | "lt_u" | "gt_s" | "gt_u" | "le_s" | "le_u" | "ge_s" | "ge_u") => {
                let cc = match name {
                    "eq" => IntCC::Equal,
                    "ne" => IntCC::NotEqual,
                    "lt_s" => IntCC::SignedLessThan,
                    "lt_u" => IntCC::UnsignedLessThan,
                    "gt_s" => IntCC::SignedGreaterThan,
                    "gt_u" => IntCC::UnsignedGreaterThan,
                    "le_s" => IntCC::SignedLessThanOrEqual,
                    "le_u" => IntCC::UnsignedLessThanOrEqual,
                    "ge_s" => IntCC::SignedGreaterThanOrEqual,
                    _ => IntCC::UnsignedGreaterThanOrEqual,
                };
                let (x, y) = (a(self, 0, ty), a(self, 1, ty));
                self.b.ins().icmp(cc, x, y)
            }
            (Sig::Unary, _) => {
                let v = a(self, 0, ty);
                self.simd_unary(name, ty, narrower, v, operands[0])?
            }
            (Sig::Binary | Sig::Ternary, _) => self.simd_binary(op, name, ty, narrower, &operands)?,
            _ => return Err(unsupported(loc, format!("'simd.{name}'"))),
        };
        self.set_vector(op, result);
        Ok(())
    }

    /// The unary families on `v` (already at `ty`; `raw` is the operand as it came).
    fn simd_unary(
        &mut self,
        name: &str,
        ty: ir::Type,
        narrower: ir::Type,
        v: ir::Value,
        raw: ir::Value,
    ) -> Result<ir::Value, Diagnostic> {
        let float = ty.lane_type().is_float();
        Ok(match name {
            "abs" if float => self.b.ins().fabs(v),
            "abs" => self.b.ins().iabs(v),
            "neg" if float => self.b.ins().fneg(v),
            "neg" => self.b.ins().ineg(v),
            "popcnt" => self.b.ins().popcnt(v),
            "sqrt" => self.b.ins().sqrt(v),
            "ceil" => self.b.ins().ceil(v),
            "floor" => self.b.ins().floor(v),
            "trunc" => self.b.ins().trunc(v),
            "nearest" => self.b.ins().nearest(v),
            _ if name.starts_with("extend_") => {
                let src = self.as_vector(raw, narrower);
                match (name.contains("high"), name.ends_with("_s")) {
                    (false, true) => self.b.ins().swiden_low(src),
                    (true, true) => self.b.ins().swiden_high(src),
                    (false, false) => self.b.ins().uwiden_low(src),
                    (true, false) => self.b.ins().uwiden_high(src),
                }
            }
            _ if name.starts_with("extadd_pairwise_") => {
                let src = self.as_vector(raw, narrower);
                let (lo, hi) = if name.ends_with("_s") {
                    (self.b.ins().swiden_low(src), self.b.ins().swiden_high(src))
                } else {
                    (self.b.ins().uwiden_low(src), self.b.ins().uwiden_high(src))
                };
                self.b.ins().iadd_pairwise(lo, hi)
            }
            "trunc_sat_f32x4_s" | "relaxed_trunc_f32x4_s" => {
                let x = self.as_vector(raw, F32X4);
                self.b.ins().fcvt_to_sint_sat(I32X4, x)
            }
            "trunc_sat_f32x4_u" | "relaxed_trunc_f32x4_u" => {
                let x = self.as_vector(raw, F32X4);
                self.b.ins().fcvt_to_uint_sat(I32X4, x)
            }
            "trunc_sat_f64x2_s_zero" | "relaxed_trunc_f64x2_s_zero" => {
                let x = self.as_vector(raw, F64X2);
                let wide = self.b.ins().fcvt_to_sint_sat(I64X2, x);
                let zero = self.vector_constant(I64X2, [0; 16]);
                self.b.ins().snarrow(wide, zero)
            }
            "trunc_sat_f64x2_u_zero" | "relaxed_trunc_f64x2_u_zero" => {
                let x = self.as_vector(raw, F64X2);
                let wide = self.b.ins().fcvt_to_uint_sat(I64X2, x);
                let zero = self.vector_constant(I64X2, [0; 16]);
                self.b.ins().uunarrow(wide, zero)
            }
            "convert_i32x4_s" | "convert_i32x4_u" => {
                let x = self.as_vector(raw, I32X4);
                if name.ends_with("_s") {
                    self.b.ins().fcvt_from_sint(F32X4, x)
                } else {
                    self.b.ins().fcvt_from_uint(F32X4, x)
                }
            }
            "convert_low_i32x4_s" | "convert_low_i32x4_u" => {
                let x = self.as_vector(raw, I32X4);
                if name.ends_with("_s") {
                    let w = self.b.ins().swiden_low(x);
                    self.b.ins().fcvt_from_sint(F64X2, w)
                } else {
                    let w = self.b.ins().uwiden_low(x);
                    self.b.ins().fcvt_from_uint(F64X2, w)
                }
            }
            "demote_f64x2_zero" => {
                let x = self.as_vector(raw, F64X2);
                self.b.ins().fvdemote(x)
            }
            "promote_low_f32x4" => {
                let x = self.as_vector(raw, F32X4);
                self.b.ins().fvpromote_low(x)
            }
            other => return Err(unsupported(wasmir_ir::Location::Unknown, format!("'simd.{other}'"))),
        })
    }

    /// The binary and ternary lane-wise families.
    fn simd_binary(
        &mut self,
        op: Op,
        name: &str,
        ty: ir::Type,
        narrower: ir::Type,
        operands: &[ir::Value],
    ) -> Result<ir::Value, Diagnostic> {
        let float = ty.lane_type().is_float();
        let x = self.as_vector(operands[0], ty);
        let y = self.as_vector(operands[1], ty);
        Ok(match name {
            "add" if float => self.b.ins().fadd(x, y),
            "sub" if float => self.b.ins().fsub(x, y),
            "mul" if float => self.b.ins().fmul(x, y),
            "add" => self.b.ins().iadd(x, y),
            "sub" => self.b.ins().isub(x, y),
            "mul" => self.b.ins().imul(x, y),
            "div" => self.b.ins().fdiv(x, y),
            "min" | "relaxed_min" => self.b.ins().fmin(x, y),
            "max" | "relaxed_max" => self.b.ins().fmax(x, y),
            "pmin" => {
                let less = self.b.ins().fcmp(FloatCC::LessThan, y, x);
                let less = self.as_vector(less, ty);
                self.b.ins().bitselect(less, y, x)
            }
            "pmax" => {
                let less = self.b.ins().fcmp(FloatCC::LessThan, x, y);
                let less = self.as_vector(less, ty);
                self.b.ins().bitselect(less, y, x)
            }
            "add_sat_s" => self.b.ins().sadd_sat(x, y),
            "add_sat_u" => self.b.ins().uadd_sat(x, y),
            "sub_sat_s" => self.b.ins().ssub_sat(x, y),
            "sub_sat_u" => self.b.ins().usub_sat(x, y),
            "min_s" => self.b.ins().smin(x, y),
            "min_u" => self.b.ins().umin(x, y),
            "max_s" => self.b.ins().smax(x, y),
            "max_u" => self.b.ins().umax(x, y),
            "avgr_u" => self.b.ins().avg_round(x, y),
            "q15mulr_sat_s" | "relaxed_q15mulr_s" => self.b.ins().sqmul_round_sat(x, y),
            "narrow_i16x8_s" | "narrow_i16x8_u" | "narrow_i32x4_s" | "narrow_i32x4_u" => {
                let src = if name.contains("i16x8") { I16X8 } else { I32X4 };
                let (p, q) = (self.as_vector(operands[0], src), self.as_vector(operands[1], src));
                if name.ends_with("_s") { self.b.ins().snarrow(p, q) } else { self.b.ins().unarrow(p, q) }
            }
            _ if name.starts_with("extmul_") => {
                let (p, q) = (self.as_vector(operands[0], narrower), self.as_vector(operands[1], narrower));
                let widen = |t: &mut Self, v: ir::Value| match (name.contains("high"), name.ends_with("_s")) {
                    (false, true) => t.b.ins().swiden_low(v),
                    (true, true) => t.b.ins().swiden_high(v),
                    (false, false) => t.b.ins().uwiden_low(v),
                    (true, false) => t.b.ins().uwiden_high(v),
                };
                let (p, q) = (widen(self, p), widen(self, q));
                self.b.ins().imul(p, q)
            }
            "dot_i16x8_s" => {
                let (p, q) = (self.as_vector(operands[0], I16X8), self.as_vector(operands[1], I16X8));
                self.dot(p, q)
            }
            "relaxed_dot_i8x16_i7x16_s" => {
                let (p, q) = (self.as_vector(operands[0], I8X16), self.as_vector(operands[1], I8X16));
                self.dot(p, q)
            }
            "relaxed_dot_i8x16_i7x16_add_s" => {
                let (p, q) = (self.as_vector(operands[0], I8X16), self.as_vector(operands[1], I8X16));
                let pairs = self.dot(p, q);
                let (lo, hi) = (self.b.ins().swiden_low(pairs), self.b.ins().swiden_high(pairs));
                let sums = self.b.ins().iadd_pairwise(lo, hi);
                let c = self.as_vector(operands[2], I32X4);
                self.b.ins().iadd(sums, c)
            }
            "relaxed_madd" | "relaxed_nmadd" => {
                let c = self.as_vector(operands[2], ty);
                let x = if name == "relaxed_nmadd" { self.b.ins().fneg(x) } else { x };
                self.b.ins().fma(x, y, c)
            }
            other => {
                return Err(unsupported(self.body.op_loc(op), format!("'simd.{other}'")));
            }
        })
    }

    /// Products of sign-extended lane pairs, added pairwise: the dot products.
    fn dot(&mut self, p: ir::Value, q: ir::Value) -> ir::Value {
        let (pl, ql) = (self.b.ins().swiden_low(p), self.b.ins().swiden_low(q));
        let low = self.b.ins().imul(pl, ql);
        let (ph, qh) = (self.b.ins().swiden_high(p), self.b.ins().swiden_high(q));
        let high = self.b.ins().imul(ph, qh);
        self.b.ins().iadd_pairwise(low, high)
    }

    /// A SIMD load or store, checked for the bytes it touches.
    fn simd_access(
        &mut self,
        op: Op,
        family: &'static Family,
        operands: &[ir::Value],
    ) -> Result<(), Diagnostic> {
        let loc = self.body.op_loc(op);
        let bytes = access_bytes(family).ok_or_else(|| unsupported(loc, "an access of unknown width"))?;
        let memory = self.index(op, "memory", &self.refs.layout.memory_index)?;
        let offset = self.attr_int(op, "offset").unwrap_or(0) as u64;
        let access = Access { memory, value_type: I8X16, width: bytes * 8, offset };
        let at = self.checked_address(&access, operands[0]);
        let lane = self.attr_int(op, "lane").unwrap_or(0) as u8;
        let name = family.name;
        let f = flags();
        let v = match (family.sig, name) {
            (Sig::Load, "load") => self.b.ins().load(I8X16, f, at, 0),
            (Sig::Load, "load8x8_s") => self.b.ins().sload8x8(f, at, 0),
            (Sig::Load, "load8x8_u") => self.b.ins().uload8x8(f, at, 0),
            (Sig::Load, "load16x4_s") => self.b.ins().sload16x4(f, at, 0),
            (Sig::Load, "load16x4_u") => self.b.ins().uload16x4(f, at, 0),
            (Sig::Load, "load32x2_s") => self.b.ins().sload32x2(f, at, 0),
            (Sig::Load, "load32x2_u") => self.b.ins().uload32x2(f, at, 0),
            (Sig::Load, _) if name.ends_with("_splat") => {
                let shape = int_shape(bytes * 8);
                let x = self.b.ins().load(lane_type(shape), f, at, 0);
                self.b.ins().splat(vector_type(shape), x)
            }
            (Sig::Load, _) => {
                // load32_zero and load64_zero.
                let ty = if bytes == 4 { I32 } else { I64 };
                let x = self.b.ins().load(ty, f, at, 0);
                self.b.ins().scalar_to_vector(if bytes == 4 { I32X4 } else { I64X2 }, x)
            }
            (Sig::LoadLane, _) => {
                let shape = int_shape(bytes * 8);
                let x = self.b.ins().load(lane_type(shape), f, at, 0);
                let v = self.as_vector(operands[1], vector_type(shape));
                self.b.ins().insertlane(v, x, lane)
            }
            (Sig::Store, _) => {
                let v = self.as_vector(operands[1], I8X16);
                self.b.ins().store(f, v, at, 0);
                return Ok(());
            }
            (Sig::StoreLane, _) => {
                let shape = int_shape(bytes * 8);
                let v = self.as_vector(operands[1], vector_type(shape));
                let x = self.b.ins().extractlane(v, lane);
                self.b.ins().store(f, x, at, 0);
                return Ok(());
            }
            _ => return Err(unsupported(loc, format!("'simd.{name}'"))),
        };
        self.set_vector(op, v);
        Ok(())
    }
}
