//! The size report: where the bytes of a Wasm binary go, by section and by function, and how
//! many of them are duplicated code (functions with a structural twin).

use serde::Serialize;
use wasmir_ir::{Diagnostic, FxHashMap, Location};

/// The bytes of one section (its id byte and size included).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SectionSize {
    pub name: String,
    pub bytes: u64,
}

/// The bytes of one function body in the code section (its size prefix included).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FunctionSize {
    /// The function's index in the module's function index space.
    pub index: u32,
    pub name: String,
    pub bytes: u64,
    /// Another function with the same type and the same body (the first such, by index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin_of: Option<u32>,
    /// Another function with the same type and the same body up to its constants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similar_to: Option<u32>,
}

/// Duplicated code: the bytes of functions that have a structural twin.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Duplicates {
    /// Functions with an identical twin (same type, same body), and their bytes.
    pub identical_functions: u64,
    pub identical_bytes: u64,
    /// Functions with a twin equal up to constants (identical ones included), and their bytes.
    pub similar_functions: u64,
    pub similar_bytes: u64,
}

/// Where a module's bytes go.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SizeReport {
    pub total_bytes: u64,
    /// Largest first.
    pub sections: Vec<SectionSize>,
    pub code_bytes: u64,
    /// Largest first (ties by index).
    pub functions: Vec<FunctionSize>,
    pub duplicates: Duplicates,
}

fn section_name(payload: &wasmparser::Payload<'_>) -> Option<String> {
    use wasmparser::Payload as P;
    Some(
        match payload {
            P::TypeSection(_) => "type",
            P::ImportSection(_) => "import",
            P::FunctionSection(_) => "function",
            P::TableSection(_) => "table",
            P::MemorySection(_) => "memory",
            P::TagSection(_) => "tag",
            P::GlobalSection(_) => "global",
            P::ExportSection(_) => "export",
            P::StartSection { .. } => "start",
            P::ElementSection(_) => "element",
            P::DataCountSection { .. } => "data count",
            P::CodeSectionStart { .. } => "code",
            P::DataSection(_) => "data",
            P::CustomSection(c) => return Some(format!("custom \"{}\"", c.name())),
            _ => return None,
        }
        .to_string(),
    )
}

/// The bytes of `op` for comparing bodies up to constants: its encoding, or for a constant
/// only its kind.
fn shape_key(op: &wasmparser::Operator<'_>, exact: &[u8], out: &mut Vec<u8>) {
    use wasmparser::Operator as O;
    match op {
        O::I32Const { .. } => out.extend_from_slice(b"\x41"),
        O::I64Const { .. } => out.extend_from_slice(b"\x42"),
        O::F32Const { .. } => out.extend_from_slice(b"\x43"),
        O::F64Const { .. } => out.extend_from_slice(b"\x44"),
        _ => out.extend_from_slice(exact),
    }
}

