//! Typed u32 handles into arenas; `Option<Handle>` costs nothing thanks to a `NonZeroU32` niche.

/// Declares a handle type: a `NonZeroU32` storing `index + 1`, so `Option<Self>` is 4 bytes.
macro_rules! entity {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(std::num::NonZeroU32);

        impl $name {
            /// Makes a handle from an arena index.
            #[inline]
            pub fn from_index(index: usize) -> Self {
                let raw = u32::try_from(index + 1).expect("arena holds more than u32::MAX entries");
                Self(std::num::NonZeroU32::new(raw).expect("index + 1 is never zero"))
            }
            /// The arena index of this handle.
            #[inline]
            pub fn index(self) -> usize {
                (self.0.get() - 1) as usize
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}{}", stringify!($name), self.index())
            }
        }
    };
}
pub(crate) use entity;
