//! Calls in the LLVM translation: through function-reference records (with their type check),
//! direct calls with the trap and call-depth bookkeeping, and wasm32 `call_indirect` through a
//! per-table dispatcher.

use super::*;

impl<'l> FunctionTranslator<'_, 'l> {
    /// Calls through a function reference record after checking its type id.
    pub(super) fn call_record(
        &mut self,
        op: Op,
        record: IntValue<'l>,
        fty: Type,
        args: &[BasicValueEnum<'l>],
        tail: bool,
    ) -> R<()> {
        let i64t = self.ll.i64_type();
        let expected = self.refs.layout.type_ids.get(&fty).copied().map_or(-1, i64::from);
        let id_at = self.b.build_int_add(record, self.i64(8), "").map_err(err)?;
        let actual = self.b.build_load(i64t, self.ptr(id_at)?, "").map_err(err)?.into_int_value();
        let mismatch =
            self.b.build_int_compare(IntPredicate::NE, actual, self.i64(expected), "").map_err(err)?;
        self.trap_if(mismatch, TrapCode::BadSignature)?;
        let code = self.b.build_load(i64t, self.ptr(record)?, "").map_err(err)?.into_int_value();
        let fn_type = function_type(self.ll, self.ctx, fty, true)?;
        let all = self.call_args(args);
        let n = self.ctx.function_signature(fty).map_or(0, |(_, r)| r.len());
        if tail {
            self.leave_frame()?;
        }
        let site = self.b.build_indirect_call(fn_type, self.ptr(code)?, &all, "").map_err(err)?;
        site.set_call_convention(TAIL_CC);
        if tail {
            site.set_tail_call_kind(inkwell::values::LLVMTailCallKind::LLVMTailCallKindTail);
            self.ret_tail(site)?;
            self.terminated = true;
        } else {
            let vals = self.call_results(site, n)?;
            self.check_trap()?;
            self.set_results(op, &vals);
        }
        Ok(())
    }

    /// Calls `f` (a WasmIR function or a wasm32 dispatcher); `tail` for `return_call`.
    pub(super) fn direct_call(
        &mut self,
        op: Op,
        f: FunctionValue<'l>,
        args: &[BasicValueEnum<'l>],
        tail: bool,
    ) -> R<()> {
        let all = self.call_args(args);
        let cc = calling_convention(self.is_wasm32());
        if tail {
            self.leave_frame()?;
            let site = self.b.build_call(f, &all, "").map_err(err)?;
            site.set_call_convention(cc);
            site.set_tail_call_kind(inkwell::values::LLVMTailCallKind::LLVMTailCallKindTail);
            self.ret_tail(site)?;
            self.terminated = true;
        } else {
            let site = self.b.build_call(f, &all, "").map_err(err)?;
            site.set_call_convention(cc);
            if self.is_wasm32() {
                // The engine's stack is the only depth limit wasm32 code has: LLVM must not
                // turn a recursive call into a loop, or endless recursion would not exhaust it.
                site.set_tail_call_kind(inkwell::values::LLVMTailCallKind::LLVMTailCallKindNoTail);
            }
            let vals = self.call_results(site, self.body.results(op).len())?;
            self.check_trap()?;
            self.set_results(op, &vals);
        }
        Ok(())
    }

    /// wasm32 `call_indirect`: a call to the table's dispatcher for the callee type, which
    /// calls the function in the indexed slot directly or traps (index out of range, empty
    /// slot, other type), as the engine's `call_indirect` would.
    pub(super) fn wasm32_call_indirect(&mut self, op: Op, tail: bool) -> R<()> {
        let layout = self.refs.layout;
        let (body, ctx) = (self.body, self.ctx);
        let loc = body.op_loc(op);
        let table = self.index(op, "table", &layout.table_index)?;
        if layout.tables[table].is64 {
            return Err(not_on_wasm32(loc, "a 64-bit table"));
        }
        let fty = ctx
            .dict_get(body.op_attrs(op), "callee_type")
            .and_then(|a| ctx.attr_as_type(a))
            .ok_or_else(|| unsupported(loc, "a call_indirect without `callee_type`"))?;
        let dispatcher = self.dispatcher(table, fty)?;
        let operands = self.operands(op);
        let mut args = operands[1..].to_vec();
        args.push(operands[0]);
        self.direct_call(op, dispatcher, &args, tail)
    }

    /// `wasmir_dispatch_<table>_<type id>(params..., index)`, built on first use.
    pub(super) fn dispatcher(&self, table: usize, fty: Type) -> R<FunctionValue<'l>> {
        let layout = self.refs.layout;
        let id = layout.type_ids.get(&fty).copied();
        // Keyed by the interned type: a type no function has (no id) still has its signature.
        let name = format!("wasmir_dispatch_{table}_t{}", fty.as_u32());
        if let Some(f) = self.module.get_function(&name) {
            return Ok(f);
        }
        let base = function_type(self.ll, self.ctx, fty, false)?;
        let mut params: Vec<BasicMetadataTypeEnum<'l>> = base.get_param_types();
        params.push(self.ll.i32_type().into());
        let ty = match base.get_return_type() {
            Some(r) => r.fn_type(&params, false),
            None => self.ll.void_type().fn_type(&params, false),
        };
        let f = self.module.add_function(&name, ty, Some(inkwell::module::Linkage::Internal));
        let b = self.ll.create_builder();
        let entry = self.ll.append_basic_block(f, "entry");
        let trap = self.ll.append_basic_block(f, "trap");
        b.position_at_end(trap);
        let trap_fn = Intrinsic::find("llvm.trap")
            .and_then(|i| i.get_declaration(self.module, &[]))
            .ok_or_else(|| err("no intrinsic llvm.trap"))?;
        b.build_call(trap_fn, &[], "").map_err(err)?;
        b.build_unreachable().map_err(err)?;
        let n = params.len() - 1;
        let args: Vec<BasicMetadataValueEnum<'l>> =
            (0..n).filter_map(|k| f.get_nth_param(k as u32)).map(Into::into).collect();
        let index = f.get_nth_param(n as u32).ok_or_else(|| err("no index"))?.into_int_value();
        let slots = self.refs.wasm32.as_ref().map(|w| w.tables[table].as_slice()).unwrap_or_default();
        let mut cases = Vec::new();
        for (slot, callee) in slots.iter().enumerate() {
            let Some(callee) = *callee else { continue };
            if layout.type_ids.get(&layout.funcs[callee].ty).copied() != id || id.is_none() {
                continue;
            }
            let block = self.ll.append_basic_block(f, "");
            b.position_at_end(block);
            let site = b.build_call(self.refs.functions[callee], &args, "").map_err(err)?;
            site.set_tail_call_kind(inkwell::values::LLVMTailCallKind::LLVMTailCallKindTail);
            match site.try_as_basic_value() {
                inkwell::values::ValueKind::Basic(v) => b.build_return(Some(&v as &dyn BasicValue<'l>)),
                _ => b.build_return(None),
            }
            .map_err(err)?;
            cases.push((self.ll.i32_type().const_int(slot as u64, false), block));
        }
        b.position_at_end(entry);
        b.build_switch(index, trap, &cases).map_err(err)?;
        Ok(f)
    }
}
