//! Function bodies: Wasm's operators into SSA ops, with locals promoted to SSA values (pruned
//! SSA, from liveness.rs) and Wasm's labels into structured `control` constructs. The module
//! around them is wasm.rs's.

use crate::liveness::ConstructLocals;
use crate::wasm::{IResult, MAX_BLOCK_NESTING, ModuleInfo, ref_type, val_type};
use wasmir_dialects::refs::{self, Heap, RefType as IrRef};
use wasmir_ir::{
    Attr, Block, Body, Context, Diagnostic, FileId, FxHashMap, Location, NewOp, Region, SmallVec, Type,
    Value, smallvec,
};
use wasmparser::{BlockType, FunctionBody, MemArg, Operator};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum FrameKind {
    Function,
    Block,
    Loop,
    If,
}

/// One open Wasm control construct.
struct Frame {
    kind: FrameKind,
    /// The IR block ops are appended to (the construct's region, or the entry block).
    block: Block,
    region: Region,
    params: Vec<Type>,
    results: Vec<Type>,
    /// Locals the construct assigns, and of those the ones its label and its results carry
    /// (pruned SSA: only the live ones; see liveness.rs).
    locals: ConstructLocals,
    /// Value-stack height below the construct's own values.
    height: usize,
    unreachable: bool,
    loc: Location,
    /// Loop: the initial values of the region arguments. If: the condition.
    operands: Vec<Value>,
    /// If: the values of params at entry, for the `else` branch. The values of the assigned
    /// locals at entry (for an `else`, and for the locals dead after the end).
    entry_params: Vec<Value>,
    entry_locals: Vec<Value>,
    else_region: Option<Region>,
}

impl Frame {
    /// The value assigned local `m` had when the construct began (`None` for a local the
    /// construct does not assign, whose value is still the current one).
    fn entry_local(&self, m: u32) -> Option<Value> {
        self.locals.assigned.binary_search(&m).ok().map(|at| self.entry_locals[at])
    }
}

/// The attribute dictionaries a translator has built, by their entries. Most ops of a module
/// repeat a few (memory arguments, branch depths, small constants), and interning one takes
/// the context's lock and hashes it there; one cache serves every function a worker translates.
/// Keys are the importer's own `'static` names, compared by address: the same literal is one
/// address, so hashing a pointer replaces hashing and comparing the text (a name at a second
/// address only makes a second entry for the same interned value).
#[derive(Default)]
pub(crate) struct DictCache {
    dicts: FxHashMap<SmallVec<[(StaticName, Attr); 2]>, Attr>,
    /// String attributes of the importer's own names (predicates, signs).
    strings: FxHashMap<StaticName, Attr>,
    /// Op kinds by name.
    kinds: FxHashMap<StaticName, wasmir_ir::OpKind>,
    /// Constants: `(value, type)` to the interned integer or float attribute.
    constants: FxHashMap<(u64, Type), Attr>,
}

