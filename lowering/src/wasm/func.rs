//! Emits one function body: SSA values back onto Wasm's operand stack and into locals.
//!
//! 1. **Stackification.** Per block, a simulation of the operand stack decides which values
//!    stay on the stack for their consumer: a value whose single use is by a later op of the
//!    same block stays when, at that op, it sits at the top of the simulated stack exactly in
//!    the position the op's leading operands need. Nothing moves, so evaluation order (and
//!    every trap and effect) is unchanged.
//! 2. **Constants** are rematerialized at each use instead of occupying a local.
//! 3. **Locals** for every other value come from a linear scan over liveness intervals in
//!    emission order (a value used inside a loop it is not defined in lives to the loop's
//!    end), reusing a local of the same type as soon as its previous value is dead.
//! 4. **Loops** take their carried values as Wasm loop parameters, so every branch, including
//!    `br_table`, just pushes the target's values.

use super::{Env, block_type, val_type};
use crate::wasm::insn;
use wasm_encoder::{Function, Instruction as I, MemArg};
use wasmir_ir::{Block, Body, Context, Diagnostic, FxHashMap, Location, Op, OpRef, Traits, Type, Value};

/// Emits the body of a defined function of type `fty`.
pub(crate) fn emit_function(
    env: &mut Env<'_>,
    body: &Body,
    fty: Type,
    name: &str,
) -> Result<Function, Diagnostic> {
    let mut e = FuncEmitter::new(env, body, fty, name)?;
    e.analyze();
    e.allocate_locals()?;
    let entry = body.region_blocks(body.roots()[0])[0];
    e.emit_block(entry, true)?;
    e.out.push(I::End);
    let mut f = Function::new_with_locals_types(e.local_types[e.num_params..].to_vec());
    for insn in &e.out {
        f.instruction(insn);
    }
    Ok(f)
}

struct FuncEmitter<'e, 'a, 'b> {
    env: &'e mut Env<'a>,
    ctx: &'a Context,
    body: &'b Body,
    name: &'b str,
    num_params: usize,
    /// Emission (pre-order) position of each op, and the last position inside it.
    pos: Vec<u32>,
    end_pos: Vec<u32>,
    /// Ops whose results are left on the stack for their consumer.
    on_stack: Vec<bool>,
    /// How many leading stack operands of an op come from the stack.
    stack_prefix: FxHashMap<Op, usize>,
    local_of: FxHashMap<Value, u32>,
    local_types: Vec<wasm_encoder::ValType>,
    scratch: FxHashMap<Type, u32>,
    out: Vec<I<'static>>,
}

fn op_name(ctx: &Context, body: &Body, op: Op) -> &'static str {
    ctx.op_def(body.op_kind(op)).name
}

impl<'e, 'a, 'b> FuncEmitter<'e, 'a, 'b> {
    fn new(env: &'e mut Env<'a>, body: &'b Body, fty: Type, name: &'b str) -> Result<Self, Diagnostic> {
        let ctx = env.ctx;
        let (params, _) = ctx.function_signature(fty).expect("a function type");
        let mut local_types = Vec::new();
        for &p in params {
            local_types.push(val_type(ctx, p, env.types)?);
        }
        let mut local_of = FxHashMap::default();
        let entry = body.region_blocks(body.roots()[0])[0];
        for (i, &a) in body.block_args(entry).iter().enumerate() {
            local_of.insert(a, i as u32);
        }
        Ok(Self {
            env,
            ctx,
            body,
            name,
            num_params: params.len(),
            pos: vec![0; body.op_capacity()],
            end_pos: vec![0; body.op_capacity()],
            on_stack: vec![false; body.op_capacity()],
            stack_prefix: FxHashMap::default(),
            local_of,
            local_types,
            scratch: FxHashMap::default(),
            out: Vec::new(),
        })
    }

    fn err(&self, loc: Location, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(loc, format!("cannot lower @{} to Wasm: {}", self.name, msg.into()))
    }

    /// The values an op pushes before its instruction, in push order.
    fn stack_operands(&self, op: Op) -> Vec<Value> {
        let operands = self.body.operands(op);
        match op_name(self.ctx, self.body, op) {
            // IR puts the condition, index, reference or callee first; Wasm takes it last.
            "control.br_if"
            | "control.br_table"
            | "control.br_on_null"
            | "control.br_on_non_null"
            | "refs.call_indirect"
            | "refs.call_ref"
            | "refs.return_call_indirect"
            | "refs.return_call_ref" => {
                let mut v = operands[1..].to_vec();
                v.push(operands[0]);
                v
            }
            "arith.select" => vec![operands[1], operands[2], operands[0]],
            "control.block" => Vec::new(),
            _ => operands.to_vec(),
        }
    }

