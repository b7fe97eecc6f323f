//! One WasmIR function to CLIF through cranelift-frontend. Structured control flow becomes
//! blocks (a label's continuation or a loop's header, with the values as block parameters);
//! every memory access is bounds-checked explicitly against the length in `vmctx`; traps store
//! their code in `vmctx` and return, and every caller checks that slot after each call, so
//! native code never faults and needs no signal handler.

mod simd;

use crate::native::layout::{DEPTH_SLOT, FUEL_SLOT, Layout, MAX_CALL_DEPTH, TRAP_SLOT, is_ref, unsupported};
use crate::native::runtime::TrapCode;
use crate::native::{Libcall, Word};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    self, AbiParam, BlockArg, FuncRef, InstBuilder, JumpTableData, MemFlagsData, SigRef, Signature, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use cranelift_module::{DataId, FuncId, Module};
use wasmir_ir::{Body, Context, Diagnostic, FxHashMap, Op, OpRef, Type, Value};

/// The calling convention of translated functions: Cranelift's tail convention, so
/// `return_call` runs in constant stack.
pub const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// The CLIF type of a WasmIR value type (references are pointers).
pub fn clif_type(ctx: &Context, ty: Type) -> Option<ir::Type> {
    Some(match ty {
        Type::I32 => types::I32,
        Type::I64 => types::I64,
        Type::F32 => types::F32,
        Type::F64 => types::F64,
        _ if is_ref(ctx, ty) => types::I64,
        // Vectors travel as i8x16 and are bitcast to the lanes an op reads, as wasmtime does.
        _ if wasmir_dialects::simd::is_v128(ctx, ty) => types::I8X16,
        _ => return None,
    })
}

/// The signature of a WasmIR function type: `vmctx` first, then the parameters.
pub fn signature(ctx: &Context, fty: Type, call_conv: CallConv) -> Result<Signature, Diagnostic> {
    let (params, results) = ctx
        .function_signature(fty)
        .ok_or_else(|| Diagnostic::error(wasmir_ir::Location::Unknown, "not a function type"))?;
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(types::I64));
    for &t in params {
        let c = clif_type(ctx, t).ok_or_else(|| type_error(ctx, t))?;
        sig.params.push(AbiParam::new(c));
    }
    for &t in results {
        let c = clif_type(ctx, t).ok_or_else(|| type_error(ctx, t))?;
        sig.returns.push(AbiParam::new(c));
    }
    Ok(sig)
}

fn type_error(ctx: &Context, t: Type) -> Diagnostic {
    unsupported(
        wasmir_ir::Location::Unknown,
        format!("the type `{}`", wasmir_ir::printer::type_to_string(ctx, t)),
    )
}

/// The Cranelift signature of a runtime function.
pub fn libcall_signature(call: Libcall, call_conv: CallConv) -> Signature {
    let (params, returns) = call.params();
    let ty = |w: &Word| if *w == Word::I32 { types::I32 } else { types::I64 };
    let mut sig = Signature::new(call_conv);
    sig.params.extend(params.iter().map(|w| AbiParam::new(ty(w))));
    sig.returns.extend(returns.iter().map(|w| AbiParam::new(ty(w))));
    sig
}

/// What the translation of one function refers to at module level.
pub struct ModuleRefs<'a> {
    pub layout: &'a Layout,
    pub func_ids: &'a [FuncId],
    pub funcs_data: DataId,
    pub libcalls: &'a FxHashMap<Libcall, FuncId>,
}

/// A label of the structured control flow: where a branch to it goes.
/// What a load, store or atomic op accesses.
struct Access {
    memory: usize,
    value_type: ir::Type,
    /// Bits accessed (narrower than `value_type` for extending loads and truncating stores).
    width: u32,
    offset: u64,
}

struct Label {
    target: ir::Block,
}

pub struct FunctionTranslator<'a, 'b, M: Module> {
    ctx: &'a Context,
    body: &'a Body,
    refs: &'a ModuleRefs<'a>,
    module: &'a mut M,
    b: FunctionBuilder<'b>,
    vmctx: ir::Value,
    values: FxHashMap<Value, ir::Value>,
    labels: Vec<Label>,
    /// Returns the default values after a trap (or a callee's trap), releasing the frame.
    unwind: ir::Block,
    results: Vec<ir::Type>,
    func_refs: FxHashMap<usize, FuncRef>,
    libcall_refs: FxHashMap<Libcall, FuncRef>,
    sig_refs: FxHashMap<Type, SigRef>,
    trap_blocks: FxHashMap<TrapCode, ir::Block>,
    funcs_base: Option<ir::Value>,
    /// Set when the current block ended with a terminator (code after it is dead).
    terminated: bool,
    /// Where a `control.yield` of the innermost construct goes.
    yield_to: Option<ir::Block>,
}

fn args(values: &[ir::Value]) -> Vec<BlockArg> {
    values.iter().map(|&v| BlockArg::Value(v)).collect()
}

fn mem_flags() -> MemFlagsData {
    let mut f = MemFlagsData::new();
    f.set_notrap();
    f
}

