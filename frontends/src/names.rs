//! The `name` custom section, read into symbol names by index.

use wasmir_ir::FxHashMap;
use wasmparser::{BinaryReader, Name, NameSectionReader};

/// Names from the name section, by index in each index space.
#[derive(Clone, Debug, Default)]
pub(crate) struct SymbolNames {
    pub module: Option<String>,
    pub funcs: FxHashMap<u32, String>,
    pub globals: FxHashMap<u32, String>,
    pub memories: FxHashMap<u32, String>,
    pub tables: FxHashMap<u32, String>,
    pub data: FxHashMap<u32, String>,
    pub elems: FxHashMap<u32, String>,
}

impl SymbolNames {
    /// Reads a name section; a malformed one is ignored from the first error on.
    pub(crate) fn read_name_section(&mut self, data: &[u8], offset: usize) {
        let reader = NameSectionReader::new(BinaryReader::new(data, offset));
        for name in reader {
            let Ok(name) = name else { return };
            let map = match name {
                Name::Module { name, .. } => {
                    self.module = Some(name.to_string());
                    continue;
                }
                Name::Function(m) => (m, &mut self.funcs),
                Name::Global(m) => (m, &mut self.globals),
                Name::Memory(m) => (m, &mut self.memories),
                Name::Table(m) => (m, &mut self.tables),
                Name::Data(m) => (m, &mut self.data),
                Name::Element(m) => (m, &mut self.elems),
                _ => continue,
            };
            let (names, target) = map;
            for naming in names {
                let Ok(naming) = naming else { return };
                target.insert(naming.index, naming.name.to_string());
            }
        }
    }
}