    // ----- analysis -----

    fn analyze(&mut self) {
        let order = self.body.preorder();
        for (i, &op) in order.iter().enumerate() {
            self.pos[op.index()] = i as u32;
            self.end_pos[op.index()] = i as u32;
        }
        // Subtree ends: walk backwards so children are done before parents.
        for &op in order.iter().rev() {
            if let Some(parent) = self.body.parent_op(op) {
                let e = self.end_pos[op.index()];
                let pe = &mut self.end_pos[parent.index()];
                *pe = (*pe).max(e);
            }
        }
        let blocks: Vec<Block> = self
            .body
            .roots()
            .iter()
            .flat_map(|&r| self.body.region_blocks(r).to_vec())
            .chain(order.iter().flat_map(|&op| {
                self.body
                    .op_regions(op)
                    .iter()
                    .flat_map(|&r| self.body.region_blocks(r).to_vec())
                    .collect::<Vec<_>>()
            }))
            .collect();
        for block in blocks {
            self.stackify(block);
        }
    }

    /// Decides, for one block, which results stay on the operand stack.
    fn stackify(&mut self, block: Block) {
        let body = self.body;
        let mut tentative: Vec<(Op, Vec<Value>)> = Vec::new();
        for op in body.block_ops(block) {
            let operands = self.stack_operands(op);
            let mut best = 0;
            let mut best_len = 0;
            let mut cat: Vec<Value> = Vec::new();
            for g in 1..=tentative.len() {
                let group = &tentative[tentative.len() - g].1;
                let mut next = group.clone();
                next.extend_from_slice(&cat);
                cat = next;
                if cat.len() > operands.len() {
                    break;
                }
                if cat == operands[..cat.len()] {
                    best = g;
                    best_len = cat.len();
                }
            }
            for (producer, _) in tentative.drain(tentative.len() - best..) {
                self.on_stack[producer.index()] = true;
            }
            if best_len > 0 {
                self.stack_prefix.insert(op, best_len);
            }
            let results = body.results(op);
            let eligible = !results.is_empty()
                && results.iter().all(|&r| {
                    let uses = body.uses(r);
                    uses.len() == 1 && body.op_block(uses[0].op) == Some(block)
                })
                && results.iter().all(|&r| body.uses(r)[0].op == body.uses(results[0])[0].op);
            if eligible {
                tentative.push((op, results.to_vec()));
            }
        }
    }

    /// The position through which `v` must keep its local.
    fn live_end(&self, v: Value, def_pos: u32) -> u32 {
        let body = self.body;
        let mut end = def_pos;
        for u in body.uses(v) {
            let mut e = self.pos[u.op.index()];
            let mut at = Some(u.op);
            while let Some(op) = at {
                let is_loop = self.ctx.op_def(body.op_kind(op)).has(Traits::LOOP);
                let contains_def = self.pos[op.index()] <= def_pos && def_pos <= self.end_pos[op.index()];
                if is_loop && !contains_def {
                    e = e.max(self.end_pos[op.index()]);
                }
                at = body.parent_op(op);
            }
            end = end.max(e);
        }
        end
    }

    fn allocate_locals(&mut self) -> Result<(), Diagnostic> {
        let body = self.body;
        let ctx = self.ctx;
        // (start, end, value) of every value that needs a local.
        let mut intervals: Vec<(u32, u32, Value)> = Vec::new();
        let mut param_ends: Vec<(u32, u32)> = Vec::new();
        let entry = body.region_blocks(body.roots()[0])[0];
        for (i, &a) in body.block_args(entry).iter().enumerate() {
            param_ends.push((self.live_end(a, 0), i as u32));
        }
        for op in body.preorder() {
            let p = self.pos[op.index()];
            if !self.on_stack[op.index()] && op_name(ctx, body, op) != "arith.constant" {
                for &r in body.results(op) {
                    if body.has_uses(r) {
                        intervals.push((p, self.live_end(r, p), r));
                    }
                }
            }
            for &region in body.op_regions(op) {
                for &b in body.region_blocks(region) {
                    for &a in body.block_args(b) {
                        // Loop arguments are written at every iteration's start: they keep
                        // their local through the whole loop.
                        intervals.push((p, self.live_end(a, p).max(self.end_pos[op.index()]), a));
                    }
                }
            }
        }
        intervals.sort_by_key(|&(s, _, v)| (s, v));
        // Free locals by type: (end of the value last held, local index).
        let mut busy: Vec<(u32, u32)> = param_ends;
        let mut free: FxHashMap<wasm_encoder::ValType, Vec<u32>> = FxHashMap::default();
        for (start, end, v) in intervals {
            busy.retain(|&(e, local)| {
                if e <= start {
                    let ty = self.local_types[local as usize];
                    free.entry(ty).or_default().push(local);
                    false
                } else {
                    true
                }
            });
            let ty = val_type(ctx, body.value_type(v), self.env.types)?;
            let pool = free.entry(ty).or_default();
            pool.sort_unstable_by(|a, b| b.cmp(a));
            let local = match pool.pop() {
                Some(l) => l,
                None => {
                    self.local_types.push(ty);
                    self.local_types.len() as u32 - 1
                }
            };
            self.local_of.insert(v, local);
            busy.push((end, local));
        }
        Ok(())
    }