impl<'a, 'b, M: Module> FunctionTranslator<'a, 'b, M> {
    /// Translates `body` (a function of type `fty`) into `b`'s function.
    pub fn translate(
        ctx: &'a Context,
        body: &'a Body,
        fty: Type,
        refs: &'a ModuleRefs<'a>,
        module: &'a mut M,
        mut b: FunctionBuilder<'b>,
    ) -> Result<(), Diagnostic> {
        let (_, results) = ctx.function_signature(fty).expect("a function type");
        let results: Vec<ir::Type> =
            results.iter().map(|&t| clif_type(ctx, t).expect("checked by the signature")).collect();
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let vmctx = params[0];
        let unwind = b.create_block();
        let mut t = FunctionTranslator {
            ctx,
            body,
            refs,
            module,
            b,
            vmctx,
            values: FxHashMap::default(),
            labels: Vec::new(),
            unwind,
            results,
            func_refs: FxHashMap::default(),
            libcall_refs: FxHashMap::default(),
            sig_refs: FxHashMap::default(),
            trap_blocks: FxHashMap::default(),
            funcs_base: None,
            terminated: false,
            yield_to: None,
        };
        if body.preorder().into_iter().any(|op| ctx.op_def(body.op_kind(op)).name == "refs.func") {
            let gv = t.module.declare_data_in_func(refs.funcs_data, t.b.func);
            t.funcs_base = Some(t.b.ins().symbol_value(types::I64, gv));
        }
        // Count the frame; too deep is a trap (the host stack is finite).
        let depth = t.b.ins().load(types::I64, mem_flags(), vmctx, DEPTH_SLOT);
        let deeper = t.b.ins().iadd_imm_s(depth, 1);
        t.b.ins().store(mem_flags(), deeper, vmctx, DEPTH_SLOT);
        let too_deep = t.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, deeper, MAX_CALL_DEPTH);
        t.trap_if(too_deep, TrapCode::StackExhausted);
        t.burn_fuel();
        let root = *body
            .roots()
            .first()
            .ok_or_else(|| Diagnostic::error(wasmir_ir::Location::Unknown, "a function without a body"))?;
        let block = *body
            .region_blocks(root)
            .first()
            .ok_or_else(|| Diagnostic::error(wasmir_ir::Location::Unknown, "a function without a body"))?;
        for (&arg, &param) in body.block_args(block).iter().zip(&params[1..]) {
            t.values.insert(arg, param);
        }
        t.block(block)?;
        if !t.terminated {
            // A body always ends with a terminator; be safe anyway.
            t.leave_frame();
            let zeros = t.zeros();
            t.b.ins().return_(&zeros);
        }
        // The unwind path: release the frame and return zeros (the caller sees the trap).
        t.b.switch_to_block(unwind);
        t.leave_frame();
        let zeros = t.zeros();
        t.b.ins().return_(&zeros);
        let traps: Vec<(TrapCode, ir::Block)> = {
            let mut v: Vec<_> = t.trap_blocks.iter().map(|(&c, &b)| (c, b)).collect();
            v.sort_by_key(|(c, _)| *c as u32);
            v
        };
        for (code, block) in traps {
            t.b.switch_to_block(block);
            let c = t.b.ins().iconst(types::I64, code as i64);
            t.b.ins().store(mem_flags(), c, vmctx, TRAP_SLOT);
            t.b.ins().jump(unwind, &[]);
        }
        t.b.seal_all_blocks();
        let config = t.module.isa().frontend_config();
        t.b.finalize(config);
        Ok(())
    }

    fn zeros(&mut self) -> Vec<ir::Value> {
        let results = self.results.clone();
        results.into_iter().map(|ty| self.zero(ty)).collect()
    }

    fn zero(&mut self, ty: ir::Type) -> ir::Value {
        match ty {
            types::F32 => self.b.ins().f32const(0.0),
            types::F64 => self.b.ins().f64const(0.0),
            _ if ty.is_vector() => self.vector_constant(ty, [0; 16]),
            _ => self.b.ins().iconst(ty, 0),
        }
    }

    /// One unit of fuel per call and per loop iteration; none left is a trap, so that a run
    /// with a budget always ends.
    fn burn_fuel(&mut self) {
        let fuel = self.b.ins().load(types::I64, mem_flags(), self.vmctx, FUEL_SLOT);
        let left = self.b.ins().iadd_imm_s(fuel, -1);
        self.b.ins().store(mem_flags(), left, self.vmctx, FUEL_SLOT);
        let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, 0);
        self.trap_if(out, TrapCode::OutOfFuel);
    }

    fn leave_frame(&mut self) {
        let depth = self.b.ins().load(types::I64, mem_flags(), self.vmctx, DEPTH_SLOT);
        let shallower = self.b.ins().iadd_imm_s(depth, -1);
        self.b.ins().store(mem_flags(), shallower, self.vmctx, DEPTH_SLOT);
    }

    fn trap_block(&mut self, code: TrapCode) -> ir::Block {
        if let Some(&b) = self.trap_blocks.get(&code) {
            return b;
        }
        let block = self.b.create_block();
        self.b.set_cold_block(block);
        self.trap_blocks.insert(code, block);
        block
    }

    /// Traps with `code` when `condition` is non-zero.
    fn trap_if(&mut self, condition: ir::Value, code: TrapCode) {
        let trap = self.trap_block(code);
        let next = self.b.create_block();
        self.b.ins().brif(condition, trap, &[], next, &[]);
        self.b.switch_to_block(next);
    }

    /// After a call: leave if the callee trapped.
    fn check_trap(&mut self) {
        let code = self.b.ins().load(types::I64, mem_flags(), self.vmctx, TRAP_SLOT);
        let next = self.b.create_block();
        let unwind = self.unwind;
        self.b.ins().brif(code, unwind, &[], next, &[]);
        self.b.switch_to_block(next);
    }

    fn value(&self, v: Value) -> ir::Value {
        self.values[&v]
    }

    fn operands(&self, op: Op) -> Vec<ir::Value> {
        self.body.operands(op).iter().map(|&v| self.value(v)).collect()
    }

    fn set_results(&mut self, op: Op, values: &[ir::Value]) {
        for (&r, &v) in self.body.results(op).iter().zip(values) {
            self.values.insert(r, v);
        }
    }

    fn result_clif_types(&self, op: Op) -> Result<Vec<ir::Type>, Diagnostic> {
        self.body
            .results(op)
            .iter()
            .map(|&r| {
                let t = self.body.value_type(r);
                clif_type(self.ctx, t).ok_or_else(|| type_error(self.ctx, t))
            })
            .collect()
    }

    /// Constructs nest as deep as the input does: the stack grows on the heap when it runs
    /// low (`block` is where the recursion through regions passes).
    fn block(&mut self, block: wasmir_ir::Block) -> Result<(), Diagnostic> {
        stacker::maybe_grow(wasmir_ir::STACK_RED_ZONE, wasmir_ir::STACK_SEGMENT, || {
            let ops: Vec<Op> = self.body.block_ops(block).collect();
            for op in ops {
                if self.terminated {
                    break;
                }
                self.op(op)?;
            }
            Ok(())
        })
    }

    /// Translates a construct's region into the current block; its `control.yield` (or
    /// falling off an empty region) jumps to `cont`.
    fn yield_target_region(&mut self, region: wasmir_ir::Region, cont: ir::Block) -> Result<(), Diagnostic> {
        let saved = self.yield_to.replace(cont);
        self.terminated = false;
        if let Some(&block) = self.body.region_blocks(region).first() {
            self.block(block)?;
        }
        if !self.terminated {
            self.b.ins().jump(cont, &[]);
        }
        self.terminated = false;
        self.yield_to = saved;
        Ok(())
    }

    fn new_block_with(&mut self, tys: &[ir::Type]) -> ir::Block {
        let block = self.b.create_block();
        for &t in tys {
            self.b.append_block_param(block, t);
        }
        block
    }

    fn attr_int(&self, op: Op, key: &str) -> Option<i64> {
        self.ctx.dict_get(self.body.op_attrs(op), key).and_then(|a| self.ctx.attr_as_int(a))
    }

    fn attr_sym(&self, op: Op, key: &str) -> Option<&'a str> {
        let ctx: &'a Context = self.ctx;
        ctx.dict_get(self.body.op_attrs(op), key).and_then(|a| ctx.attr_as_symbol(a))
    }

    fn index(&self, op: Op, key: &str, space: &FxHashMap<String, usize>) -> Result<usize, Diagnostic> {
        let name = self.attr_sym(op, key).unwrap_or_default();
        space
            .get(name)
            .copied()
            .ok_or_else(|| Diagnostic::error(self.body.op_loc(op), format!("unknown symbol @{name}")))
    }

    fn func_ref(&mut self, index: usize) -> FuncRef {
        if let Some(&f) = self.func_refs.get(&index) {
            return f;
        }
        let f = self.module.declare_func_in_func(self.refs.func_ids[index], self.b.func);
        self.func_refs.insert(index, f);
        f
    }

    fn libcall(&mut self, call: Libcall, call_args: &[ir::Value]) -> Vec<ir::Value> {
        let f = match self.libcall_refs.get(&call) {
            Some(&f) => f,
            None => {
                let f = self.module.declare_func_in_func(self.refs.libcalls[&call], self.b.func);
                self.libcall_refs.insert(call, f);
                f
            }
        };
        let mut all = vec![self.vmctx];
        all.extend_from_slice(call_args);
        let inst = self.b.ins().call(f, &all);
        let results = self.b.inst_results(inst).to_vec();
        // Libcalls report failures (bounds, dropped segments) through the trap slot.
        self.check_trap();
        results
    }

    fn sig_ref(&mut self, fty: Type) -> Result<SigRef, Diagnostic> {
        if let Some(&s) = self.sig_refs.get(&fty) {
            return Ok(s);
        }
        let sig = signature(self.ctx, fty, WASM_CALL_CONV)?;
        let s = self.b.import_signature(sig);
        self.sig_refs.insert(fty, s);
        Ok(s)
    }

    /// The address of function `index`'s reference record (code pointer, type id).
    fn funcref_value(&mut self, index: usize) -> ir::Value {
        let base = self.funcs_base.expect("computed at entry for functions with refs.func");
        self.b.ins().iadd_imm_s(base, (index * 16) as i64)
    }

    fn vm_load(&mut self, ty: ir::Type, offset: i32) -> ir::Value {
        self.b.ins().load(ty, mem_flags(), self.vmctx, offset)
    }

    fn op(&mut self, op: Op) -> Result<(), Diagnostic> {
        let name = self.ctx.op_def(self.body.op_kind(op)).name;
        if matches!(name, "control.block" | "control.if" | "control.loop") {
            return self.construct(op, name);
        }
        self.op_unstructured(op)
    }

    /// `control.block`, `if` and `loop`: the only ops whose translation recurses (through
    /// `yield_target_region` and `block`). They are kept out of `op_unstructured`, whose
    /// frame holds every other op's locals, so each level of nesting costs a small frame.
    fn construct(&mut self, op: Op, name: &str) -> Result<(), Diagnostic> {
        let ctx = self.ctx;
        let body = self.body;
        match name {
            "control.block" | "control.if" => {
                let tys = self.result_clif_types(op)?;
                let cont = self.new_block_with(&tys);
                self.labels.push(Label { target: cont });
                let regions = body.op_regions(op).to_vec();
                if name == "control.if" {
                    let c = self.value(body.operands(op)[0]);
                    let then_block = self.b.create_block();
                    let else_block = self.b.create_block();
                    self.b.ins().brif(c, then_block, &[], else_block, &[]);
                    self.b.switch_to_block(then_block);
                    self.yield_target_region(regions[0], cont)?;
                    self.b.switch_to_block(else_block);
                    match regions.get(1) {
                        Some(&r) => self.yield_target_region(r, cont)?,
                        None => {
                            self.b.ins().jump(cont, &[]);
                        }
                    }
                } else {
                    self.yield_target_region(regions[0], cont)?;
                }
                self.labels.pop();
                self.b.switch_to_block(cont);
                let params = self.b.block_params(cont).to_vec();
                self.set_results(op, &params);
            }
            "control.loop" => {
                let tys = self.result_clif_types(op)?;
                let cont = self.new_block_with(&tys);
                let region = body.op_regions(op)[0];
                let block = body.region_blocks(region)[0];
                let arg_tys: Vec<ir::Type> = body
                    .block_args(block)
                    .iter()
                    .map(|&a| {
                        clif_type(ctx, body.value_type(a)).ok_or_else(|| type_error(ctx, body.value_type(a)))
                    })
                    .collect::<Result<_, _>>()?;
                let header = self.new_block_with(&arg_tys);
                let inits = self.operands(op);
                self.b.ins().jump(header, &args(&inits));
                self.b.switch_to_block(header);
                let params = self.b.block_params(header).to_vec();
                for (&a, &p) in body.block_args(block).iter().zip(&params) {
                    self.values.insert(a, p);
                }
                self.burn_fuel();
                self.labels.push(Label { target: header });
                self.yield_target_region(region, cont)?;
                self.labels.pop();
                self.b.switch_to_block(cont);
                let params = self.b.block_params(cont).to_vec();
                self.set_results(op, &params);
            }
            _ => {}
        }
        Ok(())
    }

    #[inline(never)]
    fn op_unstructured(&mut self, op: Op) -> Result<(), Diagnostic> {
        let ctx = self.ctx;
        let body = self.body;
        let name = ctx.op_def(body.op_kind(op)).name;
        let loc = body.op_loc(op);
        if let Some(short) = name.strip_prefix("arith.") {
            return self.arith(op, short);
        }
        if let Some(family) = wasmir_dialects::simd::family(name) {
            return self.simd(op, family);
        }
        match name {
            "control.yield" => {
                // Handled by `yield_target_region` through `yield_to`.
                let values = self.operands(op);
                let target = self.yield_to.expect("a yield inside a construct");
                self.b.ins().jump(target, &args(&values));
                self.terminated = true;
            }
            "control.br" => {
                let target = self.label(op)?;
                let values = self.operands(op);
                self.b.ins().jump(target, &args(&values));
                self.terminated = true;
            }
            "control.br_if" => {
                let target = self.label(op)?;
                let values = self.operands(op);
                let next = self.b.create_block();
                self.b.ins().brif(values[0], target, &args(&values[1..]), next, &[]);
                self.b.switch_to_block(next);
            }
            "control.br_table" => {
                let values = self.operands(op);
                let targets = wasmir_dialects::control::table_targets(ctx, OpRef::new(ctx, body, op));
                let default = self.attr_int(op, "default").unwrap_or(0) as u32;
                let carried = args(&values[1..]);
                let mut calls = Vec::new();
                for depth in targets {
                    let target = self.label_at(op, depth)?;
                    calls.push(self.b.func.dfg.block_call(target, &carried));
                }
                let default_target = self.label_at(op, default)?;
                let default_call = self.b.func.dfg.block_call(default_target, &carried);
                let jt = self.b.create_jump_table(JumpTableData::new(default_call, &calls));
                self.b.ins().br_table(values[0], jt);
                self.terminated = true;
            }
            "control.unreachable" => {
                let trap = self.trap_block(TrapCode::Unreachable);
                self.b.ins().jump(trap, &[]);
                self.terminated = true;
            }
            "func.return" => {
                let values = self.operands(op);
                self.leave_frame();
                self.b.ins().return_(&values);
                self.terminated = true;
            }
            "func.call" | "control.return_call" => {
                let callee = self.index(op, "callee", &self.refs.layout.func_index)?;
                let f = self.func_ref(callee);
                let mut call_args = vec![self.vmctx];
                call_args.extend(self.operands(op));
                if name == "control.return_call" {
                    self.leave_frame();
                    self.b.ins().return_call(f, &call_args);
                    self.terminated = true;
                } else {
                    let inst = self.b.ins().call(f, &call_args);
                    let results = self.b.inst_results(inst).to_vec();
                    self.check_trap();
                    self.set_results(op, &results);
                }
            }
            "refs.call_indirect" | "refs.return_call_indirect" => {
                let table = self.index(op, "table", &self.refs.layout.table_index)?;
                let fty = self
                    .ctx
                    .dict_get(body.op_attrs(op), "callee_type")
                    .and_then(|a| ctx.attr_as_type(a))
                    .ok_or_else(|| unsupported(loc, "a call_indirect without `callee_type`"))?;
                let operands = self.operands(op);
                let (index, rest) = operands.split_first().expect("an index");
                let len = self.vm_load(types::I64, self.refs.layout.table_len_offset(table));
                let index64 = self.address64(*index, self.refs.layout.tables[table].is64);
                let out = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, index64, len);
                self.trap_if(out, TrapCode::UndefinedElement);
                let base = self.vm_load(types::I64, self.refs.layout.table_base_offset(table));
                let scaled = self.b.ins().ishl_imm_u(index64, 3);
                let slot = self.b.ins().iadd(base, scaled);
                let record = self.b.ins().load(types::I64, mem_flags(), slot, 0);
                let null = self.b.ins().icmp_imm_s(IntCC::Equal, record, 0);
                self.trap_if(null, TrapCode::UninitializedElement);
                self.call_record(op, record, fty, rest, name == "refs.return_call_indirect")?;
            }
            "refs.call_ref" | "refs.return_call_ref" => {
                let operands = self.operands(op);
                let (record, rest) = operands.split_first().map(|(r, rest)| (*r, rest)).expect("a callee");
                let callee_ty = body.value_type(body.operands(op)[0]);
                let fty = match wasmir_dialects::refs::ref_type(ctx, callee_ty).map(|r| r.heap) {
                    Some(wasmir_dialects::refs::Heap::Typed(f)) => f,
                    _ => return Err(unsupported(loc, "call_ref on an untyped reference")),
                };
                let null = self.b.ins().icmp_imm_s(IntCC::Equal, record, 0);
                self.trap_if(null, TrapCode::NullReference);
                self.call_record(op, record, fty, rest, name == "refs.return_call_ref")?;
            }
            "control.br_on_null" | "control.br_on_non_null" => {
                let target = self.label(op)?;
                let values = self.operands(op);
                let reference = values[0];
                let next = self.b.create_block();
                if name == "control.br_on_null" {
                    let null = self.b.ins().icmp_imm_s(IntCC::Equal, reference, 0);
                    self.b.ins().brif(null, target, &args(&values[1..]), next, &[]);
                    self.b.switch_to_block(next);
                    self.set_results(op, &[reference]);
                } else {
                    let mut carried = values[1..].to_vec();
                    carried.push(reference);
                    self.b.ins().brif(reference, target, &args(&carried), next, &[]);
                    self.b.switch_to_block(next);
                }
            }
            "refs.func" => {
                let f = self.index(op, "function", &self.refs.layout.func_index)?;
                let v = self.funcref_value(f);
                self.set_results(op, &[v]);
            }
            "refs.null" => {
                let v = self.b.ins().iconst(types::I64, 0);
                self.set_results(op, &[v]);
            }
            "refs.is_null" => {
                let x = self.operands(op)[0];
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, x, 0);
                let v = self.b.ins().uextend(types::I32, c);
                self.set_results(op, &[v]);
            }
            "refs.as_non_null" => {
                let x = self.operands(op)[0];
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, x, 0);
                self.trap_if(c, TrapCode::NullReference);
                self.set_results(op, &[x]);
            }
            "refs.table_get" | "refs.table_set" => {
                let table = self.index(op, "table", &self.refs.layout.table_index)?;
                let operands = self.operands(op);
                let len = self.vm_load(types::I64, self.refs.layout.table_len_offset(table));
                let index64 = self.address64(operands[0], self.refs.layout.tables[table].is64);
                let out = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, index64, len);
                self.trap_if(out, TrapCode::TableOutOfBounds);
                let base = self.vm_load(types::I64, self.refs.layout.table_base_offset(table));
                let scaled = self.b.ins().ishl_imm_u(index64, 3);
                let slot = self.b.ins().iadd(base, scaled);
                if name == "refs.table_get" {
                    let v = self.b.ins().load(types::I64, mem_flags(), slot, 0);
                    self.set_results(op, &[v]);
                } else {
                    self.b.ins().store(mem_flags(), operands[1], slot, 0);
                }
            }
            "refs.table_size" => {
                let table = self.index(op, "table", &self.refs.layout.table_index)?;
                let len = self.vm_load(types::I64, self.refs.layout.table_len_offset(table));
                let v = if self.refs.layout.tables[table].is64 {
                    len
                } else {
                    self.b.ins().ireduce(types::I32, len)
                };
                self.set_results(op, &[v]);
            }
            "refs.table_grow" => {
                let table = self.index(op, "table", &self.refs.layout.table_index)?;
                let operands = self.operands(op);
                let t = self.b.ins().iconst(types::I32, table as i64);
                let delta = self.table_operand(operands[1], table);
                let r = self.libcall(Libcall::TableGrow, &[t, operands[0], delta])[0];
                let r =
                    if self.refs.layout.tables[table].is64 { self.b.ins().sextend(types::I64, r) } else { r };
                self.set_results(op, &[r]);
            }
            "refs.table_fill" => {
                let table = self.index(op, "table", &self.refs.layout.table_index)?;
                let operands = self.operands(op);
                let t = self.b.ins().iconst(types::I32, table as i64);
                let dst = self.table_operand(operands[0], table);
                let len = self.table_operand(operands[2], table);
                self.libcall(Libcall::TableFill, &[t, dst, operands[1], len]);
            }
            "refs.table_copy" => {
                let dst = self.index(op, "table", &self.refs.layout.table_index)?;
                let src = self.index(op, "src_table", &self.refs.layout.table_index)?;
                let operands = self.operands(op);
                let d = self.b.ins().iconst(types::I32, dst as i64);
                let s = self.b.ins().iconst(types::I32, src as i64);
                let at_dst = self.table_operand(operands[0], dst);
                let at_src = self.table_operand(operands[1], src);
                // The length has the smaller of the two index types.
                let len = if self.refs.layout.tables[dst].is64 && self.refs.layout.tables[src].is64 {
                    self.table_operand(operands[2], dst)
                } else {
                    operands[2]
                };
                self.libcall(Libcall::TableCopy, &[d, s, at_dst, at_src, len]);
            }
            "refs.table_init" => {
                let table = self.index(op, "table", &self.refs.layout.table_index)?;
                let segment = self.index(op, "segment", &self.refs.layout.elem_index)?;
                let operands = self.operands(op);
                let t = self.b.ins().iconst(types::I32, table as i64);
                let s = self.b.ins().iconst(types::I32, segment as i64);
                let dst = self.table_operand(operands[0], table);
                self.libcall(Libcall::TableInit, &[t, s, dst, operands[1], operands[2]]);
            }
            "refs.elem_drop" => {
                let segment = self.index(op, "segment", &self.refs.layout.elem_index)?;
                let s = self.b.ins().iconst(types::I32, segment as i64);
                self.libcall(Libcall::ElemDrop, &[s]);
            }
            "global.get" => {
                let g = self.index(op, "global", &self.refs.layout.global_index)?;
                let ty = self.result_clif_types(op)?[0];
                let v = self.vm_load(ty, self.refs.layout.global_offset(g));
                self.set_results(op, &[v]);
            }
            "global.set" => {
                let g = self.index(op, "global", &self.refs.layout.global_index)?;
                let v = self.operands(op)[0];
                let offset = self.refs.layout.global_offset(g);
                self.b.ins().store(mem_flags(), v, self.vmctx, offset);
            }
            "memory.load" | "memory.store" => self.memory_access(op, name == "memory.load")?,
            _ if name.starts_with("memory.atomic_") => self.atomic(op, name)?,
            "memory.size" => {
                let m = self.index(op, "memory", &self.refs.layout.memory_index)?;
                let len = self.vm_load(types::I64, self.refs.layout.memory_len_offset(m));
                let pages = self.b.ins().ushr_imm_u(len, 16);
                let v = if self.refs.layout.memories[m].is64 {
                    pages
                } else {
                    self.b.ins().ireduce(types::I32, pages)
                };
                self.set_results(op, &[v]);
            }
            "memory.grow" => {
                let m = self.index(op, "memory", &self.refs.layout.memory_index)?;
                let is64 = self.refs.layout.memories[m].is64;
                let delta = self.operands(op)[0];
                let delta = if is64 { delta } else { self.b.ins().uextend(types::I64, delta) };
                let mi = self.b.ins().iconst(types::I32, m as i64);
                let r = self.libcall(Libcall::MemoryGrow, &[mi, delta])[0];
                let v = if is64 { r } else { self.b.ins().ireduce(types::I32, r) };
                self.set_results(op, &[v]);
            }
            "memory.fill" => {
                let m = self.index(op, "memory", &self.refs.layout.memory_index)?;
                let operands = self.operands(op);
                let is64 = self.refs.layout.memories[m].is64;
                let dst = self.address64(operands[0], is64);
                let len = self.address64(operands[2], is64);
                let mi = self.b.ins().iconst(types::I32, m as i64);
                self.libcall(Libcall::MemoryFill, &[mi, dst, operands[1], len]);
            }
            "memory.copy" => {
                let dst = self.index(op, "memory", &self.refs.layout.memory_index)?;
                let src = self.index(op, "src_memory", &self.refs.layout.memory_index)?;
                let operands = self.operands(op);
                let (dst64, src64) =
                    (self.refs.layout.memories[dst].is64, self.refs.layout.memories[src].is64);
                let d = self.address64(operands[0], dst64);
                let s = self.address64(operands[1], src64);
                let len = self.address64(operands[2], dst64 && src64);
                let di = self.b.ins().iconst(types::I32, dst as i64);
                let si = self.b.ins().iconst(types::I32, src as i64);
                self.libcall(Libcall::MemoryCopy, &[di, si, d, s, len]);
            }
            "memory.init" => {
                let m = self.index(op, "memory", &self.refs.layout.memory_index)?;
                let segment = self.index(op, "segment", &self.refs.layout.data_index)?;
                let operands = self.operands(op);
                let is64 = self.refs.layout.memories[m].is64;
                let d = self.address64(operands[0], is64);
                let mi = self.b.ins().iconst(types::I32, m as i64);
                let si = self.b.ins().iconst(types::I32, segment as i64);
                self.libcall(Libcall::MemoryInit, &[mi, si, d, operands[1], operands[2]]);
            }
            "memory.data_drop" => {
                let segment = self.index(op, "segment", &self.refs.layout.data_index)?;
                let si = self.b.ins().iconst(types::I32, segment as i64);
                self.libcall(Libcall::DataDrop, &[si]);
            }
            other => return Err(unsupported(loc, format!("`{other}`"))),
        }
        Ok(())
    }

    /// A table index or length for the runtime (32 bits): a 64-bit one above 2^32 - 1 becomes
    /// 2^32 - 1, which is out of range for every table just the same.
    fn table_operand(&mut self, v: ir::Value, table: usize) -> ir::Value {
        if !self.refs.layout.tables[table].is64 {
            return v;
        }
        let max = self.b.ins().iconst(types::I64, 0xFFFF_FFFF);
        let clamped = self.b.ins().umin(v, max);
        self.b.ins().ireduce(types::I32, clamped)
    }

    fn address64(&mut self, v: ir::Value, is64: bool) -> ir::Value {
        if is64 { v } else { self.b.ins().uextend(types::I64, v) }
    }

    /// Calls through a function reference record after checking its type id.
    fn call_record(
        &mut self,
        op: Op,
        record: ir::Value,
        fty: Type,
        call_args: &[ir::Value],
        tail: bool,
    ) -> Result<(), Diagnostic> {
        let expected = self.refs.layout.type_ids.get(&fty).copied().map_or(-1, i64::from);
        let actual = self.b.ins().load(types::I64, mem_flags(), record, 8);
        let mismatch = self.b.ins().icmp_imm_s(IntCC::NotEqual, actual, expected);
        self.trap_if(mismatch, TrapCode::BadSignature);
        let code = self.b.ins().load(types::I64, mem_flags(), record, 0);
        let sig = self.sig_ref(fty)?;
        let mut all = vec![self.vmctx];
        all.extend_from_slice(call_args);
        if tail {
            self.leave_frame();
            self.b.ins().return_call_indirect(sig, code, &all);
            self.terminated = true;
        } else {
            let inst = self.b.ins().call_indirect(sig, code, &all);
            let results = self.b.inst_results(inst).to_vec();
            self.check_trap();
            self.set_results(op, &results);
        }
        Ok(())
    }

    fn label(&self, op: Op) -> Result<ir::Block, Diagnostic> {
        let depth = self.attr_int(op, "depth").unwrap_or(0) as u32;
        self.label_at(op, depth)
    }

    fn label_at(&self, op: Op, depth: u32) -> Result<ir::Block, Diagnostic> {
        self.labels.len().checked_sub(1 + depth as usize).map(|i| self.labels[i].target).ok_or_else(|| {
            Diagnostic::error(self.body.op_loc(op), format!("branch to depth {depth} has no label"))
        })
    }
}