/// A `'static` name, hashed and compared by address.
#[derive(Copy, Clone)]
struct StaticName(&'static str);

impl PartialEq for StaticName {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for StaticName {}

impl std::hash::Hash for StaticName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}

pub(crate) struct FuncTranslator<'c, 'i> {
    ctx: &'c Context,
    dicts: &'i mut DictCache,
    info: &'i ModuleInfo,
    file: FileId,
    fty: Type,
    body: Body,
    locals: Vec<Value>,
    local_types: Vec<Type>,
    /// Locals declared non-nullable are kept nullable in SSA form (validation guarantees they
    /// are set before use) and asserted non-null when read.
    non_null_locals: Vec<bool>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    /// Operator index of each construct start -> the locals it assigns and carries.
    construct_locals: FxHashMap<usize, ConstructLocals>,
    loc: Location,
    /// Nesting of constructs skipped in unreachable code.
    skipping: usize,
}

impl<'c, 'i> FuncTranslator<'c, 'i> {
    pub(crate) fn new(
        ctx: &'c Context,
        info: &'i ModuleInfo,
        dicts: &'i mut DictCache,
        file: FileId,
        fty: Type,
    ) -> Self {
        Self {
            ctx,
            dicts,
            info,
            file,
            fty,
            body: Body::new(),
            locals: Vec::new(),
            local_types: Vec::new(),
            non_null_locals: Vec::new(),
            stack: Vec::new(),
            frames: Vec::new(),
            construct_locals: FxHashMap::default(),
            loc: Location::Unknown,
            skipping: 0,
        }
    }

    fn err(&self, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.loc, msg)
    }

    pub(crate) fn translate(mut self, func: &FunctionBody<'_>) -> IResult<Body> {
        let ctx = self.ctx;
        let (params, results) = {
            let (p, r) = ctx.function_signature(self.fty).expect("a function type");
            (p.to_vec(), r.to_vec())
        };
        let region = self.body.create_region();
        let entry = self.body.create_block(&params);
        self.body.append_block(region, entry);
        self.body.set_roots(&[region]);
        self.locals = self.body.block_args(entry).to_vec();
        self.local_types = params.clone();
        self.non_null_locals = vec![false; params.len()];
        self.loc = Location::Offset { file: self.file, offset: func.range().start as u32 };
        // Declared locals start at zero (or null).
        let mut reader = func.get_locals_reader().map_err(|e| self.err(e.message().to_string()))?;
        let mut declared: Vec<Type> = Vec::new();
        let mut non_null: Vec<bool> = Vec::new();
        for _ in 0..reader.get_count() {
            let (count, vt) = reader.read().map_err(|e| self.err(e.message().to_string()))?;
            let mut ty = val_type(ctx, &self.info.types, vt).map_err(|d| self.err(d.message))?;
            let mut nn = false;
            if let Some(r) = refs::ref_type(ctx, ty).filter(|r| !r.nullable) {
                ty = refs::make_ref(ctx, IrRef { nullable: true, ..r });
                nn = true;
            }
            for _ in 0..count {
                declared.push(ty);
                non_null.push(nn);
            }
        }
        self.frames.push(Frame {
            kind: FrameKind::Function,
            block: entry,
            region,
            params: Vec::new(),
            results,
            locals: ConstructLocals::default(),
            height: 0,
            unreachable: false,
            loc: self.loc,
            operands: Vec::new(),
            entry_params: Vec::new(),
            entry_locals: Vec::new(),
            else_region: None,
        });
        for (&ty, &nn) in declared.iter().zip(&non_null) {
            let zero = self.zero(ty);
            self.locals.push(zero);
            self.local_types.push(ty);
            self.non_null_locals.push(nn);
        }
        let ops: Vec<(Operator<'_>, usize)> = func
            .get_operators_reader()
            .map_err(|e| self.err(e.message().to_string()))?
            .into_iter_with_offsets()
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e.message().to_string()))?;
        self.construct_locals = crate::liveness::construct_locals(&ops, self.locals.len());
        for (index, (op, offset)) in ops.iter().enumerate() {
            self.loc = Location::Offset { file: self.file, offset: *offset as u32 };
            self.operator(index, op)?;
            if self.frames.is_empty() {
                break;
            }
        }
        Ok(self.body)
    }

    fn top(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a frame is open")
    }

    /// The string attribute of one of the importer's names, interned once per worker.
    fn static_string_attr(&mut self, s: &'static str) -> Attr {
        let ctx = self.ctx;
        *self.dicts.strings.entry(StaticName(s)).or_insert_with(|| ctx.string_attr(s))
    }

    fn kind(&mut self, name: &'static str) -> wasmir_ir::OpKind {
        let ctx = self.ctx;
        *self.dicts.kinds.entry(StaticName(name)).or_insert_with(|| {
            ctx.registry().lookup_op(name).expect("the importer's dialects are registered")
        })
    }

    /// Creates an op at the end of the current block.
    fn emit(
        &mut self,
        name: &'static str,
        operands: &[Value],
        results: &[Type],
        attrs: &[(&'static str, Attr)],
    ) -> SmallVec<[Value; 1]> {
        let ctx = self.ctx;
        let mut new = NewOp::new(self.kind(name), self.loc);
        new.operands = operands.into();
        new.result_types = results.into();
        let key: SmallVec<[(StaticName, Attr); 2]> = attrs.iter().map(|&(k, v)| (StaticName(k), v)).collect();
        new.attrs = match self.dicts.dicts.get(&key) {
            Some(&dict) => dict,
            None => {
                let dict = ctx.dict_attr(attrs.iter().map(|&(k, v)| (ctx.ident(k), v)).collect());
                self.dicts.dicts.insert(key, dict);
                dict
            }
        };
        let op = self.body.create_op(new);
        let block = self.frames.last().expect("a frame is open").block;
        self.body.append_op(block, op);
        self.body.results(op).into()
    }

    fn emit1(
        &mut self,
        name: &'static str,
        operands: &[Value],
        result: Type,
        attrs: &[(&'static str, Attr)],
    ) -> Value {
        self.emit(name, operands, &[result], attrs)[0]
    }

    fn zero(&mut self, ty: Type) -> Value {
        let ctx = self.ctx;
        let value = match ty {
            Type::I32 | Type::I64 => ctx.int_attr(0, ty),
            Type::F32 => ctx.f32_attr(0.0),
            Type::F64 => ctx.f64_attr(0.0),
            _ if wasmir_dialects::simd::is_v128(ctx, ty) => {
                let zero = self.static_string_attr("00000000000000000000000000000000");
                return self.emit1("simd.const", &[], ty, &[("value", zero)]);
            }
            _ => return self.emit1("refs.null", &[], ty, &[]),
        };
        self.emit1("arith.constant", &[], ty, &[("value", value)])
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated: the value stack has an operand")
    }

    fn pop_n(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    fn block_type(&self, bt: BlockType) -> (Vec<Type>, Vec<Type>) {
        match bt {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(v) => {
                (Vec::new(), vec![val_type(self.ctx, &self.info.types, v).expect("validated type")])
            }
            BlockType::FuncType(i) => {
                let (p, r) =
                    self.ctx.function_signature(self.info.types[i as usize]).expect("a function type");
                (p.to_vec(), r.to_vec())
            }
        }
    }

    fn types_of(&self, values: &[Value]) -> Vec<Type> {
        values.iter().map(|&v| self.body.value_type(v)).collect()
    }

    /// What a branch to frame `target` carries: the label's Wasm values, then the current
    /// values of the locals the construct returns.
    fn branch_values(&self, target: usize) -> Vec<Value> {
        let frame = &self.frames[target];
        let arity = if frame.kind == FrameKind::Loop { frame.params.len() } else { frame.results.len() };
        let mut values = self.stack[self.stack.len() - arity..].to_vec();
        values.extend(frame.locals.label.iter().map(|&m| self.locals[m as usize]));
        values
    }

    fn depth_attr(&self, depth: u32) -> Attr {
        self.ctx.int_attr(i64::from(depth), Type::U32)
    }

    fn operator(&mut self, index: usize, op: &Operator<'_>) -> IResult<()> {
        if self.top().unreachable {
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    self.skipping += 1;
                    return Ok(());
                }
                Operator::Else | Operator::End if self.skipping > 0 => {
                    if matches!(op, Operator::End) {
                        self.skipping -= 1;
                    }
                    return Ok(());
                }
                Operator::Else | Operator::End => {}
                _ => return Ok(()),
            }
        }
        let ctx = self.ctx;
        match *op {
            Operator::Nop => {}
            Operator::Unreachable => {
                self.emit("control.unreachable", &[], &[], &[]);
                self.top().unreachable = true;
            }
            Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } => {
                if self.frames.len() > MAX_BLOCK_NESTING {
                    return Err(self.err(format!(
                        "not supported yet: blocks nested more than {MAX_BLOCK_NESTING} deep"
                    )));
                }
                let (params, results) = self.block_type(blockty);
                let kind = match op {
                    Operator::Block { .. } => FrameKind::Block,
                    Operator::Loop { .. } => FrameKind::Loop,
                    _ => FrameKind::If,
                };
                let condition = (kind == FrameKind::If).then(|| self.pop());
                let param_values = self.pop_n(params.len());
                let locals = self.construct_locals.remove(&index).unwrap_or_default();
                let region = self.body.create_region();
                let mut operands = Vec::new();
                let block = if kind == FrameKind::Loop {
                    let mut arg_types = params.clone();
                    arg_types.extend(locals.label.iter().map(|&m| self.local_types[m as usize]));
                    let block = self.body.create_block(&arg_types);
                    operands = param_values.clone();
                    operands.extend(locals.label.iter().map(|&m| self.locals[m as usize]));
                    block
                } else {
                    self.body.create_block(&[])
                };
                self.body.append_block(region, block);
                let entry_locals = locals.assigned.iter().map(|&m| self.locals[m as usize]).collect();
                let height = self.stack.len();
                if kind == FrameKind::Loop {
                    let args = self.body.block_args(block).to_vec();
                    self.stack.extend_from_slice(&args[..params.len()]);
                    for (k, &m) in locals.label.iter().enumerate() {
                        self.locals[m as usize] = args[params.len() + k];
                    }
                } else {
                    self.stack.extend_from_slice(&param_values);
                }
                if let Some(c) = condition {
                    operands = vec![c];
                }
                self.frames.push(Frame {
                    kind,
                    block,
                    region,
                    params,
                    results,
                    locals,
                    height,
                    unreachable: false,
                    loc: self.loc,
                    operands,
                    entry_params: param_values,
                    entry_locals,
                    else_region: None,
                });
            }
            Operator::Else => {
                self.finish_region();
                let frame = self.frames.last_mut().expect("an if is open");
                let region = self.body.create_region();
                let block = self.body.create_block(&[]);
                self.body.append_block(region, block);
                frame.else_region = Some(region);
                frame.block = block;
                frame.unreachable = false;
                for (&m, &v) in frame.locals.assigned.iter().zip(&frame.entry_locals) {
                    self.locals[m as usize] = v;
                }
                let (height, params) = (frame.height, frame.entry_params.clone());
                self.stack.truncate(height);
                self.stack.extend(params);
            }
            Operator::End => self.end_frame(),
            Operator::Br { relative_depth } => {
                self.branch(relative_depth, None);
                self.top().unreachable = true;
            }
            Operator::BrIf { relative_depth } => {
                let c = self.pop();
                self.branch(relative_depth, Some(c));
            }
            Operator::BrTable { ref targets } => {
                let mut depths: Vec<u32> = targets
                    .targets()
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.err(e.message().to_string()))?;
                depths.push(targets.default());
                let index = self.pop();
                self.br_table(index, depths);
                self.top().unreachable = true;
            }
            Operator::Return => {
                let n = self.frames[0].results.len();
                let values = self.stack[self.stack.len() - n..].to_vec();
                self.emit("func.return", &values, &[], &[]);
                self.top().unreachable = true;
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let c = self.pop();
                let f = self.pop();
                let t = self.pop();
                let ty = match *op {
                    Operator::TypedSelect { ty } => val_type(ctx, &self.info.types, ty)?,
                    _ => self.body.value_type(t),
                };
                let v = self.emit1("arith.select", &[c, t, f], ty, &[]);
                self.stack.push(v);
            }
            Operator::LocalGet { local_index } => {
                let mut v = self.locals[local_index as usize];
                if self.non_null_locals[local_index as usize] {
                    let r = refs::ref_type(ctx, self.body.value_type(v)).expect("a reference local");
                    let ty = refs::make_ref(ctx, IrRef { nullable: false, ..r });
                    v = self.emit1("refs.as_non_null", &[v], ty, &[]);
                }
                self.stack.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.locals[local_index as usize] = v;
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                self.locals[local_index as usize] = v;
            }
            Operator::GlobalGet { global_index } => {
                let ty = self.info.globals[global_index as usize].1;
                let global = self.info.symbols.globals[global_index as usize];
                let v = self.emit1("global.get", &[], ty, &[("global", global)]);
                self.stack.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let global = self.info.symbols.globals[global_index as usize];
                self.emit("global.set", &[v], &[], &[("global", global)]);
            }
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                let fty = self.info.funcs[function_index as usize].1;
                let (params, results) = {
                    let (p, r) = ctx.function_signature(fty).expect("a function type");
                    (p.len(), r.to_vec())
                };
                let args = self.pop_n(params);
                let callee = self.info.symbols.funcs[function_index as usize];
                if matches!(op, Operator::ReturnCall { .. }) {
                    self.emit(
                        "control.return_call",
                        &args,
                        &[],
                        &[("callee", callee), ("callee_type", ctx.type_attr(fty))],
                    );
                    self.top().unreachable = true;
                } else {
                    let rs = self.emit("func.call", &args, &results, &[("callee", callee)]);
                    self.stack.extend(rs);
                }
            }
            Operator::CallIndirect { type_index, table_index }
            | Operator::ReturnCallIndirect { type_index, table_index } => {
                let fty = self.info.types[type_index as usize];
                let (params, results) = {
                    let (p, r) = ctx.function_signature(fty).expect("a function type");
                    (p.len(), r.to_vec())
                };
                let index = self.pop();
                let mut operands = vec![index];
                operands.extend(self.pop_n(params));
                let table = self.info.symbols.tables[table_index as usize];
                let attrs = [("table", table), ("callee_type", ctx.type_attr(fty))];
                if matches!(op, Operator::ReturnCallIndirect { .. }) {
                    self.emit("refs.return_call_indirect", &operands, &[], &attrs);
                    self.top().unreachable = true;
                } else {
                    let rs = self.emit("refs.call_indirect", &operands, &results, &attrs);
                    self.stack.extend(rs);
                }
            }
            Operator::CallRef { type_index } | Operator::ReturnCallRef { type_index } => {
                let fty = self.info.types[type_index as usize];
                let (params, results) = {
                    let (p, r) = ctx.function_signature(fty).expect("a function type");
                    (p.len(), r.to_vec())
                };
                let callee = self.pop();
                let mut operands = vec![callee];
                operands.extend(self.pop_n(params));
                let attrs = [("callee_type", ctx.type_attr(fty))];
                if matches!(op, Operator::ReturnCallRef { .. }) {
                    self.emit("refs.return_call_ref", &operands, &[], &attrs);
                    self.top().unreachable = true;
                } else {
                    let rs = self.emit("refs.call_ref", &operands, &results, &attrs);
                    self.stack.extend(rs);
                }
            }
            _ => self.other(op)?,
        }
        Ok(())
    }

    /// Ends the current region with a yield of its results (if it can fall through).
    fn finish_region(&mut self) {
        let frame = self.frames.last().expect("a frame is open");
        if frame.unreachable {
            return;
        }
        let n = frame.results.len();
        let mut values = self.stack[self.stack.len() - n..].to_vec();
        values.extend(frame.locals.results.iter().map(|&m| self.locals[m as usize]));
        if frame.kind == FrameKind::Function {
            self.emit("func.return", &values, &[], &[]);
        } else {
            self.emit("control.yield", &values, &[], &[]);
        }
        self.top().unreachable = true;
    }

    fn end_frame(&mut self) {
        self.finish_region();
        let frame = self.frames.pop().expect("a frame is open");
        if frame.kind == FrameKind::Function {
            return;
        }
        let mut regions: SmallVec<[Region; 1]> = smallvec![frame.region];
        if frame.kind == FrameKind::If {
            let else_region = match frame.else_region {
                Some(r) => r,
                None => {
                    // No `else`: the params flow through as the results, and the locals are
                    // as they were at entry.
                    let region = self.body.create_region();
                    let block = self.body.create_block(&[]);
                    self.body.append_block(region, block);
                    let mut values = frame.entry_params.clone();
                    let entry = |m: u32| frame.entry_local(m).unwrap_or(self.locals[m as usize]);
                    values.extend(frame.locals.results.iter().map(|&m| entry(m)));
                    let mut new = NewOp::new(self.kind("control.yield"), frame.loc);
                    new.operands = values.into();
                    let y = self.body.create_op(new);
                    self.body.append_op(block, y);
                    region
                }
            };
            regions.push(else_region);
        }
        let mut result_types = frame.results.clone();
        result_types.extend(frame.locals.results.iter().map(|&m| self.local_types[m as usize]));
        let name = match frame.kind {
            FrameKind::Block => "control.block",
            FrameKind::Loop => "control.loop",
            _ => "control.if",
        };
        let mut new = NewOp::new(self.kind(name), frame.loc);
        new.operands = frame.operands.into();
        new.result_types = result_types.into();
        new.regions = regions;
        let op = self.body.create_op(new);
        let parent = self.frames.last().expect("the function frame is open").block;
        self.body.append_op(parent, op);
        let results = self.body.results(op).to_vec();
        self.stack.truncate(frame.height);
        self.stack.extend_from_slice(&results[..frame.results.len()]);
        // Assigned locals dead after the end keep their value from before the construct,
        // which dominates what follows (nothing reads it before writing it anyway).
        for (&m, &v) in frame.locals.assigned.iter().zip(&frame.entry_locals) {
            self.locals[m as usize] = v;
        }
        for (k, &m) in frame.locals.results.iter().enumerate() {
            if frame.locals.assigned.binary_search(&m).is_ok() {
                self.locals[m as usize] = results[frame.results.len() + k];
            }
        }
    }

    /// `br` (no condition) or `br_if`, to the frame `depth` levels out.
    fn branch(&mut self, depth: u32, condition: Option<Value>) {
        let target = self.frames.len() - 1 - depth as usize;
        let values = self.branch_values(target);
        if self.frames[target].kind == FrameKind::Function {
            match condition {
                None => {
                    self.emit("func.return", &values, &[], &[]);
                }
                Some(c) => self.conditional_return(c, &values),
            }
            return;
        }
        let depth_attr = self.depth_attr(depth);
        match condition {
            None => {
                self.emit("control.br", &values, &[], &[("depth", depth_attr)]);
            }
            Some(c) => {
                let mut operands = vec![c];
                operands.extend(values);
                self.emit("control.br_if", &operands, &[], &[("depth", depth_attr)]);
            }
        }
    }

    /// `control.if %c { func.return values }`, Wasm's `br_if` to the function's label.
    fn conditional_return(&mut self, condition: Value, values: &[Value]) {
        let region = self.body.create_region();
        let block = self.body.create_block(&[]);
        self.body.append_block(region, block);
        let mut ret = NewOp::new(self.kind("func.return"), self.loc);
        ret.operands = values.into();
        let r = self.body.create_op(ret);
        self.body.append_op(block, r);
        let empty = self.body.create_region();
        let mut new = NewOp::new(self.kind("control.if"), self.loc);
        new.operands = smallvec![condition];
        new.regions = smallvec![region, empty];
        let op = self.body.create_op(new);
        let parent = self.frames.last().expect("a frame is open").block;
        self.body.append_op(parent, op);
    }

    /// `br_table`: one op when every target takes the same values; otherwise a landing block
    /// per distinct target, each then branching to its target with that target's locals.
    fn br_table(&mut self, index: Value, depths: Vec<u32>) {
        let ctx = self.ctx;
        let n = self.frames.len();
        let shapes: Vec<(Vec<u32>, bool)> = depths
            .iter()
            .map(|&d| {
                let f = &self.frames[n - 1 - d as usize];
                (f.locals.label.clone(), f.kind == FrameKind::Function)
            })
            .collect();
        let uniform = shapes.iter().all(|s| s == &shapes[0]) && !shapes[0].1;
        if uniform {
            let mut operands = vec![index];
            operands.extend(self.branch_values(n - 1 - depths[0] as usize));
            let (default, targets) = depths.split_last().expect("a default target");
            let targets = ctx.array_attr(targets.iter().map(|&d| self.depth_attr(d)).collect());
            let default = self.depth_attr(*default);
            self.emit("control.br_table", &operands, &[], &[("targets", targets), ("default", default)]);
            return;
        }
        let mut distinct: Vec<u32> = Vec::new();
        for &d in &depths {
            if !distinct.contains(&d) {
                distinct.push(d);
            }
        }
        let pads = distinct.len();
        let target0 = n - 1 - depths[0] as usize;
        let arity = {
            let f = &self.frames[target0];
            if f.kind == FrameKind::Loop { f.params.len() } else { f.results.len() }
        };
        let carried = self.stack[self.stack.len() - arity..].to_vec();
        let carried_types = self.types_of(&carried);
        // Innermost pad: the br_table itself, branching to pad j for target distinct[j].
        let mut inner_region = self.body.create_region();
        let mut inner_block = self.body.create_block(&[]);
        self.body.append_block(inner_region, inner_block);
        {
            let pad_of = |d: u32| distinct.iter().position(|&x| x == d).expect("listed") as u32;
            let (default, targets) = depths.split_last().expect("a default target");
            let targets = ctx.array_attr(targets.iter().map(|&d| self.depth_attr(pad_of(d))).collect());
            let default = self.depth_attr(pad_of(*default));
            let mut new = NewOp::new(self.kind("control.br_table"), self.loc);
            new.operands = std::iter::once(index).chain(carried.iter().copied()).collect();
            new.attrs = ctx.dict_attr(vec![(ctx.ident("targets"), targets), (ctx.ident("default"), default)]);
            let op = self.body.create_op(new);
            self.body.append_op(inner_block, op);
        }
        for (j, &d) in distinct.iter().enumerate() {
            let mut pad = NewOp::new(self.kind("control.block"), self.loc);
            pad.result_types = carried_types.iter().copied().collect();
            pad.regions = smallvec![inner_region];
            let pad_op = self.body.create_op(pad);
            let outer = j + 1 == pads;
            let (container_region, container) = if outer {
                (None, self.frames.last().expect("a frame is open").block)
            } else {
                let r = self.body.create_region();
                let b = self.body.create_block(&[]);
                self.body.append_block(r, b);
                (Some(r), b)
            };
            self.body.append_op(container, pad_op);
            let received: Vec<Value> = self.body.results(pad_op).to_vec();
            // Branch from here to the real target with its locals; the pads still enclosing
            // this point add to the depth.
            let enclosing = (pads - 1 - j) as u32;
            let target = n - 1 - d as usize;
            let frame = &self.frames[target];
            let mut values = received;
            values.extend(frame.locals.label.iter().map(|&m| self.locals[m as usize]));
            let mut br = if frame.kind == FrameKind::Function {
                NewOp::new(self.kind("func.return"), self.loc)
            } else {
                let mut b = NewOp::new(self.kind("control.br"), self.loc);
                b.attrs = ctx.dict_attr(vec![(ctx.ident("depth"), self.depth_attr(d + enclosing))]);
                b
            };
            br.operands = values.into();
            let br = self.body.create_op(br);
            self.body.append_op(container, br);
            if let Some(r) = container_region {
                inner_region = r;
                inner_block = container;
            }
        }
        let _ = inner_block;
    }

    /// Numeric, memory, table and reference instructions.
    fn other(&mut self, op: &Operator<'_>) -> IResult<()> {
        let ctx = self.ctx;
        if let Some((name, arity, to)) = crate::ops::numeric(op) {
            let operands = self.pop_n(arity);
            let predicate = crate::ops::predicate(op);
            let attrs: SmallVec<[(&str, Attr); 1]> =
                predicate.iter().map(|p| ("predicate", self.static_string_attr(p))).collect();
            let v = self.emit1(name, &operands, to, &attrs);
            self.stack.push(v);
            return Ok(());
        }
        if let Some(value) = crate::ops::constant_bits(op).map(|key| {
            *self
                .dicts
                .constants
                .entry(key)
                .or_insert_with(|| crate::ops::constant(ctx, op).expect("a constant"))
        }) {
            let ty = ctx.attr_type(value).expect("typed constant");
            let v = self.emit1("arith.constant", &[], ty, &[("value", value)]);
            self.stack.push(v);
            return Ok(());
        }
        if let Some((name, imm)) = crate::simd::decode(op) {
            return self.simd(name, &imm);
        }
        if let Some((ty, width, sign, memarg)) = crate::ops::load(op) {
            let address = self.pop();
            let attrs = self.memarg_attrs(memarg, width, ty, sign);
            let v = self.emit1("memory.load", &[address], ty, &attrs);
            self.stack.push(v);
            return Ok(());
        }
        if let Some(atomic) = crate::ops::atomic(op) {
            let arity = match atomic.name {
                "memory.atomic_load" => 1,
                "memory.atomic_store" | "memory.atomic_rmw" | "memory.atomic_notify" => 2,
                _ => 3,
            };
            let operands = self.pop_n(arity);
            let mut attrs = vec![("memory", self.info.symbols.memories[atomic.memarg.memory as usize])];
            if atomic.memarg.offset != 0 {
                attrs.push(("offset", ctx.int_attr(atomic.memarg.offset as i64, Type::U64)));
            }
            if atomic.width != if atomic.ty == Type::I64 { 64 } else { 32 } {
                attrs.push(("width", ctx.int_attr(i64::from(atomic.width), Type::U32)));
            }
            if let Some(rmw) = atomic.rmw {
                attrs.push(("op", ctx.string_attr(rmw)));
            }
            let results: &[Type] = match atomic.name {
                "memory.atomic_store" => &[],
                "memory.atomic_wait" | "memory.atomic_notify" => &[Type::I32],
                _ => std::slice::from_ref(&atomic.ty),
            };
            let values = self.emit(atomic.name, &operands, results, &attrs);
            self.stack.extend(values);
            return Ok(());
        }
        if let Operator::AtomicFence = op {
            self.emit("memory.atomic_fence", &[], &[], &[]);
            return Ok(());
        }
        if let Some((ty, width, memarg)) = crate::ops::store(op) {
            let value = self.pop();
            let address = self.pop();
            let attrs = self.memarg_attrs(memarg, width, ty, None);
            self.emit("memory.store", &[address, value], &[], &attrs);
            return Ok(());
        }
        let mem = |i: u32| self.info.symbols.memories[i as usize];
        let table = |i: u32| self.info.symbols.tables[i as usize];
        match *op {
            Operator::MemorySize { mem: m } => {
                let ty = self.info.memories[m as usize].1;
                let v = self.emit1("memory.size", &[], ty, &[("memory", mem(m))]);
                self.stack.push(v);
            }
            Operator::MemoryGrow { mem: m } => {
                let delta = self.pop();
                let ty = self.info.memories[m as usize].1;
                let v = self.emit1("memory.grow", &[delta], ty, &[("memory", mem(m))]);
                self.stack.push(v);
            }
            Operator::MemoryFill { mem: m } => {
                let args = self.pop_n(3);
                self.emit("memory.fill", &args, &[], &[("memory", mem(m))]);
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let args = self.pop_n(3);
                self.emit(
                    "memory.copy",
                    &args,
                    &[],
                    &[("memory", mem(dst_mem)), ("src_memory", mem(src_mem))],
                );
            }
            Operator::MemoryInit { data_index, mem: m } => {
                let args = self.pop_n(3);
                let seg = self.info.symbols.data[data_index as usize];
                self.emit("memory.init", &args, &[], &[("memory", mem(m)), ("segment", seg)]);
            }
            Operator::DataDrop { data_index } => {
                let seg = self.info.symbols.data[data_index as usize];
                self.emit("memory.data_drop", &[], &[], &[("segment", seg)]);
            }
            Operator::TableGet { table: t } => {
                let i = self.pop();
                let ty = self.info.tables[t as usize].2;
                let v = self.emit1("refs.table_get", &[i], ty, &[("table", table(t))]);
                self.stack.push(v);
            }
            Operator::TableSet { table: t } => {
                let args = self.pop_n(2);
                self.emit("refs.table_set", &args, &[], &[("table", table(t))]);
            }
            Operator::TableSize { table: t } => {
                let ty = self.info.tables[t as usize].1;
                let v = self.emit1("refs.table_size", &[], ty, &[("table", table(t))]);
                self.stack.push(v);
            }
            Operator::TableGrow { table: t } => {
                let args = self.pop_n(2);
                let ty = self.info.tables[t as usize].1;
                let v = self.emit1("refs.table_grow", &args, ty, &[("table", table(t))]);
                self.stack.push(v);
            }
            Operator::TableFill { table: t } => {
                let args = self.pop_n(3);
                self.emit("refs.table_fill", &args, &[], &[("table", table(t))]);
            }
            Operator::TableCopy { dst_table, src_table } => {
                let args = self.pop_n(3);
                self.emit(
                    "refs.table_copy",
                    &args,
                    &[],
                    &[("table", table(dst_table)), ("src_table", table(src_table))],
                );
            }
            Operator::TableInit { elem_index, table: t } => {
                let args = self.pop_n(3);
                let seg = self.info.symbols.elems[elem_index as usize];
                self.emit("refs.table_init", &args, &[], &[("table", table(t)), ("segment", seg)]);
            }
            Operator::ElemDrop { elem_index } => {
                let seg = self.info.symbols.elems[elem_index as usize];
                self.emit("refs.elem_drop", &[], &[], &[("segment", seg)]);
            }
            Operator::RefNull { hty } => {
                let ty = ref_type(
                    ctx,
                    &self.info.types,
                    wasmparser::RefType::new(true, hty).expect("valid heap type"),
                )?;
                let v = self.emit1("refs.null", &[], ty, &[]);
                self.stack.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let v = self.emit1("refs.is_null", &[r], Type::I32, &[]);
                self.stack.push(v);
            }
            Operator::RefFunc { function_index } => {
                let fty = self.info.funcs[function_index as usize].1;
                let ty = refs::make_ref(ctx, IrRef { nullable: false, heap: Heap::Typed(fty) });
                let function = self.info.symbols.funcs[function_index as usize];
                let v = self.emit1("refs.func", &[], ty, &[("function", function)]);
                self.stack.push(v);
            }
            Operator::RefAsNonNull => {
                let r = self.pop();
                let v = self.non_null(r);
                self.stack.push(v);
            }
            Operator::BrOnNull { relative_depth } => {
                let r = self.pop();
                let target = self.frames.len() - 1 - relative_depth as usize;
                let values = self.branch_values(target);
                let rt = refs::ref_type(ctx, self.body.value_type(r)).expect("a reference");
                let ty = refs::make_ref(ctx, IrRef { nullable: false, ..rt });
                if self.frames[target].kind == FrameKind::Function {
                    let is_null = self.emit1("refs.is_null", &[r], Type::I32, &[]);
                    self.conditional_return(is_null, &values);
                    let v = self.non_null(r);
                    self.stack.push(v);
                } else {
                    let mut operands = vec![r];
                    operands.extend(values);
                    let depth = self.depth_attr(relative_depth);
                    let v = self.emit1("control.br_on_null", &operands, ty, &[("depth", depth)]);
                    self.stack.push(v);
                }
            }
            Operator::BrOnNonNull { relative_depth } => {
                // if (!is_null(r)) { br depth+1 (values ++ [non-null r] ++ locals) }
                let r = self.pop();
                let is_null = self.emit1("refs.is_null", &[r], Type::I32, &[]);
                let not_null = self.emit1("arith.eqz", &[is_null], Type::I32, &[]);
                let target = self.frames.len() - 1 - relative_depth as usize;
                let region = self.body.create_region();
                let block = self.body.create_block(&[]);
                self.body.append_block(region, block);
                let saved = std::mem::replace(&mut self.frames.last_mut().expect("open").block, block);
                let nn = self.non_null(r);
                self.stack.push(nn);
                let values = self.branch_values(target);
                self.stack.pop();
                if self.frames[target].kind == FrameKind::Function {
                    self.emit("func.return", &values, &[], &[]);
                } else {
                    let depth = self.depth_attr(relative_depth + 1);
                    self.emit("control.br", &values, &[], &[("depth", depth)]);
                }
                self.frames.last_mut().expect("open").block = saved;
                let empty = self.body.create_region();
                let mut new = NewOp::new(self.kind("control.if"), self.loc);
                new.operands = smallvec![not_null];
                new.regions = smallvec![region, empty];
                let if_op = self.body.create_op(new);
                self.body.append_op(saved, if_op);
            }
            ref other => {
                return Err(self.err(format!("not supported yet: the instruction {other:?}")));
            }
        }
        Ok(())
    }

    fn non_null(&mut self, r: Value) -> Value {
        let rt = refs::ref_type(self.ctx, self.body.value_type(r)).expect("a reference");
        let ty = refs::make_ref(self.ctx, IrRef { nullable: false, ..rt });
        self.emit1("refs.as_non_null", &[r], ty, &[])
    }

    /// A SIMD operator: its family's op, with the shape and immediates as attributes.
    fn simd(&mut self, name: &str, imm: &crate::simd::Immediates) -> IResult<()> {
        let ctx = self.ctx;
        let (family, shape) = crate::simd::family_of(name)
            .ok_or_else(|| self.err(format!("unknown SIMD instruction `{name}`")))?;
        let operands = self.pop_n(crate::simd::arity(family));
        let mut attrs: SmallVec<[(&'static str, Attr); 4]> = SmallVec::new();
        if let Some(shape) = shape {
            attrs.push(("shape", self.static_string_attr(shape)));
        }
        if let Some(m) = imm.memarg {
            let bytes = wasmir_dialects::simd::access_bytes(family).expect("a memory family");
            attrs.push(("memory", self.info.symbols.memories[m.memory as usize]));
            if m.offset != 0 {
                attrs.push(("offset", ctx.int_attr(m.offset as i64, Type::U64)));
            }
            if 1u64 << m.align != u64::from(bytes) {
                attrs.push(("align", ctx.int_attr(1i64 << m.align, Type::U64)));
            }
        }
        if let Some(lane) = imm.lane {
            attrs.push(("lane", ctx.int_attr(i64::from(lane), Type::U32)));
        }
        if let Some(lanes) = imm.lanes {
            attrs.push(("lanes", ctx.string_attr(&wasmir_dialects::simd::format_bytes(&lanes))));
        }
        if let Some(value) = imm.value {
            attrs.push(("value", ctx.string_attr(&wasmir_dialects::simd::format_bytes(value.bytes()))));
        }
        let result = crate::simd::result_type(ctx, family, shape);
        let results = self.emit(family.op, &operands, result.as_slice(), &attrs);
        self.stack.extend(results);
        Ok(())
    }

    fn memarg_attrs(
        &mut self,
        m: MemArg,
        width: u32,
        ty: Type,
        sign: Option<&'static str>,
    ) -> SmallVec<[(&'static str, Attr); 4]> {
        let ctx = self.ctx;
        let mut attrs: SmallVec<[(&'static str, Attr); 4]> =
            wasmir_ir::smallvec![("memory", self.info.symbols.memories[m.memory as usize])];
        if m.offset != 0 {
            attrs.push(("offset", ctx.int_attr(m.offset as i64, Type::U64)));
        }
        let natural = width / 8;
        let align = 1u64 << m.align;
        if align != u64::from(natural) {
            attrs.push(("align", ctx.int_attr(align as i64, Type::U64)));
        }
        let full = if matches!(ty, Type::I64 | Type::F64) { 64 } else { 32 };
        if width != full {
            attrs.push(("width", ctx.int_attr(i64::from(width), Type::U32)));
        }
        if let Some(s) = sign {
            attrs.push(("sign", self.static_string_attr(s)));
        }
        attrs
    }
}