    // ----- emission -----

    fn local(&self, v: Value) -> Result<u32, Diagnostic> {
        self.local_of.get(&v).copied().ok_or_else(|| {
            let loc = self.body.defining_op(v).map_or(Location::Unknown, |d| self.body.op_loc(d));
            self.err(loc, "a value has no local (internal error)")
        })
    }

    fn scratch_local(&mut self, ty: Type) -> Result<u32, Diagnostic> {
        if let Some(&l) = self.scratch.get(&ty) {
            return Ok(l);
        }
        let vt = val_type(self.ctx, ty, self.env.types)?;
        self.local_types.push(vt);
        let l = self.local_types.len() as u32 - 1;
        self.scratch.insert(ty, l);
        Ok(l)
    }

    fn push(&mut self, v: Value) -> Result<(), Diagnostic> {
        if let Some(d) = self.body.defining_op(v)
            && op_name(self.ctx, self.body, d) == "arith.constant"
        {
            let insn = self.constant(d)?;
            self.out.push(insn);
            return Ok(());
        }
        let l = self.local(v)?;
        self.out.push(I::LocalGet(l));
        Ok(())
    }

    fn constant(&self, op: Op) -> Result<I<'static>, Diagnostic> {
        let ctx = self.ctx;
        let value = ctx.dict_get(self.body.op_attrs(op), "value").expect("verified constant");
        Ok(match *ctx.attr_data(value) {
            wasmir_ir::AttrData::Int { value, ty: Type::I32 } => I::I32Const(value as i32),
            wasmir_ir::AttrData::Int { value, ty: Type::I64 } => I::I64Const(value),
            wasmir_ir::AttrData::Float { bits, ty: Type::F32 } => {
                I::F32Const(wasm_encoder::Ieee32::new(bits as u32))
            }
            wasmir_ir::AttrData::Float { bits, ty: Type::F64 } => {
                I::F64Const(wasm_encoder::Ieee64::new(bits))
            }
            _ => return Err(self.err(self.body.op_loc(op), "a constant that is not an i32, i64, f32 or f64")),
        })
    }

    fn emit_block(&mut self, block: Block, function_entry: bool) -> Result<(), Diagnostic> {
        let ops: Vec<Op> = self.body.block_ops(block).collect();
        let last = ops.last().copied();
        for op in ops {
            let falls_off_function = function_entry && Some(op) == last;
            self.emit_op(op, falls_off_function)?;
        }
        Ok(())
    }

    fn emit_op(&mut self, op: Op, falls_off_function: bool) -> Result<(), Diagnostic> {
        let body = self.body;
        let ctx = self.ctx;
        let name = op_name(ctx, body, op);
        if name == "arith.constant" {
            if self.on_stack[op.index()] {
                let c = self.constant(op)?;
                self.out.push(c);
            }
            return Ok(());
        }
        let operands = self.stack_operands(op);
        let provided = self.stack_prefix.get(&op).copied().unwrap_or(0);
        for &v in &operands[provided..] {
            self.push(v)?;
        }
        self.instruction(op, name, falls_off_function)?;
        if !self.on_stack[op.index()] {
            let results: Vec<Value> = body.results(op).to_vec();
            for &r in results.iter().rev() {
                if body.has_uses(r) {
                    let l = self.local(r)?;
                    self.out.push(I::LocalSet(l));
                } else {
                    self.out.push(I::Drop);
                }
            }
        }
        Ok(())
    }

    fn attr_sym(&self, op: Op, key: &str) -> Option<&'a str> {
        let ctx: &'a Context = self.ctx;
        ctx.dict_get(self.body.op_attrs(op), key).and_then(|a| ctx.attr_as_symbol(a))
    }

    fn attr_int(&self, op: Op, key: &str) -> Option<i64> {
        self.ctx.dict_get(self.body.op_attrs(op), key).and_then(|a| self.ctx.attr_as_int(a))
    }

    fn index_of(&self, op: Op, key: &str, space: &FxHashMap<String, u32>) -> Result<u32, Diagnostic> {
        let sym = self
            .attr_sym(op, key)
            .ok_or_else(|| self.err(self.body.op_loc(op), format!("missing `{key}`")))?;
        space
            .get(sym)
            .copied()
            .ok_or_else(|| self.err(self.body.op_loc(op), format!("`@{sym}` cannot be lowered here")))
    }

    fn memarg(&self, op: Op, natural: u64) -> Result<MemArg, Diagnostic> {
        let memory_index = self.index_of(op, "memory", &self.env.memories)?;
        let offset = self.attr_int(op, "offset").unwrap_or(0) as u64;
        let align = self.attr_int(op, "align").map_or(natural, |a| a as u64);
        Ok(MemArg { offset, align: align.trailing_zeros(), memory_index })
    }

    fn callee_type_index(&mut self, op: Op) -> Result<u32, Diagnostic> {
        let fty = self
            .ctx
            .dict_get(self.body.op_attrs(op), "callee_type")
            .and_then(|a| self.ctx.attr_as_type(a))
            .ok_or_else(|| self.err(self.body.op_loc(op), "missing `callee_type`"))?;
        self.env.types.index(self.ctx, fty)
    }

    fn region_block(&self, op: Op, i: usize) -> Option<Block> {
        self.body.op_regions(op).get(i).and_then(|&r| self.body.region_blocks(r).first().copied())
    }

    fn instruction(
        &mut self,
        op: Op,
        name: &'static str,
        falls_off_function: bool,
    ) -> Result<(), Diagnostic> {
        let body = self.body;
        let ctx = self.ctx;
        let loc = body.op_loc(op);
        let result_types: Vec<Type> = body.results(op).iter().map(|&r| body.value_type(r)).collect();
        let depth = || self.attr_int(op, "depth").unwrap_or(0) as u32;
        let insn: I<'static> = match name {
            "control.block" | "control.loop" | "control.if" => {
                let params: Vec<Type> = if name == "control.loop" {
                    self.region_block(op, 0)
                        .map(|b| body.block_args(b).iter().map(|&a| body.value_type(a)).collect())
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                let bt = block_type(ctx, &params, &result_types, self.env.types)?;
                self.out.push(match name {
                    "control.block" => I::Block(bt),
                    "control.loop" => I::Loop(bt),
                    _ => I::If(bt),
                });
                if let Some(b) = self.region_block(op, 0) {
                    if name == "control.loop" {
                        let args: Vec<Value> = body.block_args(b).to_vec();
                        for &a in args.iter().rev() {
                            if body.has_uses(a) {
                                let l = self.local(a)?;
                                self.out.push(I::LocalSet(l));
                            } else {
                                self.out.push(I::Drop);
                            }
                        }
                    }
                    self.emit_block(b, false)?;
                }
                if name == "control.if"
                    && let Some(b) = self.region_block(op, 1)
                {
                    self.out.push(I::Else);
                    self.emit_block(b, false)?;
                }
                I::End
            }
            "control.yield" => return Ok(()),
            "control.br" => I::Br(depth()),
            "control.br_if" => {
                self.out.push(I::BrIf(depth()));
                for _ in 1..body.operands(op).len() {
                    self.out.push(I::Drop);
                }
                return Ok(());
            }
            "control.br_table" => {
                let targets = wasmir_dialects::control::table_targets(ctx, OpRef::new(ctx, body, op));
                I::BrTable(targets.into(), self.attr_int(op, "default").unwrap_or(0) as u32)
            }
            "control.br_on_null" => {
                self.out.push(I::BrOnNull(depth()));
                let carried = body.operands(op).len() - 1;
                if carried > 0 {
                    let scratch = self.scratch_local(result_types[0])?;
                    self.out.push(I::LocalSet(scratch));
                    for _ in 0..carried {
                        self.out.push(I::Drop);
                    }
                    self.out.push(I::LocalGet(scratch));
                }
                return Ok(());
            }
            "control.br_on_non_null" => {
                self.out.push(I::BrOnNonNull(depth()));
                for _ in 1..body.operands(op).len() {
                    self.out.push(I::Drop);
                }
                return Ok(());
            }
            "control.unreachable" => I::Unreachable,
            "control.return_call" => I::ReturnCall(self.index_of(op, "callee", &self.env.funcs)?),
            "func.return" => {
                if falls_off_function {
                    return Ok(());
                }
                I::Return
            }
            "func.call" => I::Call(self.index_of(op, "callee", &self.env.funcs)?),
            "arith.select" => {
                let ty = result_types[0];
                if matches!(ty, Type::I32 | Type::I64 | Type::F32 | Type::F64) {
                    I::Select
                } else {
                    I::TypedSelect(val_type(ctx, ty, self.env.types)?)
                }
            }
            "global.get" => I::GlobalGet(self.index_of(op, "global", &self.env.globals)?),
            "global.set" => I::GlobalSet(self.index_of(op, "global", &self.env.globals)?),
            "memory.load" | "memory.store" => {
                let ty = if name == "memory.load" {
                    result_types[0]
                } else {
                    body.value_type(body.operands(op)[1])
                };
                let full = if matches!(ty, Type::I64 | Type::F64) { 64 } else { 32 };
                let width = self.attr_int(op, "width").unwrap_or(full) as u32;
                let m = self.memarg(op, u64::from(width / 8))?;
                let sign = ctx.dict_get(body.op_attrs(op), "sign").and_then(|a| ctx.attr_as_str(a));
                let insn = if name == "memory.load" {
                    insn::load(ty, width, sign, m)
                } else {
                    insn::store(ty, width, m)
                };
                insn.ok_or_else(|| self.err(loc, format!("no Wasm access of {width} bits for this type")))?
            }
            "memory.size" => I::MemorySize(self.index_of(op, "memory", &self.env.memories)?),
            "memory.grow" => I::MemoryGrow(self.index_of(op, "memory", &self.env.memories)?),
            "memory.fill" => I::MemoryFill(self.index_of(op, "memory", &self.env.memories)?),
            "memory.copy" => I::MemoryCopy {
                dst_mem: self.index_of(op, "memory", &self.env.memories)?,
                src_mem: self.index_of(op, "src_memory", &self.env.memories)?,
            },
            "memory.init" => I::MemoryInit {
                mem: self.index_of(op, "memory", &self.env.memories)?,
                data_index: self.index_of(op, "segment", &self.env.datas)?,
            },
            "memory.data_drop" => I::DataDrop(self.index_of(op, "segment", &self.env.datas)?),
            "refs.null" => I::RefNull(super::heap_type(ctx, result_types[0], self.env.types)?),
            "refs.is_null" => I::RefIsNull,
            "refs.func" => I::RefFunc(self.index_of(op, "function", &self.env.funcs)?),
            "refs.as_non_null" => I::RefAsNonNull,
            "refs.table_get" => I::TableGet(self.index_of(op, "table", &self.env.tables)?),
            "refs.table_set" => I::TableSet(self.index_of(op, "table", &self.env.tables)?),
            "refs.table_size" => I::TableSize(self.index_of(op, "table", &self.env.tables)?),
            "refs.table_grow" => I::TableGrow(self.index_of(op, "table", &self.env.tables)?),
            "refs.table_fill" => I::TableFill(self.index_of(op, "table", &self.env.tables)?),
            "refs.table_copy" => I::TableCopy {
                dst_table: self.index_of(op, "table", &self.env.tables)?,
                src_table: self.index_of(op, "src_table", &self.env.tables)?,
            },
            "refs.table_init" => I::TableInit {
                table: self.index_of(op, "table", &self.env.tables)?,
                elem_index: self.index_of(op, "segment", &self.env.elems)?,
            },
            "refs.elem_drop" => I::ElemDrop(self.index_of(op, "segment", &self.env.elems)?),
            "refs.call_indirect" | "refs.return_call_indirect" => {
                let type_index = self.callee_type_index(op)?;
                let table_index = self.index_of(op, "table", &self.env.tables)?;
                if name == "refs.call_indirect" {
                    I::CallIndirect { type_index, table_index }
                } else {
                    I::ReturnCallIndirect { type_index, table_index }
                }
            }
            "refs.call_ref" => I::CallRef(self.callee_type_index(op)?),
            "refs.return_call_ref" => I::ReturnCallRef(self.callee_type_index(op)?),
            _ if name.starts_with("arith.") => {
                let from = body.operands(op).first().map(|&v| body.value_type(v)).unwrap_or(Type::NONE);
                let to = result_types.first().copied().unwrap_or(Type::NONE);
                let predicate = ctx.dict_get(body.op_attrs(op), "predicate").and_then(|a| ctx.attr_as_str(a));
                let short = &name["arith.".len()..];
                insn::arith(short, from, to, predicate).ok_or_else(|| {
                    self.err(loc, format!("`{name}` has no Wasm instruction for these types"))
                })?
            }
            _ => return Err(self.err(loc, format!("`{name}` has no Wasm lowering"))),
        };
        self.out.push(insn);
        Ok(())
    }
}
