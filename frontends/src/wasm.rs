//! The `.wasm` importer: validates with wasmparser, then translates every section into WasmIR,
//! promoting Wasm locals to SSA values (see specs/control.md, "Locals are SSA values").

use crate::liveness::ConstructLocals;
use crate::names::SymbolNames;
use wasmir_dialects::refs::{self, Heap, RefType as IrRef};
use wasmir_ir::{
    Attr, Block, Body, Context, Diagnostic, FileId, FxHashMap, Location, Module, NewOp, Op, Region, SmallVec,
    Type, Value, smallvec,
};
use wasmparser::{
    AbstractHeapType, BlockType, CompositeInnerType, ConstExpr, DataKind, ElementItems, ElementKind,
    ExternalKind, FunctionBody, HeapType, MemArg, Operator, Parser, Payload, TypeRef, ValType, Validator,
    WasmFeatures,
};

/// The Wasm features WasmIR imports today: Wasm 3.0 without SIMD, GC and exception handling
/// (those arrive with their own dialects), plus threads (shared memories and atomics).
pub fn supported_features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::FLOATS
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::MEMORY64
        | WasmFeatures::CALL_INDIRECT_OVERLONG
        | WasmFeatures::BULK_MEMORY_OPT
        | WasmFeatures::THREADS
}

type IResult<T> = Result<T, Diagnostic>;

/// Deepest nesting of blocks, loops and ifs imported. Wasm sets no limit, but the passes and
/// the emitter recurse once per level: 20,000 levels fit a debug build's 512 MiB stack with
/// room to spare (real modules nest a few thousand deep at most), and the text of any
/// imported module parses back under `wasmir-opt`'s default `--max-nesting`.
pub const MAX_BLOCK_NESTING: usize = 20_000;

/// Imports a binary module registered (by name) as `file` in the context's source map.
pub fn import_wasm(ctx: &Context, file: FileId, bytes: &[u8]) -> IResult<Module> {
    let at = |offset: usize| Location::Offset { file, offset: offset as u32 };
    if !bytes.starts_with(b"\0asm") {
        return Err(Diagnostic::error(
            at(0),
            "not a WebAssembly binary: it does not start with the magic bytes `\\0asm`",
        ));
    }
    if let Err(e) = validate_in_parallel(bytes, supported_features()) {
        // Only a module refused: was it invalid, or valid with a feature not supported yet?
        if let Err(e) = Validator::new_with_features(WasmFeatures::all()).validate_all(bytes) {
            return Err(Diagnostic::error(at(e.offset()), format!("invalid module: {}", e.message())));
        }
        let feature = feature_of(e.message());
        return Err(Diagnostic::error(
            at(e.offset()),
            format!("not supported yet: {feature} at offset {} ({})", e.offset(), e.message()),
        ));
    }
    let sections =
        Sections::collect(bytes).map_err(|e| Diagnostic::error(at(e.offset()), e.message().to_string()))?;
    Importer::new(ctx, file, sections)?.run()
}

/// Validates a module as `Validator::validate_all` does, with the function bodies validated in
/// parallel. The error is the one a sequential validation reports: a body's before anything
/// that follows the code section, and the first body's in order.
fn validate_in_parallel(bytes: &[u8], features: WasmFeatures) -> wasmparser::Result<()> {
    use rayon::prelude::*;
    let mut validator = Validator::new_with_features(features);
    let mut bodies = Vec::new();
    let mut sections = Ok(());
    for payload in Parser::new(0).parse_all(bytes) {
        let step = payload.and_then(|p| validator.payload(&p));
        match step {
            Ok(wasmparser::ValidPayload::Func(to_validate, body)) => bodies.push((to_validate, body)),
            Ok(_) => {}
            Err(e) => {
                sections = Err(e);
                break;
            }
        }
    }
    let first_bad_body = bodies
        .into_par_iter()
        .map(|(to_validate, body)| to_validate.into_validator(Default::default()).validate(&body))
        .find_first(Result::is_err);
    match first_bad_body {
        Some(Err(e)) => Err(e),
        _ => sections,
    }
}

/// Names the proposal behind a validation error of a module outside the supported features.
fn feature_of(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("simd") || m.contains("v128") {
        "SIMD"
    } else if m.contains("exception") || m.contains("tag") || m.contains("try") {
        "exception handling"
    } else if m.contains("thread") || m.contains("shared") || m.contains("atomic") {
        "threads"
    } else if m.contains("gc") || m.contains("heap type") || m.contains("struct") || m.contains("array") {
        "GC"
    } else {
        "a feature outside Wasm 3.0 without SIMD, GC and exceptions (plus threads)"
    }
}

