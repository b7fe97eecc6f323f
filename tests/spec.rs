//! The WebAssembly spec test suite through WasmIR: for every in-scope `.wast` file, every
//! module goes to a binary, into WasmIR, through the printed text form and back (which proves
//! the text form is complete), and out as `.wasm`; the script then runs in wasmtime with each
//! module replaced by WasmIR's output. Modules of `assert_invalid` and `assert_malformed` must
//! be rejected by the importer.
//!
//! The suite is read from `$WASMIR_TESTSUITE` (default `../shared/testsuite`). A file is in
//! scope when all its modules validate with the features WasmIR imports (Wasm 3.0 with SIMD
//! and relaxed SIMD, without GC and exception handling, plus threads, whose files in
//! `proposals/threads` run too); the others are listed with the feature that rules them out. `EXPECTED_FAILURES` lists in-scope files that do not pass yet, with why; a
//! listed file that starts passing fails the run too, so the list only shrinks.
//!
//! The SIMD and relaxed-SIMD files run a second time through the scalar fallback: each module
//! is lowered for a target without SIMD (`lower-simd`), must validate with SIMD disabled, and
//! runs behind an adapter module that turns the script's v128 arguments and results into the
//! four `i32`s the lowered exports take and give.
//!
//! Run one file: `cargo test --test spec -- i32.wast`.

use std::path::{Path, PathBuf};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, Wat};

/// In-scope files that do not pass yet, and why.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

fn suite_dir() -> PathBuf {
    std::env::var_os("WASMIR_TESTSUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/testsuite"))
}

enum Outcome {
    /// Passed; the modules outside the supported features (with why) ran unchanged.
    Pass(Vec<String>),
    OutOfScope(String),
    Fail(String),
}

