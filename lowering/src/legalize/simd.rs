//! `lower-simd`: the scalar fallback for targets without the `simd` capability. Every v128
//! value becomes scalar lanes kept in SSA values (registers), every SIMD op the scalar code of
//! its lane program (`simd/semantics.rs`, the one definition the folder and tests use too),
//! and v128 values crossing a boundary (labels, calls, parameters, results, globals) travel
//! as four `i32`s, lane 0 first. specs/simd.md ("The scalar fallback") gives the scheme.

use super::target::{Capabilities, Target};
use super::{convert_types, functions};
use wasmir_dialects::simd::semantics::{self, Expr, Ext, Program, Shape};
use wasmir_dialects::simd::{self, Family, Sig};
use wasmir_ir::{
    Attr, AttrData, Block, Body, Builder, Context, Diagnostic, FxHashMap, Module, NewOp, Op, OpRef, SmallVec,
    Type, TypeData, Value,
};

/// Rewrites every SIMD op and v128 value of `module` into scalar code when `target` lacks
/// SIMD; leaves the module alone otherwise.
pub(crate) fn lower_simd(ctx: &Context, module: &mut Module, target: &Target) -> Vec<Diagnostic> {
    if target.has(Capabilities::SIMD) || !mentions_simd(ctx, module) {
        return Vec::new();
    }
    let v128 = simd::v128(ctx);
    let mut errors = Vec::new();
    let globals = split_globals(ctx, module, v128, &mut errors);
    check_imports(ctx, module, v128, &mut errors);
    if !errors.is_empty() {
        return errors;
    }
    convert_types(ctx, module, &|ty| expand_function_type(ctx, ty, v128));
    for func in functions(ctx, module) {
        let Some(old) = module.body().child(func) else { continue };
        let mut lowerer = Lowerer::new(ctx, old, v128, &globals);
        let new = lowerer.function();
        errors.append(&mut lowerer.errors);
        *module.body_mut().child_mut(func).expect("a function body") = new;
    }
    errors
}

/// Whether any op is a SIMD op or any value, signature or global is a v128.
fn mentions_simd(ctx: &Context, module: &Module) -> bool {
    let v128 = simd::v128(ctx);
    let mut found = false;
    module.body().for_each_body(&mut |body| {
        if found {
            return;
        }
        for op in body.preorder() {
            let def = ctx.op_def(body.op_kind(op));
            let typed = |name: &str| {
                ctx.dict_get(body.op_attrs(op), name)
                    .and_then(|a| ctx.attr_as_type(a))
                    .is_some_and(|t| mentions(ctx, t, v128))
            };
            let values = body.results(op).iter().chain(
                body.op_regions(op)
                    .iter()
                    .flat_map(|&r| body.region_blocks(r))
                    .flat_map(|&b| body.block_args(b)),
            );
            if def.name.starts_with("simd.")
                || typed("function_type")
                || typed("type")
                || values.into_iter().any(|&v| body.value_type(v) == v128)
            {
                found = true;
                return;
            }
        }
    });
    found
}

/// Whether `ty` is or contains (in a function type) a v128.
fn mentions(ctx: &Context, ty: Type, v128: Type) -> bool {
    ty == v128
        || matches!(ctx.type_data(ty), TypeData::Function { inputs, results }
            if inputs.iter().chain(results.iter()).any(|&t| mentions(ctx, t, v128)))
}

/// A function type with each v128 spelled as four `i32`s.
fn expand_function_type(ctx: &Context, ty: Type, v128: Type) -> Option<Type> {
    let TypeData::Function { inputs, results } = ctx.type_data(ty) else { return None };
    if !mentions(ctx, ty, v128) {
        return None;
    }
    let expand = |types: &[Type]| -> Vec<Type> {
        types
            .iter()
            .flat_map(|&t| {
                if t == v128 {
                    vec![Type::I32; 4]
                } else {
                    vec![expand_function_type(ctx, t, v128).unwrap_or(t)]
                }
            })
            .collect()
    };
    Some(ctx.function_type(&expand(inputs), &expand(results)))
}

/// The `i32` globals a v128 global becomes, lane 0 first: `@g.lane0` ... `@g.lane3`.
fn lane_global(name: &str, lane: usize) -> String {
    format!("{name}.lane{lane}")
}

