//! `arith` in the LLVM translation: each op to LLVM instructions and intrinsics with Wasm's
//! exact semantics (trapping division and truncation, canonical NaNs, saturating conversions).

use super::*;

impl<'l> FunctionTranslator<'_, 'l> {
    pub(super) fn float_const(&self, ty: BasicTypeEnum<'l>, x: f64) -> BasicValueEnum<'l> {
        ty.into_float_type().const_float(x).into()
    }

    pub(super) fn arith(&mut self, op: Op, short: &str) -> R<()> {
        let ctx = self.ctx;
        let body = self.body;
        let loc = body.op_loc(op);
        if short == "constant" {
            let value =
                ctx.dict_get(body.op_attrs(op), "value").ok_or_else(|| err("a constant without a value"))?;
            let v: BasicValueEnum<'l> = match *ctx.attr_data(value) {
                wasmir_ir::AttrData::Int { value, ty: Type::I32 } => self.i32(i64::from(value as i32)).into(),
                wasmir_ir::AttrData::Int { value, ty: Type::I64 } => self.i64(value).into(),
                wasmir_ir::AttrData::Float { bits, ty: Type::F32 } => {
                    let i = self.ll.i32_type().const_int(bits & 0xFFFF_FFFF, false);
                    self.b.build_bit_cast(i, self.ll.f32_type(), "").map_err(err)?
                }
                wasmir_ir::AttrData::Float { bits, ty: Type::F64 } => {
                    let i = self.ll.i64_type().const_int(bits, false);
                    self.b.build_bit_cast(i, self.ll.f64_type(), "").map_err(err)?
                }
                _ => return Err(unsupported(loc, "a constant that is not an i32, i64, f32 or f64")),
            };
            self.set_results(op, &[v]);
            return Ok(());
        }
        let x = self.operands(op);
        let to = self.types_of(body.results(op))?.first().copied().unwrap_or(self.ll.i32_type().into());
        let predicate = ctx.dict_get(body.op_attrs(op), "predicate").and_then(|a| ctx.attr_as_str(a));
        let v = self.scalar_op(short, predicate, &x, to, loc)?;
        self.set_results(op, &[v]);
        Ok(())
    }

    /// `arith.<short>` (with its `predicate` for comparisons) on LLVM values, giving `to`,
    /// a NaN result canonicalized: the `arith` ops and the SIMD lane programs' scalar code.
    pub(super) fn scalar_op(
        &mut self,
        short: &str,
        predicate: Option<&str>,
        x: &[BasicValueEnum<'l>],
        to: BasicTypeEnum<'l>,
        loc: Location,
    ) -> R<BasicValueEnum<'l>> {
        let from = x.first().map(|v| v.get_type()).unwrap_or(to);
        let b = &self.b;
        let int = |i: usize| x[i].into_int_value();
        let flt = |i: usize| x[i].into_float_value();
        // Shift amounts are taken modulo the width, as Wasm does (LLVM makes them poison).
        let amount = |i: usize| -> R<IntValue<'l>> {
            let w = int(i).get_type().get_bit_width();
            b.build_and(int(i), int(i).get_type().const_int(u64::from(w - 1), false), "").map_err(err)
        };
        let v: BasicValueEnum<'l> = match short {
            "addi" => b.build_int_add(int(0), int(1), "").map_err(err)?.into(),
            "subi" => b.build_int_sub(int(0), int(1), "").map_err(err)?.into(),
            "muli" => b.build_int_mul(int(0), int(1), "").map_err(err)?.into(),
            "andi" => b.build_and(int(0), int(1), "").map_err(err)?.into(),
            "ori" => b.build_or(int(0), int(1), "").map_err(err)?.into(),
            "xori" => b.build_xor(int(0), int(1), "").map_err(err)?.into(),
            "shli" => b.build_left_shift(int(0), amount(1)?, "").map_err(err)?.into(),
            "shrsi" => b.build_right_shift(int(0), amount(1)?, true, "").map_err(err)?.into(),
            "shrui" => b.build_right_shift(int(0), amount(1)?, false, "").map_err(err)?.into(),
            "rotli" => self.intrinsic("llvm.fshl", &[from], &[x[0], x[0], x[1]])?,
            "rotri" => self.intrinsic("llvm.fshr", &[from], &[x[0], x[0], x[1]])?,
            "clz" | "ctz" => {
                let f = if short == "clz" { "llvm.ctlz" } else { "llvm.cttz" };
                let no_poison = self.ll.bool_type().const_zero().into();
                self.intrinsic(f, &[from], &[x[0], no_poison])?
            }
            "popcnt" => self.intrinsic("llvm.ctpop", &[from], &[x[0]])?,
            "divui" | "remui" => {
                let zero = b
                    .build_int_compare(IntPredicate::EQ, int(1), int(1).get_type().const_zero(), "")
                    .map_err(err)?;
                self.trap_if(zero, TrapCode::DivisionByZero)?;
                let b = &self.b;
                if short == "divui" {
                    b.build_int_unsigned_div(int(0), int(1), "").map_err(err)?.into()
                } else {
                    b.build_int_unsigned_rem(int(0), int(1), "").map_err(err)?.into()
                }
            }
            "divsi" | "remsi" => {
                let t = int(1).get_type();
                let zero = b.build_int_compare(IntPredicate::EQ, int(1), t.const_zero(), "").map_err(err)?;
                self.trap_if(zero, TrapCode::DivisionByZero)?;
                let b = &self.b;
                let minus_one =
                    b.build_int_compare(IntPredicate::EQ, int(1), t.const_all_ones(), "").map_err(err)?;
                if short == "divsi" {
                    let min = if t.get_bit_width() == 32 {
                        t.const_int(0x8000_0000, false)
                    } else {
                        t.const_int(1 << 63, false)
                    };
                    let is_min = b.build_int_compare(IntPredicate::EQ, int(0), min, "").map_err(err)?;
                    let overflow = b.build_and(is_min, minus_one, "").map_err(err)?;
                    self.trap_if(overflow, TrapCode::IntegerOverflow)?;
                    self.b.build_int_signed_div(int(0), int(1), "").map_err(err)?.into()
                } else {
                    let divisor = b
                        .build_select(minus_one, t.const_int(1, false), int(1), "")
                        .map_err(err)?
                        .into_int_value();
                    b.build_int_signed_rem(int(0), divisor, "").map_err(err)?.into()
                }
            }
            "eqz" => {
                let c = b
                    .build_int_compare(IntPredicate::EQ, int(0), int(0).get_type().const_zero(), "")
                    .map_err(err)?;
                self.bool_to_i32(c)?
            }
            "cmpi" => {
                let p = match predicate.unwrap_or("") {
                    "eq" => IntPredicate::EQ,
                    "ne" => IntPredicate::NE,
                    "slt" => IntPredicate::SLT,
                    "ult" => IntPredicate::ULT,
                    "sgt" => IntPredicate::SGT,
                    "ugt" => IntPredicate::UGT,
                    "sle" => IntPredicate::SLE,
                    "ule" => IntPredicate::ULE,
                    "sge" => IntPredicate::SGE,
                    "uge" => IntPredicate::UGE,
                    p => return Err(unsupported(loc, format!("the cmpi predicate `{p}`"))),
                };
                let c = b.build_int_compare(p, int(0), int(1), "").map_err(err)?;
                self.bool_to_i32(c)?
            }
            "cmpf" => {
                let p = match predicate.unwrap_or("") {
                    "eq" => FloatPredicate::OEQ,
                    "ne" => FloatPredicate::UNE,
                    "lt" => FloatPredicate::OLT,
                    "gt" => FloatPredicate::OGT,
                    "le" => FloatPredicate::OLE,
                    "ge" => FloatPredicate::OGE,
                    p => return Err(unsupported(loc, format!("the cmpf predicate `{p}`"))),
                };
                let c = b.build_float_compare(p, flt(0), flt(1), "").map_err(err)?;
                self.bool_to_i32(c)?
            }
            "absf" => self.intrinsic("llvm.fabs", &[from], &[x[0]])?,
            "negf" => b.build_float_neg(flt(0), "").map_err(err)?.into(),
            "ceilf" => self.intrinsic("llvm.ceil", &[from], &[x[0]])?,
            "floorf" => self.intrinsic("llvm.floor", &[from], &[x[0]])?,
            "truncf" => self.intrinsic("llvm.trunc", &[from], &[x[0]])?,
            "nearestf" => self.intrinsic("llvm.roundeven", &[from], &[x[0]])?,
            "sqrtf" => self.intrinsic("llvm.sqrt", &[from], &[x[0]])?,
            "addf" => b.build_float_add(flt(0), flt(1), "").map_err(err)?.into(),
            "subf" => b.build_float_sub(flt(0), flt(1), "").map_err(err)?.into(),
            "mulf" => b.build_float_mul(flt(0), flt(1), "").map_err(err)?.into(),
            "divf" => b.build_float_div(flt(0), flt(1), "").map_err(err)?.into(),
            "minf" => self.intrinsic("llvm.minimum", &[from], &[x[0], x[1]])?,
            "maxf" => self.intrinsic("llvm.maximum", &[from], &[x[0], x[1]])?,
            "copysign" => self.intrinsic("llvm.copysign", &[from], &[x[0], x[1]])?,
            "select" => {
                let c = self.to_i1(x[0])?;
                self.b.build_select(c, x[1], x[2], "").map_err(err)?
            }
            "wrap" => b.build_int_truncate(int(0), self.ll.i32_type(), "").map_err(err)?.into(),
            "extend_s" => b.build_int_s_extend(int(0), self.ll.i64_type(), "").map_err(err)?.into(),
            "extend_u" => b.build_int_z_extend(int(0), self.ll.i64_type(), "").map_err(err)?.into(),
            "extend8_s" | "extend16_s" | "extend32_s" => {
                let narrow = match short {
                    "extend8_s" => self.ll.i8_type(),
                    "extend16_s" => self.ll.i16_type(),
                    _ => self.ll.i32_type(),
                };
                let r = b.build_int_truncate(int(0), narrow, "").map_err(err)?;
                b.build_int_s_extend(r, to.into_int_type(), "").map_err(err)?.into()
            }
            "trunc_s" | "trunc_u" => {
                let signed = short == "trunc_s";
                let nan = b.build_float_compare(FloatPredicate::UNO, flt(0), flt(0), "").map_err(err)?;
                self.trap_if(nan, TrapCode::BadConversion)?;
                let (lo, hi) = crate::native::trunc_bounds(
                    from.into_float_type().get_bit_width() == 32,
                    to.into_int_type().get_bit_width() == 32,
                    signed,
                );
                let b = &self.b;
                let lo = self.float_const(from, lo).into_float_value();
                let hi = self.float_const(from, hi).into_float_value();
                let below = b.build_float_compare(FloatPredicate::OLE, flt(0), lo, "").map_err(err)?;
                let above = b.build_float_compare(FloatPredicate::OGE, flt(0), hi, "").map_err(err)?;
                let out = b.build_or(below, above, "").map_err(err)?;
                self.trap_if(out, TrapCode::IntegerOverflow)?;
                let b = &self.b;
                if signed {
                    b.build_float_to_signed_int(flt(0), to.into_int_type(), "").map_err(err)?.into()
                } else {
                    b.build_float_to_unsigned_int(flt(0), to.into_int_type(), "").map_err(err)?.into()
                }
            }
            "trunc_sat_s" => self.intrinsic("llvm.fptosi.sat", &[to, from], &[x[0]])?,
            "trunc_sat_u" => self.intrinsic("llvm.fptoui.sat", &[to, from], &[x[0]])?,
            "convert_s" => b.build_signed_int_to_float(int(0), to.into_float_type(), "").map_err(err)?.into(),
            "convert_u" => {
                b.build_unsigned_int_to_float(int(0), to.into_float_type(), "").map_err(err)?.into()
            }
            "demote" => b.build_float_trunc(flt(0), self.ll.f32_type(), "").map_err(err)?.into(),
            "promote" => b.build_float_ext(flt(0), self.ll.f64_type(), "").map_err(err)?.into(),
            "reinterpret" => b.build_bit_cast(x[0], to, "").map_err(err)?,
            other => return Err(unsupported(loc, format!("`arith.{other}`"))),
        };
        Ok(match short {
            "addf" | "subf" | "mulf" | "divf" | "sqrtf" | "minf" | "maxf" | "ceilf" | "floorf" | "truncf"
            | "nearestf" | "demote" | "promote" => self.canonical_nan(v)?,
            _ => v,
        })
    }
}