impl<M: Module> FunctionTranslator<'_, '_, M> {
    fn float_const(&mut self, ty: ir::Type, x: f64) -> ir::Value {
        if ty == types::F32 { self.b.ins().f32const(x as f32) } else { self.b.ins().f64const(x) }
    }

    fn bool_to_i32(&mut self, c: ir::Value) -> ir::Value {
        self.b.ins().uextend(types::I32, c)
    }

    fn arith(&mut self, op: Op, short: &str) -> Result<(), Diagnostic> {
        let ctx = self.ctx;
        let body = self.body;
        let loc = body.op_loc(op);
        if short == "constant" {
            let value = ctx.dict_get(body.op_attrs(op), "value").expect("verified constant");
            let v = match *ctx.attr_data(value) {
                wasmir_ir::AttrData::Int { value, ty: Type::I32 } => {
                    self.b.ins().iconst(types::I32, i64::from(value as i32))
                }
                wasmir_ir::AttrData::Int { value, ty: Type::I64 } => self.b.ins().iconst(types::I64, value),
                wasmir_ir::AttrData::Float { bits, ty: Type::F32 } => {
                    self.b.ins().f32const(Ieee32::with_bits(bits as u32))
                }
                wasmir_ir::AttrData::Float { bits, ty: Type::F64 } => {
                    self.b.ins().f64const(Ieee64::with_bits(bits))
                }
                _ => return Err(unsupported(loc, "a constant that is not an i32, i64, f32 or f64")),
            };
            self.set_results(op, &[v]);
            return Ok(());
        }
        let x = self.operands(op);
        let to = self.result_clif_types(op)?.first().copied().unwrap_or(types::I32);
        let from = body
            .operands(op)
            .first()
            .map(|&v| body.value_type(v))
            .and_then(|t| clif_type(ctx, t))
            .unwrap_or(to);
        let predicate = ctx.dict_get(body.op_attrs(op), "predicate").and_then(|a| ctx.attr_as_str(a));
        let v = match short {
            "addi" => self.b.ins().iadd(x[0], x[1]),
            "subi" => self.b.ins().isub(x[0], x[1]),
            "muli" => self.b.ins().imul(x[0], x[1]),
            "andi" => self.b.ins().band(x[0], x[1]),
            "ori" => self.b.ins().bor(x[0], x[1]),
            "xori" => self.b.ins().bxor(x[0], x[1]),
            "shli" => self.b.ins().ishl(x[0], x[1]),
            "shrsi" => self.b.ins().sshr(x[0], x[1]),
            "shrui" => self.b.ins().ushr(x[0], x[1]),
            "rotli" => self.b.ins().rotl(x[0], x[1]),
            "rotri" => self.b.ins().rotr(x[0], x[1]),
            "clz" => self.b.ins().clz(x[0]),
            "ctz" => self.b.ins().ctz(x[0]),
            "popcnt" => self.b.ins().popcnt(x[0]),
            "divui" | "remui" => {
                let zero = self.b.ins().icmp_imm_s(IntCC::Equal, x[1], 0);
                self.trap_if(zero, TrapCode::DivisionByZero);
                if short == "divui" { self.b.ins().udiv(x[0], x[1]) } else { self.b.ins().urem(x[0], x[1]) }
            }
            "divsi" | "remsi" => {
                let zero = self.b.ins().icmp_imm_s(IntCC::Equal, x[1], 0);
                self.trap_if(zero, TrapCode::DivisionByZero);
                let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, x[1], -1);
                if short == "divsi" {
                    let min = if to == types::I32 { i64::from(i32::MIN) } else { i64::MIN };
                    let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, x[0], min);
                    let overflow = self.b.ins().band(is_min, minus_one);
                    self.trap_if(overflow, TrapCode::IntegerOverflow);
                    self.b.ins().sdiv(x[0], x[1])
                } else {
                    // x % -1 is 0 in Wasm; the machine instruction faults on MIN % -1.
                    let one = self.b.ins().iconst(to, 1);
                    let divisor = self.b.ins().select(minus_one, one, x[1]);
                    self.b.ins().srem(x[0], divisor)
                }
            }
            "eqz" => {
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, x[0], 0);
                self.bool_to_i32(c)
            }
            "cmpi" => {
                let cc = match predicate.unwrap_or("") {
                    "eq" => IntCC::Equal,
                    "ne" => IntCC::NotEqual,
                    "slt" => IntCC::SignedLessThan,
                    "ult" => IntCC::UnsignedLessThan,
                    "sgt" => IntCC::SignedGreaterThan,
                    "ugt" => IntCC::UnsignedGreaterThan,
                    "sle" => IntCC::SignedLessThanOrEqual,
                    "ule" => IntCC::UnsignedLessThanOrEqual,
                    "sge" => IntCC::SignedGreaterThanOrEqual,
                    "uge" => IntCC::UnsignedGreaterThanOrEqual,
                    p => return Err(unsupported(loc, format!("the cmpi predicate `{p}`"))),
                };
                let c = self.b.ins().icmp(cc, x[0], x[1]);
                self.bool_to_i32(c)
            }
            "cmpf" => {
                let cc = match predicate.unwrap_or("") {
                    "eq" => FloatCC::Equal,
                    "ne" => FloatCC::NotEqual,
                    "lt" => FloatCC::LessThan,
                    "gt" => FloatCC::GreaterThan,
                    "le" => FloatCC::LessThanOrEqual,
                    "ge" => FloatCC::GreaterThanOrEqual,
                    p => return Err(unsupported(loc, format!("the cmpf predicate `{p}`"))),
                };
                let c = self.b.ins().fcmp(cc, x[0], x[1]);
                self.bool_to_i32(c)
            }
            "absf" => self.b.ins().fabs(x[0]),
            "negf" => self.b.ins().fneg(x[0]),
            "ceilf" => self.b.ins().ceil(x[0]),
            "floorf" => self.b.ins().floor(x[0]),
            "truncf" => self.b.ins().trunc(x[0]),
            "nearestf" => self.b.ins().nearest(x[0]),
            "sqrtf" => self.b.ins().sqrt(x[0]),
            "addf" => self.b.ins().fadd(x[0], x[1]),
            "subf" => self.b.ins().fsub(x[0], x[1]),
            "mulf" => self.b.ins().fmul(x[0], x[1]),
            "divf" => self.b.ins().fdiv(x[0], x[1]),
            "minf" => self.b.ins().fmin(x[0], x[1]),
            "maxf" => self.b.ins().fmax(x[0], x[1]),
            "copysign" => self.b.ins().fcopysign(x[0], x[1]),
            "select" => self.b.ins().select(x[0], x[1], x[2]),
            "wrap" => self.b.ins().ireduce(types::I32, x[0]),
            "extend_s" => self.b.ins().sextend(types::I64, x[0]),
            "extend_u" => self.b.ins().uextend(types::I64, x[0]),
            "extend8_s" | "extend16_s" | "extend32_s" => {
                let narrow = match short {
                    "extend8_s" => types::I8,
                    "extend16_s" => types::I16,
                    _ => types::I32,
                };
                let r = self.b.ins().ireduce(narrow, x[0]);
                self.b.ins().sextend(to, r)
            }
            "trunc_s" | "trunc_u" => {
                let signed = short == "trunc_s";
                let nan = self.b.ins().fcmp(FloatCC::Unordered, x[0], x[0]);
                self.trap_if(nan, TrapCode::BadConversion);
                let (lo, hi) = crate::native::trunc_bounds(from == types::F32, to == types::I32, signed);
                let lo = self.float_const(from, lo);
                let hi = self.float_const(from, hi);
                let below = self.b.ins().fcmp(FloatCC::LessThanOrEqual, x[0], lo);
                let above = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, x[0], hi);
                let out = self.b.ins().bor(below, above);
                self.trap_if(out, TrapCode::IntegerOverflow);
                if signed { self.b.ins().fcvt_to_sint(to, x[0]) } else { self.b.ins().fcvt_to_uint(to, x[0]) }
            }
            "trunc_sat_s" => self.b.ins().fcvt_to_sint_sat(to, x[0]),
            "trunc_sat_u" => self.b.ins().fcvt_to_uint_sat(to, x[0]),
            "convert_s" => self.b.ins().fcvt_from_sint(to, x[0]),
            "convert_u" => self.b.ins().fcvt_from_uint(to, x[0]),
            "demote" => self.b.ins().fdemote(types::F32, x[0]),
            "promote" => self.b.ins().fpromote(types::F64, x[0]),
            "reinterpret" => self.b.ins().bitcast(to, MemFlagsData::new(), x[0]),
            other => return Err(unsupported(loc, format!("`arith.{other}`"))),
        };
        self.set_results(op, &[v]);
        Ok(())
    }

    /// A load or store: the effective address (without wrapping) plus the access size must lie
    /// within the memory's current length, or the access traps.
    fn memory_access(&mut self, op: Op, is_load: bool) -> Result<(), Diagnostic> {
        let access = self.access(op)?;
        let operands = self.operands(op);
        let signed = self.ctx.dict_get(self.body.op_attrs(op), "sign").and_then(|a| self.ctx.attr_as_str(a))
            == Some("s");
        let at = self.checked_address(&access, operands[0]);
        if is_load {
            let v = self.load_at(op, &access, at, signed)?;
            self.set_results(op, &[v]);
        } else {
            self.store_at(op, &access, at, operands[1])?;
        }
        Ok(())
    }

    /// What a load, store or atomic op accesses: its memory, value type, width and offset.
    fn access(&self, op: Op) -> Result<Access, Diagnostic> {
        let name = self.ctx.op_def(self.body.op_kind(op)).name;
        let memory = self.index(op, "memory", &self.refs.layout.memory_index)?;
        let operands = self.operands(op);
        let value_type = match name {
            "memory.load" | "memory.atomic_load" => self.result_clif_types(op)?[0],
            "memory.atomic_notify" => types::I32,
            _ => self.b.func.dfg.value_type(operands[1]),
        };
        let full = value_type.bits();
        Ok(Access {
            memory,
            value_type,
            width: self.attr_int(op, "width").map_or(full, |w| w as u32),
            offset: self.attr_int(op, "offset").unwrap_or(0) as u64,
        })
    }

    /// The host address of `address + offset` in the accessed memory, trapping first when
    /// the access does not fit: end = address + offset + size in 64 bits (for 64-bit memories
    /// an overflow traps).
    fn checked_address(&mut self, access: &Access, address: ir::Value) -> ir::Value {
        let m = access.memory;
        let address = self.address64(address, self.refs.layout.memories[m].is64);
        let len = self.vm_load(types::I64, self.refs.layout.memory_len_offset(m));
        let extent = access.offset.saturating_add(u64::from(access.width / 8));
        let (end, overflow) = {
            let k = self.b.ins().iconst(types::I64, extent as i64);
            self.b.ins().uadd_overflow(address, k)
        };
        let past = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        let out = self.b.ins().bor(past, overflow);
        let huge = extent > i64::MAX as u64;
        let out = if huge { self.b.ins().iconst(types::I8, 1) } else { out };
        self.trap_if(out, TrapCode::MemoryOutOfBounds);
        let base = self.vm_load(types::I64, self.refs.layout.memory_base_offset(m));
        let at = self.b.ins().iadd(base, address);
        if access.offset > 0 { self.b.ins().iadd_imm_s(at, access.offset as i64) } else { at }
    }

    fn load_at(
        &mut self,
        op: Op,
        access: &Access,
        at: ir::Value,
        signed: bool,
    ) -> Result<ir::Value, Diagnostic> {
        let (value_type, full, flags) = (access.value_type, access.value_type.bits(), mem_flags());
        Ok(match (access.width, signed) {
            (w, _) if w == full => self.b.ins().load(value_type, flags, at, 0),
            (8, true) => self.b.ins().sload8(value_type, flags, at, 0),
            (8, false) => self.b.ins().uload8(value_type, flags, at, 0),
            (16, true) => self.b.ins().sload16(value_type, flags, at, 0),
            (16, false) => self.b.ins().uload16(value_type, flags, at, 0),
            (32, true) => self.b.ins().sload32(flags, at, 0),
            (32, false) => self.b.ins().uload32(flags, at, 0),
            (width, _) => return Err(unsupported(self.body.op_loc(op), format!("a {width}-bit load"))),
        })
    }

    fn store_at(&mut self, op: Op, access: &Access, at: ir::Value, v: ir::Value) -> Result<(), Diagnostic> {
        let flags = mem_flags();
        match access.width {
            w if w == access.value_type.bits() => self.b.ins().store(flags, v, at, 0),
            8 => self.b.ins().istore8(flags, v, at, 0),
            16 => self.b.ins().istore16(flags, v, at, 0),
            32 => self.b.ins().istore32(flags, v, at, 0),
            width => return Err(unsupported(self.body.op_loc(op), format!("a {width}-bit store"))),
        };
        Ok(())
    }

    /// An atomic op on an unshared memory, as wasmtime runs it on one thread: a misaligned
    /// address traps first, then one out of bounds; then the access itself (specs/native.md).
    fn atomic(&mut self, op: Op, name: &str) -> Result<(), Diagnostic> {
        if name == "memory.atomic_fence" {
            // One thread: there is nothing to order.
            return Ok(());
        }
        let access = self.access(op)?;
        let operands = self.operands(op);
        let bytes = u64::from(access.width / 8);
        if bytes > 1 {
            let address = self.address64(operands[0], self.refs.layout.memories[access.memory].is64);
            let effective = self.b.ins().iadd_imm_s(address, access.offset as i64);
            let low = self.b.ins().band_imm_u(effective, (bytes - 1) as i64);
            let misaligned = self.b.ins().icmp_imm_u(IntCC::NotEqual, low, 0);
            self.trap_if(misaligned, TrapCode::UnalignedAtomic);
        }
        let at = self.checked_address(&access, operands[0]);
        let ty = access.value_type;
        let results: Vec<ir::Value> = match name {
            "memory.atomic_load" => vec![self.load_at(op, &access, at, false)?],
            "memory.atomic_store" => {
                self.store_at(op, &access, at, operands[1])?;
                vec![]
            }
            "memory.atomic_rmw" => {
                let old = self.load_at(op, &access, at, false)?;
                let v = operands[1];
                let new = match self
                    .ctx
                    .dict_get(self.body.op_attrs(op), "op")
                    .and_then(|a| self.ctx.attr_as_str(a))
                {
                    Some("add") => self.b.ins().iadd(old, v),
                    Some("sub") => self.b.ins().isub(old, v),
                    Some("and") => self.b.ins().band(old, v),
                    Some("or") => self.b.ins().bor(old, v),
                    Some("xor") => self.b.ins().bxor(old, v),
                    _ => v,
                };
                self.store_at(op, &access, at, new)?;
                vec![old]
            }
            "memory.atomic_cmpxchg" => {
                let old = self.load_at(op, &access, at, false)?;
                // A narrow compare looks at the expected value's low bits only.
                let expected = if access.width == ty.bits() {
                    operands[1]
                } else {
                    self.b.ins().band_imm_u(operands[1], ((1u64 << access.width) - 1) as i64)
                };
                let equal = self.b.ins().icmp(IntCC::Equal, old, expected);
                // Storing the old value back when they differ changes nothing on one thread.
                let new = self.b.ins().select(equal, operands[2], old);
                self.store_at(op, &access, at, new)?;
                vec![old]
            }
            // Nobody can wait on an unshared memory: wasmtime traps, after the address checks.
            "memory.atomic_wait" => {
                let always = self.b.ins().iconst(types::I8, 1);
                self.trap_if(always, TrapCode::AtomicWaitNonShared);
                vec![self.b.ins().iconst(types::I32, 0)]
            }
            // Nobody waits, so nobody wakes.
            "memory.atomic_notify" => vec![self.b.ins().iconst(types::I32, 0)],
            other => return Err(unsupported(self.body.op_loc(op), format!("`{other}`"))),
        };
        self.set_results(op, &results);
        Ok(())
    }
}