/// The `[start, end)` ranges of every s-expression in `text`, skipping strings and comments.
fn sexpr_ranges(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut ranges = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b';' if b.get(i + 1) == Some(&b';') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' if b.get(i + 1) == Some(&b';') => {
                let mut nest = 1;
                i += 2;
                while i < b.len() && nest > 0 {
                    if b[i] == b'(' && b.get(i + 1) == Some(&b';') {
                        nest += 1;
                        i += 2;
                    } else if b[i] == b';' && b.get(i + 1) == Some(&b')') {
                        nest -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'(' => open.push(i),
            b')' => {
                if let Some(start) = open.pop() {
                    ranges.push((start, i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    ranges
}

/// The innermost s-expression containing `offset` (the `module` keyword of a directive):
/// that is the module, whatever annotations or comments stand between its `(` and keyword.
fn module_range(ranges: &[(usize, usize)], offset: usize) -> Option<(usize, usize)> {
    ranges.iter().copied().filter(|&(s, e)| s < offset && offset < e).min_by_key(|&(s, e)| e - s)
}

fn binary_literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3 + 2);
    s.push('"');
    for b in bytes {
        s.push_str(&format!("\\{b:02x}"));
    }
    s.push('"');
    s
}

/// Binary -> WasmIR -> text -> WasmIR -> binary.
fn round_trip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let ctx = wasmir::context();
    let render = |d: Vec<wasmir::ir::Diagnostic>| wasmir::ir::diagnostics::render(&ctx, &d);
    let module = wasmir::frontends::import_wasm(&ctx, "module.wasm", bytes).map_err(|d| render(vec![d]))?;
    wasmir::verify(&ctx, &module).map_err(render)?;
    let text = wasmir::print(&ctx, &module);
    let reparsed = wasmir::parse(&ctx, "module.wir", &text).map_err(|d| render(vec![d]))?;
    wasmir::verify(&ctx, &reparsed).map_err(render)?;
    if wasmir::print(&ctx, &reparsed) != text {
        return Err("the printed IR is not a fixed point of parse and print".into());
    }
    wasmir::lowering::emit_wasm(&ctx, &reparsed).map_err(|d| render(vec![d]))
}

/// Whether the file's modules also go through the scalar fallback.
fn is_simd_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.starts_with("simd_") || name.contains("relaxed")
}

/// The module lowered for a target without SIMD, checked to validate without it; `Ok(None)`
/// when lowering refuses it (a v128 import or export has no scalar form: "has no fallback").
fn lower_without_simd(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let ctx = wasmir::context();
    let render = |d: Vec<wasmir::ir::Diagnostic>| wasmir::ir::diagnostics::render(&ctx, &d);
    let module = wasmir::frontends::import_wasm(&ctx, "module.wasm", bytes).map_err(|d| render(vec![d]))?;
    let target = wasmir::lowering::Target::parse("wasmtime,-simd").expect("a target");
    let lowered = match wasmir::compile_to_wasm(&ctx, &module, &target) {
        Ok(l) => l,
        Err(d) if d.iter().any(|d| d.message.contains("has no fallback")) => {
            return Ok(None);
        }
        Err(d) => return Err(render(d)),
    };
    let features = wasmir::frontends::supported_features()
        .difference(wasmparser::WasmFeatures::SIMD | wasmparser::WasmFeatures::RELAXED_SIMD);
    wasmparser::Validator::new_with_features(features)
        .validate_all(&lowered)
        .map_err(|e| format!("the fallback's output needs SIMD: {}", e.message()))?;
    Ok(Some(lowered))
}

/// A module importing everything `original` exports from the lowered module registered as
/// `from`, and exporting it again under the same names: functions with v128 parameters or
/// results through wrappers that split and join the vectors.
fn adapter(original: &[u8], from: &str) -> Result<String, String> {
    use wasmparser::{ExternalKind, Payload, TypeRef, ValType};
    let mut types: Vec<wasmparser::FuncType> = Vec::new();
    let mut funcs: Vec<u32> = Vec::new(); // type index of each function, imports first
    let mut memories = Vec::new();
    let mut tables = Vec::new();
    let mut globals = Vec::new();
    let mut exports = Vec::new();
    let err = |e: wasmparser::BinaryReaderError| e.to_string();
    for payload in wasmparser::Parser::new(0).parse_all(original) {
        match payload.map_err(err)? {
            Payload::TypeSection(r) => {
                for t in r.into_iter_err_on_gc_types() {
                    types.push(t.map_err(err)?);
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    match import.map_err(err)?.ty {
                        TypeRef::Func(t) => funcs.push(t),
                        TypeRef::Memory(m) => memories.push(m),
                        TypeRef::Table(t) => tables.push(t),
                        TypeRef::Global(g) => globals.push(g),
                        _ => return Err("an import kind the adapter does not handle".into()),
                    }
                }
            }
            Payload::FunctionSection(r) => {
                funcs.extend(r.into_iter().collect::<Result<Vec<_>, _>>().map_err(err)?)
            }
            Payload::MemorySection(r) => {
                memories.extend(r.into_iter().collect::<Result<Vec<_>, _>>().map_err(err)?)
            }
            Payload::TableSection(r) => {
                for t in r {
                    tables.push(t.map_err(err)?.ty);
                }
            }
            Payload::GlobalSection(r) => {
                for g in r {
                    globals.push(g.map_err(err)?.ty);
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.map_err(err)?;
                    exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            _ => {}
        }
    }
    let scalar = |types: &[ValType]| -> String {
        types
            .iter()
            .map(|&t| if t == ValType::V128 { " i32 i32 i32 i32".to_string() } else { format!(" {t}") })
            .collect()
    };
    let list = |types: &[ValType]| -> String { types.iter().map(|t| format!(" {t}")).collect() };
    let mut out = String::from("(module");
    let mut wrappers = String::new();
    for (i, (name, kind, index)) in exports.iter().enumerate() {
        let import = format!("(import \"{from}\" \"{}\"", name.escape_default());
        let export = format!("(export \"{}\"", name.escape_default());
        match kind {
            ExternalKind::Func => {
                let ty = &types[funcs[*index as usize] as usize];
                let (params, results) = (ty.params(), ty.results());
                out.push_str(&format!(
                    "\n  {import} (func $f{i} (param{}) (result{})))",
                    scalar(params),
                    scalar(results)
                ));
                // Arguments: each vector as its four words.
                let mut body = String::new();
                for (p, &t) in params.iter().enumerate() {
                    if t == ValType::V128 {
                        for lane in 0..4 {
                            body.push_str(&format!(" local.get {p} i32x4.extract_lane {lane}"));
                        }
                    } else {
                        body.push_str(&format!(" local.get {p}"));
                    }
                }
                body.push_str(&format!(" call $f{i}"));
                // Results: into locals (the last first), then each vector joined again.
                let expanded: Vec<ValType> = results
                    .iter()
                    .flat_map(|&t| if t == ValType::V128 { vec![ValType::I32; 4] } else { vec![t] })
                    .collect();
                let mut locals = String::new();
                if results.contains(&ValType::V128) {
                    let base = params.len();
                    locals = format!(" (local{})", list(&expanded));
                    for k in (0..expanded.len()).rev() {
                        body.push_str(&format!(" local.set {}", base + k));
                    }
                    let mut k = base;
                    for &t in results {
                        if t == ValType::V128 {
                            body.push_str(&format!(" local.get {k} i32x4.splat"));
                            for lane in 1..4 {
                                body.push_str(&format!(" local.get {} i32x4.replace_lane {lane}", k + lane));
                            }
                            k += 4;
                        } else {
                            body.push_str(&format!(" local.get {k}"));
                            k += 1;
                        }
                    }
                }
                wrappers.push_str(&format!(
                    "\n  (func {export}) (param{}) (result{}){locals}{body})",
                    list(params),
                    list(results)
                ));
            }
            ExternalKind::Memory => {
                let m = &memories[*index as usize];
                let max = m.maximum.map(|x| format!(" {x}")).unwrap_or_default();
                let (i64, shared) =
                    (if m.memory64 { " i64" } else { "" }, if m.shared { " shared" } else { "" });
                out.push_str(&format!("\n  {import} (memory $m{i}{i64} {}{max}{shared}))", m.initial));
                wrappers.push_str(&format!("\n  {export} (memory $m{i}))"));
            }
            ExternalKind::Table => {
                let t = &tables[*index as usize];
                let max = t.maximum.map(|x| format!(" {x}")).unwrap_or_default();
                let i64 = if t.table64 { " i64" } else { "" };
                out.push_str(&format!(
                    "\n  {import} (table $t{i}{i64} {}{max} {}))",
                    t.initial, t.element_type
                ));
                wrappers.push_str(&format!("\n  {export} (table $t{i}))"));
            }
            ExternalKind::Global => {
                let g = &globals[*index as usize];
                let ty =
                    if g.mutable { format!("(mut {})", g.content_type) } else { g.content_type.to_string() };
                out.push_str(&format!("\n  {import} (global $g{i} {ty}))"));
                wrappers.push_str(&format!("\n  {export} (global $g{i}))"));
            }
            _ => return Err(format!("export `{name}`: a kind the adapter does not handle")),
        }
    }
    out.push_str(&wrappers);
    out.push_str(")\n");
    Ok(out)
}

fn in_scope(bytes: &[u8]) -> Result<(), String> {
    let all = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(bytes);
    if all.is_err() {
        return Ok(()); // invalid modules are checked by their directive, not scoped out
    }
    match wasmparser::Validator::new_with_features(wasmir::frontends::supported_features())
        .validate_all(bytes)
    {
        Ok(_) => Ok(()),
        Err(e) => Err(e.message().to_string()),
    }
}

/// The range of the directive around the module that starts at `offset`.
fn enclosing_range(ranges: &[(usize, usize)], offset: usize) -> Option<(usize, usize)> {
    let (start, end) = module_range(ranges, offset)?;
    ranges.iter().copied().filter(|&(s, e)| s < start && e >= end).min_by_key(|&(s, e)| e - s)
}

/// Whether `path` belongs to a proposal whose own feature base (the Wasm of its repository's
/// day) rejects `bytes`.
fn invalid_in_proposal_base(path: &Path, bytes: &[u8]) -> bool {
    use wasmparser::WasmFeatures as F;
    if !path.components().any(|c| c.as_os_str() == "threads") {
        return false;
    }
    // The threads proposal's repository: Wasm 1.0 with its own additions and sign extension.
    let base = F::MUTABLE_GLOBAL | F::SATURATING_FLOAT_TO_INT | F::SIGN_EXTENSION | F::THREADS | F::FLOATS;
    wasmparser::Validator::new_with_features(base).validate_all(bytes).is_err()
}

fn run_file(path: &Path) -> Outcome {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Outcome::Fail(format!("cannot read: {e}")),
    };
    let mut lexer = wast::lexer::Lexer::new(&text);
    // names.wast tests names made of confusing characters on purpose.
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(format!("cannot lex: {e}")),
    };
    let wast = match parser::parse::<Wast<'_>>(&buf) {
        Ok(w) => w,
        Err(e) => return Outcome::Fail(format!("cannot parse: {e}")),
    };
    let ranges = sexpr_ranges(&text);
    let mut replacements: Vec<(usize, usize, String)> = Vec::new();
    // The same script with each top-level module replaced by its scalar fallback and adapter.
    let simd = is_simd_file(path);
    let mut fallback: Vec<(usize, usize, String)> = Vec::new();
    let mut top_level: Vec<usize> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let line = |offset: usize| text[..offset].lines().count() + 1;
    for directive in wast.directives {
        let (mut module, definition) = match directive {
            WastDirective::Module(m) => {
                top_level.push(m.span().offset());
                (m, false)
            }
            WastDirective::ModuleDefinition(m) => (m, true),
            WastDirective::AssertTrap { exec: WastExecute::Wat(w), .. }
            | WastDirective::AssertReturn { exec: WastExecute::Wat(w), .. } => (QuoteWat::Wat(w), false),
            WastDirective::AssertUnlinkable { module, .. } => (QuoteWat::Wat(module), false),
            WastDirective::AssertInvalid { mut module, .. }
            | WastDirective::AssertMalformed { mut module, .. } => {
                let at = module.span().offset();
                let rejected = match module.encode() {
                    Err(_) => true,
                    // A module invalid only without some proposal says nothing about us.
                    Ok(bytes) if in_scope(&bytes).is_err() => true,
                    // A proposal's repository predates Wasm 3.0: what it rejects because a later
                    // proposal (multi-memory, say) was not merged yet is valid Wasm 3.0, so the
                    // directive is outdated and wasmtime must not run it either.
                    Ok(bytes) if invalid_in_proposal_base(path, &bytes) => {
                        if let Some((s, e)) = enclosing_range(&ranges, at) {
                            replacements.push((s, e, ";; outdated: valid in Wasm 3.0".into()));
                        }
                        true
                    }
                    Ok(bytes) => {
                        let ctx = wasmir::context();
                        wasmir::frontends::import_wasm(&ctx, "invalid.wasm", &bytes).is_err()
                    }
                };
                if !rejected {
                    errors
                        .push(format!("line {}: the importer accepted a module the spec rejects", line(at)));
                }
                continue;
            }
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                return Outcome::OutOfScope("threads (thread directives)".into());
            }
            _ => continue,
        };
        if matches!(module, QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))) {
            return Outcome::OutOfScope("component model".into());
        }
        // An inline module (fields without `(module ...)`) is the whole file.
        let (start, end) = module_range(&ranges, module.span().offset()).unwrap_or((0, text.len()));
        let id = match &module {
            QuoteWat::Wat(Wat::Module(m)) => m.id.map(|id| format!("${} ", id.name())),
            _ => None,
        }
        .unwrap_or_default();
        let bytes = match module.encode() {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Fail(format!("line {}: wast cannot encode a module: {e}", line(start)));
            }
        };
        if let Err(why) = in_scope(&bytes) {
            // Outside the supported features: this module runs unchanged.
            kept.push(why);
            continue;
        }
        match round_trip(&bytes) {
            Ok(out) => {
                let keyword = if definition { "module definition" } else { "module" };
                replacements.push((start, end, format!("({keyword} {id}binary {})", binary_literal(&out))));
            }
            Err(e) => errors.push(format!("line {}: {e}", line(start))),
        }
        // Modules inside assertions and module definitions keep their SIMD form.
        if simd && !definition && top_level.last() == Some(&module.span().offset()) {
            match lower_without_simd(&bytes) {
                Ok(Some(lowered)) => {
                    let from = format!("scalar{}", fallback.len());
                    match adapter(&bytes, &from) {
                        Ok(adapter) => fallback.push((
                            start,
                            end,
                            format!(
                                "(module ${from} binary {})\n(register \"{from}\" ${from})\n(module {id}{adapter}",
                                binary_literal(&lowered),
                                adapter = adapter.trim_start_matches("(module")
                            ),
                        )),
                        Err(e) => errors.push(format!("line {}: adapter: {e}", line(start))),
                    }
                }
                Ok(None) => {
                    FALLBACK_REFUSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => errors.push(format!("line {}: lower-simd: {e}", line(start))),
            }
        }
    }
    if !errors.is_empty() {
        return Outcome::Fail(errors.join("\n"));
    }
    if replacements.is_empty() && !kept.is_empty() {
        return Outcome::OutOfScope(kept.swap_remove(0));
    }
    if let Err(e) = run_in_wasmtime(path, &splice(&text, replacements)) {
        return Outcome::Fail(format!("{e:?}"));
    }
    if !fallback.is_empty() {
        let lowered = fallback.len();
        if let Err(e) = run_in_wasmtime(path, &splice(&text, fallback)) {
            return Outcome::Fail(format!("through the scalar fallback: {e:?}"));
        }
        FALLBACK_MODULES.fetch_add(lowered, std::sync::atomic::Ordering::Relaxed);
    }
    Outcome::Pass(kept)
}

