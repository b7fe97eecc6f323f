//! Interned attributes: integers, floats, strings, symbols, types, arrays, dictionaries, dialect attributes.

use crate::{Param, Type};

/// An interned attribute. Equal attributes have equal handles.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Attr(pub(crate) u32);

impl Attr {
    /// The unit attribute (present, no value): `{inline}`.
    pub const UNIT: Attr = Attr(0);
    /// The empty dictionary, the attribute set of most operations.
    pub const EMPTY_DICT: Attr = Attr(1);
    /// `true`.
    pub const TRUE: Attr = Attr(2);
    /// `false`.
    pub const FALSE: Attr = Attr(3);

    /// The raw interned index (stable within one context).
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// An interned string: op, attribute and symbol names.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Ident(pub(crate) u32);

impl Ident {
    /// The interned number: equal names have equal numbers within one context.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// What an interned attribute is.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AttrData {
    Unit,
    Bool(bool),
    /// An integer of type `ty`. Signless and signed values are stored sign-extended from the
    /// type's width, unsigned ones zero-extended, so equal values intern equally.
    Int {
        value: i64,
        ty: Type,
    },
    /// A float of type `ty`, stored as its IEEE bits (an f32 in the low 32 bits), so NaN
    /// payloads and the sign of zero survive a round trip.
    Float {
        bits: u64,
        ty: Type,
    },
    String(Box<str>),
    /// Bytes that are not valid UTF-8 (data segments, custom sections). Printed as a string
    /// literal with `\XX` escapes; a literal that decodes to valid UTF-8 is a `String`.
    Bytes(Box<[u8]>),
    Type(Type),
    /// `@name` or nested `@outer::@inner`.
    SymbolRef(Box<[Ident]>),
    Array(Box<[Attr]>),
    /// Entries sorted by name, without duplicates.
    Dict(Box<[(Ident, Attr)]>),
    /// An attribute declared by a dialect; `name` is the full `dialect.name`.
    Dialect {
        name: Ident,
        params: Box<[Param]>,
    },
}

pub(crate) fn preinterned() -> [AttrData; 4] {
    [AttrData::Unit, AttrData::Dict(Box::new([])), AttrData::Bool(true), AttrData::Bool(false)]
}
