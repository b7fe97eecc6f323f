//! The context: the dialect registry, interned types, attributes and identifiers, and sources.

use crate::attrs::{self, AttrData};
use crate::interner::Interner;
use crate::registry::{OpDef, OpKind, Registry};
use crate::types::{self, FloatKind, Signedness, TypeData};
use crate::{Attr, Ident, Param, SourceMap, Type};

/// Owns everything shared by all IR built in it. It is `Sync`: function passes running in
/// parallel intern new types and attributes through a shared `&Context`.
pub struct Context {
    registry: Registry,
    types: Interner<TypeData>,
    attrs: Interner<AttrData>,
    idents: Interner<Box<str>>,
    sources: SourceMap,
    /// Whether rewrite passes log every rewrite they apply (`--explain-rewrites`).
    explain_rewrites: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("ops", &self.registry.num_ops())
            .field("types", &self.types.len())
            .field("attrs", &self.attrs.len())
            .finish()
    }
}

impl Context {
    /// Creates a context whose IR may use exactly the dialects in `registry`.
    pub fn new(registry: Registry) -> Self {
        let ctx = Self {
            registry,
            types: Interner::new(),
            attrs: Interner::new(),
            idents: Interner::new(),
            sources: SourceMap::default(),
            explain_rewrites: std::sync::atomic::AtomicBool::new(false),
        };
        for (i, t) in types::PREINTERNED.into_iter().enumerate() {
            let index = ctx.types.intern(t);
            debug_assert_eq!(index as usize, i);
        }
        for (i, a) in attrs::preinterned().into_iter().enumerate() {
            let index = ctx.attrs.intern(a);
            debug_assert_eq!(index as usize, i);
        }
        ctx
    }

