//! The fallback op by op: plain ops carry vectors as four `i32`s (operands, results, region
//! arguments), SIMD ops become their lane programs, memory accesses per lane, and byte
//! shuffles of vectors held as words move whole byte groups with a mask and a shift.

use super::lane_global;
use super::lanes::{Lowerer, Mapped, known};
use wasmir_dialects::simd::semantics::{self, Ext, Program, Shape};
use wasmir_dialects::simd::{self, Family, Sig};
use wasmir_ir::{Attr, Body, Diagnostic, NewOp, Op, OpRef, Region, SmallVec, Type, Value};

impl Lowerer<'_> {
    /// The new body of the function.
    pub fn function(&mut self) -> Body {
        let roots: Vec<_> = self.old.roots().to_vec();
        let mut new_roots = Vec::new();
        for region in roots {
            new_roots.push(self.region(region));
        }
        self.new.set_roots(&new_roots);
        std::mem::take(&mut self.new)
    }

    /// A new region for `region`, its block arguments expanded and its ops lowered.
    fn region(&mut self, region: Region) -> Region {
        let new_region = self.new.create_region();
        let saved = self.block;
        for &block in self.old.region_blocks(region) {
            let types = self.expand_types(self.old.block_args(block).iter().map(|&a| self.old.value_type(a)));
            let new_block = self.new.create_block(&types);
            self.new.append_block(new_region, new_block);
            let args: Vec<Value> = self.new.block_args(new_block).to_vec();
            self.map_expanded(self.old.block_args(block), &args);
            self.block = new_block;
            self.enter();
            let ops: Vec<Op> = self.old.block_ops(block).collect();
            for op in ops {
                self.op(op);
            }
            self.leave();
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

    /// The operands of a plain op: vectors as their four words.
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

    fn op(&mut self, op: Op) {
        let ctx = self.ctx;
        let view = OpRef::new(ctx, self.old, op);
        self.loc = view.loc();
        let name = view.name();
        if let Some(family) = simd::family(name) {
            return self.simd_op(view, family);
        }
        let global =
            view.attr("global").and_then(|a| ctx.attr_as_symbol(a)).filter(|g| self.globals.contains(*g));
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
                let shape = self.common_shape(&[a, b]).unwrap_or(Shape::I32x4);
                let (x, y) = (self.lanes(a, shape), self.lanes(b, shape));
                let lanes = x.iter().zip(&y).map(|(&x, &y)| self.select(cond, x, y)).collect();
                let id = self.vector(shape, lanes, None);
                self.values.insert(view.result(0), Mapped::Vector(id));
            }
            ("control.br_if", _) if self.needs_words(&view.operands()[1..]) => self.conditional_branch(view),
            _ => self.plain(view),
        }
    }

    /// Whether some vector among `values` is not held as words yet: joining its lanes costs
    /// code worth running only when a branch carrying it is taken.
    fn needs_words(&self, values: &[Value]) -> bool {
        values.iter().filter_map(|&v| self.vector_of(v)).any(|id| !self.has_words(id))
    }

    /// `br_if c, L (vectors...)` as `if c { join the vectors' words; br L+1 (...) }`, so a loop
    /// exit carrying a vector built from byte lanes joins them only on the way out.
    fn conditional_branch(&mut self, view: OpRef<'_>) {
        let cond = self.scalar(view.operand(0));
        let depth = view.attr_int("depth").unwrap_or(0) + 1;
        let then = self.new.create_region();
        let block = self.new.create_block(&[]);
        self.new.append_block(then, block);
        let saved = self.block;
        self.block = block;
        self.enter();
        let operands = self.expanded_operands(&view.operands()[1..]);
        let depth = self.ctx.int_attr(depth, Type::U32);
        self.b().op("control.br", &operands, &[], &[("depth", depth)]);
        self.leave();
        self.block = saved;
        let otherwise = self.new.create_region();
        let mut new = NewOp::new(self.b().kind("control.if"), view.loc());
        new.operands = smallvec::smallvec![cond];
        new.regions = smallvec::smallvec![then, otherwise];
        let created = self.new.create_op(new);
        self.new.append_op(self.block, created);
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
        // Constants feed the fallback's own folding (a splat of a constant is a constant).
        if view.name() == "arith.constant"
            && let [result] = results[..]
        {
            match view.attr("value").map(|a| self.ctx.attr_data(a)) {
                Some(&wasmir_ir::AttrData::Int { value, ty }) => {
                    let bits = if ty == Type::I64 { value as u64 } else { u64::from(value as u32) };
                    self.record_constant(result, bits);
                    if ty == Type::I32 {
                        self.know(result, known::of_constant(value as i32));
                    }
                }
                Some(&wasmir_ir::AttrData::Float { bits, .. }) => self.record_constant(result, bits),
                _ => {}
            }
        }
    }

    /// The shape shared by the vectors that are not constants, if they share one.
    fn common_shape(&self, ids: &[u32]) -> Option<Shape> {
        let mut shapes = ids.iter().filter(|&&id| !self.is_constant(id)).map(|&id| self.native_shape(id));
        let first = shapes.next()?;
        shapes.all(|s| s == first).then_some(first)
    }

    fn simd_op(&mut self, view: OpRef<'_>, family: &'static Family) {
        let ctx = self.ctx;
        let result = view.results().first().copied();
        let mapped = match family.sig {
            Sig::Const => {
                let bytes = view.attr_str("value").and_then(simd::parse_bytes).unwrap_or([0; 16]);
                Some(Mapped::Vector(self.constant_vector(bytes)))
            }
            Sig::Load | Sig::Store | Sig::LoadLane | Sig::StoreLane => self.access(view, family),
            _ => {
                let operands: Vec<Mapped> = view
                    .operands()
                    .iter()
                    .map(|&v| self.values.get(&v).copied().unwrap_or(Mapped::Value(v)))
                    .collect();
                let vectors: Vec<u32> = operands
                    .iter()
                    .filter_map(|m| if let Mapped::Vector(id) = m { Some(*id) } else { None })
                    .collect();
                let shape = view.attr("shape").and_then(|a| ctx.attr_as_str(a));
                let lane = view.attr_int("lane").map(|l| l as u32);
                let shuffle = view.attr_str("lanes").and_then(simd::parse_bytes);
                // Whole-vector ops compute where their operands' lanes are (for floats, on the
                // integers of that width), else on words.
                let computing = match shape {
                    Some(s) => Shape::parse(s),
                    None => Some(self.common_shape(&vectors).map_or(Shape::I32x4, Shape::as_int)),
                };
                if let Some(lanes) = shuffle.filter(|_| family.sig == Sig::Shuffle)
                    && let Some(words) = self.word_shuffle(&lanes, &vectors)
                {
                    Some(words)
                } else {
                    let program =
                        computing.and_then(|s| semantics::program(family, s, lane, shuffle.as_ref()));
                    let Some(program) = program else {
                        self.errors.push(Diagnostic::error(
                            view.loc(),
                            format!("'{}' op has no scalar form here", view.name()),
                        ));
                        return;
                    };
                    Some(self.program(&program, &operands))
                }
            }
        };
        if let (Some(r), Some(m)) = (result, mapped) {
            self.values.insert(r, m);
        }
    }

    /// A byte shuffle whose sources are held as words (or at any shape but bytes): each output
    /// word gathers its bytes from the source words in groups that keep their distance, one
    /// mask and one shift per group, on 64-bit words when every source is held in them (a
    /// vector loaded for a shuffle is). `None` when the shuffle moves whole lanes of 16 bits
    /// or more (the lane program does that with no code) or a source is held as bytes (where
    /// moving lanes costs nothing either).
    fn word_shuffle(&mut self, indices: &[u8; 16], sources: &[u32]) -> Option<Mapped> {
        if !matches!(
            semantics::program(simd::family("simd.shuffle")?, Shape::I8x16, None, Some(indices)),
            Some(Program::Vector(Shape::I8x16, _))
        ) || sources.iter().any(|&id| self.native_shape(id) == Shape::I8x16 && !self.is_constant(id))
        {
            return None;
        }
        let shape = match self.common_shape(sources) {
            Some(Shape::I64x2 | Shape::F64x2) => Shape::I64x2,
            _ => Shape::I32x4,
        };
        let ty = shape.scalar();
        let unit = (shape.lane_bits() / 8) as usize;
        let words: Vec<SmallVec<[Value; 16]>> = sources.iter().map(|&id| self.lanes(id, shape)).collect();
        let mut out: SmallVec<[Value; 16]> = SmallVec::new();
        for w in 0..16 / unit {
            // (source vector, source word, byte shift) -> mask of source bytes.
            let mut groups: Vec<((usize, usize, i32), u64)> = Vec::new();
            for b in 0..unit {
                let index = indices[unit * w + b] as usize;
                let key = (index / 16, (index % 16) / unit, b as i32 - (index % unit) as i32);
                let byte_mask = 0xffu64 << (8 * (index % unit));
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, mask)) => *mask |= byte_mask,
                    None => groups.push((key, byte_mask)),
                }
            }
            let all = if unit == 8 { u64::MAX } else { u64::from(u32::MAX) };
            let mut word = None;
            for ((source, index, shift), mask) in groups {
                let value = words[source.min(words.len() - 1)][index];
                let masked = if mask == all {
                    value
                } else {
                    let m = self.constant(mask, ty);
                    self.binary("andi", value, m)
                };
                let placed = match shift {
                    0 => masked,
                    s => {
                        let by = self.constant(8 * u64::from(s.unsigned_abs()), ty);
                        self.binary(if s > 0 { "shli" } else { "shrui" }, masked, by)
                    }
                };
                word = Some(match word {
                    None => placed,
                    Some(acc) => self.binary("ori", acc, placed),
                });
            }
            out.push(word.expect("bytes in every word"));
        }
        Some(Mapped::Vector(self.vector(shape, out, None)))
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
        let access =
            |this: &mut Self, extra: u64, width: u32, ty: Type, sign: Option<&str>, value: Option<Value>| {
                let mut attrs: Vec<(&str, Attr)> = vec![
                    ("memory", memory),
                    ("offset", ctx.int_attr(offset.saturating_add(extra).min(max_offset) as i64, Type::U64)),
                    ("align", ctx.int_attr(align.min(u64::from(width / 8)) as i64, Type::U64)),
                ];
                let full = if ty == Type::I64 || ty == Type::F64 { 64 } else { 32 };
                if width < full {
                    attrs.push(("width", ctx.int_attr(i64::from(width), Type::U32)));
                    if let Some(sign) = sign.filter(|_| value.is_none()) {
                        attrs.push(("sign", ctx.string_attr(sign)));
                    }
                }
                match value {
                    Some(v) => {
                        this.b().op("memory.store", &[address, v], &[], &attrs);
                        None
                    }
                    None => {
                        let loaded = this.b().op1("memory.load", &[address], ty, &attrs);
                        if width < 32 {
                            let ext = if sign == Some("s") { Ext::Sext } else { Ext::Zext };
                            this.know(loaded, known::implied(ext, width));
                        }
                        Some(loaded)
                    }
                }
            };
        let load = |this: &mut Self, extra: u64, width: u32, ty: Type, sign: Option<&str>| {
            access(this, extra, width, ty, sign, None).expect("a load gives a value")
        };
        let name = family.name;
        let lane_shape = |bits: u32| match bits {
            8 => Shape::I8x16,
            16 => Shape::I16x8,
            32 => Shape::I32x4,
            _ => Shape::I64x2,
        };
        Some(match family.sig {
            Sig::Load if name == "load" => {
                let (shape, sign) = self.preferred_load(view.result(0));
                let k = u64::from(shape.lane_bits() / 8);
                let lanes = (0..shape.lanes())
                    .map(|i| load(self, i as u64 * k, shape.lane_bits(), shape.scalar(), sign))
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
                // Words unless the lanes are wider (no conversion) or 16 bits (storing eight
                // halves costs less than joining them into words).
                let shape = match self.native_shape(id) {
                    s @ (Shape::I64x2 | Shape::F32x4 | Shape::F64x2 | Shape::I16x8)
                        if !self.is_constant(id) =>
                    {
                        s
                    }
                    _ => Shape::I32x4,
                };
                let lanes = self.lanes(id, shape);
                let k = u64::from(shape.lane_bits() / 8);
                // The last lane first: when it is in bounds, so are the others, so a store
                // that traps writes nothing, as the vector store.
                let last = lanes.len() - 1;
                for i in std::iter::once(last).chain(0..last) {
                    access(self, i as u64 * k, shape.lane_bits(), shape.scalar(), None, Some(lanes[i]));
                }
                return None;
            }
            Sig::StoreLane => {
                let shape = lane_shape(bytes * 8);
                let at = view.attr_int("lane")? as u8;
                let id = self.vector_of(view.operand(1))?;
                let value = self.lane(id, shape, at, Ext::Raw);
                access(self, 0, bytes * 8, shape.scalar(), None, Some(value));
                return None;
            }
            _ => return None,
        })
    }

    /// The shape to load a vector at, and the extension of narrow lanes: the shape its first
    /// SIMD user reads it at (no conversion after the load), extended as the user's name says
    /// (`_u` ops read lanes zero-extended, the others sign-extended).
    fn preferred_load(&self, value: Value) -> (Shape, Option<&'static str>) {
        let ctx = self.ctx;
        let Some(user) = self.old.uses(value).first().map(|u| OpRef::new(ctx, self.old, u.op)) else {
            return (Shape::I32x4, None);
        };
        let shape = user.attr("shape").and_then(|a| ctx.attr_as_str(a)).and_then(Shape::parse);
        match shape {
            Some(s @ (Shape::I8x16 | Shape::I16x8)) if user.name() != "simd.shuffle" => {
                // Equality reads lanes zero-extended.
                let unsigned = user.name().ends_with("_u") || matches!(user.name(), "simd.eq" | "simd.ne");
                (s, Some(if unsigned { "u" } else { "s" }))
            }
            Some(s @ (Shape::I64x2 | Shape::F32x4 | Shape::F64x2)) => (s, None),
            // A shuffle works on the lanes it moves, a byte shuffle on 64-bit words.
            Some(Shape::I8x16) => {
                let indices = user.attr_str("lanes").and_then(simd::parse_bytes).unwrap_or([0; 16]);
                let family = simd::family("simd.shuffle").expect("the shuffle family");
                match semantics::program(family, Shape::I8x16, None, Some(&indices)) {
                    Some(Program::Vector(Shape::I8x16, _)) | None => (Shape::I64x2, None),
                    Some(Program::Vector(s, _)) => (s, None),
                    Some(Program::Scalar(_)) => (Shape::I32x4, None),
                }
            }
            _ => (Shape::I32x4, None),
        }
    }
}
