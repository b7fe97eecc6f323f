//! The dialect registry: every op, type and attribute is declared once, and that declaration
//! drives parsing, printing, verification, folding and the generated reference docs.

use crate::diagnostics::Diagnostic;
use crate::parser::{OpParser, OperationState, PResult};
use crate::printer::OpPrinter;
use crate::rewriter::Rewriter;
use crate::{Attr, Builder, Context, Location, Op, OpRef, Param, Type, Value};
use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

type FxIndexMap<K, V> = IndexMap<K, V, FxBuildHasher>;

/// Identifies a registered op definition.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct OpKind(pub(crate) u32);

impl OpKind {
    /// The kind's position in registration order, for per-kind tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

bitflags::bitflags! {
    /// Properties an op declares; passes consult these instead of knowing ops by name.
    #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
    pub struct Traits: u32 {
        /// No side effect and cannot trap: may be removed when unused, merged, or moved.
        const PURE = 1 << 0;
        /// Ends a block; must be its last op.
        const TERMINATOR = 1 << 1;
        /// Its regions cannot see values defined outside; they live in their own `Body`.
        const ISOLATED_FROM_ABOVE = 1 << 2;
        /// Reads memory.
        const MEM_READ = 1 << 3;
        /// Writes memory.
        const MEM_WRITE = 1 << 4;
        /// Defines a symbol through its `sym_name` attribute.
        const SYMBOL = 1 << 5;
        /// Its region holds a symbol table (symbols are unique within it).
        const SYMBOL_TABLE = 1 << 6;
        /// Operands may be swapped (used by canonicalization to put constants on the right).
        const COMMUTATIVE = 1 << 7;
        /// Its one attribute `value` is the op's constant result.
        const CONSTANT_LIKE = 1 << 8;
        /// Returns from the enclosing function.
        const RETURN_LIKE = 1 << 9;
        /// Its regions' blocks need no terminator.
        const NO_TERMINATOR = 1 << 10;
        /// May trap (division by zero, out-of-bounds access); never removed even when unused.
        const MAY_TRAP = 1 << 11;
        /// Is a function: function passes run on its body, in parallel with its siblings.
        const FUNCTION_LIKE = 1 << 12;
        /// Calls another symbol: the `callee` attribute names it.
        const CALL_LIKE = 1 << 13;
        /// Opens a Wasm label: branches inside its regions can target it by depth.
        const LABEL = 1 << 14;
        /// A label whose branches continue with new values for the region's arguments (a
        /// loop); other labels take branches as exits with their results.
        const LOOP = 1 << 15;
    }
}

impl Traits {
    /// Names of the set traits, for docs and `--list-ops`.
    pub fn names(self) -> Vec<&'static str> {
        self.iter_names().map(|(name, _)| name).collect()
    }
}