    /// Asks rewrite passes to log each rewrite they apply, with its rule and citations, as a
    /// remark at the rewritten op (`--explain-rewrites`).
    pub fn set_explain_rewrites(&self, on: bool) {
        self.explain_rewrites.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether rewrite passes log their rewrites.
    pub fn explain_rewrites(&self) -> bool {
        self.explain_rewrites.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The dialects, ops, types and attributes this context knows.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The definition behind an op kind.
    #[inline]
    pub fn op_def(&self, kind: OpKind) -> &'static OpDef {
        self.registry.op(kind)
    }

    /// Registered source buffers.
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    // ----- identifiers -----

    /// Interns a string.
    pub fn ident(&self, s: &str) -> Ident {
        // Look up by `&str` first: most identifiers (attribute names) exist already, and
        // this avoids allocating a `Box<str>` for them.
        match self.idents.lookup_by(s) {
            Some(i) => Ident(i),
            None => Ident(self.idents.intern(Box::from(s))),
        }
    }

    /// Finds an already interned string without interning it.
    pub fn lookup_ident(&self, s: &str) -> Option<Ident> {
        self.idents.lookup_by(s).map(Ident)
    }

    /// The text of an identifier.
    #[inline]
    pub fn ident_str(&self, id: Ident) -> &str {
        self.idents.get(id.0)
    }

    // ----- types -----

    /// Interns a type.
    pub fn intern_type(&self, data: TypeData) -> Type {
        Type(self.types.intern(data))
    }

    /// What a type is.
    #[inline]
    pub fn type_data(&self, ty: Type) -> &TypeData {
        self.types.get(ty.0)
    }

    /// `iN` (signless) or `uN`.
    pub fn int_type(&self, width: u8, signedness: Signedness) -> Type {
        self.intern_type(TypeData::Int { width, signedness })
    }

    /// `(inputs) -> results`.
    pub fn function_type(&self, inputs: &[Type], results: &[Type]) -> Type {
        self.intern_type(TypeData::Function { inputs: inputs.into(), results: results.into() })
    }

    /// `!dialect.name<params>`.
    pub fn dialect_type(&self, name: &str, params: Vec<Param>) -> Type {
        let name = self.ident(name);
        self.intern_type(TypeData::Dialect { name, params: params.into() })
    }

    /// Whether a value of type `sub` may flow where `sup` is expected: equal types, or a
    /// subtype relation declared by the dialect that owns both.
    pub fn is_subtype(&self, sub: Type, sup: Type) -> bool {
        if sub == sup {
            return true;
        }
        match (self.type_data(sub), self.type_data(sup)) {
            (TypeData::Dialect { name: a, params: pa }, TypeData::Dialect { name: b, params: pb })
                if a == b =>
            {
                self.registry
                    .lookup_type(self.ident_str(*a))
                    .and_then(|def| def.subtype)
                    .is_some_and(|hook| hook(self, pa, pb))
            }
            _ => false,
        }
    }

    /// What the verifier enforces on values of `ty` (see [`TypeTraits`]).
    ///
    /// [`TypeTraits`]: crate::registry::TypeTraits
    pub fn type_traits(&self, ty: Type) -> crate::registry::TypeTraits {
        match self.type_data(ty) {
            TypeData::Dialect { name, params } => self
                .registry
                .lookup_type(self.ident_str(*name))
                .and_then(|def| def.traits)
                .map(|f| f(self, params))
                .unwrap_or_default(),
            _ => crate::registry::TypeTraits::empty(),
        }
    }

    /// Element-wise [`Context::is_subtype`] of two type lists of equal length.
    pub fn are_subtypes(&self, subs: &[Type], sups: &[Type]) -> bool {
        subs.len() == sups.len() && subs.iter().zip(sups).all(|(&a, &b)| self.is_subtype(a, b))
    }

    /// Width and signedness if `ty` is an integer type.
    pub fn int_info(&self, ty: Type) -> Option<(u8, Signedness)> {
        match *self.type_data(ty) {
            TypeData::Int { width, signedness } => Some((width, signedness)),
            _ => None,
        }
    }

    /// The float format if `ty` is a float type.
    pub fn float_kind(&self, ty: Type) -> Option<FloatKind> {
        match *self.type_data(ty) {
            TypeData::Float(kind) => Some(kind),
            _ => None,
        }
    }

    /// Inputs and results if `ty` is a function type.
    pub fn function_signature(&self, ty: Type) -> Option<(&[Type], &[Type])> {
        match self.type_data(ty) {
            TypeData::Function { inputs, results } => Some((inputs, results)),
            _ => None,
        }
    }

    // ----- attributes -----

    /// Interns an attribute.
    pub fn intern_attr(&self, data: AttrData) -> Attr {
        Attr(self.attrs.intern(data))
    }

    /// What an attribute is.
    #[inline]
    pub fn attr_data(&self, attr: Attr) -> &AttrData {
        self.attrs.get(attr.0)
    }

    /// An integer attribute of integer type `ty`, normalised to the type's width.
    pub fn int_attr(&self, value: i64, ty: Type) -> Attr {
        let value = match self.int_info(ty) {
            Some((width, signedness)) => normalize_int(value, width, signedness),
            None => value,
        };
        self.intern_attr(AttrData::Int { value, ty })
    }

    /// An `f32` attribute with exactly these bits.
    pub fn f32_attr(&self, value: f32) -> Attr {
        self.intern_attr(AttrData::Float { bits: u64::from(value.to_bits()), ty: Type::F32 })
    }

    /// An `f64` attribute with exactly these bits.
    pub fn f64_attr(&self, value: f64) -> Attr {
        self.intern_attr(AttrData::Float { bits: value.to_bits(), ty: Type::F64 })
    }

    /// A string attribute.
    pub fn string_attr(&self, s: &str) -> Attr {
        self.intern_attr(AttrData::String(s.into()))
    }

    /// A type attribute.
    pub fn type_attr(&self, ty: Type) -> Attr {
        self.intern_attr(AttrData::Type(ty))
    }

    /// `@name`.
    pub fn symbol_ref_attr(&self, name: &str) -> Attr {
        let name = self.ident(name);
        self.intern_attr(AttrData::SymbolRef(Box::new([name])))
    }

    /// An array attribute.
    pub fn array_attr(&self, items: Vec<Attr>) -> Attr {
        self.intern_attr(AttrData::Array(items.into()))
    }

    /// A dictionary; entries are sorted by name and later duplicates win.
    pub fn dict_attr(&self, mut entries: Vec<(Ident, Attr)>) -> Attr {
        if entries.is_empty() {
            return Attr::EMPTY_DICT;
        }
        entries.sort_by(|a, b| self.ident_str(a.0).cmp(self.ident_str(b.0)));
        let mut deduped: Vec<(Ident, Attr)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match deduped.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => deduped.push(entry),
            }
        }
        self.intern_attr(AttrData::Dict(deduped.into()))
    }

    /// The entries of a dictionary attribute (empty for anything else).
    pub fn dict_entries(&self, dict: Attr) -> &[(Ident, Attr)] {
        match self.attr_data(dict) {
            AttrData::Dict(entries) => entries,
            _ => &[],
        }
    }

    /// Looks `name` up in a dictionary attribute.
    pub fn dict_get(&self, dict: Attr, name: &str) -> Option<Attr> {
        self.dict_entries(dict).iter().find(|(k, _)| self.ident_str(*k) == name).map(|&(_, v)| v)
    }

    /// A copy of `dict` with `name` set to `value` (or removed when `value` is `None`).
    pub fn dict_with(&self, dict: Attr, name: &str, value: Option<Attr>) -> Attr {
        let key = self.ident(name);
        let mut entries: Vec<(Ident, Attr)> =
            self.dict_entries(dict).iter().copied().filter(|(k, _)| *k != key).collect();
        if let Some(value) = value {
            entries.push((key, value));
        }
        self.dict_attr(entries)
    }

    /// The integer value of an integer attribute.
    pub fn attr_as_int(&self, attr: Attr) -> Option<i64> {
        match *self.attr_data(attr) {
            AttrData::Int { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The text of a string attribute.
    pub fn attr_as_str(&self, attr: Attr) -> Option<&str> {
        match self.attr_data(attr) {
            AttrData::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes of a string or bytes attribute.
    pub fn attr_as_bytes(&self, attr: Attr) -> Option<&[u8]> {
        match self.attr_data(attr) {
            AttrData::String(s) => Some(s.as_bytes()),
            AttrData::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The type inside a type attribute.
    pub fn attr_as_type(&self, attr: Attr) -> Option<Type> {
        match *self.attr_data(attr) {
            AttrData::Type(t) => Some(t),
            _ => None,
        }
    }

    /// The leaf name of a symbol reference attribute.
    pub fn attr_as_symbol(&self, attr: Attr) -> Option<&str> {
        match self.attr_data(attr) {
            AttrData::SymbolRef(path) => path.last().map(|&id| self.ident_str(id)),
            _ => None,
        }
    }

    /// The type an attribute carries (`42 : i32` has `i32`), if any.
    pub fn attr_type(&self, attr: Attr) -> Option<Type> {
        match *self.attr_data(attr) {
            AttrData::Int { ty, .. } | AttrData::Float { ty, .. } => Some(ty),
            AttrData::Bool(_) => Some(Type::I1),
            _ => None,
        }
    }
}

/// Sign- or zero-extends the low `width` bits of `value`, the canonical storage of an integer.
pub fn normalize_int(value: i64, width: u8, signedness: Signedness) -> i64 {
    if width == 0 || width >= 64 {
        return value;
    }
    let shift = 64 - u32::from(width);
    match signedness {
        Signedness::Signless => (value << shift) >> shift,
        Signedness::Unsigned => ((value as u64) << shift >> shift) as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_stored_normalized_to_their_width() {
        assert_eq!(normalize_int(0xFFFF_FFFF, 32, Signedness::Signless), -1);
        assert_eq!(normalize_int(-1, 32, Signedness::Unsigned), 0xFFFF_FFFF);
        assert_eq!(normalize_int(0x80, 8, Signedness::Signless), -128);
        assert_eq!(normalize_int(i64::MIN, 64, Signedness::Signless), i64::MIN);
        let ctx = Context::new(Registry::new());
        assert_eq!(
            ctx.int_attr(0xFFFF_FFFF, Type::I32),
            ctx.int_attr(-1, Type::I32),
            "equal values intern equally"
        );
    }

    #[test]
    fn dictionaries_are_sorted_and_deduplicated() {
        let ctx = Context::new(Registry::new());
        let (a, b) = (ctx.ident("a"), ctx.ident("b"));
        let d1 = ctx.dict_attr(vec![(b, Attr::TRUE), (a, Attr::FALSE)]);
        let d2 = ctx.dict_attr(vec![(a, Attr::UNIT), (b, Attr::TRUE), (a, Attr::FALSE)]);
        assert_eq!(d1, d2);
        assert_eq!(ctx.dict_get(d1, "a"), Some(Attr::FALSE));
        assert_eq!(ctx.dict_with(d1, "a", None), ctx.dict_attr(vec![(b, Attr::TRUE)]));
    }

    #[test]
    fn the_context_interns_from_many_threads() {
        let ctx = Context::new(Registry::new());
        let types: Vec<Vec<Type>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (1..=64).map(|w| ctx.int_type(w, Signedness::Unsigned)).collect()))
                .collect();
            handles.into_iter().map(|h| h.join().expect("no panic")).collect()
        });
        assert!(types.windows(2).all(|w| w[0] == w[1]), "every thread got the same handles");
    }
}