/// Replaces each v128 global by four `i32` globals (its initializer a constant, or another
/// v128 global's lanes). Imported and exported v128 globals have no scalar form: an error.
fn split_globals(
    ctx: &Context,
    module: &mut Module,
    v128: Type,
    errors: &mut Vec<Diagnostic>,
) -> FxHashMap<String, ()> {
    let body = module.body();
    let block = module.block();
    let exported: FxHashMap<String, Op> = body
        .block_ops(block)
        .filter(|&op| ctx.op_def(body.op_kind(op)).name == "wasm.export")
        .filter_map(|op| {
            let target = ctx.dict_get(body.op_attrs(op), "target").and_then(|a| ctx.attr_as_symbol(a))?;
            Some((target.to_string(), op))
        })
        .collect();
    let mut globals = FxHashMap::default();
    let mut splits: Vec<(Op, String, Option<[u8; 16]>, Option<String>)> = Vec::new();
    for op in body.block_ops(block) {
        let view = OpRef::new(ctx, body, op);
        if view.name() != "global.global" || view.attr("type").and_then(|a| ctx.attr_as_type(a)) != Some(v128)
        {
            continue;
        }
        let name = view.attr("sym_name").and_then(|a| ctx.attr_as_str(a)).unwrap_or_default().to_string();
        let refuse = |why: &str| {
            Diagnostic::error(
                view.loc(),
                format!("the v128 global `@{name}` {why}: it has no scalar form on a target without `simd`"),
            )
        };
        if view.attr("import").is_some() {
            errors.push(refuse("is imported"));
            continue;
        }
        if let Some(&export) = exported.get(&name) {
            errors.push(refuse("is exported").with_note(body.op_loc(export), "exported here"));
            continue;
        }
        // The initializer: a constant or a v128 global's value.
        let init = body.op_regions(op).first().and_then(|&r| body.region_blocks(r).first().copied());
        let first = init.and_then(|b| body.block_first(b));
        let (mut constant, mut source) = (None, None);
        if let Some(first) = first {
            let first = OpRef::new(ctx, body, first);
            match first.name() {
                "simd.const" => constant = first.attr_str("value").and_then(simd::parse_bytes),
                "global.get" => {
                    source = first.attr("global").and_then(|a| ctx.attr_as_symbol(a)).map(str::to_string)
                }
                _ => {}
            }
        }
        if constant.is_none() && source.is_none() {
            errors.push(refuse("has an initializer other than a constant or a global"));
            continue;
        }
        globals.insert(name.clone(), ());
        splits.push((op, name, constant, source));
    }
    let body = module.body_mut();
    for (op, name, constant, source) in splits {
        let view = OpRef::new(ctx, body, op);
        let mutable = view.attr("mutable");
        let visibility = view.attr("sym_visibility");
        let loc = view.loc();
        for lane in 0..4 {
            let mut b = Builder::before(ctx, body, op);
            b.loc = loc;
            let (region, init) = b.region_with_block(&[]);
            b.with_block(init, |b| {
                let value = match (&constant, &source) {
                    (Some(bytes), _) => {
                        let word = semantics::get_lane(bytes, Shape::I32x4, lane) as u32 as i32;
                        wasmir_dialects::arith::const_i32(b, word)
                    }
                    (_, Some(from)) => {
                        let sym = b.ctx.symbol_ref_attr(&lane_global(from, lane));
                        b.op1("global.get", &[], Type::I32, &[("global", sym)])
                    }
                    _ => unreachable!("checked above"),
                };
                wasmir_dialects::control::yield_(b, &[value]);
            });
            let mut attrs = vec![
                ("sym_name", ctx.string_attr(&lane_global(&name, lane))),
                ("type", ctx.type_attr(Type::I32)),
            ];
            attrs.extend(mutable.map(|m| ("mutable", m)));
            attrs.extend(visibility.map(|v| ("sym_visibility", v)));
            let mut new = NewOp::new(b.kind("global.global"), loc);
            new.attrs = b.attrs(&attrs);
            new.regions.push(region);
            b.create(new);
        }
        body.erase_op(op);
    }
    globals
}

/// Imported functions whose signature has a v128: their host counterparts take vectors, which
/// a target without SIMD cannot pass.
fn check_imports(ctx: &Context, module: &Module, v128: Type, errors: &mut Vec<Diagnostic>) {
    let body = module.body();
    for op in body.block_ops(module.block()) {
        let view = OpRef::new(ctx, body, op);
        if view.name() == "func.func"
            && view.attr("import").is_some()
            && view
                .attr("function_type")
                .and_then(|a| ctx.attr_as_type(a))
                .is_some_and(|t| mentions(ctx, t, v128))
        {
            let name = view.attr("sym_name").and_then(|a| ctx.attr_as_str(a)).unwrap_or_default();
            errors.push(Diagnostic::error(
                view.loc(),
                format!("the imported function `@{name}` takes or returns a v128, which a target without `simd` cannot pass to the host"),
            ));
        }
    }
}

