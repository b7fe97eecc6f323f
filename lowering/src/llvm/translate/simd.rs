//! `simd` in the LLVM translation, written from the lane programs of `simd/semantics.rs`
//! (the one definition the folder and the scalar fallback use): a v128 is `<16 x i8>`, each
//! result lane is its program's scalar expression over `extractelement`s of the operands
//! viewed at the program's shapes, put back with `insertelement`; LLVM's vectorizers and
//! instruction selection turn the lanes back into vector instructions where they can. NaN
//! results are canonicalized as the scalar ops' are. Memory accesses are vector, element or
//! extending loads and stores, checked for their true width.

use super::*;
use inkwell::types::VectorType;
use inkwell::values::VectorValue;
use wasmir_dialects::simd::semantics::{self, Expr, Ext, Program, Shape};
use wasmir_dialects::simd::{Family, Sig, access_bytes, parse_bytes};

/// An operand of a lane program as LLVM sees it.
#[derive(Copy, Clone)]
enum Arg<'l> {
    Vector(VectorValue<'l>),
    Scalar(BasicValueEnum<'l>),
}

impl<'l> FunctionTranslator<'_, 'l> {
    /// `<16 x i8>`, the type of every v128 value.
    fn v128_type(&self) -> VectorType<'l> {
        self.ll.i8_type().vec_type(16)
    }

    /// The vector type of a lane shape.
    fn shape_type(&self, shape: Shape) -> VectorType<'l> {
        let lanes = shape.lanes() as u32;
        match shape {
            Shape::I8x16 => self.ll.i8_type().vec_type(lanes),
            Shape::I16x8 => self.ll.i16_type().vec_type(lanes),
            Shape::I32x4 => self.ll.i32_type().vec_type(lanes),
            Shape::I64x2 => self.ll.i64_type().vec_type(lanes),
            Shape::F32x4 => self.ll.f32_type().vec_type(lanes),
            Shape::F64x2 => self.ll.f64_type().vec_type(lanes),
        }
    }

    fn scalar_type(&self, ty: Type) -> BasicTypeEnum<'l> {
        match ty {
            Type::I64 => self.ll.i64_type().into(),
            Type::F32 => self.ll.f32_type().into(),
            Type::F64 => self.ll.f64_type().into(),
            _ => self.ll.i32_type().into(),
        }
    }

    fn view(&self, v: VectorValue<'l>, shape: Shape) -> R<VectorValue<'l>> {
        Ok(self.b.build_bit_cast(v, self.shape_type(shape), "").map_err(err)?.into_vector_value())
    }

    pub(super) fn simd(&mut self, op: Op, family: &'static Family) -> R<()> {
        let loc = self.body.op_loc(op);
        if self.is_wasm32() {
            return Err(not_on_wasm32(loc, "SIMD"));
        }
        if family.accesses_memory() {
            return self.simd_access(op, family);
        }
        let attrs = self.body.op_attrs(op);
        let text = |key: &str| self.ctx.dict_get(attrs, key).and_then(|a| self.ctx.attr_as_str(a));
        if family.sig == Sig::Const {
            let bytes = text("value").and_then(parse_bytes).unwrap_or([0; 16]);
            let v = self.vector_bytes(bytes);
            self.set_results(op, &[v.into()]);
            return Ok(());
        }
        let shape = match text("shape") {
            Some(s) => Shape::parse(s).ok_or_else(|| unsupported(loc, format!("the shape `{s}`")))?,
            None => Shape::I64x2,
        };
        let lane = self.attr_int(op, "lane").map(|l| l as u32);
        let shuffle = text("lanes").and_then(parse_bytes);
        let program = semantics::program(family, shape, lane, shuffle.as_ref())
            .ok_or_else(|| unsupported(loc, format!("'{}'", family.op)))?;
        let args: Vec<Arg<'l>> = self
            .operands(op)
            .into_iter()
            .map(|v| match v {
                BasicValueEnum::VectorValue(v) => Arg::Vector(v),
                other => Arg::Scalar(other),
            })
            .collect();
        let mut memo = FxHashMap::default();
        let result = match &program {
            Program::Scalar(e) => self.lane_expr(e, &args, &mut memo)?,
            Program::Vector(shape, exprs) => {
                let ty = self.shape_type(*shape);
                let mut v = ty.get_poison();
                for (i, e) in exprs.iter().enumerate() {
                    let x = self.lane_expr(e, &args, &mut memo)?;
                    // Narrow lanes keep their low bits.
                    let x = if shape.is_narrow() {
                        self.b
                            .build_int_truncate(x.into_int_value(), ty.get_element_type().into_int_type(), "")
                            .map_err(err)?
                            .into()
                    } else {
                        x
                    };
                    v = self.b.build_insert_element(v, x, self.i32(i as i64), "").map_err(err)?;
                }
                self.b.build_bit_cast(v, self.v128_type(), "").map_err(err)?
            }
        };
        self.set_results(op, &[result]);
        Ok(())
    }

    /// A `<16 x i8>` constant.
    fn vector_bytes(&self, bytes: [u8; 16]) -> VectorValue<'l> {
        let i8t = self.ll.i8_type();
        let items: Vec<_> = bytes.iter().map(|&b| i8t.const_int(u64::from(b), false)).collect();
        VectorType::const_vector(&items)
    }

    /// The scalar value of a lane program's expression.
    fn lane_expr(
        &mut self,
        e: &Expr,
        args: &[Arg<'l>],
        memo: &mut FxHashMap<Expr, BasicValueEnum<'l>>,
    ) -> R<BasicValueEnum<'l>> {
        if let Some(&v) = memo.get(e) {
            return Ok(v);
        }
        let i32t = self.ll.i32_type();
        let v: BasicValueEnum<'l> = match e {
            Expr::Lane { operand, shape, lane, ext } => {
                let Arg::Vector(vector) = args[*operand as usize] else {
                    return Err(err("a lane of a scalar"));
                };
                let viewed = self.view(vector, *shape)?;
                let x = self.b.build_extract_element(viewed, self.i32(i64::from(*lane)), "").map_err(err)?;
                if shape.is_narrow() {
                    let x = x.into_int_value();
                    if *ext == Ext::Sext {
                        self.b.build_int_s_extend(x, i32t, "").map_err(err)?.into()
                    } else {
                        self.b.build_int_z_extend(x, i32t, "").map_err(err)?.into()
                    }
                } else {
                    x
                }
            }
            Expr::Scalar(n) => match args[*n as usize] {
                Arg::Scalar(v) => v,
                Arg::Vector(_) => return Err(err("a vector where a scalar goes")),
            },
            Expr::Const(bits, ty) => match *ty {
                Type::F32 => self
                    .b
                    .build_bit_cast(i32t.const_int(bits & 0xFFFF_FFFF, false), self.ll.f32_type(), "")
                    .map_err(err)?,
                Type::F64 => self
                    .b
                    .build_bit_cast(self.ll.i64_type().const_int(*bits, false), self.ll.f64_type(), "")
                    .map_err(err)?,
                Type::I64 => self.ll.i64_type().const_int(*bits, false).into(),
                _ => i32t.const_int(bits & 0xFFFF_FFFF, false).into(),
            },
            Expr::Pick(index, cases, default) => {
                // The cases as a vector, read at the index when it is in range.
                let index = self.lane_expr(index, args, memo)?.into_int_value();
                let count = cases.len() as u32;
                let mut table = i32t.vec_type(count).get_poison();
                for (k, case) in cases.iter().enumerate() {
                    let c = self.lane_expr(case, args, memo)?;
                    table = self.b.build_insert_element(table, c, self.i32(k as i64), "").map_err(err)?;
                }
                let last = self.i32(i64::from(count) - 1);
                let inside = self
                    .b
                    .build_int_compare(IntPredicate::ULT, index, self.i32(i64::from(count)), "")
                    .map_err(err)?;
                let clamped = self.b.build_select(inside, index, last, "").map_err(err)?.into_int_value();
                let picked = self.b.build_extract_element(table, clamped, "").map_err(err)?;
                let default = self.lane_expr(default, args, memo)?;
                self.b.build_select(inside, picked, default, "").map_err(err)?
            }
            Expr::Op(name, ty, operands) => {
                let xs: Vec<BasicValueEnum<'l>> =
                    operands.iter().map(|a| self.lane_expr(a, args, memo)).collect::<R<_>>()?;
                self.lane_op(name, *ty, &xs)?
            }
        };
        memo.insert(e.clone(), v);
        Ok(v)
    }

    /// One `arith` op of a lane program on LLVM scalars: `arith`'s own translation, but for
    /// `fma` (no `arith` op: relaxed multiply-add's fused form).
    fn lane_op(&mut self, name: &str, ty: Type, x: &[BasicValueEnum<'l>]) -> R<BasicValueEnum<'l>> {
        let to = self.scalar_type(ty);
        if name == "fma" {
            let v = self.intrinsic("llvm.fma", &[to], &[x[0], x[1], x[2]])?;
            return self.canonical_nan(v);
        }
        // Comparisons are spelled `cmpi.<predicate>` in lane programs.
        let (short, predicate) = match name.split_once('.') {
            Some((op, predicate)) => (op, Some(predicate)),
            None => (name, None),
        };
        self.scalar_op(short, predicate, x, to, Location::Unknown)
    }

    /// A SIMD load or store, checked for the bytes it touches.
    fn simd_access(&mut self, op: Op, family: &'static Family) -> R<()> {
        let loc = self.body.op_loc(op);
        let bytes = access_bytes(family).ok_or_else(|| unsupported(loc, "an access of unknown width"))?;
        let memory = self.index(op, "memory", &self.refs.layout.memory_index)?;
        let offset = self.attr_int(op, "offset").unwrap_or(0) as u64;
        let operands = self.operands(op);
        let address = self.address64(operands[0], self.refs.layout.memories[memory].is64)?;
        let p = self.host_address(memory, address, offset, bytes * 8)?;
        let lane = self.attr_int(op, "lane").unwrap_or(0);
        let name = family.name;
        let element = |t: &Self, bits: u32| -> BasicTypeEnum<'l> {
            match bits {
                8 => t.ll.i8_type().into(),
                16 => t.ll.i16_type().into(),
                32 => t.ll.i32_type().into(),
                _ => t.ll.i64_type().into(),
            }
        };
        let shape_of = |bits: u32| match bits {
            8 => Shape::I8x16,
            16 => Shape::I16x8,
            32 => Shape::I32x4,
            _ => Shape::I64x2,
        };
        let load = |t: &Self, ty: BasicTypeEnum<'l>| -> R<BasicValueEnum<'l>> {
            let v = t.b.build_load(ty, p, "").map_err(err)?;
            if let Some(i) = v.as_instruction_value() {
                let _ = i.set_alignment(1);
            }
            Ok(v)
        };
        let v128 = self.v128_type();
        let result: VectorValue<'l> = match (family.sig, name) {
            (Sig::Load, "load") => load(self, v128.into())?.into_vector_value(),
            (Sig::Load, _) if name.ends_with("_splat") || name.ends_with("_zero") => {
                let shape = shape_of(bytes * 8);
                let x = load(self, element(self, bytes * 8))?;
                let ty = self.shape_type(shape);
                let mut v = ty.const_zero();
                let lanes = if name.ends_with("_splat") { shape.lanes() } else { 1 };
                for i in 0..lanes {
                    v = self.b.build_insert_element(v, x, self.i32(i as i64), "").map_err(err)?;
                }
                v
            }
            (Sig::Load, _) => {
                // load8x8_s and the other extending loads: half as many elements, extended.
                let from: u32 = name[4..].split('x').next().and_then(|n| n.parse().ok()).unwrap_or(8);
                let count = 64 / from;
                let narrow = element(self, from).into_int_type().vec_type(count);
                let wide = element(self, from * 2).into_int_type().vec_type(count);
                let x = load(self, narrow.into())?.into_vector_value();
                if name.ends_with("_s") {
                    self.b.build_int_s_extend(x, wide, "").map_err(err)?
                } else {
                    self.b.build_int_z_extend(x, wide, "").map_err(err)?
                }
            }
            (Sig::LoadLane, _) => {
                let shape = shape_of(bytes * 8);
                let x = load(self, element(self, bytes * 8))?;
                let v = self.view(operands[1].into_vector_value(), shape)?;
                self.b.build_insert_element(v, x, self.i32(lane), "").map_err(err)?
            }
            (Sig::Store, _) => {
                let s = self.b.build_store(p, operands[1]).map_err(err)?;
                let _ = s.set_alignment(1);
                return Ok(());
            }
            (Sig::StoreLane, _) => {
                let v = self.view(operands[1].into_vector_value(), shape_of(bytes * 8))?;
                let x = self.b.build_extract_element(v, self.i32(lane), "").map_err(err)?;
                let s = self.b.build_store(p, x).map_err(err)?;
                let _ = s.set_alignment(1);
                return Ok(());
            }
            _ => return Err(unsupported(loc, format!("'{}'", family.op))),
        };
        let v = self.b.build_bit_cast(result, v128, "").map_err(err)?;
        self.set_results(op, &[v]);
        Ok(())
    }
}
