//! Source locations carried by every operation, and the source map that resolves them.

use crate::Ident;
use std::sync::{Arc, RwLock};

/// Identifies one source buffer registered with the [`SourceMap`].
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// Where an operation (or a diagnostic) comes from.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum Location {
    /// No location is known (IR built through the API without one).
    #[default]
    Unknown,
    /// A byte range in a registered text buffer.
    Span { file: FileId, start: u32, end: u32 },
    /// A byte offset in a registered binary buffer (a `.wasm` file).
    Offset { file: FileId, offset: u32 },
    /// A `loc("name":line:col)` read back from printed IR; the file need not be loaded.
    LineCol { file: Ident, line: u32, col: u32 },
}

/// One registered source buffer with its precomputed line starts.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<u32>,
}

impl SourceFile {
    fn new(name: String, text: String) -> Self {
        let mut line_starts = vec![0u32];
        line_starts
            .extend(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| (i + 1) as u32));
        Self { name, text, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let offset = offset.min(self.text.len() as u32);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let mut end = offset as usize;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let col = self.text[start..end].chars().count() as u32 + 1;
        (line as u32 + 1, col)
    }

    /// Byte offsets at which each line starts.
    pub fn line_starts(&self) -> &[u32] {
        &self.line_starts
    }
}

/// All source buffers known to a context. Append-only; files are shared by `Arc`.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: RwLock<Vec<Arc<SourceFile>>>,
}

impl SourceMap {
    /// Registers a buffer and returns its id.
    pub fn add(&self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let mut files = self.files.write().unwrap_or_else(|p| p.into_inner());
        files.push(Arc::new(SourceFile::new(name.into(), text.into())));
        FileId(files.len() as u32 - 1)
    }

    /// The buffer behind `id`.
    pub fn get(&self, id: FileId) -> Option<Arc<SourceFile>> {
        self.files.read().unwrap_or_else(|p| p.into_inner()).get(id.0 as usize).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let f = SourceFile::new("f".into(), "ab\nçd\n\nx".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(2), (1, 3));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(5), (2, 2), "ç is two bytes but one column");
        assert_eq!(f.line_col(8), (4, 1));
        assert_eq!(f.line_col(100), (4, 2), "offsets past the end clamp");
    }
}