/// Which types an operand or result accepts.
#[derive(Copy, Clone, Debug)]
pub enum TypeConstraint {
    Any,
    /// Any integer type.
    AnyInt,
    /// Any float type.
    AnyFloat,
    /// `i32` or `i64`.
    WasmInt,
    /// `f32` or `f64`.
    WasmFloat,
    /// `i32`, `i64`, `f32` or `f64`.
    WasmNum,
    /// Exactly this type.
    Exactly(Type),
    /// The same type as the operand or result with this name.
    SameAs(&'static str),
    /// A dialect type with this full name (`memory.linear`).
    DialectType(&'static str),
}

impl TypeConstraint {
    /// Checks `ty` against every constraint except `SameAs`, which needs the whole op.
    pub fn accepts(&self, ctx: &Context, ty: Type) -> bool {
        use crate::TypeData;
        match *self {
            TypeConstraint::Any | TypeConstraint::SameAs(_) => true,
            TypeConstraint::AnyInt => ctx.int_info(ty).is_some(),
            TypeConstraint::AnyFloat => ctx.float_kind(ty).is_some(),
            TypeConstraint::WasmInt => ty == Type::I32 || ty == Type::I64,
            TypeConstraint::WasmFloat => ty == Type::F32 || ty == Type::F64,
            TypeConstraint::WasmNum => {
                ty == Type::I32 || ty == Type::I64 || ty == Type::F32 || ty == Type::F64
            }
            TypeConstraint::Exactly(t) => t == ty,
            TypeConstraint::DialectType(name) => {
                matches!(ctx.type_data(ty), TypeData::Dialect { name: n, .. } if ctx.ident_str(*n) == name)
            }
        }
    }

    /// How the constraint reads in a diagnostic or in the docs.
    pub fn describe(&self, ctx: Option<&Context>) -> String {
        match *self {
            TypeConstraint::Any => "any type".into(),
            TypeConstraint::AnyInt => "integer".into(),
            TypeConstraint::AnyFloat => "float".into(),
            TypeConstraint::WasmInt => "i32 or i64".into(),
            TypeConstraint::WasmFloat => "f32 or f64".into(),
            TypeConstraint::WasmNum => "i32, i64, f32 or f64".into(),
            TypeConstraint::Exactly(t) => match ctx {
                Some(ctx) => crate::printer::type_to_string(ctx, t),
                None => builtin_type_name(t).to_string(),
            },
            TypeConstraint::SameAs(name) => format!("same type as `{name}`"),
            TypeConstraint::DialectType(name) => format!("!{name}"),
        }
    }
}

fn builtin_type_name(t: Type) -> &'static str {
    match t {
        Type::NONE => "none",
        Type::I1 => "i1",
        Type::I8 => "i8",
        Type::I16 => "i16",
        Type::I32 => "i32",
        Type::I64 => "i64",
        Type::F32 => "f32",
        Type::F64 => "f64",
        Type::U32 => "u32",
        Type::U64 => "u64",
        _ => "a type",
    }
}

/// One operand or result group.
#[derive(Copy, Clone, Debug)]
pub struct ValueSpec {
    pub name: &'static str,
    pub ty: TypeConstraint,
    /// Zero or more values. At most one group per list may be variadic.
    pub variadic: bool,
}

impl ValueSpec {
    /// A single value.
    pub const fn one(name: &'static str, ty: TypeConstraint) -> Self {
        Self { name, ty, variadic: false }
    }
    /// Zero or more values.
    pub const fn many(name: &'static str, ty: TypeConstraint) -> Self {
        Self { name, ty, variadic: true }
    }
}

/// Which attribute values an attribute accepts.
#[derive(Copy, Clone, Debug)]
pub enum AttrConstraint {
    Any,
    /// A typed integer.
    Int,
    /// A typed integer of exactly this type (`u32` offsets, for example).
    IntOf(Type),
    /// A typed float.
    Float,
    /// A typed integer or float (the value of a constant).
    Number,
    String,
    Bool,
    Unit,
    /// `@symbol`: a use of a symbol, resolved by the verifier.
    SymbolRef,
    /// The name a symbol op defines (a string).
    SymbolName,
    Type,
    FunctionType,
    /// Arbitrary bytes: a string attribute, or a bytes attribute when not valid UTF-8.
    Bytes,
    /// One of these keywords, stored as a string and printed bare in the custom form.
    Enum(&'static [&'static str]),
    Array,
    Dict,
}

impl AttrConstraint {
    /// How the constraint reads in a diagnostic or in the docs.
    pub fn describe(&self) -> String {
        match self {
            AttrConstraint::Any => "any attribute".into(),
            AttrConstraint::Int => "integer".into(),
            AttrConstraint::IntOf(t) => format!("{} integer", builtin_type_name(*t)),
            AttrConstraint::Float => "float".into(),
            AttrConstraint::Number => "typed integer or float".into(),
            AttrConstraint::String => "string".into(),
            AttrConstraint::Bytes => "bytes (a string literal)".into(),
            AttrConstraint::Bool => "bool".into(),
            AttrConstraint::Unit => "unit".into(),
            AttrConstraint::SymbolRef => "symbol reference".into(),
            AttrConstraint::SymbolName => "symbol name (string)".into(),
            AttrConstraint::Type => "type".into(),
            AttrConstraint::FunctionType => "function type".into(),
            AttrConstraint::Enum(keys) => format!("one of {}", keys.join(", ")),
            AttrConstraint::Array => "array".into(),
            AttrConstraint::Dict => "dictionary".into(),
        }
    }
}