/// Everything the binary says, section by section, borrowing from the input bytes.
#[derive(Default)]
struct Sections<'a> {
    types: Vec<wasmparser::FuncType>,
    imports: Vec<(wasmparser::Import<'a>, usize)>,
    functions: Vec<u32>,
    tables: Vec<(wasmparser::Table<'a>, usize)>,
    memories: Vec<(wasmparser::MemoryType, usize)>,
    globals: Vec<(wasmparser::Global<'a>, usize)>,
    exports: Vec<(wasmparser::Export<'a>, usize)>,
    start: Option<(u32, usize)>,
    elements: Vec<(wasmparser::Element<'a>, usize)>,
    data: Vec<(wasmparser::Data<'a>, usize)>,
    bodies: Vec<FunctionBody<'a>>,
    customs: Vec<(&'a str, &'a [u8])>,
    names: SymbolNames,
}

impl<'a> Sections<'a> {
    fn collect(bytes: &'a [u8]) -> wasmparser::Result<Self> {
        let mut s = Sections::default();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group?.into_types() {
                            match sub.composite_type.inner {
                                CompositeInnerType::Func(f) => s.types.push(f),
                                // Validation with the supported features rules these out.
                                _ => s.types.push(wasmparser::FuncType::new([], [])),
                            }
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports_with_offsets() {
                        let (offset, import) = import?;
                        s.imports.push((import, offset));
                    }
                }
                Payload::FunctionSection(reader) => {
                    for f in reader {
                        s.functions.push(f?);
                    }
                }
                Payload::TableSection(reader) => {
                    for t in reader.into_iter_with_offsets() {
                        let (offset, t) = t?;
                        s.tables.push((t, offset));
                    }
                }
                Payload::MemorySection(reader) => {
                    for m in reader.into_iter_with_offsets() {
                        let (offset, m) = m?;
                        s.memories.push((m, offset));
                    }
                }
                Payload::GlobalSection(reader) => {
                    for g in reader.into_iter_with_offsets() {
                        let (offset, g) = g?;
                        s.globals.push((g, offset));
                    }
                }
                Payload::ExportSection(reader) => {
                    for e in reader.into_iter_with_offsets() {
                        let (offset, e) = e?;
                        s.exports.push((e, offset));
                    }
                }
                Payload::StartSection { func, range } => s.start = Some((func, range.start)),
                Payload::ElementSection(reader) => {
                    for e in reader.into_iter_with_offsets() {
                        let (offset, e) = e?;
                        s.elements.push((e, offset));
                    }
                }
                Payload::DataSection(reader) => {
                    for d in reader.into_iter_with_offsets() {
                        let (offset, d) = d?;
                        s.data.push((d, offset));
                    }
                }
                Payload::CodeSectionEntry(body) => s.bodies.push(body),
                Payload::CustomSection(c) => {
                    if c.name() == "name" {
                        // A malformed name section is ignored, as engines do.
                        s.names.read_name_section(c.data(), c.data_offset());
                    } else {
                        s.customs.push((c.name(), c.data()));
                    }
                }
                _ => {}
            }
        }
        Ok(s)
    }
}

/// Module-level facts the function translator needs.
struct ModuleInfo {
    types: Vec<Type>,
    funcs: Vec<(String, Type)>,
    globals: Vec<(String, Type)>,
    memories: Vec<(String, Type)>,
    tables: Vec<(String, Type, Type)>,
    data: Vec<String>,
    elems: Vec<String>,
}

struct Importer<'a, 'c> {
    ctx: &'c Context,
    file: FileId,
    s: Sections<'a>,
    info: ModuleInfo,
    module: Module,
}

impl<'a, 'c> Importer<'a, 'c> {
    fn new(ctx: &'c Context, file: FileId, s: Sections<'a>) -> IResult<Self> {
        let info = ModuleInfo {
            types: Vec::new(),
            funcs: Vec::new(),
            globals: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            data: Vec::new(),
            elems: Vec::new(),
        };
        let module = Module::new(ctx);
        Ok(Self { ctx, file, s, info, module })
    }

    fn loc(&self, offset: usize) -> Location {
        Location::Offset { file: self.file, offset: offset as u32 }
    }

    fn run(mut self) -> IResult<Module> {
        let ctx = self.ctx;
        // Types may refer to earlier types (typed function references), so each is converted
        // with the ones before it already known.
        for i in 0..self.s.types.len() {
            let ty = self.func_type(&self.s.types[i])?;
            self.info.types.push(ty);
        }
        self.assign_names()?;
        let imports = std::mem::take(&mut self.s.imports);
        let (mut fi, mut gi, mut mi, mut ti) = (0usize, 0usize, 0usize, 0usize);
        for (import, offset) in &imports {
            let loc = self.loc(*offset);
            let import_attr =
                ctx.array_attr(vec![ctx.string_attr(import.module), ctx.string_attr(import.name)]);
            let op = match import.ty {
                TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                    let (name, fty) = self.info.funcs[fi].clone();
                    fi += 1;
                    Ok(self.func_op(&name, fty, Some(import_attr), None, loc))
                }
                TypeRef::Global(g) => {
                    let (name, ty) = self.info.globals[gi].clone();
                    gi += 1;
                    self.global_op(&name, ty, g.mutable, Some(import_attr), None, loc)
                }
                TypeRef::Memory(m) => {
                    let name = self.info.memories[mi].0.clone();
                    mi += 1;
                    Ok(self.memory_op(&name, &m, Some(import_attr), loc))
                }
                TypeRef::Table(t) => {
                    let name = self.info.tables[ti].0.clone();
                    ti += 1;
                    self.table_op(&name, &t, Some(import_attr), None, loc)
                }
                TypeRef::Tag(_) => {
                    return Err(Diagnostic::error(loc, "not supported yet: exception handling (tag import)"));
                }
            };
            self.append(op?);
        }
        let tables = std::mem::take(&mut self.s.tables);
        for (table, offset) in &tables {
            let name = self.info.tables[ti].0.clone();
            ti += 1;
            let init = match &table.init {
                wasmparser::TableInit::RefNull => None,
                wasmparser::TableInit::Expr(e) => Some(e.clone()),
            };
            let op = self.table_op(&name, &table.ty, None, init.as_ref(), self.loc(*offset))?;
            self.append(op);
        }
        let memories = std::mem::take(&mut self.s.memories);
        for (memory, offset) in &memories {
            let name = self.info.memories[mi].0.clone();
            mi += 1;
            let op = self.memory_op(&name, memory, None, self.loc(*offset));
            self.append(op);
        }
        let globals = std::mem::take(&mut self.s.globals);
        for (global, offset) in &globals {
            let (name, ty) = self.info.globals[gi].clone();
            gi += 1;
            let op = self.global_op(
                &name,
                ty,
                global.ty.mutable,
                None,
                Some(&global.init_expr),
                self.loc(*offset),
            );
            let op = op?;
            self.append(op);
        }
        let bodies = std::mem::take(&mut self.s.bodies);
        // Function bodies are translated in parallel, each into its own `Body`, and appended
        // in order: the module is the same whatever the thread count.
        let translated: Vec<IResult<Body>> = {
            use rayon::prelude::*;
            let (info, file, first) = (&self.info, self.file, fi);
            bodies
                .par_iter()
                .enumerate()
                .map(|(i, body)| {
                    FuncTranslator::new(ctx, info, file, info.funcs[first + i].1).translate(body)
                })
                .collect()
        };
        for (body, func_body) in bodies.iter().zip(translated) {
            let (name, fty) = self.info.funcs[fi].clone();
            fi += 1;
            let loc = self.loc(body.range().start);
            let op = self.func_op(&name, fty, None, Some(func_body?), loc);
            self.append(op);
        }
        let elements = std::mem::take(&mut self.s.elements);
        for (i, (element, offset)) in elements.iter().enumerate() {
            let op = self.elem_op(i, element, self.loc(*offset))?;
            self.append(op);
        }
        let data = std::mem::take(&mut self.s.data);
        for (i, (segment, offset)) in data.iter().enumerate() {
            let op = self.data_op(i, segment, self.loc(*offset))?;
            self.append(op);
        }
        let exports = std::mem::take(&mut self.s.exports);
        for (export, offset) in &exports {
            let target = match export.kind {
                ExternalKind::Func | ExternalKind::FuncExact => &self.info.funcs[export.index as usize].0,
                ExternalKind::Global => &self.info.globals[export.index as usize].0,
                ExternalKind::Memory => &self.info.memories[export.index as usize].0,
                ExternalKind::Table => &self.info.tables[export.index as usize].0,
                ExternalKind::Tag => {
                    return Err(Diagnostic::error(
                        self.loc(*offset),
                        "not supported yet: exception handling (tag export)",
                    ));
                }
            };
            let attrs =
                self.dict(&[("name", ctx.string_attr(export.name)), ("target", ctx.symbol_ref_attr(target))]);
            let op = self.simple_op("wasm.export", attrs, self.loc(*offset));
            self.append(op);
        }
        if let Some((start, offset)) = self.s.start {
            let attrs = self.dict(&[("function", ctx.symbol_ref_attr(&self.info.funcs[start as usize].0))]);
            let op = self.simple_op("wasm.start", attrs, self.loc(offset));
            self.append(op);
        }
        let customs = std::mem::take(&mut self.s.customs);
        for (name, data) in customs {
            let attrs = self.dict(&[("name", ctx.string_attr(name)), ("data", bytes_attr(ctx, data))]);
            let op = self.simple_op("wasm.custom", attrs, Location::Unknown);
            self.append(op);
        }
        if let Some(name) = self.s.names.module.clone() {
            let op = self.module.op();
            let attrs =
                ctx.dict_with(self.module.root().op_attrs(op), "sym_name", Some(ctx.string_attr(&name)));
            self.module.root_mut().set_attrs(op, attrs);
        }
        Ok(self.module)
    }

    /// Gives every entity a unique symbol name: its name-section name when it has one, else
    /// `func12`, `global3`, ... Names are unique across kinds (one symbol table).
    fn assign_names(&mut self) -> IResult<()> {
        let mut taken: wasmir_ir::FxHashSet<String> = Default::default();
        let mut unique = |preferred: Option<&String>, fallback: String| -> String {
            let base = preferred.cloned().unwrap_or(fallback);
            let mut name = base.clone();
            let mut n = 1;
            while !taken.insert(name.clone()) {
                name = format!("{base}.{n}");
                n += 1;
            }
            name
        };
        let names = self.s.names.clone();
        let (mut f, mut g, mut m, mut t) = (0u32, 0u32, 0u32, 0u32);
        for (import, _) in &self.s.imports {
            match import.ty {
                TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                    let name = unique(names.funcs.get(&f), format!("func{f}"));
                    self.info.funcs.push((name, self.info.types[ty as usize]));
                    f += 1;
                }
                TypeRef::Global(gt) => {
                    let ty = val_type(self.ctx, &self.info.types, gt.content_type)?;
                    let name = unique(names.globals.get(&g), format!("global{g}"));
                    self.info.globals.push((name, ty));
                    g += 1;
                }
                TypeRef::Memory(mt) => {
                    let name = unique(names.memories.get(&m), format!("memory{m}"));
                    self.info.memories.push((name, if mt.memory64 { Type::I64 } else { Type::I32 }));
                    m += 1;
                }
                TypeRef::Table(tt) => {
                    let name = unique(names.tables.get(&t), format!("table{t}"));
                    let elem = ref_type(self.ctx, &self.info.types, tt.element_type)?;
                    self.info.tables.push((name, if tt.table64 { Type::I64 } else { Type::I32 }, elem));
                    t += 1;
                }
                TypeRef::Tag(_) => {}
            }
        }
        for &ty in &self.s.functions {
            let name = unique(names.funcs.get(&f), format!("func{f}"));
            self.info.funcs.push((name, self.info.types[ty as usize]));
            f += 1;
        }
        for (table, _) in &self.s.tables {
            let name = unique(names.tables.get(&t), format!("table{t}"));
            let elem = ref_type(self.ctx, &self.info.types, table.ty.element_type)?;
            self.info.tables.push((name, if table.ty.table64 { Type::I64 } else { Type::I32 }, elem));
            t += 1;
        }
        for (memory, _) in &self.s.memories {
            let name = unique(names.memories.get(&m), format!("memory{m}"));
            self.info.memories.push((name, if memory.memory64 { Type::I64 } else { Type::I32 }));
            m += 1;
        }
        for (global, _) in &self.s.globals {
            let ty = val_type(self.ctx, &self.info.types, global.ty.content_type)?;
            let name = unique(names.globals.get(&g), format!("global{g}"));
            self.info.globals.push((name, ty));
            g += 1;
        }
        for i in 0..self.s.elements.len() as u32 {
            let name = unique(names.elems.get(&i), format!("elem{i}"));
            self.info.elems.push(name);
        }
        for i in 0..self.s.data.len() as u32 {
            let name = unique(names.data.get(&i), format!("data{i}"));
            self.info.data.push(name);
        }
        Ok(())
    }

    fn func_type(&self, f: &wasmparser::FuncType) -> IResult<Type> {
        let params = f
            .params()
            .iter()
            .map(|&v| val_type(self.ctx, &self.info.types, v))
            .collect::<IResult<Vec<_>>>()?;
        let results = f
            .results()
            .iter()
            .map(|&v| val_type(self.ctx, &self.info.types, v))
            .collect::<IResult<Vec<_>>>()?;
        Ok(self.ctx.function_type(&params, &results))
    }

    fn dict(&self, entries: &[(&str, Attr)]) -> Attr {
        self.ctx.dict_attr(entries.iter().map(|&(k, v)| (self.ctx.ident(k), v)).collect())
    }

    fn kind(&self, name: &str) -> wasmir_ir::OpKind {
        self.ctx.registry().lookup_op(name).expect("the importer's dialects are registered")
    }

    fn simple_op(&mut self, name: &str, attrs: Attr, loc: Location) -> Op {
        let mut new = NewOp::new(self.kind(name), loc);
        new.attrs = attrs;
        self.module.body_mut().create_op(new)
    }

    fn append(&mut self, op: Op) {
        let block = self.module.block();
        self.module.body_mut().append_op(block, op);
    }

    /// Visibility: exported and imported symbols are public; the rest private, so that
    /// `symbol-dce` may remove what nothing reaches.
    fn visibility(&self, name: &str, imported: bool) -> Option<(&'static str, Attr)> {
        let exported = self.s.exports.iter().any(|(e, _)| {
            let target = match e.kind {
                ExternalKind::Func | ExternalKind::FuncExact => {
                    self.info.funcs.get(e.index as usize).map(|f| &f.0)
                }
                ExternalKind::Global => self.info.globals.get(e.index as usize).map(|g| &g.0),
                ExternalKind::Memory => self.info.memories.get(e.index as usize).map(|m| &m.0),
                ExternalKind::Table => self.info.tables.get(e.index as usize).map(|t| &t.0),
                ExternalKind::Tag => None,
            };
            target.is_some_and(|t| t == name)
        });
        let start = self.s.start.is_some_and(|(f, _)| self.info.funcs[f as usize].0 == name);
        (!exported && !imported && !start).then(|| ("sym_visibility", self.ctx.string_attr("private")))
    }

    fn func_op(
        &mut self,
        name: &str,
        fty: Type,
        import: Option<Attr>,
        body: Option<Body>,
        loc: Location,
    ) -> Op {
        let ctx = self.ctx;
        let mut attrs = vec![("sym_name", ctx.string_attr(name)), ("function_type", ctx.type_attr(fty))];
        attrs.extend(self.visibility(name, import.is_some()));
        attrs.extend(import.map(|i| ("import", i)));
        let mut new = NewOp::new(self.kind("func.func"), loc);
        new.attrs = self.dict(&attrs);
        new.child = Some(body.unwrap_or_else(|| {
            let mut b = Body::new();
            let r = b.create_region();
            b.set_roots(&[r]);
            b
        }));
        self.module.body_mut().create_op(new)
    }

    fn global_op(
        &mut self,
        name: &str,
        ty: Type,
        mutable: bool,
        import: Option<Attr>,
        init: Option<&ConstExpr<'_>>,
        loc: Location,
    ) -> IResult<Op> {
        let ctx = self.ctx;
        let mut attrs = vec![("sym_name", ctx.string_attr(name)), ("type", ctx.type_attr(ty))];
        if mutable {
            attrs.push(("mutable", Attr::UNIT));
        }
        attrs.extend(self.visibility(name, import.is_some()));
        attrs.extend(import.map(|i| ("import", i)));
        let region = match init {
            Some(e) => self.const_region(e, loc)?,
            None => self.module.body_mut().create_region(),
        };
        let mut new = NewOp::new(self.kind("global.global"), loc);
        new.attrs = self.dict(&attrs);
        new.regions = smallvec![region];
        Ok(self.module.body_mut().create_op(new))
    }

    fn memory_op(
        &mut self,
        name: &str,
        m: &wasmparser::MemoryType,
        import: Option<Attr>,
        loc: Location,
    ) -> Op {
        let ctx = self.ctx;
        let mut attrs = vec![
            ("sym_name", ctx.string_attr(name)),
            ("address_type", ctx.type_attr(if m.memory64 { Type::I64 } else { Type::I32 })),
            ("min", ctx.int_attr(m.initial as i64, Type::U64)),
        ];
        attrs.extend(m.maximum.map(|max| ("max", ctx.int_attr(max as i64, Type::U64))));
        if m.shared {
            attrs.push(("kind", ctx.string_attr("shared")));
        }
        attrs.extend(self.visibility(name, import.is_some()));
        attrs.extend(import.map(|i| ("import", i)));
        let attrs = self.dict(&attrs);
        self.simple_op("memory.memory", attrs, loc)
    }

    fn table_op(
        &mut self,
        name: &str,
        t: &wasmparser::TableType,
        import: Option<Attr>,
        init: Option<&ConstExpr<'_>>,
        loc: Location,
    ) -> IResult<Op> {
        let ctx = self.ctx;
        let elem = ref_type(ctx, &self.info.types, t.element_type)?;
        let mut attrs = vec![
            ("sym_name", ctx.string_attr(name)),
            ("elem_type", ctx.type_attr(elem)),
            ("address_type", ctx.type_attr(if t.table64 { Type::I64 } else { Type::I32 })),
            ("min", ctx.int_attr(t.initial as i64, Type::U64)),
        ];
        attrs.extend(t.maximum.map(|max| ("max", ctx.int_attr(max as i64, Type::U64))));
        attrs.extend(self.visibility(name, import.is_some()));
        attrs.extend(import.map(|i| ("import", i)));
        let region = match init {
            Some(e) => self.const_region(e, loc)?,
            None => self.module.body_mut().create_region(),
        };
        let mut new = NewOp::new(self.kind("refs.table"), loc);
        new.attrs = self.dict(&attrs);
        new.regions = smallvec![region];
        Ok(self.module.body_mut().create_op(new))
    }

    fn elem_op(&mut self, index: usize, e: &wasmparser::Element<'_>, loc: Location) -> IResult<Op> {
        let ctx = self.ctx;
        let name = self.info.elems[index].clone();
        let (elem_ty, items_region) = match &e.items {
            ElementItems::Functions(reader) => {
                let funcs = reader
                    .clone()
                    .into_iter()
                    .collect::<Result<Vec<u32>, _>>()
                    .map_err(|err| Diagnostic::error(loc, err.message().to_string()))?;
                let region =
                    self.items_region(loc, |t, block| funcs.iter().map(|&f| t.ref_func(block, f)).collect());
                (refs::funcref(ctx), region)
            }
            ElementItems::Expressions(rt, reader) => {
                let elem = ref_type(ctx, &self.info.types, *rt)?;
                let exprs = reader
                    .clone()
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|err| Diagnostic::error(loc, err.message().to_string()))?;
                let info = &self.info;
                let body = self.module.body_mut();
                let region = body.create_region();
                let block = body.create_block(&[]);
                body.append_block(region, block);
                let mut t = ConstTranslator { ctx, info, body, loc };
                let mut values = Vec::new();
                for expr in &exprs {
                    values.extend(t.translate(block, expr)?);
                }
                t.yield_values(block, &values);
                (elem, region)
            }
        };
        let mut attrs = vec![("sym_name", ctx.string_attr(&name)), ("elem_type", ctx.type_attr(elem_ty))];
        let offset_region = match &e.kind {
            ElementKind::Active { table_index, offset_expr } => {
                let table = &self.info.tables[table_index.unwrap_or(0) as usize].0;
                attrs.push(("table", ctx.symbol_ref_attr(table)));
                self.const_region(offset_expr, loc)?
            }
            ElementKind::Passive => {
                attrs.push(("sym_visibility", ctx.string_attr("private")));
                self.module.body_mut().create_region()
            }
            ElementKind::Declared => {
                attrs.push(("declarative", Attr::UNIT));
                self.module.body_mut().create_region()
            }
        };
        let mut new = NewOp::new(self.kind("refs.elem"), loc);
        new.attrs = self.dict(&attrs);
        new.regions = smallvec![items_region, offset_region];
        Ok(self.module.body_mut().create_op(new))
    }

    fn data_op(&mut self, index: usize, d: &wasmparser::Data<'_>, loc: Location) -> IResult<Op> {
        let ctx = self.ctx;
        let name = self.info.data[index].clone();
        let mut attrs = vec![("sym_name", ctx.string_attr(&name)), ("data", bytes_attr(ctx, d.data))];
        let region = match &d.kind {
            DataKind::Active { memory_index, offset_expr } => {
                attrs.push(("memory", ctx.symbol_ref_attr(&self.info.memories[*memory_index as usize].0)));
                self.const_region(offset_expr, loc)?
            }
            DataKind::Passive => {
                attrs.push(("sym_visibility", ctx.string_attr("private")));
                self.module.body_mut().create_region()
            }
        };
        let mut new = NewOp::new(self.kind("memory.data"), loc);
        new.attrs = self.dict(&attrs);
        new.regions = smallvec![region];
        Ok(self.module.body_mut().create_op(new))
    }

    fn items_region(
        &mut self,
        loc: Location,
        f: impl FnOnce(&mut ConstTranslator<'_, '_>, Block) -> Vec<Value>,
    ) -> Region {
        let ctx = self.ctx;
        let info = &self.info;
        let body = self.module.body_mut();
        let region = body.create_region();
        let block = body.create_block(&[]);
        body.append_block(region, block);
        let mut t = ConstTranslator { ctx, info, body, loc };
        let values = f(&mut t, block);
        t.yield_values(block, &values);
        region
    }

    /// A region computing a constant expression and yielding its value.
    fn const_region(&mut self, e: &ConstExpr<'_>, loc: Location) -> IResult<Region> {
        let ctx = self.ctx;
        let info = &self.info;
        let body = self.module.body_mut();
        let region = body.create_region();
        let block = body.create_block(&[]);
        body.append_block(region, block);
        let mut t = ConstTranslator { ctx, info, body, loc };
        let values = t.translate(block, e)?;
        t.yield_values(block, &values);
        Ok(region)
    }
}

