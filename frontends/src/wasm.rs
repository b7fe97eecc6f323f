//! The `.wasm` importer: validates with wasmparser, then translates every section into WasmIR,
//! promoting Wasm locals to SSA values (see specs/control.md, "Locals are SSA values").

use crate::function::{DictCache, FuncTranslator};
use crate::names::SymbolNames;
use wasmir_dialects::refs::{self, Heap, RefType as IrRef};
use wasmir_ir::{
    Attr, Block, Body, Context, Diagnostic, FileId, Location, Module, NewOp, Op, Region, Type, Value,
    smallvec,
};
use wasmparser::{
    AbstractHeapType, CompositeInnerType, ConstExpr, DataKind, ElementItems, ElementKind, ExternalKind,
    FunctionBody, HeapType, Operator, Parser, Payload, TypeRef, ValType, Validator, WasmFeatures,
};

/// The Wasm features WasmIR imports today: Wasm 3.0 with SIMD and relaxed SIMD but without GC
/// and exception handling (those arrive with their own dialects), plus threads (shared
/// memories and atomics).
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
        | WasmFeatures::SIMD
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::CALL_INDIRECT_OVERLONG
        | WasmFeatures::BULK_MEMORY_OPT
        | WasmFeatures::THREADS
}

pub(crate) type IResult<T> = Result<T, Diagnostic>;

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
        // Each worker reuses its validator's stacks from one body to the next.
        .map_init(wasmparser::FuncValidatorAllocations::default, |allocations, (to_validate, body)| {
            let mut validator = to_validate.into_validator(std::mem::take(allocations));
            let result = validator.validate(&body);
            *allocations = validator.into_allocations();
            result
        })
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
        "a feature outside Wasm 3.0 without GC and exceptions (plus threads)"
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
pub(crate) struct ModuleInfo {
    pub(crate) types: Vec<Type>,
    pub(crate) funcs: Vec<(String, Type)>,
    pub(crate) globals: Vec<(String, Type)>,
    pub(crate) memories: Vec<(String, Type)>,
    pub(crate) tables: Vec<(String, Type, Type)>,
    pub(crate) data: Vec<String>,
    pub(crate) elems: Vec<String>,
    /// The symbol references to each of the above, interned once before the function bodies
    /// are translated (each call, global access and memory access names one).
    pub(crate) symbols: SymbolAttrs,
}

/// `@name` attributes of a module's functions, globals, memories, tables and segments, by
/// index.
#[derive(Default)]
pub(crate) struct SymbolAttrs {
    pub(crate) funcs: Vec<Attr>,
    pub(crate) globals: Vec<Attr>,
    pub(crate) memories: Vec<Attr>,
    pub(crate) tables: Vec<Attr>,
    pub(crate) data: Vec<Attr>,
    pub(crate) elems: Vec<Attr>,
}

