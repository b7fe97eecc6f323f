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
    let mut kept: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let line = |offset: usize| text[..offset].lines().count() + 1;
    for directive in wast.directives {
        let (mut module, definition) = match directive {
            WastDirective::Module(m) => (m, false),
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
    }
    if !errors.is_empty() {
        return Outcome::Fail(errors.join("\n"));
    }
    if replacements.is_empty() && !kept.is_empty() {
        return Outcome::OutOfScope(kept.swap_remove(0));
    }
    let mut rewritten = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, replacement) in replacements {
        rewritten.push_str(&text[at..start]);
        rewritten.push_str(&replacement);
        at = end;
    }
    rewritten.push_str(&text[at..]);
    match run_in_wasmtime(path, &rewritten) {
        Ok(()) => Outcome::Pass(kept),
        Err(e) => Outcome::Fail(format!("{e:?}")),
    }
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
    println!("\nspec: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