fn bytes_attr(ctx: &Context, data: &[u8]) -> Attr {
    match std::str::from_utf8(data) {
        Ok(s) => ctx.string_attr(s),
        Err(_) => ctx.intern_attr(wasmir_ir::AttrData::Bytes(data.into())),
    }
}

/// The IR type of a Wasm value type.
pub(crate) fn val_type(ctx: &Context, types: &[Type], v: ValType) -> IResult<Type> {
    match v {
        ValType::I32 => Ok(Type::I32),
        ValType::I64 => Ok(Type::I64),
        ValType::F32 => Ok(Type::F32),
        ValType::F64 => Ok(Type::F64),
        ValType::V128 => Err(Diagnostic::error(Location::Unknown, "not supported yet: SIMD (v128)")),
        ValType::Ref(r) => ref_type(ctx, types, r),
    }
}

fn ref_type(ctx: &Context, types: &[Type], r: wasmparser::RefType) -> IResult<Type> {
    let heap = match r.heap_type() {
        HeapType::Abstract { shared: false, ty } => match ty {
            AbstractHeapType::Func => Heap::Func,
            AbstractHeapType::Extern => Heap::Extern,
            AbstractHeapType::NoFunc => Heap::NoFunc,
            AbstractHeapType::NoExtern => Heap::NoExtern,
            other => {
                return Err(Diagnostic::error(
                    Location::Unknown,
                    format!("not supported yet: GC (heap type {other:?})"),
                ));
            }
        },
        HeapType::Concrete(idx) | HeapType::Exact(idx) => {
            let i = idx.as_module_index().unwrap_or(u32::MAX) as usize;
            match types.get(i) {
                Some(&t) => Heap::Typed(t),
                None => {
                    return Err(Diagnostic::error(
                        Location::Unknown,
                        "not supported yet: GC (recursive type)",
                    ));
                }
            }
        }
        HeapType::Abstract { shared: true, .. } => {
            return Err(Diagnostic::error(Location::Unknown, "not supported yet: shared-everything threads"));
        }
    };
    Ok(refs::make_ref(ctx, IrRef { nullable: r.is_nullable(), heap }))
}

