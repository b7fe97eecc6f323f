//! The fallback's vectors as scalar lanes: each v128 kept in the shape it was made in,
//! converted once per region when read at another, extended only when not known to be already,
//! constants made at any shape for free, and lane programs (`simd/semantics.rs`) emitted as
//! scalar code, or folded when every operand is a constant.

use wasmir_dialects::simd::semantics::{self, Expr, Ext, Operand, Program, Shape};
use wasmir_ir::{Block, Body, Builder, Context, Diagnostic, FxHashMap, FxHashSet, SmallVec, Type, Value};

/// What an old value became.
#[derive(Copy, Clone, Debug)]
pub(super) enum Mapped {
    Value(Value),
    /// An index into `Lowerer::vectors`.
    Vector(u32),
}

/// A v128 value in scalar form: its lanes in the shape it was made in, and its bytes when
/// they are known (a constant's lanes are made at any shape without conversion code).
pub(super) struct Vector {
    pub native: (Shape, SmallVec<[Value; 16]>),
    pub constant: Option<[u8; 16]>,
}

/// Scalar values made on the way, valid in the region they were made in and the ones inside:
/// a vector's lanes at another shape, a value extended from a narrow lane, a constant.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
enum Made {
    Form(u32, Shape),
    Extended(Value, Ext, u32),
    Constant(u64, Type),
}

/// What is known of an `i32` holding a narrow lane: it already equals its low 8 or 16 bits
/// sign- or zero-extended, so reading the lane extended costs nothing.
pub(super) mod known {
    pub const SEXT8: u8 = 1;
    pub const SEXT16: u8 = 2;
    pub const ZEXT8: u8 = 4;
    pub const ZEXT16: u8 = 8;
    /// A boolean, 0 or 1.
    pub const BOOL: u8 = SEXT8 | SEXT16 | ZEXT8 | ZEXT16;

    /// The fact that lets a read extended as `ext` from `bits` skip the extension.
    pub fn needed(ext: super::Ext, bits: u32) -> u8 {
        match (ext, bits) {
            (super::Ext::Sext, 8) => SEXT8,
            (super::Ext::Sext, _) => SEXT16,
            (_, 8) => ZEXT8,
            _ => ZEXT16,
        }
    }

    /// Everything true of a value extended as `ext` from `bits` (facts are kept closed: a
    /// value sign-extended from 8 bits is sign-extended from 16 too, and one zero-extended
    /// from 8 bits is both extended from 16).
    pub fn implied(ext: super::Ext, bits: u32) -> u8 {
        match (ext, bits) {
            (super::Ext::Sext, 8) => SEXT8 | SEXT16,
            (super::Ext::Sext, _) => SEXT16,
            (_, 8) => ZEXT8 | ZEXT16 | SEXT16,
            _ => ZEXT16,
        }
    }

    /// The facts true of the `i32` constant `v`.
    pub fn of_constant(v: i32) -> u8 {
        let mut k = 0;
        if (-128..128).contains(&v) {
            k |= SEXT8;
        }
        if (-32768..32768).contains(&v) {
            k |= SEXT16;
        }
        if (0..256).contains(&v) {
            k |= ZEXT8;
        }
        if (0..65536).contains(&v) {
            k |= ZEXT16;
        }
        k
    }
}

/// Rebuilds one function body with scalar lanes for vectors.
pub(super) struct Lowerer<'a> {
    pub ctx: &'a Context,
    pub old: &'a Body,
    pub new: Body,
    pub v128: Type,
    /// The v128 globals, split into four `i32` globals each.
    pub globals: &'a FxHashSet<String>,
    pub values: FxHashMap<Value, Mapped>,
    pub vectors: Vec<Vector>,
    made: FxHashMap<Made, SmallVec<[Value; 16]>>,
    /// What each open region made, to forget on leaving it.
    scopes: Vec<Vec<Made>>,
    /// Extension facts of new values (see [`known`]).
    known: FxHashMap<Value, u8>,
    /// The bits of new values that are constants.
    constants: FxHashMap<Value, u64>,
    /// Values that are non-zero exactly when a boolean (0 or 1) is 1, and whether they are
    /// all ones then (compare masks): a reduction of masks reduces the booleans instead, and
    /// the masks, unused, are not emitted.
    truth: FxHashMap<Value, (Value, bool)>,
    /// Where ops go.
    pub block: Block,
    pub loc: wasmir_ir::Location,
    pub errors: Vec<Diagnostic>,
}

