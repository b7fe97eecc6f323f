//! One WasmIR function to LLVM IR through inkwell. For the host, the model is the Cranelift
//! backend's (crate::cranelift): labels become blocks whose values arrive through phis, every
//! memory access is checked against the length in `vmctx`, a trap stores its code in `vmctx`
//! and returns, and callers check that slot after each call. For wasm32 (`Wasm32Refs`), the
//! code runs inside a Wasm engine: memory 0 is LLVM's address space 0 (the engine checks
//! bounds), globals are Wasm globals, a trap is `llvm.trap`, and there is no `vmctx`.

use crate::native::layout::{DEPTH_SLOT, FUEL_SLOT, Layout, MAX_CALL_DEPTH, TRAP_SLOT, is_ref, unsupported};
use crate::native::{Libcall, TrapCode};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context as LlvmContext;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module as LlvmModule;
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum, FunctionType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, FunctionValue, IntValue, PhiValue,
};
use inkwell::{FloatPredicate, IntPredicate};
use wasmir_ir::{Body, Context, Diagnostic, FxHashMap, Location, Op, OpRef, Type, Value};

/// LLVM's `tailcc`: calls marked `tail` are guaranteed tail calls, so `return_call` runs in
/// constant stack.
pub const TAIL_CC: u32 = 18;

fn err(e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(Location::Unknown, format!("internal error in the LLVM backend: {e}"))
}

/// The LLVM type of a WasmIR value type (references are 64-bit addresses).
pub fn llvm_type<'l>(ll: &'l LlvmContext, ctx: &Context, ty: Type) -> Option<BasicTypeEnum<'l>> {
    Some(match ty {
        Type::I32 => ll.i32_type().into(),
        Type::I64 => ll.i64_type().into(),
        Type::F32 => ll.f32_type().into(),
        Type::F64 => ll.f64_type().into(),
        _ if is_ref(ctx, ty) => ll.i64_type().into(),
        _ => return None,
    })
}

fn type_error(ctx: &Context, t: Type) -> Diagnostic {
    unsupported(Location::Unknown, format!("the type `{}`", wasmir_ir::printer::type_to_string(ctx, t)))
}

/// `(vmctx, params...) -> void | result | {results...}`, without `vmctx` for wasm32.
pub fn function_type<'l>(
    ll: &'l LlvmContext,
    ctx: &Context,
    fty: Type,
    with_vmctx: bool,
) -> Result<FunctionType<'l>, Diagnostic> {
    let (params, results) = ctx.function_signature(fty).ok_or_else(|| err("not a function type"))?;
    let mut ps: Vec<BasicMetadataTypeEnum<'l>> =
        if with_vmctx { vec![ll.i64_type().into()] } else { Vec::new() };
    for &p in params {
        ps.push(llvm_type(ll, ctx, p).ok_or_else(|| type_error(ctx, p))?.into());
    }
    let rs: Vec<BasicTypeEnum<'l>> = results
        .iter()
        .map(|&r| llvm_type(ll, ctx, r).ok_or_else(|| type_error(ctx, r)))
        .collect::<Result<_, _>>()?;
    Ok(match rs.as_slice() {
        [] => ll.void_type().fn_type(&ps, false),
        [one] => one.fn_type(&ps, false),
        many => ll.struct_type(many, false).fn_type(&ps, false),
    })
}

/// The LLVM declaration of a runtime function.
pub fn libcall_type<'l>(ll: &'l LlvmContext, call: Libcall) -> FunctionType<'l> {
    let (params, returns) = call.params();
    let word = |w: &crate::native::Word| -> BasicTypeEnum<'l> {
        if *w == crate::native::Word::I32 { ll.i32_type().into() } else { ll.i64_type().into() }
    };
    let ps: Vec<BasicMetadataTypeEnum<'l>> = params.iter().map(|w| word(w).into()).collect();
    match returns.first() {
        Some(r) => word(r).fn_type(&ps, false),
        None => ll.void_type().fn_type(&ps, false),
    }
}

/// Module-level values a function refers to.
pub struct ModuleRefs<'a, 'l> {
    pub layout: &'a Layout,
    pub functions: &'a [FunctionValue<'l>],
    /// Function reference records (host code only).
    pub records: Option<inkwell::values::GlobalValue<'l>>,
    pub libcalls: &'a FxHashMap<Libcall, FunctionValue<'l>>,
    /// Set when the code is for wasm32.
    pub wasm32: Option<Wasm32Refs<'l>>,
}

/// What a load, store or atomic op accesses.
struct Access<'l> {
    memory: usize,
    value_type: BasicTypeEnum<'l>,
    /// Bits of `value_type`.
    full: u32,
    /// Bits accessed (narrower for extending loads and truncating stores).
    width: u32,
    offset: u64,
}

/// What wasm32 code refers to instead of `vmctx`.
pub struct Wasm32Refs<'l> {
    /// One Wasm global (LLVM address space 1) per WasmIR global.
    pub globals: Vec<inkwell::values::GlobalValue<'l>>,
    /// Each table's function indices as instantiation leaves them; nothing on this path writes
    /// a table, so `call_indirect` dispatches on them statically.
    pub tables: Vec<Vec<Option<usize>>>,
}

/// The integer type of a value's bits. wasm32 globals hold floats as integers, accessed by
/// volatile loads and stores: LLVM's Wasm backend turns a store of a float constant into an
/// integer store and instcombine changes the type of plain loads, either of which makes a
/// `global.get`/`global.set` of the wrong type (an invalid module).
pub fn bits_type<'l>(ll: &'l LlvmContext, ty: BasicTypeEnum<'l>) -> BasicTypeEnum<'l> {
    match ty {
        BasicTypeEnum::FloatType(f) if f == ll.f32_type() => ll.i32_type().into(),
        BasicTypeEnum::FloatType(_) => ll.i64_type().into(),
        other => other,
    }
}