impl ModuleInfo {
    fn intern_symbols(&mut self, ctx: &Context) {
        fn refs<'n>(ctx: &Context, names: impl Iterator<Item = &'n String>) -> Vec<Attr> {
            names.map(|n| ctx.symbol_ref_attr(n)).collect()
        }
        self.symbols = SymbolAttrs {
            funcs: refs(ctx, self.funcs.iter().map(|f| &f.0)),
            globals: refs(ctx, self.globals.iter().map(|g| &g.0)),
            memories: refs(ctx, self.memories.iter().map(|m| &m.0)),
            tables: refs(ctx, self.tables.iter().map(|t| &t.0)),
            data: refs(ctx, self.data.iter()),
            elems: refs(ctx, self.elems.iter()),
        };
    }
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
            symbols: SymbolAttrs::default(),
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
        self.info.intern_symbols(ctx);
        // Function bodies are translated in parallel, each into its own `Body`, and appended
        // in order: the module is the same whatever the thread count.
        let translated: Vec<IResult<Body>> = {
            use rayon::prelude::*;
            let (info, file, first) = (&self.info, self.file, fi);
            bodies
                .par_iter()
                .enumerate()
                .map_init(DictCache::default, |dicts, (i, body)| {
                    FuncTranslator::new(ctx, info, dicts, file, info.funcs[first + i].1).translate(body)
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
        // A Go module has ~100,000 segments: their attributes (each new, so each interned
        // afresh) are made in parallel, the ops in order.
        let prepared: Vec<DataAttrs> = {
            use rayon::prelude::*;
            let this = &self;
            data.par_iter().enumerate().map(|(i, (segment, _))| this.data_attrs(i, segment)).collect()
        };
        for ((segment, offset), attrs) in data.iter().zip(prepared) {
            let op = self.data_op(segment, attrs, self.loc(*offset))?;
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

    /// The attributes of a data segment's op, and the constant of its offset when that is
    /// one `i32.const` or `i64.const` (as toolchains write it): all a segment interns.
    fn data_attrs(&self, index: usize, d: &wasmparser::Data<'_>) -> DataAttrs {
        let ctx = self.ctx;
        let mut attrs =
            vec![("sym_name", ctx.string_attr(&self.info.data[index])), ("data", bytes_attr(ctx, d.data))];
        let mut offset = None;
        match &d.kind {
            DataKind::Active { memory_index, offset_expr } => {
                attrs.push(("memory", ctx.symbol_ref_attr(&self.info.memories[*memory_index as usize].0)));
                let mut ops = offset_expr.get_operators_reader();
                let constant = match ops.read() {
                    Ok(Operator::I32Const { value }) => Some(ctx.int_attr(i64::from(value), Type::I32)),
                    Ok(Operator::I64Const { value }) => Some(ctx.int_attr(value, Type::I64)),
                    _ => None,
                };
                if let Some(c) = constant
                    && matches!(ops.read(), Ok(Operator::End))
                    && ops.eof()
                {
                    offset = Some((c, self.dict(&[("value", c)])));
                }
            }
            DataKind::Passive => attrs.push(("sym_visibility", ctx.string_attr("private"))),
        }
        DataAttrs { attrs: self.dict(&attrs), offset }
    }

    fn data_op(&mut self, d: &wasmparser::Data<'_>, prepared: DataAttrs, loc: Location) -> IResult<Op> {
        let region = match (&d.kind, prepared.offset) {
            (DataKind::Active { .. }, Some((value, value_dict))) => {
                self.items_region(loc, |t, block| vec![t.prepared_constant(block, value, value_dict)])
            }
            (DataKind::Active { offset_expr, .. }, None) => self.const_region(offset_expr, loc)?,
            (DataKind::Passive, _) => self.module.body_mut().create_region(),
        };
        let mut new = NewOp::new(self.kind("memory.data"), loc);
        new.attrs = prepared.attrs;
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
        ValType::V128 => Ok(wasmir_dialects::simd::v128(ctx)),
        ValType::Ref(r) => ref_type(ctx, types, r),
    }
}

pub(crate) fn ref_type(ctx: &Context, types: &[Type], r: wasmparser::RefType) -> IResult<Type> {
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

/// What a data segment's op is made of, prepared in parallel: its attribute dictionary, and
/// its offset's constant with that constant op's dictionary (`None`: a longer expression).
struct DataAttrs {
    attrs: Attr,
    offset: Option<(Attr, Attr)>,
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
                Operator::V128Const { value } => {
                    let bytes = ctx.string_attr(&wasmir_dialects::simd::format_bytes(value.bytes()));
                    let ty = wasmir_dialects::simd::v128(ctx);
                    self.op(block, "simd.const", &[], Some(ty), &[("value", bytes)]).expect("one result")
                }
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
        let dict = self.ctx.dict_attr(vec![(self.ctx.ident("value"), value)]);
        self.prepared_constant(block, value, dict)
    }

    /// An `arith.constant` of `value` whose attribute dictionary (`{value = ...}`) is made.
    fn prepared_constant(&mut self, block: Block, value: Attr, dict: Attr) -> Value {
        let ctx = self.ctx;
        let mut new = NewOp::new(ctx.registry().lookup_op("arith.constant").expect("registered"), self.loc);
        new.result_types = smallvec![ctx.attr_type(value).expect("typed constant")];
        new.attrs = dict;
        let op = self.body.create_op(new);
        self.body.append_op(block, op);
        self.body.results(op)[0]
    }
}