impl<'a> Lowerer<'a> {
    pub fn new(ctx: &'a Context, old: &'a Body, v128: Type, globals: &'a FxHashSet<String>) -> Self {
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
            known: FxHashMap::default(),
            constants: FxHashMap::default(),
            truth: FxHashMap::default(),
            block: Block::from_index(0),
            loc: wasmir_ir::Location::Unknown,
            errors: Vec::new(),
        }
    }

    pub fn b(&mut self) -> Builder<'_> {
        let mut b = Builder::at_end(self.ctx, &mut self.new, self.block);
        b.loc = self.loc;
        b
    }

    /// Opens a region: what is made inside is forgotten when it closes.
    pub fn enter(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub fn leave(&mut self) {
        for made in self.scopes.pop().unwrap_or_default() {
            self.made.remove(&made);
        }
    }

    fn remember(&mut self, key: Made, values: SmallVec<[Value; 16]>) {
        self.made.insert(key, values);
        self.scopes.last_mut().expect("a scope").push(key);
    }

    pub fn vector(&mut self, shape: Shape, lanes: SmallVec<[Value; 16]>, constant: Option<[u8; 16]>) -> u32 {
        self.vectors.push(Vector { native: (shape, lanes), constant });
        self.vectors.len() as u32 - 1
    }

    /// A vector of known bytes: its lanes at `i32x4` (others are made where they are read).
    pub fn constant_vector(&mut self, bytes: [u8; 16]) -> u32 {
        let lanes =
            (0..4).map(|i| self.constant(semantics::get_lane(&bytes, Shape::I32x4, i), Type::I32)).collect();
        self.vector(Shape::I32x4, lanes, Some(bytes))
    }

    pub fn scalar(&self, v: Value) -> Value {
        match self.values.get(&v) {
            Some(&Mapped::Value(n)) => n,
            _ => v,
        }
    }

    pub fn vector_of(&self, v: Value) -> Option<u32> {
        match self.values.get(&v) {
            Some(&Mapped::Vector(id)) => Some(id),
            _ => None,
        }
    }

    /// The shape vector `id` was made in.
    pub fn native_shape(&self, id: u32) -> Shape {
        self.vectors[id as usize].native.0
    }

    /// Whether vector `id`'s four words are at hand (made in that shape, converted in an open
    /// region, or known bytes).
    pub fn has_words(&self, id: u32) -> bool {
        let vector = &self.vectors[id as usize];
        vector.native.0 == Shape::I32x4
            || vector.constant.is_some()
            || self.made.contains_key(&Made::Form(id, Shape::I32x4))
    }

    pub fn is_constant(&self, id: u32) -> bool {
        self.vectors[id as usize].constant.is_some()
    }

    /// Records what is known of a new value.
    pub fn know(&mut self, v: Value, facts: u8) {
        if facts != 0 {
            self.known.insert(v, facts);
        }
    }

    pub fn record_constant(&mut self, v: Value, bits: u64) {
        self.constants.insert(v, bits);
    }

    // ----- lanes and conversions -----

    /// The lanes of vector `id` at `shape`, converting (once per region) when it was made at
    /// another shape.
    pub fn lanes(&mut self, id: u32, shape: Shape) -> SmallVec<[Value; 16]> {
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
            return self.join_words(from, lanes);
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
                            let lane = self.binary("shrui", word, shift);
                            // The top part comes out zero-extended.
                            if (part + 1) * to.lane_bits() == 32 {
                                self.know(lane, known::implied(Ext::Zext, to.lane_bits()));
                            }
                            lane
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
    fn join_words(&mut self, from: Shape, lanes: &[Value]) -> SmallVec<[Value; 16]> {
        match from {
            Shape::I8x16 | Shape::I16x8 => {
                let per = (32 / from.lane_bits()) as usize;
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
                                self.extend(lane, Ext::Zext, from.lane_bits())
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
    pub fn lane(&mut self, id: u32, shape: Shape, lane: u8, ext: Ext) -> Value {
        if let Some(bytes) = self.vectors[id as usize].constant {
            let raw = semantics::get_lane(&bytes, shape, lane as usize);
            let bits = shape.lane_bits();
            let value = match ext {
                Ext::Sext if shape.is_narrow() => (((raw << (64 - bits)) as i64) >> (64 - bits)) as u64,
                _ => raw,
            };
            return self.constant(value, shape.scalar());
        }
        let raw = self.lanes(id, shape)[lane as usize];
        if ext == Ext::Raw || !shape.is_narrow() {
            return raw;
        }
        self.extend(raw, ext, shape.lane_bits())
    }

    /// `value`'s low `bits` bits extended as `ext`, unless it is known to be already.
    fn extend(&mut self, value: Value, ext: Ext, bits: u32) -> Value {
        if self.known.get(&value).is_some_and(|&k| k & known::needed(ext, bits) != 0) {
            return value;
        }
        if let Some(&constant) = self.constants.get(&value) {
            let v = constant as u32 as i32;
            let v = match (ext, bits) {
                (Ext::Sext, 8) => i32::from(v as i8),
                (Ext::Sext, _) => i32::from(v as i16),
                (_, 8) => v & 0xff,
                _ => v & 0xffff,
            };
            return self.constant(v as u32 as u64, Type::I32);
        }
        let key = Made::Extended(value, ext, bits);
        if let Some(v) = self.made.get(&key) {
            return v[0];
        }
        let v = match (ext, bits) {
            (Ext::Sext, 8) => self.unary("extend8_s", value, Type::I32),
            (Ext::Sext, _) => self.unary("extend16_s", value, Type::I32),
            _ => {
                let m = self.constant((1u64 << bits) - 1, Type::I32);
                self.binary("andi", value, m)
            }
        };
        self.know(v, known::implied(ext, bits));
        if let Some(&(cond, exact)) = self.truth.get(&value) {
            self.truth.insert(v, (cond, exact && ext == Ext::Sext));
        }
        self.remember(key, smallvec::smallvec![v]);
        v
    }

    // ----- scalar ops -----

    /// A constant, made once per region.
    pub fn constant(&mut self, bits: u64, ty: Type) -> Value {
        let bits = if ty == Type::I32 || ty == Type::F32 { bits & 0xFFFF_FFFF } else { bits };
        let key = Made::Constant(bits, ty);
        if let Some(v) = self.made.get(&key) {
            return v[0];
        }
        let attr = wasmir_dialects::arith::constant_attr(self.ctx, bits, ty);
        let v = self.b().op1("arith.constant", &[], ty, &[("value", attr)]);
        if ty == Type::I32 {
            self.know(v, known::of_constant(bits as u32 as i32));
        }
        self.constants.insert(v, bits);
        self.remember(key, smallvec::smallvec![v]);
        v
    }

    pub fn unary(&mut self, op: &str, value: Value, ty: Type) -> Value {
        self.b().op1(&format!("arith.{op}"), &[value], ty, &[])
    }

    pub fn binary(&mut self, op: &str, lhs: Value, rhs: Value) -> Value {
        let ty = self.new.value_type(lhs);
        self.b().op1(&format!("arith.{op}"), &[lhs, rhs], ty, &[])
    }

    fn compare(&mut self, op: &str, pred: &str, lhs: Value, rhs: Value) -> Value {
        let p = self.ctx.string_attr(pred);
        let v = self.b().op1(op, &[lhs, rhs], Type::I32, &[("predicate", p)]);
        self.know(v, known::BOOL);
        v
    }

    pub fn select(&mut self, cond: Value, a: Value, b: Value) -> Value {
        let ty = self.new.value_type(a);
        let v = self.b().op1("arith.select", &[cond, a, b], ty, &[]);
        let facts = self.known.get(&a).copied().unwrap_or(0) & self.known.get(&b).copied().unwrap_or(0);
        self.know(v, facts);
        let all_ones = if ty == Type::I64 { u64::MAX } else { u64::from(u32::MAX) };
        if self.constants.get(&a) == Some(&all_ones)
            && self.constants.get(&b) == Some(&0)
            && self.known.get(&cond).is_some_and(|&k| k == known::BOOL)
        {
            self.truth.insert(v, (cond, true));
        }
        v
    }

    /// Reductions of compare masks on their booleans: `ne(m, 0)` is the boolean, `or` and
    /// `and` of masks combine booleans, and the sign of a mask (`shr_u` by 31) is its boolean.
    fn on_booleans(&mut self, name: &str, args: &[Value]) -> Option<Value> {
        let truth = |this: &Self, v: Value| this.truth.get(&v).copied();
        match (name, args) {
            ("cmpi.ne", &[x, zero]) if self.constants.get(&zero) == Some(&0) => {
                truth(self, x).map(|(c, _)| c)
            }
            ("shrui", &[x, by])
                if self.new.value_type(x) == Type::I32 && self.constants.get(&by) == Some(&31) =>
            {
                truth(self, x).filter(|&(_, exact)| exact).map(|(c, _)| c)
            }
            _ => None,
        }
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
                if let Some(boolean) = self.on_booleans(name, &args) {
                    boolean
                } else if let Some(pred) = name.strip_prefix("cmpi.") {
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
                    let v = self.b().op1(&format!("arith.{name}"), &args, *ty, &[]);
                    // Masks combined: their booleans combined the same way.
                    if let ("ori" | "andi", &[a, b]) = (*name, &args[..])
                        && let (Some(&(ca, ea)), Some(&(cb, eb))) = (self.truth.get(&a), self.truth.get(&b))
                    {
                        let both = self.binary(name, ca, cb);
                        self.know(both, known::BOOL);
                        self.truth.insert(v, (both, ea && eb));
                    }
                    let facts = match *name {
                        "extend8_s" => known::implied(Ext::Sext, 8),
                        "extend16_s" => known::implied(Ext::Sext, 16),
                        "popcnt" => known::of_constant(32),
                        "andi" => match (self.constants.get(&args[1]), self.constants.get(&args[0])) {
                            (Some(&m), _) | (_, Some(&m)) if m <= 0xffff => known::of_constant(m as i32),
                            _ => 0,
                        },
                        _ => 0,
                    };
                    self.know(v, facts);
                    v
                }
            }
        };
        memo.insert(e.clone(), v);
        v
    }

    /// Runs a lane program on the mapped operands: folded to a constant when every operand
    /// is one (and no float lane comes out an open NaN), else as scalar code.
    pub fn program(&mut self, program: &Program, operands: &[Mapped]) -> Mapped {
        if let Some(folded) = self.fold(program, operands) {
            return folded;
        }
        let mut memo = FxHashMap::default();
        match program {
            Program::Scalar(e) => Mapped::Value(self.expr(e, operands, &mut memo)),
            Program::Vector(shape, exprs) => {
                let lanes = exprs.iter().map(|e| self.expr(e, operands, &mut memo)).collect();
                Mapped::Vector(self.vector(*shape, lanes, None))
            }
        }
    }

    fn fold(&mut self, program: &Program, operands: &[Mapped]) -> Option<Mapped> {
        // The fallback rounds a multiply-add twice: folding it fused would make one program
        // compute two ways.
        if program.applies("fma") {
            return None;
        }
        let values: Vec<Operand> = operands
            .iter()
            .map(|m| match *m {
                Mapped::Vector(id) => self.vectors[id as usize].constant.map(Operand::Vector),
                Mapped::Value(v) => self.constants.get(&v).map(|&b| Operand::Scalar(b)),
            })
            .collect::<Option<_>>()?;
        let evaluated = semantics::eval(program, &values)?;
        if evaluated.open_nan {
            return None;
        }
        Some(match (evaluated.value, program) {
            (Operand::Vector(bytes), _) => Mapped::Vector(self.constant_vector(bytes)),
            (Operand::Scalar(bits), Program::Scalar(e)) => {
                let ty = scalar_type(e);
                Mapped::Value(self.constant(bits, ty))
            }
            _ => return None,
        })
    }
}

/// The type a scalar program's result has.
fn scalar_type(e: &Expr) -> Type {
    match e {
        Expr::Lane { shape, .. } => shape.scalar(),
        other => other.ty(),
    }
}