/// Modules that ran through the scalar fallback.
static FALLBACK_MODULES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Modules the fallback refuses (a v128 import or export has no scalar form).
static FALLBACK_REFUSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `text` with the ranges replaced (in order, not overlapping).
fn splice(text: &str, replacements: Vec<(usize, usize, String)>) -> String {
    let mut rewritten = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, replacement) in replacements {
        rewritten.push_str(&text[at..start]);
        rewritten.push_str(&replacement);
        at = end;
    }
    rewritten.push_str(&text[at..]);
    rewritten
}

fn run_in_wasmtime(path: &Path, wast: &str) -> wasmtime::Result<()> {
    let engine = wasmtime::Engine::new(&wasmir::run::wasmtime_config())?;
    let mut cx = wasmtime_wast::WastContext::new(&engine, wasmtime_wast::Async::No, |_| {});
    // Invalid and malformed modules must still fail; which words wasmtime uses is not ours.
    cx.ignore_error_messages(true);
    cx.register_spectest(&wasmtime_wast::SpectestConfig { use_shared_memory: true, suppress_prints: true })?;
    cx.run_wast(&path.display().to_string(), wast.as_bytes())
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = suite_dir();
    if !dir.is_dir() {
        eprintln!("**********************************************************************");
        eprintln!("WARNING: the spec test suite is not at {} (set WASMIR_TESTSUITE).", dir.display());
        eprintln!("WARNING: the conformance tests were SKIPPED.");
        eprintln!("**********************************************************************");
        return;
    }
    // The core suite, plus the proposals WasmIR imports beyond Wasm 3.0.
    let mut files: Vec<PathBuf> = [dir.clone(), dir.join("proposals/threads")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .filter(|p| filter.as_ref().is_none_or(|f| p.display().to_string().contains(f.as_str())))
        .collect();
    files.sort();
    let (mut passed, mut failed, mut excluded, mut partial) = (0, 0, Vec::new(), Vec::new());
    let mut unexpected: Vec<String> = Vec::new();
    for path in &files {
        let name = path.strip_prefix(&dir).unwrap_or(path).display().to_string();
        let expected_failure = EXPECTED_FAILURES.iter().find(|(f, _)| *f == name);
        match (run_file(path), expected_failure) {
            (Outcome::OutOfScope(why), _) => excluded.push(format!("{name}: {why}")),
            (Outcome::Pass(kept), None) => {
                passed += 1;
                match kept.first() {
                    None => println!("pass {name}"),
                    Some(why) => {
                        println!(
                            "pass {name} ({} modules outside the supported features ran unchanged: {why})",
                            kept.len()
                        );
                        partial.push(format!("{name}: {} modules ran unchanged ({why})", kept.len()));
                    }
                }
            }
            (Outcome::Pass(_), Some(_)) => {
                failed += 1;
                unexpected.push(format!("{name}: passes now; remove it from EXPECTED_FAILURES"));
            }
            (Outcome::Fail(e), Some((_, why))) => {
                passed += 1;
                println!("expected failure {name} ({why})");
                let _ = e;
            }
            (Outcome::Fail(e), None) => {
                failed += 1;
                println!("FAIL {name}");
                unexpected.push(format!("{name}:\n{}", e.lines().take(40).collect::<Vec<_>>().join("\n")));
            }
        }
    }
    println!("\npassed, with some modules outside the supported features run unchanged ({}):", partial.len());
    for p in &partial {
        println!("  {p}");
    }
    println!("\nout of scope: every module needs an unsupported feature ({}):", excluded.len());
    for e in &excluded {
        println!("  {e}");
    }
    for u in &unexpected {
        println!("\n---- {u}");
    }
    let lowered = FALLBACK_MODULES.load(std::sync::atomic::Ordering::Relaxed);
    let refused = FALLBACK_REFUSED.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "\nspec: {passed} passed, {failed} failed; {lowered} SIMD modules also ran through the scalar fallback \
         ({refused} refused by it: a v128 import or export has no scalar form)"
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
