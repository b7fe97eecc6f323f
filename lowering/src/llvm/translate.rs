//! One WasmIR function to LLVM IR through inkwell. For the host, the model is the Cranelift
//! backend's (crate::cranelift): labels become blocks whose values arrive through phis, every
//! memory access is checked against the length in `vmctx`, a trap stores its code in `vmctx`
//! and returns, and callers check that slot after each call. For wasm32 (`Wasm32Refs`), the
//! code runs inside a Wasm engine: memory 0 is LLVM's address space 0 (the engine checks
//! bounds), globals are Wasm globals, a trap is `llvm.trap`, and there is no `vmctx`.

mod arith;
mod calls;
mod memory;
mod simd;

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
        // Vectors travel as <16 x i8>, viewed at each op's lanes.
        _ if wasmir_dialects::simd::is_v128(ctx, ty) => ll.i8_type().vec_type(16).into(),
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
        let v = self.b.build_load(ty, p, "").map_err(err)?;
        // `vmctx` slots are 8-byte aligned, a v128 global's two slots too (not 16).
        if let Some(i) = v.as_instruction_value() {
            let _ = i.set_alignment(8);
        }
        Ok(v)
    }

    fn vm_store(&self, offset: i32, v: BasicValueEnum<'l>) -> R<()> {
        let at = self.b.build_int_add(self.vmctx()?, self.i64(i64::from(offset)), "").map_err(err)?;
        let p = self.ptr(at)?;
        let store = self.b.build_store(p, v).map_err(err)?;
        let _ = store.set_alignment(8);
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
        if let Some(family) = wasmir_dialects::simd::family(name) {
            return self.simd(op, family);
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
}