/// Translates constant expressions (initializers and offsets) into ops in a module region.
struct ConstTranslator<'b, 'i> {
    ctx: &'b Context,
    info: &'i ModuleInfo,
    body: &'b mut Body,
    loc: Location,
}

impl ConstTranslator<'_, '_> {
    fn op(
        &mut self,
        block: Block,
        name: &str,
        operands: &[Value],
        result: Option<Type>,
        attrs: &[(&str, Attr)],
    ) -> Option<Value> {
        let ctx = self.ctx;
        let mut new = NewOp::new(ctx.registry().lookup_op(name).expect("registered"), self.loc);
        new.operands = operands.into();
        new.result_types = result.into_iter().collect();
        new.attrs = ctx.dict_attr(attrs.iter().map(|&(k, v)| (ctx.ident(k), v)).collect());
        let op = self.body.create_op(new);
        self.body.append_op(block, op);
        self.body.results(op).first().copied()
    }

    fn ref_func(&mut self, block: Block, f: u32) -> Value {
        let (name, fty) = self.info.funcs[f as usize].clone();
        let ty = refs::make_ref(self.ctx, IrRef { nullable: false, heap: Heap::Typed(fty) });
        let callee = self.ctx.symbol_ref_attr(&name);
        self.op(block, "refs.func", &[], Some(ty), &[("function", callee)]).expect("one result")
    }

    fn yield_values(&mut self, block: Block, values: &[Value]) {
        self.op(block, "control.yield", values, None, &[]);
    }

    fn translate(&mut self, block: Block, e: &ConstExpr<'_>) -> IResult<Vec<Value>> {
        let ctx = self.ctx;
        let mut stack: Vec<Value> = Vec::new();
        let mut reader = e.get_operators_reader();
        while !reader.eof() {
            let op = reader.read().map_err(|err| Diagnostic::error(self.loc, err.message().to_string()))?;
            let value = match op {
                Operator::I32Const { value } => {
                    self.constant(block, ctx.int_attr(i64::from(value), Type::I32))
                }
                Operator::I64Const { value } => self.constant(block, ctx.int_attr(value, Type::I64)),
                Operator::F32Const { value } => self.constant(
                    block,
                    ctx.intern_attr(wasmir_ir::AttrData::Float {
                        bits: u64::from(value.bits()),
                        ty: Type::F32,
                    }),
                ),
                Operator::F64Const { value } => self.constant(
                    block,
                    ctx.intern_attr(wasmir_ir::AttrData::Float { bits: value.bits(), ty: Type::F64 }),
                ),
                Operator::RefNull { hty } => {
                    let ty = ref_type(
                        ctx,
                        &self.info.types,
                        wasmparser::RefType::new(true, hty).expect("valid heap type"),
                    )?;
                    self.op(block, "refs.null", &[], Some(ty), &[]).expect("one result")
                }
                Operator::RefFunc { function_index } => self.ref_func(block, function_index),
                Operator::GlobalGet { global_index } => {
                    let (name, ty) = self.info.globals[global_index as usize].clone();
                    let g = ctx.symbol_ref_attr(&name);
                    self.op(block, "global.get", &[], Some(ty), &[("global", g)]).expect("one result")
                }
                Operator::I32Add
                | Operator::I64Add
                | Operator::I32Sub
                | Operator::I64Sub
                | Operator::I32Mul
                | Operator::I64Mul => {
                    let name = match op {
                        Operator::I32Add | Operator::I64Add => "arith.addi",
                        Operator::I32Sub | Operator::I64Sub => "arith.subi",
                        _ => "arith.muli",
                    };
                    let rhs = stack.pop().expect("validated");
                    let lhs = stack.pop().expect("validated");
                    let ty = self.body.value_type(lhs);
                    self.op(block, name, &[lhs, rhs], Some(ty), &[]).expect("one result")
                }
                Operator::End => break,
                other => {
                    return Err(Diagnostic::error(
                        self.loc,
                        format!("not supported yet: constant expression with {other:?}"),
                    ));
                }
            };
            stack.push(value);
        }
        Ok(stack)
    }

    fn constant(&mut self, block: Block, value: Attr) -> Value {
        let ty = self.ctx.attr_type(value).expect("typed constant");
        self.op(block, "arith.constant", &[], Some(ty), &[("value", value)]).expect("one result")
    }
}

// ----- function bodies -----

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum FrameKind {
    Function,
    Block,
    Loop,
    If,
}