/// What an old value became.
#[derive(Copy, Clone, Debug)]
enum Mapped {
    Value(Value),
    /// An index into `Lowerer::vectors`.
    Vector(u32),
}

/// A v128 value in scalar form: its lanes in the shape it was made in, or its bytes when they
/// are known (constants are made at any shape without conversion code).
struct Vector {
    native: (Shape, SmallVec<[Value; 16]>),
    constant: Option<[u8; 16]>,
}

/// Scalar forms made on the way: a vector's lanes at another shape, or an extended lane.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
enum Made {
    Form(u32, Shape),
    Lane(u32, Shape, u8, Ext),
}

/// Rebuilds one function body with scalar lanes for vectors.
struct Lowerer<'a> {
    ctx: &'a Context,
    old: &'a Body,
    new: Body,
    v128: Type,
    globals: &'a FxHashMap<String, ()>,
    values: FxHashMap<Value, Mapped>,
    vectors: Vec<Vector>,
    /// Conversions made so far, valid in the region they were made in and the ones inside.
    made: FxHashMap<Made, SmallVec<[Value; 16]>>,
    /// What each open region made, to forget on leaving it.
    scopes: Vec<Vec<Made>>,
    /// Where ops go.
    block: Block,
    loc: wasmir_ir::Location,
    errors: Vec<Diagnostic>,
}

impl<'a> Lowerer<'a> {
    fn new(ctx: &'a Context, old: &'a Body, v128: Type, globals: &'a FxHashMap<String, ()>) -> Self {
        Self {
            ctx,
            old,
            new: Body::new(),
            v128,
            globals,
            values: FxHashMap::default(),
            vectors: Vec::new(),
            made: FxHashMap::default(),
            scopes: vec![Vec::new()],
            block: Block::from_index(0),
            loc: wasmir_ir::Location::Unknown,
            errors: Vec::new(),
        }
    }

    /// The new body of the function.
    fn function(&mut self) -> Body {
        let roots: Vec<_> = self.old.roots().to_vec();
        let mut new_roots = Vec::new();
        for region in roots {
            new_roots.push(self.region(region));
        }
        self.new.set_roots(&new_roots);
        std::mem::take(&mut self.new)
    }