/// Measures `wasm`, a module that wasmparser can read.
pub fn size_report(wasm: &[u8]) -> Result<SizeReport, Diagnostic> {
    use wasmparser::{KnownCustom, Name, Parser, Payload};
    let bad = |e: wasmparser::BinaryReaderError| {
        Diagnostic::error(
            Location::Unknown,
            format!("size report: {} (at offset {:#x})", e.message(), e.offset()),
        )
    };
    let mut sections: Vec<SectionSize> = Vec::new();
    let mut bodies: Vec<(u64, u32, Vec<u8>, Vec<u8>)> = Vec::new(); // bytes, type, exact, shape
    let mut func_types: Vec<u32> = Vec::new();
    let mut imported_funcs = 0u32;
    let mut names: FxHashMap<u32, String> = FxHashMap::default();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(bad)?;
        if let Some((_, range)) = payload.as_section() {
            // The id byte and the size's LEB come before the contents.
            sections.push(SectionSize {
                name: section_name(&payload).unwrap_or_else(|| "unknown".into()),
                bytes: (range.end - leb_start(wasm, range.start) + 1) as u64,
            });
        }
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports_with_offsets() {
                    if matches!(import.map_err(bad)?.1.ty, wasmparser::TypeRef::Func(_)) {
                        imported_funcs += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    func_types.push(ty.map_err(bad)?);
                }
            }
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                let start = leb_start(wasm, range.start);
                let ty = func_types.get(bodies.len()).copied().unwrap_or(u32::MAX);
                let exact = wasm[range.clone()].to_vec();
                let mut shape = Vec::with_capacity(exact.len());
                let locals_end = {
                    let mut locals = body.get_locals_reader().map_err(bad)?;
                    for _ in 0..locals.get_count() {
                        locals.read().map_err(bad)?;
                    }
                    locals.original_position()
                };
                shape.extend_from_slice(&wasm[range.start..locals_end]);
                let mut ops = body.get_operators_reader().map_err(bad)?;
                while !ops.eof() {
                    let at = ops.original_position();
                    let op = ops.read().map_err(bad)?;
                    shape_key(&op, &wasm[at..ops.original_position()], &mut shape);
                }
                bodies.push(((range.end - start) as u64, ty, exact, shape));
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(reader) = c.as_known() {
                    for name in reader.into_iter().flatten() {
                        if let Name::Function(map) = name {
                            for naming in map.into_iter().flatten() {
                                names.insert(naming.index, naming.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut identical: FxHashMap<(u32, &[u8]), u32> = FxHashMap::default();
    let mut similar: FxHashMap<(u32, &[u8]), u32> = FxHashMap::default();
    let mut functions: Vec<FunctionSize> = bodies
        .iter()
        .enumerate()
        .map(|(i, (bytes, ty, exact, shape))| {
            let index = imported_funcs + i as u32;
            let twin_of = identical.get(&(*ty, exact.as_slice())).copied();
            identical.entry((*ty, exact.as_slice())).or_insert(index);
            let similar_to = similar.get(&(*ty, shape.as_slice())).copied();
            similar.entry((*ty, shape.as_slice())).or_insert(index);
            FunctionSize {
                index,
                name: names.get(&index).cloned().unwrap_or_else(|| format!("func[{index}]")),
                bytes: *bytes,
                twin_of,
                similar_to,
            }
        })
        .collect();
    // The first of each group is a duplicate too when it has a twin.
    let first_of_twins: std::collections::BTreeSet<u32> =
        functions.iter().filter_map(|f| f.twin_of).collect();
    let first_of_similar: std::collections::BTreeSet<u32> =
        functions.iter().filter_map(|f| f.similar_to).collect();
    let mut duplicates = Duplicates::default();
    for f in &functions {
        if f.twin_of.is_some() || first_of_twins.contains(&f.index) {
            duplicates.identical_functions += 1;
            duplicates.identical_bytes += f.bytes;
        }
        if f.similar_to.is_some() || first_of_similar.contains(&f.index) {
            duplicates.similar_functions += 1;
            duplicates.similar_bytes += f.bytes;
        }
    }
    let code_bytes = functions.iter().map(|f| f.bytes).sum();
    functions.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.index.cmp(&b.index)));
    sections.sort_by_key(|s| std::cmp::Reverse(s.bytes));
    Ok(SizeReport { total_bytes: wasm.len() as u64, sections, code_bytes, functions, duplicates })
}

/// Where the LEB128 that ends right before `end` starts: a section's size or a function
/// body's size prefix.
fn leb_start(wasm: &[u8], end: usize) -> usize {
    let mut at = end;
    // The LEB's last byte has the top bit clear; the bytes before it have it set.
    if at > 0 {
        at -= 1;
        while at > 0 && wasm[at - 1] & 0x80 != 0 {
            at -= 1;
        }
    }
    at
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

impl SizeReport {
    /// The report as text: sections, then functions, largest first, with totals and shares.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} bytes in {} sections\n", self.total_bytes, self.sections.len());
        out.push_str(&format!("  {:>10}  {:>6}  section\n", "bytes", "share"));
        for s in &self.sections {
            out.push_str(&format!(
                "  {:>10}  {:>5.1}%  {}\n",
                s.bytes,
                share(s.bytes, self.total_bytes),
                s.name
            ));
        }
        out.push_str(&format!(
            "\n{} functions, {} bytes of code ({:.1}% of the module)\n",
            self.functions.len(),
            self.code_bytes,
            share(self.code_bytes, self.total_bytes)
        ));
        out.push_str(&format!("  {:>10}  {:>6}  function\n", "bytes", "share"));
        for f in &self.functions {
            let twin = match (f.twin_of, f.similar_to) {
                (Some(t), _) => format!("  (identical to func[{t}])"),
                (None, Some(t)) => format!("  (equal up to constants to func[{t}])"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {:>10}  {:>5.1}%  {} [{}]{twin}\n",
                f.bytes,
                share(f.bytes, self.code_bytes),
                f.name,
                f.index
            ));
        }
        let d = &self.duplicates;
        out.push_str(&format!(
            "\nduplicated code: {} bytes ({:.1}% of the code) in {} functions with an identical twin; {} bytes ({:.1}%) in {} functions equal to another up to constants\n",
            d.identical_bytes,
            share(d.identical_bytes, self.code_bytes),
            d.identical_functions,
            d.similar_bytes,
            share(d.similar_bytes, self.code_bytes),
            d.similar_functions
        ));
        out
    }

    /// The report as JSON (the same fields, in the same order).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a size report serializes");
        text.push('\n');
        text
    }
}