/// One declared attribute.
#[derive(Copy, Clone, Debug)]
pub struct AttrSpec {
    pub name: &'static str,
    pub kind: AttrConstraint,
    pub optional: bool,
}

impl AttrSpec {
    /// A required attribute.
    pub const fn required(name: &'static str, kind: AttrConstraint) -> Self {
        Self { name, kind, optional: false }
    }
    /// An optional attribute.
    pub const fn optional(name: &'static str, kind: AttrConstraint) -> Self {
        Self { name, kind, optional: true }
    }
}

/// One declared region.
#[derive(Copy, Clone, Debug)]
pub struct RegionSpec {
    pub name: &'static str,
    /// An empty region (no block) is allowed: a function declaration, an absent `else`.
    pub may_be_empty: bool,
}

/// One element of a declarative custom assembly format. The same list parses and prints.
#[derive(Copy, Clone, Debug)]
pub enum Fmt {
    /// An operand group, comma-separated when variadic.
    Operands(&'static str),
    /// An attribute's value: enums print bare, symbol references as `@name`.
    Attr(&'static str),
    /// Punctuation or a keyword.
    Lit(&'static str),
    /// The attributes no other element printed, as `{...}` when any remain.
    AttrDict,
    /// The type(s) of the named operand or result group.
    Type(&'static str),
    /// `(operand types) -> result types`.
    FunctionalType,
    /// `: types` of the named group, printed only when the group is non-empty.
    OptionalTypes(&'static str),
    /// A region.
    Region(&'static str),
}

/// How an op reads in the custom form.
#[derive(Copy, Clone, Debug)]
pub enum Syntax {
    /// Only the generic form exists.
    Generic,
    /// A declarative format.
    Format(&'static [Fmt]),
    /// Hand-written hooks, for ops such as `func.func` whose syntax no format describes.
    Custom { parse: CustomParseFn, print: CustomPrintFn },
}

/// Parses the custom form after the op name; fills `state`.
pub type CustomParseFn = fn(&mut OpParser<'_, '_>, &mut OperationState) -> PResult<()>;
/// Prints the custom form after the op name.
pub type CustomPrintFn = fn(&mut OpPrinter<'_, '_>, OpRef<'_>);

/// What a verifier hook can see around its op: symbol names (the nearest enclosing symbol
/// table first) and the labels the op may branch to.
pub trait SymbolResolver {
    /// The symbol op named `name`, if one is visible.
    fn resolve(&self, name: &str) -> Option<SymbolInfo>;

    /// The label ops (`Traits::LABEL`) enclosing the op being verified in its body, outermost
    /// first, when the caller tracks them (the verifier does, as it walks in pre-order);
    /// `None` makes a hook walk up the parents itself, which costs the nesting depth per op.
    fn enclosing_labels(&self) -> Option<&[crate::Op]> {
        None
    }
}

/// What a verifier hook may learn about a symbol defined elsewhere.
#[derive(Copy, Clone, Debug)]
pub struct SymbolInfo {
    pub kind: OpKind,
    pub attrs: Attr,
    pub loc: Location,
}

/// A per-op verifier hook, run after the generic signature checks passed.
pub type VerifyFn = fn(OpRef<'_>, &dyn SymbolResolver, &mut Vec<Diagnostic>);

/// What a folder sees: the op and, for each operand, its constant value if it is one.
#[derive(Debug)]
pub struct FoldInput<'a> {
    pub op: OpRef<'a>,
    pub constants: &'a [Option<Attr>],
}

/// One folded result: a constant, or an existing value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Folded {
    Const(Attr),
    Value(Value),
}

/// A folder: returns one entry per result, or `None` when the op does not fold.
pub type FoldFn = fn(&FoldInput<'_>) -> Option<SmallVec<[Folded; 1]>>;

/// A canonicalization pattern: rewrites `op` in place and returns whether it changed anything.
#[derive(Copy, Clone, Debug)]
pub struct Pattern {
    pub name: &'static str,
    /// The identity the pattern implements, for docs and `--list-rewrites`.
    pub identity: &'static str,
    /// The IDs in specs/invariants.md the identity relies on (the contract verifier checks
    /// that there is at least one and that each exists).
    pub citations: &'static [&'static str],
    pub apply: fn(&mut Rewriter<'_>, Op) -> bool,
}

/// A rewrite rule as the contract verifier and `--list-rewrites` see it: canonicalization
/// patterns, folders, and the rules of rewrite passes all describe themselves this way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteRule {
    /// The rule's name, `pass.rule` or `dialect.pattern`.
    pub name: String,
    /// The identity it implements.
    pub identity: &'static str,
    /// The IDs in specs/invariants.md it relies on.
    pub citations: &'static [&'static str],
}

/// The single declaration of an op.
#[derive(Copy, Clone, Debug)]
pub struct OpDef {
    /// The full name, `dialect.op`.
    pub name: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    /// Custom-form IR that uses the op; the docs show it and a test round-trips it.
    pub example: &'static str,
    pub operands: &'static [ValueSpec],
    pub results: &'static [ValueSpec],
    pub attrs: &'static [AttrSpec],
    pub regions: &'static [RegionSpec],
    pub traits: Traits,
    pub syntax: Syntax,
    pub verify: Option<VerifyFn>,
    pub fold: Option<FoldFn>,
    pub patterns: &'static [Pattern],
    /// For branches: the label depths the op may jump to (0 is the innermost enclosing
    /// `LABEL` op; one more than the number of enclosing labels leaves the function). Lets
    /// analyses follow structured control flow without knowing the ops.
    pub branch_depths: Option<BranchDepthsFn>,
}

/// The label depths a branch may jump to.
pub type BranchDepthsFn = fn(OpRef<'_>) -> Vec<u32>;

impl OpDef {
    /// A definition with nothing declared, for struct-update syntax.
    pub const EMPTY: OpDef = OpDef {
        name: "",
        summary: "",
        description: "",
        example: "",
        operands: &[],
        results: &[],
        attrs: &[],
        regions: &[],
        traits: Traits::empty(),
        syntax: Syntax::Generic,
        verify: None,
        fold: None,
        patterns: &[],
        branch_depths: None,
    };

    /// The dialect prefix of the name.
    pub fn dialect(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(d, _)| d)
    }

    /// Whether the op has this trait.
    #[inline]
    pub fn has(&self, t: Traits) -> bool {
        self.traits.contains(t)
    }

    /// The declared attribute named `name`.
    pub fn attr_spec(&self, name: &str) -> Option<&'static AttrSpec> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// Materializes a folded constant of `ty` as an op of the dialect, returning its result.
pub type MaterializeFn = fn(&mut Builder<'_>, Attr, Type, Location) -> Option<Value>;

/// A dialect type or attribute declaration: `!dialect.name<params>` / `#dialect.name<params>`.
#[derive(Copy, Clone, Debug)]
pub struct ParamDef {
    /// The full name, `dialect.name`.
    pub name: &'static str,
    pub summary: &'static str,
    /// Checks the parameters; returns a message describing the problem.
    pub verify: Option<ParamVerifyFn>,
    /// For types: whether a value of this type with parameters `sub` may flow where one with
    /// parameters `sup` is expected (Wasm's reference subtyping). `None`: only equal types.
    pub subtype: Option<SubtypeFn>,
    /// For types: what the verifier enforces on their values (opaque, linear). `None`: none.
    pub traits: Option<TypeTraitsFn>,
}

bitflags::bitflags! {
    /// Properties of a type's values that the verifier enforces.
    #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
    pub struct TypeTraits: u32 {
        /// Only calls, branches and returns (which pass it on) and ops of the type's own
        /// dialect may use the value: no other op may look inside it.
        const OPAQUE = 1 << 0;
        /// Used exactly once on every path through structured control flow (a use-once
        /// resource): a second use or a path that drops it is an error.
        const LINEAR = 1 << 1;
    }
}

/// The traits of a dialect type with these parameters.
pub type TypeTraitsFn = fn(&Context, &[Param]) -> TypeTraits;

/// Whether one parameter list of a dialect type is a subtype of another.
pub type SubtypeFn = fn(&Context, &[Param], &[Param]) -> bool;

/// Checks the parameters of a dialect type or attribute.
pub type ParamVerifyFn = fn(&Context, &[Param]) -> Result<(), String>;

/// Everything a dialect contributes.
#[derive(Copy, Clone, Debug)]
pub struct DialectDef {
    pub name: &'static str,
    pub summary: &'static str,
    pub ops: &'static [OpDef],
    pub types: &'static [ParamDef],
    pub attrs: &'static [ParamDef],
    pub materialize_constant: Option<MaterializeFn>,
    /// The invariants the dialect's folders rely on (empty when it has no folder).
    pub fold_citations: &'static [&'static str],
}

/// All registered dialects. Built once, then frozen inside a [`Context`].
#[derive(Default, Debug)]
pub struct Registry {
    dialects: FxIndexMap<&'static str, &'static DialectDef>,
    ops: Vec<&'static OpDef>,
    op_by_name: FxIndexMap<&'static str, OpKind>,
    types: FxIndexMap<&'static str, &'static ParamDef>,
    attrs: FxIndexMap<&'static str, &'static ParamDef>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a dialect. Registering the same dialect twice is harmless.
    pub fn register(&mut self, dialect: &'static DialectDef) -> &mut Self {
        if self.dialects.contains_key(dialect.name) {
            return self;
        }
        self.dialects.insert(dialect.name, dialect);
        for op in dialect.ops {
            debug_assert!(op.name.starts_with(dialect.name), "{} outside its dialect", op.name);
            let kind = OpKind(self.ops.len() as u32);
            self.ops.push(op);
            self.op_by_name.insert(op.name, kind);
        }
        for t in dialect.types {
            self.types.insert(t.name, t);
        }
        for a in dialect.attrs {
            self.attrs.insert(a.name, a);
        }
        self
    }

    /// The op with this full name.
    pub fn lookup_op(&self, name: &str) -> Option<OpKind> {
        self.op_by_name.get(name).copied()
    }

    /// The definition behind `kind`.
    #[inline]
    pub fn op(&self, kind: OpKind) -> &'static OpDef {
        self.ops[kind.0 as usize]
    }

    /// Number of registered ops.
    pub fn num_ops(&self) -> usize {
        self.ops.len()
    }

    /// All ops in registration order.
    pub fn ops(&self) -> impl Iterator<Item = (OpKind, &'static OpDef)> + '_ {
        self.ops.iter().enumerate().map(|(i, d)| (OpKind(i as u32), *d))
    }

    /// All dialects in registration order.
    pub fn dialects(&self) -> impl Iterator<Item = &'static DialectDef> + '_ {
        self.dialects.values().copied()
    }

    /// The dialect named `name`.
    pub fn dialect(&self, name: &str) -> Option<&'static DialectDef> {
        self.dialects.get(name).copied()
    }

    /// The dialect type named `dialect.name`.
    pub fn lookup_type(&self, name: &str) -> Option<&'static ParamDef> {
        self.types.get(name).copied()
    }

    /// The dialect attribute named `dialect.name`.
    pub fn lookup_attr(&self, name: &str) -> Option<&'static ParamDef> {
        self.attrs.get(name).copied()
    }
}