    fn b(&mut self) -> Builder<'_> {
        let mut b = Builder::at_end(self.ctx, &mut self.new, self.block);
        b.loc = self.loc;
        b
    }

    /// A new region for `region`, its block arguments expanded and its ops lowered.
    fn region(&mut self, region: wasmir_ir::Region) -> wasmir_ir::Region {
        let new_region = self.new.create_region();
        let saved = self.block;
        for &block in self.old.region_blocks(region) {
            let types = self.expand_types(self.old.block_args(block).iter().map(|&a| self.old.value_type(a)));
            let new_block = self.new.create_block(&types);
            self.new.append_block(new_region, new_block);
            let args: Vec<Value> = self.new.block_args(new_block).to_vec();
            self.map_expanded(self.old.block_args(block), &args);
            self.block = new_block;
            self.scopes.push(Vec::new());
            let ops: Vec<Op> = self.old.block_ops(block).collect();
            for op in ops {
                self.op(op);
            }
            for made in self.scopes.pop().unwrap_or_default() {
                self.made.remove(&made);
            }
        }
        self.block = saved;
        new_region
    }

    fn expand_types(&self, types: impl Iterator<Item = Type>) -> Vec<Type> {
        types.flat_map(|t| if t == self.v128 { vec![Type::I32; 4] } else { vec![t] }).collect()
    }

    /// Maps old values to new ones laid out as `expand_types` lays out their types.
    fn map_expanded(&mut self, old: &[Value], new: &[Value]) {
        let mut i = 0;
        for &v in old {
            if self.old.value_type(v) == self.v128 {
                let lanes = new[i..i + 4].iter().copied().collect();
                let id = self.vector(Shape::I32x4, lanes, None);
                self.values.insert(v, Mapped::Vector(id));
                i += 4;
            } else {
                self.values.insert(v, Mapped::Value(new[i]));
                i += 1;
            }
        }
    }

    fn vector(&mut self, shape: Shape, lanes: SmallVec<[Value; 16]>, constant: Option<[u8; 16]>) -> u32 {
        self.vectors.push(Vector { native: (shape, lanes), constant });
        self.vectors.len() as u32 - 1
    }

    fn scalar(&self, v: Value) -> Value {
        match self.values.get(&v) {
            Some(&Mapped::Value(n)) => n,
            _ => v,
        }
    }

    fn vector_of(&self, v: Value) -> Option<u32> {
        match self.values.get(&v) {
            Some(&Mapped::Vector(id)) => Some(id),
            _ => None,
        }
    }

    /// The operands of a plain op: vectors as their four `i32` words.
    fn expanded_operands(&mut self, values: &[Value]) -> SmallVec<[Value; 3]> {
        let mut out = SmallVec::new();
        for &v in values {
            match self.vector_of(v) {
                Some(id) => out.extend(self.lanes(id, Shape::I32x4)),
                None => out.push(self.scalar(v)),
            }
        }
        out
    }

    fn remember(&mut self, key: Made, values: SmallVec<[Value; 16]>) {
        self.made.insert(key, values);
        self.scopes.last_mut().expect("a scope").push(key);
    }

    // ----- lanes and conversions -----

    /// The lanes of vector `id` at `shape`, converting (once per region) when it was made at
    /// another shape.
    fn lanes(&mut self, id: u32, shape: Shape) -> SmallVec<[Value; 16]> {
        let vector = &self.vectors[id as usize];
        if vector.native.0 == shape {
            return vector.native.1.clone();
        }
        if let Some(lanes) = self.made.get(&Made::Form(id, shape)) {
            return lanes.clone();
        }
        let lanes = if let Some(bytes) = vector.constant {
            (0..shape.lanes())
                .map(|i| self.constant(semantics::get_lane(&bytes, shape, i), shape.scalar()))
                .collect()
        } else {
            let (from, native) = vector.native.clone();
            self.convert(id, from, &native, shape)
        };
        self.remember(Made::Form(id, shape), lanes.clone());
        lanes
    }

    /// Lanes at `from` to lanes at `to`: floats and integers of one width by reinterpreting,
    /// the rest through the four 32-bit words.
    fn convert(&mut self, id: u32, from: Shape, lanes: &[Value], to: Shape) -> SmallVec<[Value; 16]> {
        if from.as_int() == to.as_int() {
            return lanes.iter().map(|&l| self.unary("reinterpret", l, to.scalar())).collect();
        }
        if to == Shape::I32x4 {
            return self.to_words(from, lanes);
        }
        let words = self.lanes(id, Shape::I32x4);
        match to {
            Shape::I8x16 | Shape::I16x8 => {
                let per = 32 / to.lane_bits();
                (0..to.lanes())
                    .map(|i| {
                        let (word, part) = (words[i / per as usize], i as u32 % per);
                        if part == 0 {
                            word
                        } else {
                            let shift = self.constant(u64::from(part * to.lane_bits()), Type::I32);
                            self.binary("shrui", word, shift)
                        }
                    })
                    .collect()
            }
            Shape::I64x2 | Shape::F64x2 => {
                let quads: SmallVec<[Value; 16]> = (0..2)
                    .map(|i| {
                        let low = self.unary("extend_u", words[2 * i], Type::I64);
                        let high = self.unary("extend_u", words[2 * i + 1], Type::I64);
                        let shift = self.constant(32, Type::I64);
                        let high = self.binary("shli", high, shift);
                        self.binary("ori", low, high)
                    })
                    .collect();
                if to == Shape::F64x2 {
                    quads.iter().map(|&q| self.unary("reinterpret", q, Type::F64)).collect()
                } else {
                    quads
                }
            }
            _ => words.iter().map(|&w| self.unary("reinterpret", w, Type::F32)).collect(),
        }
    }

    /// Lanes at `from` as four 32-bit words.
    fn to_words(&mut self, from: Shape, lanes: &[Value]) -> SmallVec<[Value; 16]> {
        match from {
            Shape::I8x16 | Shape::I16x8 => {
                let per = (32 / from.lane_bits()) as usize;
                let lane_mask = (1u64 << from.lane_bits()) - 1;
                (0..4)
                    .map(|w| {
                        let mut word = None;
                        for part in 0..per {
                            let lane = lanes[w * per + part];
                            let shift = part as u32 * from.lane_bits();
                            // The top part's extra bits leave the word when shifted in.
                            let bits = if shift + from.lane_bits() == 32 {
                                lane
                            } else {
                                let m = self.constant(lane_mask, Type::I32);
                                self.binary("andi", lane, m)
                            };
                            let placed = if shift == 0 {
                                bits
                            } else {
                                let s = self.constant(u64::from(shift), Type::I32);
                                self.binary("shli", bits, s)
                            };
                            word = Some(match word {
                                None => placed,
                                Some(acc) => self.binary("ori", acc, placed),
                            });
                        }
                        word.expect("a lane per part")
                    })
                    .collect()
            }
            Shape::I64x2 | Shape::F64x2 => {
                let mut out = SmallVec::new();
                for &q in lanes {
                    let q = if from == Shape::F64x2 { self.unary("reinterpret", q, Type::I64) } else { q };
                    out.push(self.unary("wrap", q, Type::I32));
                    let shift = self.constant(32, Type::I64);
                    let high = self.binary("shrui", q, shift);
                    out.push(self.unary("wrap", high, Type::I32));
                }
                out
            }
            Shape::F32x4 => lanes.iter().map(|&l| self.unary("reinterpret", l, Type::I32)).collect(),
            Shape::I32x4 => lanes.iter().copied().collect(),
        }
    }

    /// Lane `lane` of vector `id` at `shape`, extended as asked.
    fn lane(&mut self, id: u32, shape: Shape, lane: u8, ext: Ext) -> Value {
        let raw = self.lanes(id, shape)[lane as usize];
        if ext == Ext::Raw || !shape.is_narrow() {
            return raw;
        }
        let key = Made::Lane(id, shape, lane, ext);
        if let Some(v) = self.made.get(&key) {
            return v[0];
        }
        let v = match (ext, shape) {
            (Ext::Sext, Shape::I8x16) => self.unary("extend8_s", raw, Type::I32),
            (Ext::Sext, _) => self.unary("extend16_s", raw, Type::I32),
            _ => {
                let m = self.constant((1u64 << shape.lane_bits()) - 1, Type::I32);
                self.binary("andi", raw, m)
            }
        };
        self.remember(key, smallvec::smallvec![v]);
        v
    }

    // ----- building scalar ops -----

    fn constant(&mut self, bits: u64, ty: Type) -> Value {
        let ctx = self.ctx;
        let attr = match ty {
            Type::F32 | Type::F64 => ctx.intern_attr(AttrData::Float { bits, ty }),
            Type::I64 => ctx.int_attr(bits as i64, ty),
            _ => ctx.int_attr(i64::from(bits as u32 as i32), ty),
        };
        self.b().op1("arith.constant", &[], ty, &[("value", attr)])
    }

    fn unary(&mut self, op: &str, value: Value, ty: Type) -> Value {
        self.b().op1(&format!("arith.{op}"), &[value], ty, &[])
    }

    fn binary(&mut self, op: &str, lhs: Value, rhs: Value) -> Value {
        let ty = self.new.value_type(lhs);
        self.b().op1(&format!("arith.{op}"), &[lhs, rhs], ty, &[])
    }

    /// Scalar code for a lane program's expression.
    fn expr(&mut self, e: &Expr, operands: &[Mapped], memo: &mut FxHashMap<Expr, Value>) -> Value {
        if let Some(&v) = memo.get(e) {
            return v;
        }
        let v = match e {
            Expr::Lane { operand, shape, lane, ext } => match operands[*operand as usize] {
                Mapped::Vector(id) => self.lane(id, *shape, *lane, *ext),
                Mapped::Value(v) => v,
            },
            Expr::Scalar(n) => match operands[*n as usize] {
                Mapped::Value(v) => v,
                Mapped::Vector(id) => self.lanes(id, Shape::I32x4)[0],
            },
            Expr::Const(bits, ty) => self.constant(*bits, *ty),
            Expr::Pick(index, cases, default) => {
                let index = self.expr(index, operands, memo);
                let mut level: Vec<Value> = cases.iter().map(|c| self.expr(c, operands, memo)).collect();
                // A select tree on the index's bits, then the default past the last case.
                let mut bit = 1u64;
                while level.len() > 1 {
                    let test = self.constant(bit, Type::I32);
                    let test = self.binary("andi", index, test);
                    level = level
                        .chunks(2)
                        .map(|pair| match *pair {
                            [zero, one] => self.select(test, one, zero),
                            [only] => only,
                            _ => unreachable!("chunks of two"),
                        })
                        .collect();
                    bit <<= 1;
                }
                let default = self.expr(default, operands, memo);
                let count = self.constant(cases.len() as u64, Type::I32);
                let inside = self.compare("arith.cmpi", "ult", index, count);
                self.select(inside, level[0], default)
            }
            Expr::Op(name, ty, args) => {
                let args: Vec<Value> = args.iter().map(|a| self.expr(a, operands, memo)).collect();
                if let Some(pred) = name.strip_prefix("cmpi.") {
                    self.compare("arith.cmpi", pred, args[0], args[1])
                } else if let Some(pred) = name.strip_prefix("cmpf.") {
                    self.compare("arith.cmpf", pred, args[0], args[1])
                } else if *name == "select" {
                    self.select(args[0], args[1], args[2])
                } else if *name == "fma" {
                    // Scalar Wasm has no fused multiply-add: the fallback rounds twice, the
                    // other result relaxed SIMD allows (specs/simd.md).
                    let product = self.binary("mulf", args[0], args[1]);
                    self.binary("addf", product, args[2])
                } else {
                    self.b().op1(&format!("arith.{name}"), &args, *ty, &[])
                }
            }
        };
        memo.insert(e.clone(), v);
        v
    }

    fn compare(&mut self, op: &str, pred: &str, lhs: Value, rhs: Value) -> Value {
        let p = self.ctx.string_attr(pred);
        self.b().op1(op, &[lhs, rhs], Type::I32, &[("predicate", p)])
    }

    fn select(&mut self, cond: Value, a: Value, b: Value) -> Value {
        let ty = self.new.value_type(a);
        self.b().op1("arith.select", &[cond, a, b], ty, &[])
    }

    /// Runs a lane program on the mapped operands.
    fn program(&mut self, program: &Program, operands: &[Mapped]) -> Mapped {
        let mut memo = FxHashMap::default();
        match program {
            Program::Scalar(e) => Mapped::Value(self.expr(e, operands, &mut memo)),
            Program::Vector(shape, exprs) => {
                let lanes = exprs.iter().map(|e| self.expr(e, operands, &mut memo)).collect();
                Mapped::Vector(self.vector(*shape, lanes, None))
            }
        }
    }

    // ----- ops -----

    fn op(&mut self, op: Op) {
        let ctx = self.ctx;
        let view = OpRef::new(ctx, self.old, op);
        self.loc = view.loc();
        let name = view.name();
        if let Some(family) = simd::family(name) {
            return self.simd_op(view, family);
        }
        let global =
            view.attr("global").and_then(|a| ctx.attr_as_symbol(a)).filter(|g| self.globals.contains_key(*g));
        match (name, global) {
            ("global.get", Some(g)) => {
                let lanes = (0..4)
                    .map(|lane| {
                        let sym = ctx.symbol_ref_attr(&lane_global(g, lane));
                        self.b().op1("global.get", &[], Type::I32, &[("global", sym)])
                    })
                    .collect();
                let id = self.vector(Shape::I32x4, lanes, None);
                self.values.insert(view.result(0), Mapped::Vector(id));
            }
            ("global.set", Some(g)) => {
                let id = self.vector_of(view.operand(0)).expect("a v128 operand");
                for (lane, word) in self.lanes(id, Shape::I32x4).into_iter().enumerate() {
                    let sym = ctx.symbol_ref_attr(&lane_global(g, lane));
                    self.b().op("global.set", &[word], &[], &[("global", sym)]);
                }
            }
            ("arith.select", _) if view.value_type(view.result(0)) == self.v128 => {
                let cond = self.scalar(view.operand(0));
                let (a, b) = (self.vector_of(view.operand(1)), self.vector_of(view.operand(2)));
                let (a, b) = (a.expect("a v128 operand"), b.expect("a v128 operand"));
                let shape = self.vectors[a as usize].native.0;
                let shape = if self.vectors[b as usize].native.0 == shape { shape } else { Shape::I32x4 };
                let (x, y) = (self.lanes(a, shape), self.lanes(b, shape));
                let lanes = x.iter().zip(&y).map(|(&x, &y)| self.select(cond, x, y)).collect();
                let id = self.vector(shape, lanes, None);
                self.values.insert(view.result(0), Mapped::Vector(id));
            }
            _ => self.plain(view),
        }
    }

    /// An op that is not SIMD: vectors in its operands, results and region arguments become
    /// four `i32`s each.
    fn plain(&mut self, view: OpRef<'_>) {
        let op = view.op;
        let mut new = NewOp::new(view.kind(), view.loc());
        new.attrs = view.attrs();
        new.operands = self.expanded_operands(view.operands());
        new.result_types = self.expand_types(view.results().iter().map(|&r| view.value_type(r))).into();
        new.child = self.old.child(op).cloned();
        if new.child.is_none() {
            let regions: Vec<_> = self.old.op_regions(op).to_vec();
            for region in regions {
                new.regions.push(self.region(region));
            }
        }
        let created = self.new.create_op(new);
        self.new.append_op(self.block, created);
        let results: Vec<Value> = self.new.results(created).to_vec();
        self.map_expanded(view.results(), &results);
    }

    fn simd_op(&mut self, view: OpRef<'_>, family: &'static Family) {
        let ctx = self.ctx;
        let result = view.results().first().copied();
        let mapped = match family.sig {
            Sig::Const => {
                let bytes = view.attr_str("value").and_then(simd::parse_bytes).unwrap_or([0; 16]);
                let lanes = (0..4)
                    .map(|i| self.constant(semantics::get_lane(&bytes, Shape::I32x4, i), Type::I32))
                    .collect();
                Some(Mapped::Vector(self.vector(Shape::I32x4, lanes, Some(bytes))))
            }
            Sig::Load | Sig::Store | Sig::LoadLane | Sig::StoreLane => self.access(view, family),
            _ => {
                let shape = view.attr("shape").and_then(|a| ctx.attr_as_str(a));
                let lane = view.attr_int("lane").map(|l| l as u32);
                let shuffle = view.attr_str("lanes").and_then(simd::parse_bytes);
                // Whole-vector ops compute on the first operand's lanes when they are 32 or
                // 64 bits wide, else on words.
                let computing = match shape {
                    Some(s) => Shape::parse(s),
                    None => {
                        let first =
                            self.vector_of(view.operand(0)).map(|id| self.vectors[id as usize].native.0);
                        Some(match first {
                            Some(Shape::I64x2 | Shape::F64x2) => Shape::I64x2,
                            _ => Shape::I32x4,
                        })
                    }
                };
                let program = computing.and_then(|s| semantics::program(family, s, lane, shuffle.as_ref()));
                let Some(program) = program else {
                    self.errors.push(Diagnostic::error(
                        view.loc(),
                        format!("'{}' op has no scalar form here", view.name()),
                    ));
                    return;
                };
                let operands: Vec<Mapped> = view
                    .operands()
                    .iter()
                    .map(|&v| self.values.get(&v).copied().unwrap_or(Mapped::Value(v)))
                    .collect();
                Some(self.program(&program, &operands))
            }
        };
        if let (Some(r), Some(m)) = (result, mapped) {
            self.values.insert(r, m);
        }
    }

    /// A SIMD memory access as scalar accesses of the lanes.
    fn access(&mut self, view: OpRef<'_>, family: &'static Family) -> Option<Mapped> {
        let ctx = self.ctx;
        let address = self.scalar(view.operand(0));
        let memory = view.attr("memory")?;
        let offset = view.attr_int("offset").unwrap_or(0) as u64;
        let align = view.attr_int("align").map_or(16, |a| a as u64);
        let bytes = simd::access_bytes(family)?;
        // Offsets past what the address type holds: the original access always traps (it
        // reaches past any memory), and so does a lane access at the largest offset.
        let max_offset =
            if self.new.value_type(address) == Type::I64 { u64::MAX } else { u64::from(u32::MAX) };
        let access = |this: &mut Self,
                      name: &str,
                      extra: u64,
                      width: u32,
                      ty: Type,
                      sign: Option<&str>,
                      value: Option<Value>| {
            let mut attrs: Vec<(&str, Attr)> = vec![
                ("memory", memory),
                ("offset", ctx.int_attr(offset.saturating_add(extra).min(max_offset) as i64, Type::U64)),
                ("align", ctx.int_attr(align.min(u64::from(width / 8)) as i64, Type::U64)),
            ];
            let full = if ty == Type::I64 || ty == Type::F64 { 64 } else { 32 };
            if width < full {
                attrs.push(("width", ctx.int_attr(i64::from(width), Type::U32)));
                if let Some(sign) = sign {
                    attrs.push(("sign", ctx.string_attr(sign)));
                }
            }
            match value {
                Some(v) => {
                    this.b().op(name, &[address, v], &[], &attrs);
                    None
                }
                None => Some(this.b().op1(name, &[address], ty, &attrs)),
            }
        };
        let name = family.name;
        let lane_shape = |bits: u32| match bits {
            8 => Shape::I8x16,
            16 => Shape::I16x8,
            32 => Shape::I32x4,
            _ => Shape::I64x2,
        };
        let load = |this: &mut Self, extra: u64, width: u32, ty: Type, sign: Option<&str>| {
            access(this, "memory.load", extra, width, ty, sign, None).expect("a load gives a value")
        };
        Some(match family.sig {
            Sig::Load if name == "load" => {
                let shape = self.preferred_shape(view.result(0));
                let k = u64::from(shape.lane_bits() / 8);
                let lanes = (0..shape.lanes())
                    .map(|i| load(self, i as u64 * k, shape.lane_bits(), shape.scalar(), None))
                    .collect();
                Mapped::Vector(self.vector(shape, lanes, None))
            }
            Sig::Load if name.ends_with("_splat") || name.ends_with("_zero") => {
                let bits = bytes * 8;
                let shape = lane_shape(bits);
                let value = load(self, 0, bits, shape.scalar(), Some("u"));
                let lanes = if name.ends_with("_splat") {
                    (0..shape.lanes()).map(|_| value).collect()
                } else {
                    let zero = self.constant(0, shape.scalar());
                    (0..shape.lanes()).map(|i| if i == 0 { value } else { zero }).collect()
                };
                Mapped::Vector(self.vector(shape, lanes, None))
            }
            Sig::Load => {
                // load8x8_s and the other extending loads: each lane from its narrower element.
                let from: u32 = name[4..].split('x').next()?.parse().ok()?;
                let shape = lane_shape(from * 2);
                let sign = if name.ends_with("_s") { "s" } else { "u" };
                let k = u64::from(from / 8);
                let lanes = (0..shape.lanes())
                    .map(|i| load(self, i as u64 * k, from, shape.scalar(), Some(sign)))
                    .collect();
                Mapped::Vector(self.vector(shape, lanes, None))
            }
            Sig::LoadLane => {
                let shape = lane_shape(bytes * 8);
                let at = view.attr_int("lane")? as usize;
                let id = self.vector_of(view.operand(1))?;
                let mut lanes = self.lanes(id, shape);
                lanes[at] = load(self, 0, bytes * 8, shape.scalar(), Some("u"));
                Mapped::Vector(self.vector(shape, lanes, None))
            }
            Sig::Store => {
                let id = self.vector_of(view.operand(1))?;
                let shape = match self.vectors[id as usize].native.0 {
                    s @ (Shape::I32x4 | Shape::I64x2 | Shape::F32x4 | Shape::F64x2) => s,
                    _ => Shape::I32x4,
                };
                let lanes = self.lanes(id, shape);
                let k = u64::from(shape.lane_bits() / 8);
                // The last lane first: when it is in bounds, so are the others, so a store
                // that traps writes nothing, as the vector store.
                let last = lanes.len() - 1;
                let order = std::iter::once(last).chain(0..last);
                for i in order {
                    access(
                        self,
                        "memory.store",
                        i as u64 * k,
                        shape.lane_bits(),
                        shape.scalar(),
                        None,
                        Some(lanes[i]),
                    );
                }
                return None;
            }
            Sig::StoreLane => {
                let shape = lane_shape(bytes * 8);
                let at = view.attr_int("lane")? as u8;
                let id = self.vector_of(view.operand(1))?;
                let value = self.lane(id, shape, at, Ext::Raw);
                access(self, "memory.store", 0, bytes * 8, shape.scalar(), None, Some(value));
                return None;
            }
            _ => return None,
        })
    }

    /// The shape to load a vector at: the shape its first SIMD user reads it at when its lanes
    /// are 32 or 64 bits wide (no conversion for float kernels), else words.
    fn preferred_shape(&self, value: Value) -> Shape {
        let ctx = self.ctx;
        let first = self.old.uses(value).first().map(|u| OpRef::new(ctx, self.old, u.op));
        let shape =
            first.and_then(|user| user.attr("shape")).and_then(|a| ctx.attr_as_str(a)).and_then(Shape::parse);
        match shape {
            Some(s @ (Shape::I64x2 | Shape::F32x4 | Shape::F64x2)) => s,
            _ => Shape::I32x4,
        }
    }
}
