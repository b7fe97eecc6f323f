//! Memory in the LLVM translation: checked loads and stores against the length in `vmctx` on
//! the host, address space 0 on wasm32, atomics, and wasm32's bulk-memory ops.

use super::*;

impl<'l> FunctionTranslator<'_, 'l> {
    /// wasm32 `memory.size`, `memory.grow`, `memory.fill` and `memory.copy` on memory 0: the
    /// engine's instructions through LLVM's intrinsics. A fill or copy first checks its range
    /// itself, because LLVM skips a zero-length one that Wasm traps on when out of range.
    pub(super) fn wasm32_memory(&mut self, op: Op, name: &str) -> R<()> {
        let i32t = self.ll.i32_type();
        let zero = i32t.const_zero();
        let operands = self.operands(op);
        match name {
            "memory.size" => {
                let v = self.intrinsic("llvm.wasm.memory.size", &[i32t.into()], &[zero.into()])?;
                self.set_results(op, &[v]);
            }
            "memory.grow" => {
                let v =
                    self.intrinsic("llvm.wasm.memory.grow", &[i32t.into()], &[zero.into(), operands[0]])?;
                self.set_results(op, &[v]);
            }
            _ => {
                let pages = self.intrinsic("llvm.wasm.memory.size", &[i32t.into()], &[zero.into()])?;
                let pages = self.address64(pages, false)?;
                let bytes = self.b.build_left_shift(pages, self.i64(16), "").map_err(err)?;
                let len = self.address64(operands[2], false)?;
                let ranges: &[BasicValueEnum<'l>] =
                    if name == "memory.copy" { &operands[..2] } else { &operands[..1] };
                for &start in ranges {
                    let start = self.address64(start, false)?;
                    let end = self.b.build_int_add(start, len, "").map_err(err)?;
                    let out = self.b.build_int_compare(IntPredicate::UGT, end, bytes, "").map_err(err)?;
                    self.trap_if(out, TrapCode::MemoryOutOfBounds)?;
                }
                let dst = self
                    .b
                    .build_int_to_ptr(
                        operands[0].into_int_value(),
                        self.ll.ptr_type(inkwell::AddressSpace::default()),
                        "",
                    )
                    .map_err(err)?;
                let size = operands[2].into_int_value();
                if name == "memory.fill" {
                    let byte = self
                        .b
                        .build_int_truncate(operands[1].into_int_value(), self.ll.i8_type(), "")
                        .map_err(err)?;
                    self.b.build_memset(dst, 1, byte, size).map_err(err)?;
                } else {
                    let src = self
                        .b
                        .build_int_to_ptr(
                            operands[1].into_int_value(),
                            self.ll.ptr_type(inkwell::AddressSpace::default()),
                            "",
                        )
                        .map_err(err)?;
                    self.b.build_memmove(dst, 1, src, 1, size).map_err(err)?;
                }
            }
        }
        Ok(())
    }

    /// A checked load or store (see the Cranelift backend's `memory_access`).
    pub(super) fn memory_access(&mut self, op: Op, is_load: bool) -> R<()> {
        let body = self.body;
        let access = self.access(op)?;
        let operands = self.operands(op);
        let signed =
            self.ctx.dict_get(body.op_attrs(op), "sign").and_then(|a| self.ctx.attr_as_str(a)) == Some("s");
        let address = self.address64(operands[0], self.refs.layout.memories[access.memory].is64)?;
        let p = if self.is_wasm32() {
            self.wasm32_address(address, access.offset)?
        } else {
            self.host_address(access.memory, address, access.offset, access.width)?
        };
        if is_load {
            let v = self.load_at(op, &access, p, signed)?;
            self.set_results(op, &[v]);
        } else {
            self.store_at(op, &access, p, operands[1])?;
        }
        Ok(())
    }

    /// What a load, store or atomic op accesses: its memory, value type, width and offset.
    pub(super) fn access(&self, op: Op) -> R<Access<'l>> {
        let body = self.body;
        let name = self.ctx.op_def(body.op_kind(op)).name;
        let memory = self.index(op, "memory", &self.refs.layout.memory_index)?;
        let operands = self.operands(op);
        let value_type = match name {
            "memory.load" | "memory.atomic_load" => self.types_of(body.results(op))?[0],
            "memory.atomic_notify" => self.ll.i32_type().into(),
            _ => operands[1].get_type(),
        };
        let full = match value_type {
            BasicTypeEnum::IntType(i) => i.get_bit_width(),
            BasicTypeEnum::FloatType(f) => f.get_bit_width(),
            _ => 64,
        };
        Ok(Access {
            memory,
            value_type,
            full,
            width: self.attr_int(op, "width").map_or(full, |w| w as u32),
            offset: self.attr_int(op, "offset").unwrap_or(0) as u64,
        })
    }

    /// The type of the bits accessed.
    pub(super) fn narrow_type(&self, op: Op, access: &Access<'l>) -> R<BasicTypeEnum<'l>> {
        Ok(match access.width {
            w if w == access.full => access.value_type,
            8 => self.ll.i8_type().into(),
            16 => self.ll.i16_type().into(),
            32 => self.ll.i32_type().into(),
            w => return Err(unsupported(self.body.op_loc(op), format!("a {w}-bit access"))),
        })
    }

    pub(super) fn load_at(
        &mut self,
        op: Op,
        access: &Access<'l>,
        p: inkwell::values::PointerValue<'l>,
        signed: bool,
    ) -> R<BasicValueEnum<'l>> {
        let narrow = self.narrow_type(op, access)?;
        let loaded = self.b.build_load(narrow, p, "").map_err(err)?;
        if let Some(i) = loaded.as_instruction_value() {
            let _ = i.set_alignment(1);
            // In wasm32 code, the engine's bounds check is the access itself: volatile keeps
            // LLVM from dropping or merging an access that may trap.
            let _ = i.set_volatile(self.is_wasm32());
        }
        Ok(if access.width == access.full {
            loaded
        } else if signed {
            let wide = access.value_type.into_int_type();
            self.b.build_int_s_extend(loaded.into_int_value(), wide, "").map_err(err)?.into()
        } else {
            let wide = access.value_type.into_int_type();
            self.b.build_int_z_extend(loaded.into_int_value(), wide, "").map_err(err)?.into()
        })
    }

    pub(super) fn store_at(
        &mut self,
        op: Op,
        access: &Access<'l>,
        p: inkwell::values::PointerValue<'l>,
        v: BasicValueEnum<'l>,
    ) -> R<()> {
        let narrow = self.narrow_type(op, access)?;
        let v = if access.width == access.full {
            v
        } else {
            self.b.build_int_truncate(v.into_int_value(), narrow.into_int_type(), "").map_err(err)?.into()
        };
        let store = self.b.build_store(p, v).map_err(err)?;
        let _ = store.set_alignment(1);
        let _ = store.set_volatile(self.is_wasm32());
        Ok(())
    }

    /// An atomic op on an unshared memory, as wasmtime runs it on one thread: a misaligned
    /// address traps first, then one out of bounds; then the access itself (specs/native.md).
    pub(super) fn atomic(&mut self, op: Op, name: &str) -> R<()> {
        let loc = self.body.op_loc(op);
        if self.is_wasm32() {
            // The wasm32 path runs atomics as legalized for a target without threads.
            return Err(not_on_wasm32(loc, format!("`{name}`")));
        }
        if name == "memory.atomic_fence" {
            // One thread: there is nothing to order.
            return Ok(());
        }
        let access = self.access(op)?;
        let operands = self.operands(op);
        let address = self.address64(operands[0], self.refs.layout.memories[access.memory].is64)?;
        let bytes = u64::from(access.width / 8);
        if bytes > 1 {
            let effective = self.b.build_int_add(address, self.i64(access.offset as i64), "").map_err(err)?;
            let low = self.b.build_and(effective, self.i64((bytes - 1) as i64), "").map_err(err)?;
            let misaligned = self.b.build_int_compare(IntPredicate::NE, low, self.i64(0), "").map_err(err)?;
            self.trap_if(misaligned, TrapCode::UnalignedAtomic)?;
        }
        let p = self.host_address(access.memory, address, access.offset, access.width)?;
        let int = |v: BasicValueEnum<'l>| v.into_int_value();
        let results: Vec<BasicValueEnum<'l>> = match name {
            "memory.atomic_load" => vec![self.load_at(op, &access, p, false)?],
            "memory.atomic_store" => {
                self.store_at(op, &access, p, operands[1])?;
                vec![]
            }
            "memory.atomic_rmw" => {
                let old = self.load_at(op, &access, p, false)?;
                let v = int(operands[1]);
                let b = &self.b;
                let new: BasicValueEnum<'l> = match self
                    .ctx
                    .dict_get(self.body.op_attrs(op), "op")
                    .and_then(|a| self.ctx.attr_as_str(a))
                {
                    Some("add") => b.build_int_add(int(old), v, "").map_err(err)?.into(),
                    Some("sub") => b.build_int_sub(int(old), v, "").map_err(err)?.into(),
                    Some("and") => b.build_and(int(old), v, "").map_err(err)?.into(),
                    Some("or") => b.build_or(int(old), v, "").map_err(err)?.into(),
                    Some("xor") => b.build_xor(int(old), v, "").map_err(err)?.into(),
                    _ => v.into(),
                };
                self.store_at(op, &access, p, new)?;
                vec![old]
            }
            "memory.atomic_cmpxchg" => {
                let old = int(self.load_at(op, &access, p, false)?);
                let wide = access.value_type.into_int_type();
                // A narrow compare looks at the expected value's low bits only.
                let expected = if access.width == access.full {
                    int(operands[1])
                } else {
                    let mask = wide.const_int((1u64 << access.width) - 1, false);
                    self.b.build_and(int(operands[1]), mask, "").map_err(err)?
                };
                let equal = self.b.build_int_compare(IntPredicate::EQ, old, expected, "").map_err(err)?;
                // Storing the old value back when they differ changes nothing on one thread.
                let new = self.b.build_select(equal, int(operands[2]), old, "").map_err(err)?;
                self.store_at(op, &access, p, new)?;
                vec![old.into()]
            }
            // Nobody can wait on an unshared memory: wasmtime traps, after the address checks.
            "memory.atomic_wait" => {
                let always = self.ll.bool_type().const_int(1, false);
                self.trap_if(always, TrapCode::AtomicWaitNonShared)?;
                vec![self.ll.i32_type().const_zero().into()]
            }
            // Nobody waits, so nobody wakes.
            "memory.atomic_notify" => vec![self.ll.i32_type().const_zero().into()],
            other => return Err(unsupported(loc, format!("`{other}`"))),
        };
        self.set_results(op, &results);
        Ok(())
    }

    /// A wasm32 address: `address + offset` in address space 0, trapping first when the sum
    /// leaves the 32-bit space (the engine would trap on it; LLVM's add would wrap).
    pub(super) fn wasm32_address(
        &mut self,
        address: IntValue<'l>,
        offset: u64,
    ) -> R<inkwell::values::PointerValue<'l>> {
        let at = if offset == 0 {
            address
        } else {
            let sum = self.b.build_int_add(address, self.i64(offset as i64), "").map_err(err)?;
            let out =
                self.b.build_int_compare(IntPredicate::UGT, sum, self.i64(0xFFFF_FFFF), "").map_err(err)?;
            self.trap_if(out, TrapCode::MemoryOutOfBounds)?;
            sum
        };
        let at = self.b.build_int_truncate(at, self.ll.i32_type(), "").map_err(err)?;
        self.ptr(at)
    }

    /// A host address in memory `m`, after checking `address + offset + width/8` against the
    /// memory's length.
    pub(super) fn host_address(
        &mut self,
        m: usize,
        address: IntValue<'l>,
        offset: u64,
        width: u32,
    ) -> R<inkwell::values::PointerValue<'l>> {
        let layout = self.refs.layout;
        let len = self.vm_load_i64(layout.memory_len_offset(m))?;
        let extent = offset.saturating_add(u64::from(width / 8));
        let out = if extent > i64::MAX as u64 {
            self.ll.bool_type().const_int(1, false)
        } else {
            let sum = self.intrinsic(
                "llvm.uadd.with.overflow",
                &[self.ll.i64_type().into()],
                &[address.into(), self.i64(extent as i64).into()],
            )?;
            let sum = sum.into_struct_value();
            let end = self.b.build_extract_value(sum, 0, "").map_err(err)?.into_int_value();
            let overflow = self.b.build_extract_value(sum, 1, "").map_err(err)?.into_int_value();
            let past = self.b.build_int_compare(IntPredicate::UGT, end, len, "").map_err(err)?;
            self.b.build_or(past, overflow, "").map_err(err)?
        };
        self.trap_if(out, TrapCode::MemoryOutOfBounds)?;
        let base = self.vm_load_i64(layout.memory_base_offset(m))?;
        let at = self.b.build_int_add(base, address, "").map_err(err)?;
        let at = self.b.build_int_add(at, self.i64(offset as i64), "").map_err(err)?;
        self.ptr(at)
    }
}
