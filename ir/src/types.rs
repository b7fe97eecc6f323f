//! Interned types: builtin integers, floats, functions, `none`, and dialect types `!d.name<...>`.

use crate::{Attr, Ident};

/// An interned type. Equal types have equal handles, so comparing types is comparing `u32`s.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Type(pub(crate) u32);

impl Type {
    /// `none`: the unit type.
    pub const NONE: Type = Type(0);
    /// `i1`.
    pub const I1: Type = Type(1);
    /// `i8`.
    pub const I8: Type = Type(2);
    /// `i16`.
    pub const I16: Type = Type(3);
    /// `i32`.
    pub const I32: Type = Type(4);
    /// `i64`.
    pub const I64: Type = Type(5);
    /// `f32`.
    pub const F32: Type = Type(6);
    /// `f64`.
    pub const F64: Type = Type(7);
    /// `u32`.
    pub const U32: Type = Type(8);
    /// `u64`.
    pub const U64: Type = Type(9);

    /// The raw interned index (stable within one context).
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// Whether an integer type carries a sign. Wasm integers are signless: the operation decides.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Signedness {
    /// `iN`: the operation decides how bits are interpreted.
    Signless,
    /// `uN`: an unsigned quantity such as an offset or an alignment.
    Unsigned,
}

/// IEEE 754 binary formats that Wasm has.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum FloatKind {
    F32,
    F64,
}

/// A parameter of a dialect type or attribute: `!memory.slice<i32, 4, shared>`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Param {
    Type(Type),
    Attr(Attr),
    /// A bare keyword such as `shared`.
    Keyword(Ident),
}

/// What an interned type is.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum TypeData {
    None,
    Int {
        width: u8,
        signedness: Signedness,
    },
    Float(FloatKind),
    Function {
        inputs: Box<[Type]>,
        results: Box<[Type]>,
    },
    /// A type declared by a dialect; `name` is the full `dialect.name`.
    Dialect {
        name: Ident,
        params: Box<[Param]>,
    },
}

/// The types pre-interned at fixed indices, in the order of the `Type` constants.
pub(crate) const PREINTERNED: [TypeData; 10] = [
    TypeData::None,
    TypeData::Int { width: 1, signedness: Signedness::Signless },
    TypeData::Int { width: 8, signedness: Signedness::Signless },
    TypeData::Int { width: 16, signedness: Signedness::Signless },
    TypeData::Int { width: 32, signedness: Signedness::Signless },
    TypeData::Int { width: 64, signedness: Signedness::Signless },
    TypeData::Float(FloatKind::F32),
    TypeData::Float(FloatKind::F64),
    TypeData::Int { width: 32, signedness: Signedness::Unsigned },
    TypeData::Int { width: 64, signedness: Signedness::Unsigned },
];