/// The calling convention of WasmIR functions: `tailcc` on the host; wasm32 has only C's
/// (its `tail` calls become `return_call` with the tail-call feature).
pub fn calling_convention(wasm32: bool) -> u32 {
    if wasm32 { 0 } else { TAIL_CC }
}

/// What the wasm32 path does not translate.
fn not_on_wasm32(loc: Location, what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(loc, format!("{what} is not supported by the LLVM wasm32 path"))
}

#[derive(Clone)]
struct Label<'l> {
    target: BasicBlock<'l>,
    phis: Vec<PhiValue<'l>>,
}

pub struct FunctionTranslator<'a, 'l> {
    ll: &'l LlvmContext,
    module: &'a LlvmModule<'l>,
    b: Builder<'l>,
    ctx: &'a Context,
    body: &'a Body,
    refs: &'a ModuleRefs<'a, 'l>,
    function: FunctionValue<'l>,
    /// `None` for wasm32 code.
    vmctx: Option<IntValue<'l>>,
    values: FxHashMap<Value, BasicValueEnum<'l>>,
    labels: Vec<Label<'l>>,
    /// Where a `control.yield` of the innermost construct goes.
    yield_to: Option<Label<'l>>,
    unwind: BasicBlock<'l>,
    trap_blocks: FxHashMap<TrapCode, BasicBlock<'l>>,
    results: Vec<BasicTypeEnum<'l>>,
    terminated: bool,
}

type R<T> = Result<T, Diagnostic>;

impl<'a, 'l> FunctionTranslator<'a, 'l> {
    pub fn translate(
        ll: &'l LlvmContext,
        module: &'a LlvmModule<'l>,
        ctx: &'a Context,
        body: &'a Body,
        fty: Type,
        refs: &'a ModuleRefs<'a, 'l>,
        function: FunctionValue<'l>,
    ) -> R<()> {
        let (_, results) = ctx.function_signature(fty).ok_or_else(|| err("not a function type"))?;
        let results = results
            .iter()
            .map(|&r| llvm_type(ll, ctx, r).ok_or_else(|| type_error(ctx, r)))
            .collect::<R<Vec<_>>>()?;
        let entry = ll.append_basic_block(function, "entry");
        let unwind = ll.append_basic_block(function, "unwind");
        let b = ll.create_builder();
        b.position_at_end(entry);
        let wasm32 = refs.wasm32.is_some();
        let vmctx = if wasm32 {
            None
        } else {
            Some(function.get_nth_param(0).ok_or_else(|| err("no vmctx"))?.into_int_value())
        };
        let mut t = FunctionTranslator {
            ll,
            module,
            b,
            ctx,
            body,
            refs,
            function,
            vmctx,
            values: FxHashMap::default(),
            labels: Vec::new(),
            yield_to: None,
            unwind,
            trap_blocks: FxHashMap::default(),
            results,
            terminated: false,
        };
        if !wasm32 {
            // A Wasm engine limits depth and fuel itself.
            let depth = t.vm_load_i64(DEPTH_SLOT)?;
            let deeper = t.b.build_int_add(depth, t.i64(1), "").map_err(err)?;
            t.vm_store(DEPTH_SLOT, deeper.into())?;
            let too_deep =
                t.b.build_int_compare(IntPredicate::SGT, deeper, t.i64(MAX_CALL_DEPTH), "").map_err(err)?;
            t.trap_if(too_deep, TrapCode::StackExhausted)?;
            t.burn_fuel()?;
        }
        let root = *body.roots().first().ok_or_else(|| err("a function without a body"))?;
        let block = *body.region_blocks(root).first().ok_or_else(|| err("a function without a body"))?;
        let first_param = u32::from(!wasm32);
        for (i, &arg) in body.block_args(block).iter().enumerate() {
            let p = function.get_nth_param(i as u32 + first_param).ok_or_else(|| err("missing parameter"))?;
            t.values.insert(arg, p);
        }
        t.block(block)?;
        if !t.terminated {
            t.leave_frame()?;
            t.ret_zeros()?;
        }
        t.b.position_at_end(unwind);
        if wasm32 {
            // Nothing unwinds: a trap ends the run in the engine.
            t.b.build_unreachable().map_err(err)?;
        } else {
            t.leave_frame()?;
            t.ret_zeros()?;
        }
        let mut traps: Vec<(TrapCode, BasicBlock<'l>)> =
            t.trap_blocks.iter().map(|(&c, &b)| (c, b)).collect();
        traps.sort_by_key(|(c, _)| *c as u32);
        for (code, block) in traps {
            t.b.position_at_end(block);
            if wasm32 {
                if code == TrapCode::MemoryOutOfBounds {
                    // An access no memory holds (4 bytes at 2^32 - 1): the engine reports
                    // it as what it is.
                    let p = t.ptr(t.i32(-1))?;
                    let load = t.b.build_load(t.ll.i32_type(), p, "").map_err(err)?;
                    if let Some(i) = load.as_instruction_value() {
                        let _ = i.set_volatile(true);
                        let _ = i.set_alignment(1);
                    }
                }
                t.intrinsic_call("llvm.trap", &[], &[])?;
                t.b.build_unreachable().map_err(err)?;
            } else {
                t.vm_store(TRAP_SLOT, t.i64(code as i64).into())?;
                t.b.build_unconditional_branch(unwind).map_err(err)?;
            }
        }
        Ok(())
    }

    fn vmctx(&self) -> R<IntValue<'l>> {
        self.vmctx.ok_or_else(|| err("wasm32 code has no vmctx"))
    }