/// One open Wasm control construct.
struct Frame {
    kind: FrameKind,
    /// The IR block ops are appended to (the construct's region, or the entry block).
    block: Block,
    region: Region,
    params: Vec<Type>,
    results: Vec<Type>,
    /// Locals the construct assigns, and of those the ones its label and its results carry
    /// (pruned SSA: only the live ones; see liveness.rs).
    locals: ConstructLocals,
    /// Value-stack height below the construct's own values.
    height: usize,
    unreachable: bool,
    loc: Location,
    /// Loop: the initial values of the region arguments. If: the condition.
    operands: Vec<Value>,
    /// If: the values of params at entry, for the `else` branch. The values of the assigned
    /// locals at entry (for an `else`, and for the locals dead after the end).
    entry_params: Vec<Value>,
    entry_locals: Vec<Value>,
    else_region: Option<Region>,
}

impl Frame {
    /// The value assigned local `m` had when the construct began (`None` for a local the
    /// construct does not assign, whose value is still the current one).
    fn entry_local(&self, m: u32) -> Option<Value> {
        self.locals.assigned.binary_search(&m).ok().map(|at| self.entry_locals[at])
    }
}

struct FuncTranslator<'c, 'i> {
    ctx: &'c Context,
    info: &'i ModuleInfo,
    file: FileId,
    fty: Type,
    body: Body,
    locals: Vec<Value>,
    local_types: Vec<Type>,
    /// Locals declared non-nullable are kept nullable in SSA form (validation guarantees they
    /// are set before use) and asserted non-null when read.
    non_null_locals: Vec<bool>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    /// Operator index of each construct start -> the locals it assigns and carries.
    construct_locals: FxHashMap<usize, ConstructLocals>,
    loc: Location,
    /// Nesting of constructs skipped in unreachable code.
    skipping: usize,
}

impl<'c, 'i> FuncTranslator<'c, 'i> {
    fn new(ctx: &'c Context, info: &'i ModuleInfo, file: FileId, fty: Type) -> Self {
        Self {
            ctx,
            info,
            file,
            fty,
            body: Body::new(),
            locals: Vec::new(),
            local_types: Vec::new(),
            non_null_locals: Vec::new(),
            stack: Vec::new(),
            frames: Vec::new(),
            construct_locals: FxHashMap::default(),
            loc: Location::Unknown,
            skipping: 0,
        }
    }

    fn err(&self, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.loc, msg)
    }

    fn translate(mut self, func: &FunctionBody<'_>) -> IResult<Body> {
        let ctx = self.ctx;
        let (params, results) = {
            let (p, r) = ctx.function_signature(self.fty).expect("a function type");
            (p.to_vec(), r.to_vec())
        };
        let region = self.body.create_region();
        let entry = self.body.create_block(&params);
        self.body.append_block(region, entry);
        self.body.set_roots(&[region]);
        self.locals = self.body.block_args(entry).to_vec();
        self.local_types = params.clone();
        self.non_null_locals = vec![false; params.len()];
        self.loc = Location::Offset { file: self.file, offset: func.range().start as u32 };
        // Declared locals start at zero (or null).
        let mut reader = func.get_locals_reader().map_err(|e| self.err(e.message().to_string()))?;
        let mut declared: Vec<Type> = Vec::new();
        let mut non_null: Vec<bool> = Vec::new();
        for _ in 0..reader.get_count() {
            let (count, vt) = reader.read().map_err(|e| self.err(e.message().to_string()))?;
            let mut ty = val_type(ctx, &self.info.types, vt).map_err(|d| self.err(d.message))?;
            let mut nn = false;
            if let Some(r) = refs::ref_type(ctx, ty).filter(|r| !r.nullable) {
                ty = refs::make_ref(ctx, IrRef { nullable: true, ..r });
                nn = true;
            }
            for _ in 0..count {
                declared.push(ty);
                non_null.push(nn);
            }
        }
        self.frames.push(Frame {
            kind: FrameKind::Function,
            block: entry,
            region,
            params: Vec::new(),
            results,
            locals: ConstructLocals::default(),
            height: 0,
            unreachable: false,
            loc: self.loc,
            operands: Vec::new(),
            entry_params: Vec::new(),
            entry_locals: Vec::new(),
            else_region: None,
        });
        for (&ty, &nn) in declared.iter().zip(&non_null) {
            let zero = self.zero(ty);
            self.locals.push(zero);
            self.local_types.push(ty);
            self.non_null_locals.push(nn);
        }
        let ops: Vec<(Operator<'_>, usize)> = func
            .get_operators_reader()
            .map_err(|e| self.err(e.message().to_string()))?
            .into_iter_with_offsets()
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e.message().to_string()))?;
        self.construct_locals = crate::liveness::construct_locals(&ops, self.locals.len());
        for (index, (op, offset)) in ops.iter().enumerate() {
            self.loc = Location::Offset { file: self.file, offset: *offset as u32 };
            self.operator(index, op)?;
            if self.frames.is_empty() {
                break;
            }
        }
        Ok(self.body)
    }

    fn top(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a frame is open")
    }

    fn kind(&self, name: &str) -> wasmir_ir::OpKind {
        self.ctx.registry().lookup_op(name).expect("the importer's dialects are registered")
    }

    /// Creates an op at the end of the current block.
    fn emit(
        &mut self,
        name: &str,
        operands: &[Value],
        results: &[Type],
        attrs: &[(&str, Attr)],
    ) -> SmallVec<[Value; 1]> {
        let ctx = self.ctx;
        let mut new = NewOp::new(self.kind(name), self.loc);
        new.operands = operands.into();
        new.result_types = results.into();
        new.attrs = ctx.dict_attr(attrs.iter().map(|&(k, v)| (ctx.ident(k), v)).collect());
        let op = self.body.create_op(new);
        let block = self.frames.last().expect("a frame is open").block;
        self.body.append_op(block, op);
        self.body.results(op).into()
    }

    fn emit1(&mut self, name: &str, operands: &[Value], result: Type, attrs: &[(&str, Attr)]) -> Value {
        self.emit(name, operands, &[result], attrs)[0]
    }

    fn zero(&mut self, ty: Type) -> Value {
        let ctx = self.ctx;
        let value = match ty {
            Type::I32 | Type::I64 => ctx.int_attr(0, ty),
            Type::F32 => ctx.f32_attr(0.0),
            Type::F64 => ctx.f64_attr(0.0),
            _ => return self.emit1("refs.null", &[], ty, &[]),
        };
        self.emit1("arith.constant", &[], ty, &[("value", value)])
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated: the value stack has an operand")
    }

    fn pop_n(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    fn block_type(&self, bt: BlockType) -> (Vec<Type>, Vec<Type>) {
        match bt {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(v) => {
                (Vec::new(), vec![val_type(self.ctx, &self.info.types, v).expect("validated type")])
            }
            BlockType::FuncType(i) => {
                let (p, r) =
                    self.ctx.function_signature(self.info.types[i as usize]).expect("a function type");
                (p.to_vec(), r.to_vec())
            }
        }
    }

    fn types_of(&self, values: &[Value]) -> Vec<Type> {
        values.iter().map(|&v| self.body.value_type(v)).collect()
    }

    /// What a branch to frame `target` carries: the label's Wasm values, then the current
    /// values of the locals the construct returns.
    fn branch_values(&self, target: usize) -> Vec<Value> {
        let frame = &self.frames[target];
        let arity = if frame.kind == FrameKind::Loop { frame.params.len() } else { frame.results.len() };
        let mut values = self.stack[self.stack.len() - arity..].to_vec();
        values.extend(frame.locals.label.iter().map(|&m| self.locals[m as usize]));
        values
    }

    fn depth_attr(&self, depth: u32) -> Attr {
        self.ctx.int_attr(i64::from(depth), Type::U32)
    }

    fn operator(&mut self, index: usize, op: &Operator<'_>) -> IResult<()> {
        if self.top().unreachable {
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    self.skipping += 1;
                    return Ok(());
                }
                Operator::Else | Operator::End if self.skipping > 0 => {
                    if matches!(op, Operator::End) {
                        self.skipping -= 1;
                    }
                    return Ok(());
                }
                Operator::Else | Operator::End => {}
                _ => return Ok(()),
            }
        }
        let ctx = self.ctx;
        match *op {
            Operator::Nop => {}
            Operator::Unreachable => {
                self.emit("control.unreachable", &[], &[], &[]);
                self.top().unreachable = true;
            }
            Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } => {
                if self.frames.len() > MAX_BLOCK_NESTING {
                    return Err(self.err(format!(
                        "not supported yet: blocks nested more than {MAX_BLOCK_NESTING} deep"
                    )));
                }
                let (params, results) = self.block_type(blockty);
                let kind = match op {
                    Operator::Block { .. } => FrameKind::Block,
                    Operator::Loop { .. } => FrameKind::Loop,
                    _ => FrameKind::If,
                };
                let condition = (kind == FrameKind::If).then(|| self.pop());
                let param_values = self.pop_n(params.len());
                let locals = self.construct_locals.remove(&index).unwrap_or_default();
                let region = self.body.create_region();
                let mut operands = Vec::new();
                let block = if kind == FrameKind::Loop {
                    let mut arg_types = params.clone();
                    arg_types.extend(locals.label.iter().map(|&m| self.local_types[m as usize]));
                    let block = self.body.create_block(&arg_types);
                    operands = param_values.clone();
                    operands.extend(locals.label.iter().map(|&m| self.locals[m as usize]));
                    block
                } else {
                    self.body.create_block(&[])
                };
                self.body.append_block(region, block);
                let entry_locals = locals.assigned.iter().map(|&m| self.locals[m as usize]).collect();
                let height = self.stack.len();
                if kind == FrameKind::Loop {
                    let args = self.body.block_args(block).to_vec();
                    self.stack.extend_from_slice(&args[..params.len()]);
                    for (k, &m) in locals.label.iter().enumerate() {
                        self.locals[m as usize] = args[params.len() + k];
                    }
                } else {
                    self.stack.extend_from_slice(&param_values);
                }
                if let Some(c) = condition {
                    operands = vec![c];
                }
                self.frames.push(Frame {
                    kind,
                    block,
                    region,
                    params,
                    results,
                    locals,
                    height,
                    unreachable: false,
                    loc: self.loc,
                    operands,
                    entry_params: param_values,
                    entry_locals,
                    else_region: None,
                });
            }
            Operator::Else => {
                self.finish_region();
                let frame = self.frames.last_mut().expect("an if is open");
                let region = self.body.create_region();
                let block = self.body.create_block(&[]);
                self.body.append_block(region, block);
                frame.else_region = Some(region);
                frame.block = block;
                frame.unreachable = false;
                for (&m, &v) in frame.locals.assigned.iter().zip(&frame.entry_locals) {
                    self.locals[m as usize] = v;
                }
                let (height, params) = (frame.height, frame.entry_params.clone());
                self.stack.truncate(height);
                self.stack.extend(params);
            }
            Operator::End => self.end_frame(),
            Operator::Br { relative_depth } => {
                self.branch(relative_depth, None);
                self.top().unreachable = true;
            }
            Operator::BrIf { relative_depth } => {
                let c = self.pop();
                self.branch(relative_depth, Some(c));
            }
            Operator::BrTable { ref targets } => {
                let mut depths: Vec<u32> = targets
                    .targets()
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.err(e.message().to_string()))?;
                depths.push(targets.default());
                let index = self.pop();
                self.br_table(index, depths);
                self.top().unreachable = true;
            }
            Operator::Return => {
                let n = self.frames[0].results.len();
                let values = self.stack[self.stack.len() - n..].to_vec();
                self.emit("func.return", &values, &[], &[]);
                self.top().unreachable = true;
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let c = self.pop();
                let f = self.pop();
                let t = self.pop();
                let ty = match *op {
                    Operator::TypedSelect { ty } => val_type(ctx, &self.info.types, ty)?,
                    _ => self.body.value_type(t),
                };
                let v = self.emit1("arith.select", &[c, t, f], ty, &[]);
                self.stack.push(v);
            }
            Operator::LocalGet { local_index } => {
                let mut v = self.locals[local_index as usize];
                if self.non_null_locals[local_index as usize] {
                    let r = refs::ref_type(ctx, self.body.value_type(v)).expect("a reference local");
                    let ty = refs::make_ref(ctx, IrRef { nullable: false, ..r });
                    v = self.emit1("refs.as_non_null", &[v], ty, &[]);
                }
                self.stack.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.locals[local_index as usize] = v;
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                self.locals[local_index as usize] = v;
            }
            Operator::GlobalGet { global_index } => {
                let (name, ty) = self.info.globals[global_index as usize].clone();
                let v = self.emit1("global.get", &[], ty, &[("global", ctx.symbol_ref_attr(&name))]);
                self.stack.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                let name = self.info.globals[global_index as usize].0.clone();
                self.emit("global.set", &[v], &[], &[("global", ctx.symbol_ref_attr(&name))]);
            }
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                let (name, fty) = self.info.funcs[function_index as usize].clone();
                let (params, results) = {
                    let (p, r) = ctx.function_signature(fty).expect("a function type");
                    (p.len(), r.to_vec())
                };
                let args = self.pop_n(params);
                let callee = ctx.symbol_ref_attr(&name);
                if matches!(op, Operator::ReturnCall { .. }) {
                    self.emit(
                        "control.return_call",
                        &args,
                        &[],
                        &[("callee", callee), ("callee_type", ctx.type_attr(fty))],
                    );
                    self.top().unreachable = true;
                } else {
                    let rs = self.emit("func.call", &args, &results, &[("callee", callee)]);
                    self.stack.extend(rs);
                }
            }
            Operator::CallIndirect { type_index, table_index }
            | Operator::ReturnCallIndirect { type_index, table_index } => {
                let fty = self.info.types[type_index as usize];
                let (params, results) = {
                    let (p, r) = ctx.function_signature(fty).expect("a function type");
                    (p.len(), r.to_vec())
                };
                let index = self.pop();
                let mut operands = vec![index];
                operands.extend(self.pop_n(params));
                let table = ctx.symbol_ref_attr(&self.info.tables[table_index as usize].0);
                let attrs = [("table", table), ("callee_type", ctx.type_attr(fty))];
                if matches!(op, Operator::ReturnCallIndirect { .. }) {
                    self.emit("refs.return_call_indirect", &operands, &[], &attrs);
                    self.top().unreachable = true;
                } else {
                    let rs = self.emit("refs.call_indirect", &operands, &results, &attrs);
                    self.stack.extend(rs);
                }
            }
            Operator::CallRef { type_index } | Operator::ReturnCallRef { type_index } => {
                let fty = self.info.types[type_index as usize];
                let (params, results) = {
                    let (p, r) = ctx.function_signature(fty).expect("a function type");
                    (p.len(), r.to_vec())
                };
                let callee = self.pop();
                let mut operands = vec![callee];
                operands.extend(self.pop_n(params));
                let attrs = [("callee_type", ctx.type_attr(fty))];
                if matches!(op, Operator::ReturnCallRef { .. }) {
                    self.emit("refs.return_call_ref", &operands, &[], &attrs);
                    self.top().unreachable = true;
                } else {
                    let rs = self.emit("refs.call_ref", &operands, &results, &attrs);
                    self.stack.extend(rs);
                }
            }
            _ => self.other(op)?,
        }
        Ok(())
    }

    /// Ends the current region with a yield of its results (if it can fall through).
    fn finish_region(&mut self) {
        let frame = self.frames.last().expect("a frame is open");
        if frame.unreachable {
            return;
        }
        let n = frame.results.len();
        let mut values = self.stack[self.stack.len() - n..].to_vec();
        values.extend(frame.locals.results.iter().map(|&m| self.locals[m as usize]));
        if frame.kind == FrameKind::Function {
            self.emit("func.return", &values, &[], &[]);
        } else {
            self.emit("control.yield", &values, &[], &[]);
        }
        self.top().unreachable = true;
    }

    fn end_frame(&mut self) {
        self.finish_region();
        let frame = self.frames.pop().expect("a frame is open");
        if frame.kind == FrameKind::Function {
            return;
        }
        let mut regions: SmallVec<[Region; 1]> = smallvec![frame.region];
        if frame.kind == FrameKind::If {
            let else_region = match frame.else_region {
                Some(r) => r,
                None => {
                    // No `else`: the params flow through as the results, and the locals are
                    // as they were at entry.
                    let region = self.body.create_region();
                    let block = self.body.create_block(&[]);
                    self.body.append_block(region, block);
                    let mut values = frame.entry_params.clone();
                    let entry = |m: u32| frame.entry_local(m).unwrap_or(self.locals[m as usize]);
                    values.extend(frame.locals.results.iter().map(|&m| entry(m)));
                    let mut new = NewOp::new(self.kind("control.yield"), frame.loc);
                    new.operands = values.into();
                    let y = self.body.create_op(new);
                    self.body.append_op(block, y);
                    region
                }
            };
            regions.push(else_region);
        }
        let mut result_types = frame.results.clone();
        result_types.extend(frame.locals.results.iter().map(|&m| self.local_types[m as usize]));
        let name = match frame.kind {
            FrameKind::Block => "control.block",
            FrameKind::Loop => "control.loop",
            _ => "control.if",
        };
        let mut new = NewOp::new(self.kind(name), frame.loc);
        new.operands = frame.operands.into();
        new.result_types = result_types.into();
        new.regions = regions;
        let op = self.body.create_op(new);
        let parent = self.frames.last().expect("the function frame is open").block;
        self.body.append_op(parent, op);
        let results = self.body.results(op).to_vec();
        self.stack.truncate(frame.height);
        self.stack.extend_from_slice(&results[..frame.results.len()]);
        // Assigned locals dead after the end keep their value from before the construct,
        // which dominates what follows (nothing reads it before writing it anyway).
        for (&m, &v) in frame.locals.assigned.iter().zip(&frame.entry_locals) {
            self.locals[m as usize] = v;
        }
        for (k, &m) in frame.locals.results.iter().enumerate() {
            if frame.locals.assigned.binary_search(&m).is_ok() {
                self.locals[m as usize] = results[frame.results.len() + k];
            }
        }
    }

    /// `br` (no condition) or `br_if`, to the frame `depth` levels out.
    fn branch(&mut self, depth: u32, condition: Option<Value>) {
        let target = self.frames.len() - 1 - depth as usize;
        let values = self.branch_values(target);
        if self.frames[target].kind == FrameKind::Function {
            match condition {
                None => {
                    self.emit("func.return", &values, &[], &[]);
                }
                Some(c) => self.conditional_return(c, &values),
            }
            return;
        }
        let depth_attr = self.depth_attr(depth);
        match condition {
            None => {
                self.emit("control.br", &values, &[], &[("depth", depth_attr)]);
            }
            Some(c) => {
                let mut operands = vec![c];
                operands.extend(values);
                self.emit("control.br_if", &operands, &[], &[("depth", depth_attr)]);
            }
        }
    }

    /// `control.if %c { func.return values }`, Wasm's `br_if` to the function's label.
    fn conditional_return(&mut self, condition: Value, values: &[Value]) {
        let region = self.body.create_region();
        let block = self.body.create_block(&[]);
        self.body.append_block(region, block);
        let mut ret = NewOp::new(self.kind("func.return"), self.loc);
        ret.operands = values.into();
        let r = self.body.create_op(ret);
        self.body.append_op(block, r);
        let empty = self.body.create_region();
        let mut new = NewOp::new(self.kind("control.if"), self.loc);
        new.operands = smallvec![condition];
        new.regions = smallvec![region, empty];
        let op = self.body.create_op(new);
        let parent = self.frames.last().expect("a frame is open").block;
        self.body.append_op(parent, op);
    }

    /// `br_table`: one op when every target takes the same values; otherwise a landing block
    /// per distinct target, each then branching to its target with that target's locals.
    fn br_table(&mut self, index: Value, depths: Vec<u32>) {
        let ctx = self.ctx;
        let n = self.frames.len();
        let shapes: Vec<(Vec<u32>, bool)> = depths
            .iter()
            .map(|&d| {
                let f = &self.frames[n - 1 - d as usize];
                (f.locals.label.clone(), f.kind == FrameKind::Function)
            })
            .collect();
        let uniform = shapes.iter().all(|s| s == &shapes[0]) && !shapes[0].1;
        if uniform {
            let mut operands = vec![index];
            operands.extend(self.branch_values(n - 1 - depths[0] as usize));
            let (default, targets) = depths.split_last().expect("a default target");
            let targets = ctx.array_attr(targets.iter().map(|&d| self.depth_attr(d)).collect());
            let default = self.depth_attr(*default);
            self.emit("control.br_table", &operands, &[], &[("targets", targets), ("default", default)]);
            return;
        }
        let mut distinct: Vec<u32> = Vec::new();
        for &d in &depths {
            if !distinct.contains(&d) {
                distinct.push(d);
            }
        }
        let pads = distinct.len();
        let target0 = n - 1 - depths[0] as usize;
        let arity = {
            let f = &self.frames[target0];
            if f.kind == FrameKind::Loop { f.params.len() } else { f.results.len() }
        };
        let carried = self.stack[self.stack.len() - arity..].to_vec();
        let carried_types = self.types_of(&carried);
        // Innermost pad: the br_table itself, branching to pad j for target distinct[j].
        let mut inner_region = self.body.create_region();
        let mut inner_block = self.body.create_block(&[]);
        self.body.append_block(inner_region, inner_block);
        {
            let pad_of = |d: u32| distinct.iter().position(|&x| x == d).expect("listed") as u32;
            let (default, targets) = depths.split_last().expect("a default target");
            let targets = ctx.array_attr(targets.iter().map(|&d| self.depth_attr(pad_of(d))).collect());
            let default = self.depth_attr(pad_of(*default));
            let mut new = NewOp::new(self.kind("control.br_table"), self.loc);
            new.operands = std::iter::once(index).chain(carried.iter().copied()).collect();
            new.attrs = ctx.dict_attr(vec![(ctx.ident("targets"), targets), (ctx.ident("default"), default)]);
            let op = self.body.create_op(new);
            self.body.append_op(inner_block, op);
        }
        for (j, &d) in distinct.iter().enumerate() {
            let mut pad = NewOp::new(self.kind("control.block"), self.loc);
            pad.result_types = carried_types.iter().copied().collect();
            pad.regions = smallvec![inner_region];
            let pad_op = self.body.create_op(pad);
            let outer = j + 1 == pads;
            let (container_region, container) = if outer {
                (None, self.frames.last().expect("a frame is open").block)
            } else {
                let r = self.body.create_region();
                let b = self.body.create_block(&[]);
                self.body.append_block(r, b);
                (Some(r), b)
            };
            self.body.append_op(container, pad_op);
            let received: Vec<Value> = self.body.results(pad_op).to_vec();
            // Branch from here to the real target with its locals; the pads still enclosing
            // this point add to the depth.
            let enclosing = (pads - 1 - j) as u32;
            let target = n - 1 - d as usize;
            let frame = &self.frames[target];
            let mut values = received;
            values.extend(frame.locals.label.iter().map(|&m| self.locals[m as usize]));
            let mut br = if frame.kind == FrameKind::Function {
                NewOp::new(self.kind("func.return"), self.loc)
            } else {
                let mut b = NewOp::new(self.kind("control.br"), self.loc);
                b.attrs = ctx.dict_attr(vec![(ctx.ident("depth"), self.depth_attr(d + enclosing))]);
                b
            };
            br.operands = values.into();
            let br = self.body.create_op(br);
            self.body.append_op(container, br);
            if let Some(r) = container_region {
                inner_region = r;
                inner_block = container;
            }
        }
        let _ = inner_block;
    }

    /// Numeric, memory, table and reference instructions.
    fn other(&mut self, op: &Operator<'_>) -> IResult<()> {
        let ctx = self.ctx;
        if let Some((name, arity, to)) = crate::ops::numeric(op) {
            let operands = self.pop_n(arity);
            let predicate = crate::ops::predicate(op);
            let attrs: Vec<(&str, Attr)> =
                predicate.iter().map(|p| ("predicate", ctx.string_attr(p))).collect();
            let v = self.emit1(name, &operands, to, &attrs);
            self.stack.push(v);
            return Ok(());
        }
        if let Some(value) = crate::ops::constant(ctx, op) {
            let ty = ctx.attr_type(value).expect("typed constant");
            let v = self.emit1("arith.constant", &[], ty, &[("value", value)]);
            self.stack.push(v);
            return Ok(());
        }
        if let Some((ty, width, sign, memarg)) = crate::ops::load(op) {
            let address = self.pop();
            let attrs = self.memarg_attrs(memarg, width, ty, sign);
            let v = self.emit1("memory.load", &[address], ty, &attrs);
            self.stack.push(v);
            return Ok(());
        }
        if let Some(atomic) = crate::ops::atomic(op) {
            let arity = match atomic.name {
                "memory.atomic_load" => 1,
                "memory.atomic_store" | "memory.atomic_rmw" | "memory.atomic_notify" => 2,
                _ => 3,
            };
            let operands = self.pop_n(arity);
            let mut attrs =
                vec![("memory", ctx.symbol_ref_attr(&self.info.memories[atomic.memarg.memory as usize].0))];
            if atomic.memarg.offset != 0 {
                attrs.push(("offset", ctx.int_attr(atomic.memarg.offset as i64, Type::U64)));
            }
            if atomic.width != if atomic.ty == Type::I64 { 64 } else { 32 } {
                attrs.push(("width", ctx.int_attr(i64::from(atomic.width), Type::U32)));
            }
            if let Some(rmw) = atomic.rmw {
                attrs.push(("op", ctx.string_attr(rmw)));
            }
            let results: &[Type] = match atomic.name {
                "memory.atomic_store" => &[],
                "memory.atomic_wait" | "memory.atomic_notify" => &[Type::I32],
                _ => std::slice::from_ref(&atomic.ty),
            };
            let values = self.emit(atomic.name, &operands, results, &attrs);
            self.stack.extend(values);
            return Ok(());
        }
        if let Operator::AtomicFence = op {
            self.emit("memory.atomic_fence", &[], &[], &[]);
            return Ok(());
        }
        if let Some((ty, width, memarg)) = crate::ops::store(op) {
            let value = self.pop();
            let address = self.pop();
            let attrs = self.memarg_attrs(memarg, width, ty, None);
            self.emit("memory.store", &[address, value], &[], &attrs);
            return Ok(());
        }
        let mem = |i: u32| ctx.symbol_ref_attr(&self.info.memories[i as usize].0);
        let table = |i: u32| ctx.symbol_ref_attr(&self.info.tables[i as usize].0);
        match *op {
            Operator::MemorySize { mem: m } => {
                let ty = self.info.memories[m as usize].1;
                let v = self.emit1("memory.size", &[], ty, &[("memory", mem(m))]);
                self.stack.push(v);
            }
            Operator::MemoryGrow { mem: m } => {
                let delta = self.pop();
                let ty = self.info.memories[m as usize].1;
                let v = self.emit1("memory.grow", &[delta], ty, &[("memory", mem(m))]);
                self.stack.push(v);
            }
            Operator::MemoryFill { mem: m } => {
                let args = self.pop_n(3);
                self.emit("memory.fill", &args, &[], &[("memory", mem(m))]);
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let args = self.pop_n(3);
                self.emit(
                    "memory.copy",
                    &args,
                    &[],
                    &[("memory", mem(dst_mem)), ("src_memory", mem(src_mem))],
                );
            }
            Operator::MemoryInit { data_index, mem: m } => {
                let args = self.pop_n(3);
                let seg = ctx.symbol_ref_attr(&self.info.data[data_index as usize]);
                self.emit("memory.init", &args, &[], &[("memory", mem(m)), ("segment", seg)]);
            }
            Operator::DataDrop { data_index } => {
                let seg = ctx.symbol_ref_attr(&self.info.data[data_index as usize]);
                self.emit("memory.data_drop", &[], &[], &[("segment", seg)]);
            }
            Operator::TableGet { table: t } => {
                let i = self.pop();
                let ty = self.info.tables[t as usize].2;
                let v = self.emit1("refs.table_get", &[i], ty, &[("table", table(t))]);
                self.stack.push(v);
            }
            Operator::TableSet { table: t } => {
                let args = self.pop_n(2);
                self.emit("refs.table_set", &args, &[], &[("table", table(t))]);
            }
            Operator::TableSize { table: t } => {
                let ty = self.info.tables[t as usize].1;
                let v = self.emit1("refs.table_size", &[], ty, &[("table", table(t))]);
                self.stack.push(v);
            }
            Operator::TableGrow { table: t } => {
                let args = self.pop_n(2);
                let ty = self.info.tables[t as usize].1;
                let v = self.emit1("refs.table_grow", &args, ty, &[("table", table(t))]);
                self.stack.push(v);
            }
            Operator::TableFill { table: t } => {
                let args = self.pop_n(3);
                self.emit("refs.table_fill", &args, &[], &[("table", table(t))]);
            }
            Operator::TableCopy { dst_table, src_table } => {
                let args = self.pop_n(3);
                self.emit(
                    "refs.table_copy",
                    &args,
                    &[],
                    &[("table", table(dst_table)), ("src_table", table(src_table))],
                );
            }
            Operator::TableInit { elem_index, table: t } => {
                let args = self.pop_n(3);
                let seg = ctx.symbol_ref_attr(&self.info.elems[elem_index as usize]);
                self.emit("refs.table_init", &args, &[], &[("table", table(t)), ("segment", seg)]);
            }
            Operator::ElemDrop { elem_index } => {
                let seg = ctx.symbol_ref_attr(&self.info.elems[elem_index as usize]);
                self.emit("refs.elem_drop", &[], &[], &[("segment", seg)]);
            }
            Operator::RefNull { hty } => {
                let ty = ref_type(
                    ctx,
                    &self.info.types,
                    wasmparser::RefType::new(true, hty).expect("valid heap type"),
                )?;
                let v = self.emit1("refs.null", &[], ty, &[]);
                self.stack.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let v = self.emit1("refs.is_null", &[r], Type::I32, &[]);
                self.stack.push(v);
            }
            Operator::RefFunc { function_index } => {
                let (name, fty) = self.info.funcs[function_index as usize].clone();
                let ty = refs::make_ref(ctx, IrRef { nullable: false, heap: Heap::Typed(fty) });
                let v = self.emit1("refs.func", &[], ty, &[("function", ctx.symbol_ref_attr(&name))]);
                self.stack.push(v);
            }
            Operator::RefAsNonNull => {
                let r = self.pop();
                let v = self.non_null(r);
                self.stack.push(v);
            }
            Operator::BrOnNull { relative_depth } => {
                let r = self.pop();
                let target = self.frames.len() - 1 - relative_depth as usize;
                let values = self.branch_values(target);
                let rt = refs::ref_type(ctx, self.body.value_type(r)).expect("a reference");
                let ty = refs::make_ref(ctx, IrRef { nullable: false, ..rt });
                if self.frames[target].kind == FrameKind::Function {
                    let is_null = self.emit1("refs.is_null", &[r], Type::I32, &[]);
                    self.conditional_return(is_null, &values);
                    let v = self.non_null(r);
                    self.stack.push(v);
                } else {
                    let mut operands = vec![r];
                    operands.extend(values);
                    let depth = self.depth_attr(relative_depth);
                    let v = self.emit1("control.br_on_null", &operands, ty, &[("depth", depth)]);
                    self.stack.push(v);
                }
            }
            Operator::BrOnNonNull { relative_depth } => {
                // if (!is_null(r)) { br depth+1 (values ++ [non-null r] ++ locals) }
                let r = self.pop();
                let is_null = self.emit1("refs.is_null", &[r], Type::I32, &[]);
                let not_null = self.emit1("arith.eqz", &[is_null], Type::I32, &[]);
                let target = self.frames.len() - 1 - relative_depth as usize;
                let region = self.body.create_region();
                let block = self.body.create_block(&[]);
                self.body.append_block(region, block);
                let saved = std::mem::replace(&mut self.frames.last_mut().expect("open").block, block);
                let nn = self.non_null(r);
                self.stack.push(nn);
                let values = self.branch_values(target);
                self.stack.pop();
                if self.frames[target].kind == FrameKind::Function {
                    self.emit("func.return", &values, &[], &[]);
                } else {
                    let depth = self.depth_attr(relative_depth + 1);
                    self.emit("control.br", &values, &[], &[("depth", depth)]);
                }
                self.frames.last_mut().expect("open").block = saved;
                let empty = self.body.create_region();
                let mut new = NewOp::new(self.kind("control.if"), self.loc);
                new.operands = smallvec![not_null];
                new.regions = smallvec![region, empty];
                let if_op = self.body.create_op(new);
                self.body.append_op(saved, if_op);
            }
            ref other => {
                return Err(self.err(format!("not supported yet: the instruction {other:?}")));
            }
        }
        Ok(())
    }

    fn non_null(&mut self, r: Value) -> Value {
        let rt = refs::ref_type(self.ctx, self.body.value_type(r)).expect("a reference");
        let ty = refs::make_ref(self.ctx, IrRef { nullable: false, ..rt });
        self.emit1("refs.as_non_null", &[r], ty, &[])
    }

    fn memarg_attrs(
        &self,
        m: MemArg,
        width: u32,
        ty: Type,
        sign: Option<&'static str>,
    ) -> Vec<(&'static str, Attr)> {
        let ctx = self.ctx;
        let mut attrs = vec![("memory", ctx.symbol_ref_attr(&self.info.memories[m.memory as usize].0))];
        if m.offset != 0 {
            attrs.push(("offset", ctx.int_attr(m.offset as i64, Type::U64)));
        }
        let natural = width / 8;
        let align = 1u64 << m.align;
        if align != u64::from(natural) {
            attrs.push(("align", ctx.int_attr(align as i64, Type::U64)));
        }
        let full = if matches!(ty, Type::I64 | Type::F64) { 64 } else { 32 };
        if width != full {
            attrs.push(("width", ctx.int_attr(i64::from(width), Type::U32)));
        }
        if let Some(s) = sign {
            attrs.push(("sign", ctx.string_attr(s)));
        }
        attrs
    }
}