    /// `vmctx` first, then `args`, as host code passes them; only `args` for wasm32.
    fn call_args(&self, args: &[BasicValueEnum<'l>]) -> Vec<BasicMetadataValueEnum<'l>> {
        self.vmctx
            .map(BasicMetadataValueEnum::from)
            .into_iter()
            .chain(args.iter().map(|&a| a.into()))
            .collect()
    }

    fn records(&self) -> R<inkwell::values::GlobalValue<'l>> {
        self.refs.records.ok_or_else(|| err("wasm32 code has no function records"))
    }

    fn is_wasm32(&self) -> bool {
        self.refs.wasm32.is_some()
    }

    fn i64(&self, v: i64) -> IntValue<'l> {
        self.ll.i64_type().const_int(v as u64, true)
    }

    fn i32(&self, v: i64) -> IntValue<'l> {
        self.ll.i32_type().const_int(v as u64, true)
    }

    fn ptr(&self, address: IntValue<'l>) -> R<inkwell::values::PointerValue<'l>> {
        self.b.build_int_to_ptr(address, self.ll.ptr_type(inkwell::AddressSpace::default()), "").map_err(err)
    }

    fn vm_load_i64(&self, offset: i32) -> R<IntValue<'l>> {
        Ok(self.vm_load(self.ll.i64_type().into(), offset)?.into_int_value())
    }

    fn vm_load(&self, ty: BasicTypeEnum<'l>, offset: i32) -> R<BasicValueEnum<'l>> {
        let at = self.b.build_int_add(self.vmctx()?, self.i64(i64::from(offset)), "").map_err(err)?;
        let p = self.ptr(at)?;
        self.b.build_load(ty, p, "").map_err(err)
    }

    fn vm_store(&self, offset: i32, v: BasicValueEnum<'l>) -> R<()> {
        let at = self.b.build_int_add(self.vmctx()?, self.i64(i64::from(offset)), "").map_err(err)?;
        let p = self.ptr(at)?;
        self.b.build_store(p, v).map_err(err)?;
        Ok(())
    }

    fn zero(&self, ty: BasicTypeEnum<'l>) -> BasicValueEnum<'l> {
        match ty {
            BasicTypeEnum::FloatType(f) => f.const_zero().into(),
            BasicTypeEnum::IntType(i) => i.const_zero().into(),
            other => other.const_zero(),
        }
    }

    fn ret(&self, values: &[BasicValueEnum<'l>]) -> R<()> {
        match values {
            [] => self.b.build_return(None),
            [one] => self.b.build_return(Some(one as &dyn BasicValue<'l>)),
            many => self.b.build_aggregate_return(many),
        }
        .map_err(err)?;
        Ok(())
    }

    /// Returns what a tail call returned, as it is (under `tailcc`, LLVM guarantees the call in
    /// tail position is a tail call).
    fn ret_tail(&self, site: inkwell::values::CallSiteValue<'l>) -> R<()> {
        match site.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => self.b.build_return(Some(&v as &dyn BasicValue<'l>)),
            _ => self.b.build_return(None),
        }
        .map_err(err)?;
        Ok(())
    }

    /// Wasm leaves the bits of a NaN result open; every backend gives the canonical NaN
    /// (the Cranelift backend and wasmtime by their NaN canonicalization), so runs compare.
    fn canonical_nan(&self, v: BasicValueEnum<'l>) -> R<BasicValueEnum<'l>> {
        let f = v.into_float_value();
        let is_nan = self.b.build_float_compare(FloatPredicate::UNO, f, f, "").map_err(err)?;
        let nan: BasicValueEnum<'l> = if f.get_type() == self.ll.f32_type() {
            self.b
                .build_bit_cast(self.ll.i32_type().const_int(0x7FC0_0000, false), self.ll.f32_type(), "")
                .map_err(err)?
        } else {
            self.b
                .build_bit_cast(
                    self.ll.i64_type().const_int(0x7FF8_0000_0000_0000, false),
                    self.ll.f64_type(),
                    "",
                )
                .map_err(err)?
        };
        self.b.build_select(is_nan, nan, v, "").map_err(err)
    }

    fn ret_zeros(&self) -> R<()> {
        let zeros: Vec<_> = self.results.iter().map(|&t| self.zero(t)).collect();
        self.ret(&zeros)
    }

    fn leave_frame(&self) -> R<()> {
        if self.is_wasm32() {
            return Ok(());
        }
        let depth = self.vm_load_i64(DEPTH_SLOT)?;
        let shallower = self.b.build_int_sub(depth, self.i64(1), "").map_err(err)?;
        self.vm_store(DEPTH_SLOT, shallower.into())
    }

    fn burn_fuel(&mut self) -> R<()> {
        if self.is_wasm32() {
            return Ok(());
        }
        let fuel = self.vm_load_i64(FUEL_SLOT)?;
        let left = self.b.build_int_sub(fuel, self.i64(1), "").map_err(err)?;
        self.vm_store(FUEL_SLOT, left.into())?;
        let out = self.b.build_int_compare(IntPredicate::SLT, left, self.i64(0), "").map_err(err)?;
        self.trap_if(out, TrapCode::OutOfFuel)
    }

    fn trap_block(&mut self, code: TrapCode) -> BasicBlock<'l> {
        if let Some(&b) = self.trap_blocks.get(&code) {
            return b;
        }
        let block = self.ll.append_basic_block(self.function, "trap");
        self.trap_blocks.insert(code, block);
        block
    }

    /// Traps with `code` when the i1 `condition` holds.
    fn trap_if(&mut self, condition: IntValue<'l>, code: TrapCode) -> R<()> {
        let trap = self.trap_block(code);
        let next = self.ll.append_basic_block(self.function, "");
        self.b.build_conditional_branch(condition, trap, next).map_err(err)?;
        self.b.position_at_end(next);
        Ok(())
    }

    fn check_trap(&mut self) -> R<()> {
        if self.is_wasm32() {
            return Ok(());
        }
        let code = self.vm_load_i64(TRAP_SLOT)?;
        let trapped = self.b.build_int_compare(IntPredicate::NE, code, self.i64(0), "").map_err(err)?;
        let next = self.ll.append_basic_block(self.function, "");
        self.b.build_conditional_branch(trapped, self.unwind, next).map_err(err)?;
        self.b.position_at_end(next);
        Ok(())
    }

    fn value(&self, v: Value) -> BasicValueEnum<'l> {
        self.values[&v]
    }

    fn operands(&self, op: Op) -> Vec<BasicValueEnum<'l>> {
        self.body.operands(op).iter().map(|&v| self.value(v)).collect()
    }

    fn set_results(&mut self, op: Op, values: &[BasicValueEnum<'l>]) {
        for (&r, &v) in self.body.results(op).iter().zip(values) {
            self.values.insert(r, v);
        }
    }

    fn types_of(&self, values: &[Value]) -> R<Vec<BasicTypeEnum<'l>>> {
        values
            .iter()
            .map(|&v| {
                let t = self.body.value_type(v);
                llvm_type(self.ll, self.ctx, t).ok_or_else(|| type_error(self.ctx, t))
            })
            .collect()
    }

    /// A block whose values arrive through phis of `tys`.
    fn label_block(&self, tys: &[BasicTypeEnum<'l>]) -> R<Label<'l>> {
        let target = self.ll.append_basic_block(self.function, "");
        let here = self.b.get_insert_block();
        self.b.position_at_end(target);
        let phis = tys.iter().map(|&t| self.b.build_phi(t, "").map_err(err)).collect::<R<Vec<_>>>()?;
        if let Some(h) = here {
            self.b.position_at_end(h);
        }
        Ok(Label { target, phis })
    }

    /// Jumps to `label`, its phis receiving `values` from the current block.
    fn jump(&self, label: &Label<'l>, values: &[BasicValueEnum<'l>]) -> R<()> {
        let from = self.b.get_insert_block().ok_or_else(|| err("no current block"))?;
        for (phi, v) in label.phis.iter().zip(values) {
            phi.add_incoming(&[(v as &dyn BasicValue<'l>, from)]);
        }
        self.b.build_unconditional_branch(label.target).map_err(err)?;
        Ok(())
    }

    /// Constructs nest as deep as the input does: the stack grows on the heap when it runs
    /// low (`block` is where the recursion through regions passes).
    fn block(&mut self, block: wasmir_ir::Block) -> R<()> {
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

    /// Translates a construct's region; its `control.yield` (or falling off an empty region)
    /// jumps to `cont`.
    fn region(&mut self, region: wasmir_ir::Region, cont: &Label<'l>) -> R<()> {
        let saved = self.yield_to.replace(cont.clone());
        self.terminated = false;
        if let Some(&block) = self.body.region_blocks(region).first() {
            self.block(block)?;
        }
        if !self.terminated {
            self.jump(cont, &[])?;
        }
        self.terminated = false;
        self.yield_to = saved;
        Ok(())
    }

    fn label_at(&self, op: Op, depth: u32) -> R<Label<'l>> {
        self.labels.len().checked_sub(1 + depth as usize).map(|i| self.labels[i].clone()).ok_or_else(|| {
            Diagnostic::error(self.body.op_loc(op), format!("branch to depth {depth} has no label"))
        })
    }

    fn label(&self, op: Op) -> R<Label<'l>> {
        self.label_at(op, self.attr_int(op, "depth").unwrap_or(0) as u32)
    }

    fn attr_int(&self, op: Op, key: &str) -> Option<i64> {
        self.ctx.dict_get(self.body.op_attrs(op), key).and_then(|a| self.ctx.attr_as_int(a))
    }

    fn index(&self, op: Op, key: &str, space: &FxHashMap<String, usize>) -> R<usize> {
        let name = self
            .ctx
            .dict_get(self.body.op_attrs(op), key)
            .and_then(|a| self.ctx.attr_as_symbol(a))
            .unwrap_or_default();
        space
            .get(name)
            .copied()
            .ok_or_else(|| Diagnostic::error(self.body.op_loc(op), format!("unknown symbol @{name}")))
    }

    fn call_results(
        &self,
        call: inkwell::values::CallSiteValue<'l>,
        count: usize,
    ) -> R<Vec<BasicValueEnum<'l>>> {
        match (call.try_as_basic_value(), count) {
            (_, 0) => Ok(Vec::new()),
            (inkwell::values::ValueKind::Basic(v), 1) => Ok(vec![v]),
            (inkwell::values::ValueKind::Basic(v), n) => (0..n)
                .map(|i| self.b.build_extract_value(v.into_struct_value(), i as u32, "").map_err(err))
                .collect(),
            _ => Err(err("a call without its results")),
        }
    }

    fn libcall(&mut self, call: Libcall, args: &[BasicValueEnum<'l>]) -> R<Vec<BasicValueEnum<'l>>> {
        let f = *self.refs.libcalls.get(&call).ok_or_else(|| err("a runtime call in wasm32 code"))?;
        let all = self.call_args(args);
        let site = self.b.build_call(f, &all, "").map_err(err)?;
        let results = self.call_results(site, call.params().1.len())?;
        self.check_trap()?;
        Ok(results)
    }

    fn intrinsic(
        &self,
        name: &str,
        tys: &[BasicTypeEnum<'l>],
        args: &[BasicValueEnum<'l>],
    ) -> R<BasicValueEnum<'l>> {
        let site = self.intrinsic_call(name, tys, args)?;
        self.call_results(site, 1).map(|mut v| v.remove(0))
    }

    fn intrinsic_call(
        &self,
        name: &str,
        tys: &[BasicTypeEnum<'l>],
        args: &[BasicValueEnum<'l>],
    ) -> R<inkwell::values::CallSiteValue<'l>> {
        let f = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.module, tys))
            .ok_or_else(|| err(format!("no intrinsic {name}")))?;
        let args: Vec<BasicMetadataValueEnum<'l>> = args.iter().map(|&a| a.into()).collect();
        self.b.build_call(f, &args, "").map_err(err)
    }

    fn to_i1(&self, v: BasicValueEnum<'l>) -> R<IntValue<'l>> {
        let v = v.into_int_value();
        self.b.build_int_compare(IntPredicate::NE, v, v.get_type().const_zero(), "").map_err(err)
    }

    fn bool_to_i32(&self, c: IntValue<'l>) -> R<BasicValueEnum<'l>> {
        Ok(self.b.build_int_z_extend(c, self.ll.i32_type(), "").map_err(err)?.into())
    }

    fn address64(&self, v: BasicValueEnum<'l>, is64: bool) -> R<IntValue<'l>> {
        let v = v.into_int_value();
        if is64 { Ok(v) } else { self.b.build_int_z_extend(v, self.ll.i64_type(), "").map_err(err) }
    }

    fn table_operand(&self, v: BasicValueEnum<'l>, table: usize) -> R<BasicValueEnum<'l>> {
        if !self.refs.layout.tables[table].is64 {
            return Ok(v);
        }
        let v = v.into_int_value();
        let max = self.i64(0xFFFF_FFFF);
        let above = self.b.build_int_compare(IntPredicate::UGT, v, max, "").map_err(err)?;
        let clamped = self.b.build_select(above, max, v, "").map_err(err)?.into_int_value();
        Ok(self.b.build_int_truncate(clamped, self.ll.i32_type(), "").map_err(err)?.into())
    }

    fn op(&mut self, op: Op) -> R<()> {
        let name = self.ctx.op_def(self.body.op_kind(op)).name;
        if matches!(name, "control.block" | "control.if" | "control.loop") {
            return self.construct(op, name);
        }
        self.op_unstructured(op)
    }

    /// `control.block`, `if` and `loop`: the only ops whose translation recurses (through
    /// `region` and `block`). They are kept out of `op_unstructured`, whose frame holds every
    /// other op's locals, so each level of nesting costs a small frame.
    fn construct(&mut self, op: Op, name: &str) -> R<()> {
        let body = self.body;
        match name {
            "control.block" | "control.if" => {
                let tys = self.types_of(body.results(op))?;
                let cont = self.label_block(&tys)?;
                let regions = body.op_regions(op).to_vec();
                self.labels.push(cont.clone());
                if name == "control.if" {
                    let c = self.to_i1(self.value(body.operands(op)[0]))?;
                    let then_block = self.ll.append_basic_block(self.function, "then");
                    let else_block = self.ll.append_basic_block(self.function, "else");
                    self.b.build_conditional_branch(c, then_block, else_block).map_err(err)?;
                    self.b.position_at_end(then_block);
                    self.region(regions[0], &cont)?;
                    self.b.position_at_end(else_block);
                    match regions.get(1) {
                        Some(&r) => self.region(r, &cont)?,
                        None => self.jump(&cont, &[])?,
                    }
                } else {
                    self.region(regions[0], &cont)?;
                }
                self.labels.pop();
                self.b.position_at_end(cont.target);
                let vals: Vec<_> = cont.phis.iter().map(|p| p.as_basic_value()).collect();
                self.set_results(op, &vals);
            }
            "control.loop" => {
                let tys = self.types_of(body.results(op))?;
                let cont = self.label_block(&tys)?;
                let region = body.op_regions(op)[0];
                let block = body.region_blocks(region)[0];
                let arg_tys = self.types_of(body.block_args(block))?;
                let header = self.label_block(&arg_tys)?;
                let inits = self.operands(op);
                self.jump(&header, &inits)?;
                self.b.position_at_end(header.target);
                for (&a, p) in body.block_args(block).iter().zip(&header.phis) {
                    self.values.insert(a, p.as_basic_value());
                }
                self.burn_fuel()?;
                self.labels.push(header.clone());
                self.region(region, &cont)?;
                self.labels.pop();
                self.b.position_at_end(cont.target);
                let vals: Vec<_> = cont.phis.iter().map(|p| p.as_basic_value()).collect();
                self.set_results(op, &vals);
            }
            _ => {}
        }
        Ok(())
    }

    #[inline(never)]
    fn op_unstructured(&mut self, op: Op) -> R<()> {
        let ctx = self.ctx;
        let body = self.body;
        let name = ctx.op_def(body.op_kind(op)).name;
        let loc = body.op_loc(op);
        if let Some(short) = name.strip_prefix("arith.") {
            return self.arith(op, short);
        }
        let layout = self.refs.layout;
        let i32t = self.ll.i32_type();
        let i64t = self.ll.i64_type();
        if let Some(w) = &self.refs.wasm32 {
            // References have no representation in wasm32 code yet, and segments live in the
            // linked module, out of the code's reach.
            if matches!(name, "refs.elem_drop" | "memory.data_drop") {
                // Only table.init and memory.init could see a dropped segment, and this path
                // refuses both: dropping changes nothing here.
                return Ok(());
            }
            let refs_op = name.starts_with("refs.") && !name.ends_with("call_indirect");
            if refs_op || matches!(name, "control.br_on_null" | "control.br_on_non_null" | "memory.init") {
                return Err(not_on_wasm32(loc, format!("`{name}`")));
            }
            match name {
                "global.get" => {
                    let g = self.index(op, "global", &layout.global_index)?;
                    let ty = self.types_of(body.results(op))?[0];
                    let bits = self
                        .b
                        .build_load(bits_type(self.ll, ty), w.globals[g].as_pointer_value(), "")
                        .map_err(err)?;
                    if let Some(i) = bits.as_instruction_value() {
                        let _ = i.set_volatile(true);
                    }
                    let v = self.b.build_bit_cast(bits, ty, "").map_err(err)?;
                    self.set_results(op, &[v]);
                    return Ok(());
                }
                "global.set" => {
                    let g = self.index(op, "global", &layout.global_index)?;
                    let v = self.operands(op)[0];
                    let bits = self.b.build_bit_cast(v, bits_type(self.ll, v.get_type()), "").map_err(err)?;
                    let store = self.b.build_store(w.globals[g].as_pointer_value(), bits).map_err(err)?;
                    let _ = store.set_volatile(true);
                    return Ok(());
                }
                "memory.size" | "memory.grow" | "memory.fill" | "memory.copy" => {
                    return self.wasm32_memory(op, name);
                }
                "refs.call_indirect" | "refs.return_call_indirect" => {
                    return self.wasm32_call_indirect(op, name == "refs.return_call_indirect");
                }
                _ => {}
            }
        }
        match name {
            "control.yield" => {
                let values = self.operands(op);
                let target = self.yield_to.clone().ok_or_else(|| err("a yield outside a construct"))?;
                self.jump(&target, &values)?;
                self.terminated = true;
            }
            "control.br" => {
                let target = self.label(op)?;
                let values = self.operands(op);
                self.jump(&target, &values)?;
                self.terminated = true;
            }
            "control.br_if" | "control.br_on_null" | "control.br_on_non_null" => {
                let target = self.label(op)?;
                let values = self.operands(op);
                let (condition, carried) = match name {
                    "control.br_if" => (self.to_i1(values[0])?, values[1..].to_vec()),
                    "control.br_on_null" => {
                        let c = self
                            .b
                            .build_int_compare(IntPredicate::EQ, values[0].into_int_value(), self.i64(0), "")
                            .map_err(err)?;
                        (c, values[1..].to_vec())
                    }
                    _ => {
                        let mut carried = values[1..].to_vec();
                        carried.push(values[0]);
                        (self.to_i1(values[0])?, carried)
                    }
                };
                let taken = self.ll.append_basic_block(self.function, "");
                let next = self.ll.append_basic_block(self.function, "");
                self.b.build_conditional_branch(condition, taken, next).map_err(err)?;
                self.b.position_at_end(taken);
                self.jump(&target, &carried)?;
                self.b.position_at_end(next);
                if name == "control.br_on_null" {
                    self.set_results(op, &[values[0]]);
                }
            }
            "control.br_table" => {
                let values = self.operands(op);
                let targets = wasmir_dialects::control::table_targets(ctx, OpRef::new(ctx, body, op));
                let default = self.attr_int(op, "default").unwrap_or(0) as u32;
                let carried = &values[1..];
                // One block per distinct depth passes the values to its label.
                let mut by_depth: FxHashMap<u32, BasicBlock<'l>> = FxHashMap::default();
                let here = self.b.get_insert_block().ok_or_else(|| err("no current block"))?;
                for &depth in targets.iter().chain([&default]) {
                    if by_depth.contains_key(&depth) {
                        continue;
                    }
                    let label = self.label_at(op, depth)?;
                    let pass = self.ll.append_basic_block(self.function, "");
                    self.b.position_at_end(pass);
                    self.jump(&label, carried)?;
                    by_depth.insert(depth, pass);
                }
                self.b.position_at_end(here);
                let cases: Vec<(IntValue<'l>, BasicBlock<'l>)> = targets
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (i32t.const_int(i as u64, false), by_depth[d]))
                    .collect();
                self.b.build_switch(values[0].into_int_value(), by_depth[&default], &cases).map_err(err)?;
                self.terminated = true;
            }
            "control.unreachable" => {
                let trap = self.trap_block(TrapCode::Unreachable);
                self.b.build_unconditional_branch(trap).map_err(err)?;
                self.terminated = true;
            }
            "func.return" => {
                let values = self.operands(op);
                self.leave_frame()?;
                self.ret(&values)?;
                self.terminated = true;
            }
            "func.call" | "control.return_call" => {
                let callee = self.index(op, "callee", &layout.func_index)?;
                let f = self.refs.functions[callee];
                let args = self.operands(op);
                self.direct_call(op, f, &args, name == "control.return_call")?;
            }
            "refs.call_indirect" | "refs.return_call_indirect" => {
                let table = self.index(op, "table", &layout.table_index)?;
                let fty = ctx
                    .dict_get(body.op_attrs(op), "callee_type")
                    .and_then(|a| ctx.attr_as_type(a))
                    .ok_or_else(|| unsupported(loc, "a call_indirect without `callee_type`"))?;
                let operands = self.operands(op);
                let len = self.vm_load_i64(layout.table_len_offset(table))?;
                let index = self.address64(operands[0], layout.tables[table].is64)?;
                let out = self.b.build_int_compare(IntPredicate::UGE, index, len, "").map_err(err)?;
                self.trap_if(out, TrapCode::UndefinedElement)?;
                let base = self.vm_load_i64(layout.table_base_offset(table))?;
                let scaled = self.b.build_int_mul(index, self.i64(8), "").map_err(err)?;
                let slot = self.b.build_int_add(base, scaled, "").map_err(err)?;
                let record = self.b.build_load(i64t, self.ptr(slot)?, "").map_err(err)?.into_int_value();
                let null =
                    self.b.build_int_compare(IntPredicate::EQ, record, self.i64(0), "").map_err(err)?;
                self.trap_if(null, TrapCode::UninitializedElement)?;
                self.call_record(op, record, fty, &operands[1..], name == "refs.return_call_indirect")?;
            }
            "refs.call_ref" | "refs.return_call_ref" => {
                let operands = self.operands(op);
                let callee_ty = body.value_type(body.operands(op)[0]);
                let fty = match wasmir_dialects::refs::ref_type(ctx, callee_ty).map(|r| r.heap) {
                    Some(wasmir_dialects::refs::Heap::Typed(f)) => f,
                    _ => return Err(unsupported(loc, "call_ref on an untyped reference")),
                };
                let record = operands[0].into_int_value();
                let null =
                    self.b.build_int_compare(IntPredicate::EQ, record, self.i64(0), "").map_err(err)?;
                self.trap_if(null, TrapCode::NullReference)?;
                self.call_record(op, record, fty, &operands[1..], name == "refs.return_call_ref")?;
            }
            "refs.func" => {
                let f = self.index(op, "function", &layout.func_index)?;
                let base =
                    self.b.build_ptr_to_int(self.records()?.as_pointer_value(), i64t, "").map_err(err)?;
                let v = self.b.build_int_add(base, self.i64((f * 16) as i64), "").map_err(err)?;
                self.set_results(op, &[v.into()]);
            }
            "refs.null" => self.set_results(op, &[self.i64(0).into()]),
            "refs.is_null" => {
                let x = self.operands(op)[0].into_int_value();
                let c = self.b.build_int_compare(IntPredicate::EQ, x, self.i64(0), "").map_err(err)?;
                let v = self.bool_to_i32(c)?;
                self.set_results(op, &[v]);
            }
            "refs.as_non_null" => {
                let x = self.operands(op)[0];
                let c = self
                    .b
                    .build_int_compare(IntPredicate::EQ, x.into_int_value(), self.i64(0), "")
                    .map_err(err)?;
                self.trap_if(c, TrapCode::NullReference)?;
                self.set_results(op, &[x]);
            }
            "refs.table_get" | "refs.table_set" => {
                let table = self.index(op, "table", &layout.table_index)?;
                let operands = self.operands(op);
                let len = self.vm_load_i64(layout.table_len_offset(table))?;
                let index = self.address64(operands[0], layout.tables[table].is64)?;
                let out = self.b.build_int_compare(IntPredicate::UGE, index, len, "").map_err(err)?;
                self.trap_if(out, TrapCode::TableOutOfBounds)?;
                let base = self.vm_load_i64(layout.table_base_offset(table))?;
                let scaled = self.b.build_int_mul(index, self.i64(8), "").map_err(err)?;
                let slot = self.ptr(self.b.build_int_add(base, scaled, "").map_err(err)?)?;
                if name == "refs.table_get" {
                    let v = self.b.build_load(i64t, slot, "").map_err(err)?;
                    self.set_results(op, &[v]);
                } else {
                    self.b.build_store(slot, operands[1]).map_err(err)?;
                }
            }
            "refs.table_size" => {
                let table = self.index(op, "table", &layout.table_index)?;
                let len = self.vm_load_i64(layout.table_len_offset(table))?;
                let v: BasicValueEnum<'l> = if layout.tables[table].is64 {
                    len.into()
                } else {
                    self.b.build_int_truncate(len, i32t, "").map_err(err)?.into()
                };
                self.set_results(op, &[v]);
            }
            "refs.table_grow" => {
                let table = self.index(op, "table", &layout.table_index)?;
                let operands = self.operands(op);
                let delta = self.table_operand(operands[1], table)?;
                let r = self
                    .libcall(Libcall::TableGrow, &[self.i32(table as i64).into(), operands[0], delta])?[0];
                let r: BasicValueEnum<'l> = if layout.tables[table].is64 {
                    self.b.build_int_s_extend(r.into_int_value(), i64t, "").map_err(err)?.into()
                } else {
                    r
                };
                self.set_results(op, &[r]);
            }
            "refs.table_fill" => {
                let table = self.index(op, "table", &layout.table_index)?;
                let operands = self.operands(op);
                let dst = self.table_operand(operands[0], table)?;
                let len = self.table_operand(operands[2], table)?;
                self.libcall(Libcall::TableFill, &[self.i32(table as i64).into(), dst, operands[1], len])?;
            }
            "refs.table_copy" => {
                let dst = self.index(op, "table", &layout.table_index)?;
                let src = self.index(op, "src_table", &layout.table_index)?;
                let operands = self.operands(op);
                let at_dst = self.table_operand(operands[0], dst)?;
                let at_src = self.table_operand(operands[1], src)?;
                let len = if layout.tables[dst].is64 && layout.tables[src].is64 {
                    self.table_operand(operands[2], dst)?
                } else {
                    operands[2]
                };
                self.libcall(
                    Libcall::TableCopy,
                    &[self.i32(dst as i64).into(), self.i32(src as i64).into(), at_dst, at_src, len],
                )?;
            }
            "refs.table_init" => {
                let table = self.index(op, "table", &layout.table_index)?;
                let segment = self.index(op, "segment", &layout.elem_index)?;
                let operands = self.operands(op);
                let dst = self.table_operand(operands[0], table)?;
                self.libcall(
                    Libcall::TableInit,
                    &[
                        self.i32(table as i64).into(),
                        self.i32(segment as i64).into(),
                        dst,
                        operands[1],
                        operands[2],
                    ],
                )?;
            }
            "refs.elem_drop" => {
                let segment = self.index(op, "segment", &layout.elem_index)?;
                self.libcall(Libcall::ElemDrop, &[self.i32(segment as i64).into()])?;
            }
            "global.get" => {
                let g = self.index(op, "global", &layout.global_index)?;
                let ty = self.types_of(body.results(op))?[0];
                let v = self.vm_load(ty, layout.global_offset(g))?;
                self.set_results(op, &[v]);
            }
            "global.set" => {
                let g = self.index(op, "global", &layout.global_index)?;
                let v = self.operands(op)[0];
                self.vm_store(layout.global_offset(g), v)?;
            }
            "memory.load" | "memory.store" => self.memory_access(op, name == "memory.load")?,
            _ if name.starts_with("memory.atomic_") => self.atomic(op, name)?,
            "memory.size" => {
                let m = self.index(op, "memory", &layout.memory_index)?;
                let len = self.vm_load_i64(layout.memory_len_offset(m))?;
                let pages = self.b.build_right_shift(len, self.i64(16), false, "").map_err(err)?;
                let v: BasicValueEnum<'l> = if layout.memories[m].is64 {
                    pages.into()
                } else {
                    self.b.build_int_truncate(pages, i32t, "").map_err(err)?.into()
                };
                self.set_results(op, &[v]);
            }
            "memory.grow" => {
                let m = self.index(op, "memory", &layout.memory_index)?;
                let is64 = layout.memories[m].is64;
                let delta = self.address64(self.operands(op)[0], is64)?;
                let r = self.libcall(Libcall::MemoryGrow, &[self.i32(m as i64).into(), delta.into()])?[0];
                let v: BasicValueEnum<'l> = if is64 {
                    r
                } else {
                    self.b.build_int_truncate(r.into_int_value(), i32t, "").map_err(err)?.into()
                };
                self.set_results(op, &[v]);
            }
            "memory.fill" => {
                let m = self.index(op, "memory", &layout.memory_index)?;
                let operands = self.operands(op);
                let is64 = layout.memories[m].is64;
                let dst = self.address64(operands[0], is64)?;
                let len = self.address64(operands[2], is64)?;
                self.libcall(
                    Libcall::MemoryFill,
                    &[self.i32(m as i64).into(), dst.into(), operands[1], len.into()],
                )?;
            }
            "memory.copy" => {
                let dst = self.index(op, "memory", &layout.memory_index)?;
                let src = self.index(op, "src_memory", &layout.memory_index)?;
                let operands = self.operands(op);
                let (d64, s64) = (layout.memories[dst].is64, layout.memories[src].is64);
                let d = self.address64(operands[0], d64)?;
                let s = self.address64(operands[1], s64)?;
                let len = self.address64(operands[2], d64 && s64)?;
                self.libcall(
                    Libcall::MemoryCopy,
                    &[
                        self.i32(dst as i64).into(),
                        self.i32(src as i64).into(),
                        d.into(),
                        s.into(),
                        len.into(),
                    ],
                )?;
            }
            "memory.init" => {
                let m = self.index(op, "memory", &layout.memory_index)?;
                let segment = self.index(op, "segment", &layout.data_index)?;
                let operands = self.operands(op);
                let d = self.address64(operands[0], layout.memories[m].is64)?;
                self.libcall(
                    Libcall::MemoryInit,
                    &[
                        self.i32(m as i64).into(),
                        self.i32(segment as i64).into(),
                        d.into(),
                        operands[1],
                        operands[2],
                    ],
                )?;
            }
            "memory.data_drop" => {
                let segment = self.index(op, "segment", &layout.data_index)?;
                self.libcall(Libcall::DataDrop, &[self.i32(segment as i64).into()])?;
            }
            other => return Err(unsupported(loc, format!("`{other}`"))),
        }
        Ok(())
    }

    /// Calls through a function reference record after checking its type id.
    fn call_record(
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
    fn direct_call(
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
    fn wasm32_call_indirect(&mut self, op: Op, tail: bool) -> R<()> {
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
    fn dispatcher(&self, table: usize, fty: Type) -> R<FunctionValue<'l>> {
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

    /// wasm32 `memory.size`, `memory.grow`, `memory.fill` and `memory.copy` on memory 0: the
    /// engine's instructions through LLVM's intrinsics. A fill or copy first checks its range
    /// itself, because LLVM skips a zero-length one that Wasm traps on when out of range.
    fn wasm32_memory(&mut self, op: Op, name: &str) -> R<()> {
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

    fn float_const(&self, ty: BasicTypeEnum<'l>, x: f64) -> BasicValueEnum<'l> {
        ty.into_float_type().const_float(x).into()
    }

    fn arith(&mut self, op: Op, short: &str) -> R<()> {
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
        let from = x.first().map(|v| v.get_type()).unwrap_or(to);
        let predicate = ctx.dict_get(body.op_attrs(op), "predicate").and_then(|a| ctx.attr_as_str(a));
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
        let v = match short {
            "addf" | "subf" | "mulf" | "divf" | "sqrtf" | "minf" | "maxf" | "ceilf" | "floorf" | "truncf"
            | "nearestf" | "demote" | "promote" => self.canonical_nan(v)?,
            _ => v,
        };
        self.set_results(op, &[v]);
        Ok(())
    }

    /// A checked load or store (see the Cranelift backend's `memory_access`).
    fn memory_access(&mut self, op: Op, is_load: bool) -> R<()> {
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
    fn access(&self, op: Op) -> R<Access<'l>> {
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
    fn narrow_type(&self, op: Op, access: &Access<'l>) -> R<BasicTypeEnum<'l>> {
        Ok(match access.width {
            w if w == access.full => access.value_type,
            8 => self.ll.i8_type().into(),
            16 => self.ll.i16_type().into(),
            32 => self.ll.i32_type().into(),
            w => return Err(unsupported(self.body.op_loc(op), format!("a {w}-bit access"))),
        })
    }

    fn load_at(
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

    fn store_at(
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
    fn atomic(&mut self, op: Op, name: &str) -> R<()> {
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
    fn wasm32_address(&mut self, address: IntValue<'l>, offset: u64) -> R<inkwell::values::PointerValue<'l>> {
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
    fn host_address(
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
