//! The `wasmir-opt` driver as a library function, so tests can run it in-process.

use crate::{context, pass_registry};
use clap::{Parser, ValueEnum};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use wasmir_frontends::InputFormat;
use wasmir_ir::diagnostics::{check_expected, render};
use wasmir_ir::parser::{ParseOptions, parse_module};
use wasmir_ir::pass::PassManager;
use wasmir_ir::printer::{PrintOptions, print_module};
use wasmir_ir::{Context, Diagnostic, Location};

/// The driver's default nesting limit. Wasm allows any nesting and real modules (Go's
/// switches, for one) nest blocks thousands deep, so the text of any module the importer
/// accepts must parse back: its deepest blocks plus the module, the function and nested
/// attributes. `wasmir-opt` runs the driver on a 512 MiB stack, which holds this depth with
/// room to spare even in a debug build; the library's default (`ParseOptions`) stays at 1000
/// for ordinary 8 MiB stacks.
pub const DRIVER_MAX_NESTING: u32 = wasmir_frontends::MAX_BLOCK_NESTING as u32 + 64;

/// What to write.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// Textual IR in the custom (readable) form.
    Ir,
    /// Textual IR with every op in MLIR's generic form.
    Generic,
    /// A WebAssembly binary (validated before it is written).
    Wasm,
    /// WebAssembly text (the binary, printed by wasmprinter).
    Wat,
    /// Cranelift IR of every function, before Cranelift optimizes it.
    Clif,
    /// LLVM IR of the module, after LLVM's pipeline for the `-O` level.
    Llvm,
    /// A native relocatable object for the host (with `--backend=cranelift`).
    Obj,
    /// Where the bytes of the emitted `.wasm` go: per section and per function, largest
    /// first, with totals, shares and duplicated code (`--format=text|json`).
    SizeReport,
}

/// The presets of `--profile`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Quick to compile: `-O1`.
    Dev,
    /// `-O2`, then mono-merge.
    Release,
    /// `release`, with the functions laid out for streaming compilation.
    Streaming,
}

/// How `--emit=size-report` is written.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

const AFTER_HELP: &str = "\
Examples:
  wasmir-opt input.wir                          parse, verify and print in the custom form
  wasmir-opt input.wir --emit=generic           print every op in the generic form
  wasmir-opt input.wir --passes=canonicalize,cse,dce -o out.wir
  wasmir-opt input.wir --passes='canonicalize{max-iterations=3}' --print-ir-after-all
  wasmir-opt cases.wir --split-input-file --verify-diagnostics
  cat input.wir | wasmir-opt - --timing
  wasmir-opt fac.wat --run=fac --args=20 --backend=cranelift
  wasmir-opt input.wir --emit=obj --backend=cranelift -o input.o
  wasmir-opt input.wasm --passes=mono-merge --emit=size-report --format=json
  wasmir-opt input.wasm --profile=streaming --profile-use=calls.json --emit=wasm -o out.wasm

Exit status: 0 on success, 1 on any error in the input (diagnostics go to stderr), 2 when
the function given to --run traps.";

/// How to read the input.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormatArg {
    /// Textual WasmIR.
    Wir,
    /// WebAssembly text.
    Wat,
    /// A WebAssembly binary.
    Wasm,
}

/// Command-line options of `wasmir-opt`.
#[derive(Parser, Debug)]
#[command(name = "wasmir-opt", version, about = "Parse, verify, transform and print WasmIR", after_help = AFTER_HELP)]
pub struct Options {
    /// Input file (`-` or nothing for standard input).
    pub input: Option<String>,
    /// Output file (standard output by default).
    #[arg(short = 'o', long = "output")]
    pub output: Option<String>,
    /// What to write.
    #[arg(long, value_enum, default_value_t = Emit::Ir)]
    pub emit: Emit,
    /// How to write a report (`--emit=size-report`).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// How to read the input (by default from the file name: `.wasm`, `.wat`/`.wast`, else
    /// WasmIR; input starting with the Wasm magic bytes is always a binary).
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormatArg>,
    /// Pass pipeline, e.g. `canonicalize,cse` or `canonicalize{max-iterations=3}`.
    #[arg(long)]
    pub passes: Option<String>,
    /// Optimization level: `-O0` (none), `-O1`, `-O2`, `-O3`, `-Os` (pipelines in the README).
    /// The level's pipeline runs before `--passes`, and again after legalization when that
    /// rewrote Wasm-native ops; the LLVM backend also runs LLVM's pipeline of that level
    /// (`-O2` by default).
    #[arg(short = 'O', value_name = "LEVEL", value_parser = ["0", "1", "2", "3", "s"])]
    pub opt_level: Option<String>,
    /// A preset: `dev` (`-O1`), `release` (`-O2`, then mono-merge), `streaming` (release, then
    /// streaming-order: entry points and call-graph order first, cold code last). `-O`
    /// overrides the preset's level.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// A call-count profile (JSON: `{"function": count, ...}`) that orders hot functions first
    /// (runs streaming-order with it, last).
    #[arg(long, value_name = "FILE")]
    pub profile_use: Option<String>,
    /// Treat `// -----` lines as separators between independent inputs.
    #[arg(long)]
    pub split_input_file: bool,
    /// Check diagnostics against `// expected-error {{...}}` annotations instead of failing.
    #[arg(long)]
    pub verify_diagnostics: bool,
    /// Print the IR after every pass (to stderr).
    #[arg(long)]
    pub print_ir_after_all: bool,
    /// Print the IR after the named pass (repeatable).
    #[arg(long, value_name = "PASS")]
    pub print_ir_after: Vec<String>,
    /// Report wall time per phase and per pass (to stderr).
    #[arg(long)]
    pub timing: bool,
    /// Do not verify after parsing or between passes.
    #[arg(long)]
    pub no_verify: bool,
    /// Fully verify the IR imported from `.wasm` or `.wat` input. By default only op shapes
    /// are checked there: wasmparser has validated the input, and the importer's output is
    /// valid by construction (the test suite verifies it on every spec and wasm-smith module).
    /// Passes are verified after each run either way.
    #[arg(long)]
    pub verify_import: bool,
    /// Print `loc(...)` after every op.
    #[arg(long)]
    pub print_debuginfo: bool,
    /// List the registered passes and exit.
    #[arg(long)]
    pub list_passes: bool,
    /// List every rewrite rule with the invariants it cites, and exit (1 when a citation is
    /// missing or unknown).
    #[arg(long)]
    pub list_rewrites: bool,
    /// Log every rewrite a pass applies, with its rule and citations, as a remark.
    #[arg(long)]
    pub explain_rewrites: bool,
    /// List the registered ops and exit.
    #[arg(long)]
    pub list_ops: bool,
    /// Print the Markdown reference of a dialect's ops (generated from their declarations).
    #[arg(long, value_name = "DIALECT")]
    pub print_op_docs: Option<String>,
    /// Host profile and capability overrides, e.g. `browser`, `wasmtime,-simd,+threads`
    /// (profiles: browser, node, wasmtime, embedded). Legalizes the IR for it after the
    /// pipeline; `--emit=wasm|wat` legalizes for `wasmtime` when no target is given.
    #[arg(long)]
    pub target: Option<String>,
    /// Run the exported function FUNC in a fresh instance and print each result on its own
    /// line as `<type> <value>` (a trap prints `trap: <reason>` and exits with status 2).
    #[arg(long, value_name = "FUNC")]
    pub run: Option<String>,
    /// Arguments for `--run`, comma-separated: integers (wrapping), floats, `nan`, `inf`.
    #[arg(long, value_name = "A,B,...", allow_hyphen_values = true)]
    pub args: Option<String>,
    /// Where `--run` runs and what `--emit=obj` compiles with: wasmtime, cranelift or llvm.
    #[arg(long, default_value = "wasmtime")]
    pub backend: String,
    /// Deepest nesting of regions, attributes and types accepted.
    #[arg(long, default_value_t = DRIVER_MAX_NESTING)]
    pub max_nesting: u32,
}

/// Parses arguments and runs. Returns the exit status.
pub fn main_with_args(
    args: impl IntoIterator<Item = OsString>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let opts = match Options::try_parse_from(args) {
        Ok(o) => o,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            let _ =
                if code == 0 { stdout.write_all(text.as_bytes()) } else { stderr.write_all(text.as_bytes()) };
            return code;
        }
    };
    run(&opts, stdin, stdout, stderr)
}

/// Runs the driver with parsed options. Returns the exit status.
pub fn run(opts: &Options, stdin: &mut dyn Read, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    // A bad --target is a usage error, reported before any input is read.
    if let Some(Err(e)) = opts.target.as_deref().map(wasmir_lowering::Target::parse) {
        let _ = writeln!(stderr, "error: --target: {e}");
        return 2;
    }
    let ctx = context();
    ctx.set_explain_rewrites(opts.explain_rewrites);
    let registry = pass_registry();
    if opts.list_rewrites {
        let rules = crate::rewrite_rules(&ctx);
        let mut out = String::new();
        for rule in &rules {
            out.push_str(&format!("{:<32} [{}] {}\n", rule.name, rule.citations.join(", "), rule.identity));
        }
        let _ = stdout.write_all(out.as_bytes());
        let problems = wasmir_verifier::contracts::check_citations(&rules);
        for p in &problems {
            let _ = writeln!(stderr, "error: {p}");
        }
        return i32::from(!problems.is_empty());
    }
    if opts.list_passes {
        let mut out = String::new();
        for p in registry.passes() {
            out.push_str(&format!("{:<20} {}\n", p.name, p.summary));
            for o in p.options {
                out.push_str(&format!("    {}={:<10} {}\n", o.name, o.default, o.doc));
            }
        }
        return write_or_fail(stdout, stderr, &out);
    }
    if opts.list_ops {
        let mut out = String::new();
        for (_, def) in ctx.registry().ops() {
            out.push_str(&format!("{:<22} {}\n", def.name, def.summary));
        }
        return write_or_fail(stdout, stderr, &out);
    }
    if let Some(dialect) = &opts.print_op_docs {
        return match ctx.registry().dialect(dialect) {
            Some(d) => write_or_fail(stdout, stderr, &wasmir_ir::docs::dialect_reference(d)),
            None => {
                let known: Vec<_> = ctx.registry().dialects().map(|d| d.name).collect();
                fail(stderr, &format!("error: unknown dialect `{dialect}` (known: {})\n", known.join(", ")))
            }
        };
    }
    let (name, bytes) = match read_input(opts.input.as_deref(), stdin) {
        Ok(x) => x,
        Err(e) => return fail(stderr, &format!("error: {e}\n")),
    };
    let format = match opts.input_format {
        Some(InputFormatArg::Wir) => InputFormat::Wir,
        Some(InputFormatArg::Wat) => InputFormat::Wat,
        Some(InputFormatArg::Wasm) => InputFormat::Wasm,
        None => InputFormat::detect(&name, &bytes),
    };
    if format != InputFormat::Wir {
        return run_wasm_input(&ctx, opts, format, &name, bytes, stdout, stderr);
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return fail(
                stderr,
                &format!(
                    "error: {name}: input is not valid UTF-8 (at byte {})\n",
                    e.utf8_error().valid_up_to()
                ),
            );
        }
    };
    // Build the pipeline before reading IR so a bad pipeline fails fast.
    let passes_text = full_pipeline(opts);
    if let Err(e) = registry.parse_pipeline(&passes_text) {
        return fail(stderr, &format!("error: {e}\n"));
    }
    let whole = 0..text.len();
    let chunks = if opts.split_input_file { split_chunks(&text) } else { vec![whole] };
    let file = ctx.sources().add(name, text);
    let mut outputs = Vec::new();
    let mut failed = false;
    let mut trapped = false;
    let mut diagnostics_text = String::new();
    let mut timings: Vec<(String, Duration)> = Vec::new();
    for range in chunks {
        let parse_opts = ParseOptions { max_nesting: opts.max_nesting };
        let parse = |ctx: &Context| parse_module(ctx, file, range.clone(), &parse_opts);
        let outcome = process_chunk(&ctx, parse, opts, Verify::Full, &passes_text, &mut timings);
        if !outcome.dumps.is_empty() {
            diagnostics_text.push_str(&outcome.dumps);
        }
        if opts.verify_diagnostics {
            let mismatches = check_expected(&ctx, file, range, &outcome.diagnostics);
            if !mismatches.is_empty() {
                failed = true;
                diagnostics_text.push_str(&render(&ctx, &mismatches));
            }
        } else if !outcome.diagnostics.is_empty() {
            failed |= outcome.diagnostics.iter().any(Diagnostic::is_error);
            diagnostics_text.push_str(&render(&ctx, &outcome.diagnostics));
        }
        trapped |= outcome.trapped;
        if let Some(out) = outcome.output {
            outputs.push(out);
        }
    }
    let output = outputs.join(&b"// -----\n"[..]);
    let start = Instant::now();
    let write_result = match &opts.output {
        Some(path) if !failed || opts.verify_diagnostics => {
            std::fs::write(path, &output).map_err(|e| format!("cannot write `{path}`: {e}"))
        }
        Some(_) => Ok(()),
        None => stdout.write_all(&output).map_err(|e| format!("cannot write output: {e}")),
    };
    timings.push(("write".into(), start.elapsed()));
    let _ = stderr.write_all(diagnostics_text.as_bytes());
    if let Err(e) = write_result {
        return fail(stderr, &format!("error: {e}\n"));
    }
    if opts.timing {
        let _ = stderr.write_all(wasmir_ir::pass::timing_table(&timings).as_bytes());
    }
    exit_status(failed, trapped)
}

/// 1 for errors in the input, 2 when `--run`'s function trapped, 0 otherwise.
fn exit_status(failed: bool, trapped: bool) -> i32 {
    if failed {
        1
    } else if trapped {
        2
    } else {
        0
    }
}

struct ChunkOutcome {
    output: Option<Vec<u8>>,
    diagnostics: Vec<Diagnostic>,
    dumps: String,
    /// The function `--run` ran trapped.
    trapped: bool,
}

/// Reads a `.wasm` or `.wat` input and runs the same pipeline and output as for WasmIR.
fn run_wasm_input(
    ctx: &Context,
    opts: &Options,
    format: InputFormat,
    name: &str,
    bytes: Vec<u8>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    if opts.split_input_file || opts.verify_diagnostics {
        return fail(
            stderr,
            "error: --split-input-file and --verify-diagnostics apply to WasmIR input only\n",
        );
    }
    let passes_text = full_pipeline(opts);
    if let Err(e) = pass_registry().parse_pipeline(&passes_text) {
        return fail(stderr, &format!("error: {e}\n"));
    }
    let mut timings = Vec::new();
    let import = |ctx: &Context| match format {
        InputFormat::Wat => match std::str::from_utf8(&bytes) {
            Ok(text) => wasmir_frontends::import_wat(ctx, name, text),
            Err(e) => Err(Diagnostic::error(
                Location::Unknown,
                format!("{name}: WebAssembly text is not valid UTF-8 (at byte {})", e.valid_up_to()),
            )),
        },
        _ => wasmir_frontends::import_wasm(ctx, name, &bytes),
    };
    let verify = if opts.verify_import { Verify::Full } else { Verify::ShapesBeforeTransforms };
    let outcome = process_chunk(ctx, import, opts, verify, &passes_text, &mut timings);
    let _ = stderr.write_all(outcome.dumps.as_bytes());
    let _ = stderr.write_all(render(ctx, &outcome.diagnostics).as_bytes());
    let failed = outcome.diagnostics.iter().any(Diagnostic::is_error);
    if let Some(out) = outcome.output {
        let written = match &opts.output {
            Some(path) => std::fs::write(path, &out).map_err(|e| format!("cannot write `{path}`: {e}")),
            None => stdout.write_all(&out).map_err(|e| format!("cannot write output: {e}")),
        };
        if let Err(e) = written {
            return fail(stderr, &format!("error: {e}\n"));
        }
    }
    if opts.timing {
        let _ = stderr.write_all(wasmir_ir::pass::timing_table(&timings).as_bytes());
    }
    exit_status(failed, outcome.trapped)
}

/// How the IR is checked once it is read (unless `--no-verify`).
#[derive(Copy, Clone, PartialEq, Eq)]
enum Verify {
    /// The whole verifier: text a person wrote, or `--verify-import`.
    Full,
    /// Only the shapes passes and lowerings index by, and only when some run: IR the Wasm
    /// importer built from a module wasmparser validated.
    ShapesBeforeTransforms,
}

fn process_chunk(
    ctx: &Context,
    parse: impl FnOnce(&Context) -> Result<wasmir_ir::Module, Diagnostic>,
    opts: &Options,
    verify: Verify,
    passes_text: &str,
    timings: &mut Vec<(String, Duration)>,
) -> ChunkOutcome {
    let mut outcome =
        ChunkOutcome { output: None, diagnostics: Vec::new(), dumps: String::new(), trapped: false };
    let start = Instant::now();
    let parsed = parse(ctx);
    timings.push(("parse".into(), start.elapsed()));
    let mut module = match parsed {
        Ok(m) => m,
        Err(d) => {
            outcome.diagnostics.push(d);
            return outcome;
        }
    };
    if !opts.no_verify && verify == Verify::Full {
        let start = Instant::now();
        let errors = wasmir_verifier::verify_module(ctx, &module);
        timings.push(("verify".into(), start.elapsed()));
        if !errors.is_empty() {
            outcome.diagnostics = errors;
            return outcome;
        }
    }
    let print_opts = PrintOptions { generic: opts.emit == Emit::Generic, debug_info: opts.print_debuginfo };
    let passes = match pass_registry().parse_pipeline(passes_text) {
        Ok(p) => p,
        Err(e) => {
            outcome.diagnostics.push(Diagnostic::error(Location::Unknown, e));
            return outcome;
        }
    };
    // Passes and lowerings index ops by their declared shape: without the verifier, at least
    // that is checked before they run.
    let transforms = !passes.is_empty() || opts.target.is_some() || lowers(opts);
    if (opts.no_verify || verify == Verify::ShapesBeforeTransforms) && transforms {
        let start = Instant::now();
        let errors = wasmir_verifier::verify_shapes(ctx, &module);
        timings.push(("verify shapes".into(), start.elapsed()));
        if !errors.is_empty() {
            outcome.diagnostics = errors;
            return outcome;
        }
    }
    if !passes.is_empty() {
        let mut pm = PassManager::new(passes);
        pm.verify_with(if opts.no_verify { None } else { Some(wasmir_verifier::verify_module) })
            .print_after_all(opts.print_ir_after_all)
            .print_after(opts.print_ir_after.clone())
            .print_options(print_opts);
        match pm.run(ctx, &mut module) {
            Ok(report) => {
                outcome.dumps = report.dumps;
                timings.extend(report.timings);
                outcome.diagnostics = report.diagnostics;
            }
            Err((report, errors)) => {
                outcome.dumps = report.dumps;
                timings.extend(report.timings);
                outcome.diagnostics = errors;
                return outcome;
            }
        }
    }
    let backend = match crate::run::Backend::parse(&opts.backend) {
        Ok(b) => b,
        Err(e) => {
            outcome.diagnostics.push(Diagnostic::error(Location::Unknown, format!("--backend: {e}")));
            return outcome;
        }
    };
    if opts.target.is_some() || lowers(opts) {
        let start = Instant::now();
        let default_target = if opts.run.is_some()
            || matches!(opts.emit, Emit::Clif | Emit::Llvm | Emit::Obj)
            || backend == crate::run::Backend::LlvmWasm32
        {
            backend.target()
        } else {
            "wasmtime"
        };
        let target = match wasmir_lowering::Target::parse(opts.target.as_deref().unwrap_or(default_target)) {
            Ok(t) => t,
            Err(e) => {
                outcome.diagnostics.push(Diagnostic::error(Location::Unknown, format!("--target: {e}")));
                return outcome;
            }
        };
        let legalized = wasmir_lowering::legalize(ctx, &mut module, &target);
        timings.push(("legalize".into(), start.elapsed()));
        let rewritten = match legalized {
            Ok(rewritten) => rewritten,
            Err(errors) => {
                outcome.diagnostics = errors;
                return outcome;
            }
        };
        // Lowered regions and checks leave packing, unpacking and constant arithmetic that the
        // level's pipeline cleans up.
        let level = opt_level(opts).map(level_pipeline).unwrap_or_default();
        if rewritten && !level.is_empty() {
            let passes = pass_registry().parse_pipeline(level).expect("the built-in pipelines parse");
            let mut pm = PassManager::new(passes);
            pm.verify_with(if opts.no_verify { None } else { Some(wasmir_verifier::verify_module) });
            if let Err((_, errors)) = pm.run(ctx, &mut module) {
                outcome.diagnostics = errors;
                return outcome;
            }
        }
        if rewritten && !opts.no_verify {
            let errors = wasmir_verifier::verify_module(ctx, &module);
            if !errors.is_empty() {
                outcome.diagnostics = errors;
                outcome.diagnostics.insert(
                    0,
                    Diagnostic::error(Location::Unknown, "internal error: legalization produced invalid IR"),
                );
                return outcome;
            }
        }
    }
    let start = Instant::now();
    if let Some(func) = &opts.run {
        let ran = run_function(ctx, &module, func, opts.args.as_deref().unwrap_or(""), backend);
        timings.push(("run".into(), start.elapsed()));
        match ran {
            Ok(result) => {
                outcome.trapped = matches!(result, crate::run::Outcome::Trapped(_));
                outcome.output = Some(result.to_string().into_bytes());
            }
            Err(d) => outcome.diagnostics.push(d),
        }
        return outcome;
    }
    let output = match opts.emit {
        Emit::Wasm | Emit::Wat | Emit::Llvm | Emit::Obj if backend == crate::run::Backend::LlvmWasm32 => {
            emit_wasm32(ctx, &module, opts)
        }
        Emit::Ir | Emit::Generic => Ok(print_module(ctx, &module, print_opts).into_bytes()),
        Emit::Wasm => wasmir_lowering::emit_wasm(ctx, &module),
        Emit::SizeReport => wasmir_lowering::emit_wasm(ctx, &module)
            .and_then(|bytes| wasmir_lowering::size_report(&bytes))
            .map(|report| match opts.format {
                ReportFormat::Text => report.to_text().into_bytes(),
                ReportFormat::Json => report.to_json().into_bytes(),
            }),
        Emit::Wat => wasmir_lowering::emit_wat(ctx, &module).map(String::into_bytes),
        Emit::Clif => wasmir_lowering::cranelift::emit_clif(ctx, &module).map(String::into_bytes),
        #[cfg(feature = "llvm")]
        Emit::Llvm => {
            wasmir_lowering::llvm::emit_llvm_ir(ctx, &module, llvm_level(opts)).map(String::into_bytes)
        }
        #[cfg(not(feature = "llvm"))]
        Emit::Llvm => Err(crate::run::without_llvm()),
        Emit::Obj => match backend {
            crate::run::Backend::Cranelift => {
                wasmir_lowering::cranelift::emit_object(ctx, &module, Default::default())
            }
            #[cfg(feature = "llvm")]
            crate::run::Backend::Llvm => wasmir_lowering::llvm::emit_object(ctx, &module, llvm_level(opts)),
            #[cfg(not(feature = "llvm"))]
            crate::run::Backend::Llvm => Err(crate::run::without_llvm()),
            crate::run::Backend::Wasmtime | crate::run::Backend::LlvmWasm32 => Err(Diagnostic::error(
                Location::Unknown,
                "--emit=obj needs a native backend: --backend=cranelift, llvm or llvm-wasm32",
            )),
        },
    };
    timings.push(("output".into(), start.elapsed()));
    match output {
        Ok(bytes) => outcome.output = Some(bytes),
        Err(d) => outcome.diagnostics.push(d),
    }
    outcome
}

/// `--backend=llvm-wasm32` output: LLVM IR, a wasm32 object, or the linked `.wasm` (or its text).
fn emit_wasm32(ctx: &Context, module: &wasmir_ir::Module, opts: &Options) -> Result<Vec<u8>, Diagnostic> {
    #[cfg(feature = "llvm")]
    {
        use wasmir_lowering::llvm::Wasm32Output;
        let output = match opts.emit {
            Emit::Llvm => Wasm32Output::LlvmIr,
            Emit::Obj => Wasm32Output::Object,
            _ => Wasm32Output::Wasm,
        };
        let bytes = wasmir_lowering::llvm::emit_wasm32(ctx, module, llvm_level(opts), output)?;
        if opts.emit == Emit::Wat {
            wasmir_lowering::print_wat(&bytes).map(String::into_bytes)
        } else {
            Ok(bytes)
        }
    }
    #[cfg(not(feature = "llvm"))]
    {
        let _ = (ctx, module, opts);
        Err(crate::run::without_llvm())
    }
}

/// LLVM's optimization level for the `-O` level (`-O2` when none is given).
#[cfg(feature = "llvm")]
fn llvm_level(opts: &Options) -> wasmir_lowering::llvm::LlvmOptLevel {
    opt_level(opts).and_then(wasmir_lowering::llvm::LlvmOptLevel::parse).unwrap_or_default()
}

/// Whether the output needs the module lowered (legalized for a target first).
fn lowers(opts: &Options) -> bool {
    opts.run.is_some()
        || matches!(
            opts.emit,
            Emit::Wasm | Emit::Wat | Emit::Clif | Emit::Llvm | Emit::Obj | Emit::SizeReport
        )
}

/// `--run`: parses the arguments by the export's parameter types and runs it.
fn run_function(
    ctx: &Context,
    module: &wasmir_ir::Module,
    func: &str,
    args: &str,
    backend: crate::run::Backend,
) -> Result<crate::run::Outcome, Diagnostic> {
    let (params, _) = crate::run::export_signature(ctx, module, func)?;
    let texts: Vec<&str> = if args.trim().is_empty() { Vec::new() } else { args.split(',').collect() };
    if texts.len() != params.len() {
        return Err(Diagnostic::error(
            Location::Unknown,
            format!("--args: \"{func}\" takes {} arguments, {} given", params.len(), texts.len()),
        ));
    }
    let bits = texts
        .iter()
        .zip(&params)
        .enumerate()
        .map(|(i, (t, &k))| {
            crate::run::parse_arg_slots(t, k)
                .map_err(|e| Diagnostic::error(Location::Unknown, format!("--args: argument {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    crate::run::run(ctx, module, func, &bits, backend)
}

/// The pipeline of an optimization level.
pub fn level_pipeline(level: &str) -> &'static str {
    match level {
        "1" => "canonicalize,cse,dce",
        "2" | "3" => "canonicalize,directize,egraph-simplify,canonicalize,cse,bce,dce,symbol-dce",
        "s" => "canonicalize,directize,egraph-simplify,canonicalize,cse,bce,dce,symbol-dce,mono-merge",
        _ => "",
    }
}

/// The optimization level: `-O`'s, else the `--profile` preset's.
fn opt_level(opts: &Options) -> Option<&str> {
    opts.opt_level.as_deref().or(match opts.profile {
        Some(Profile::Dev) => Some("1"),
        Some(Profile::Release | Profile::Streaming) => Some("2"),
        None => None,
    })
}

/// The level's pipeline, the preset's merging, `--passes`, then the streaming layout (last, so
/// it orders every function the passes before it leave).
fn full_pipeline(opts: &Options) -> String {
    let level = opt_level(opts);
    let mut parts: Vec<String> = vec![level.map(level_pipeline).unwrap_or_default().to_string()];
    let merges = matches!(opts.profile, Some(Profile::Release | Profile::Streaming));
    if merges && level != Some("s") {
        parts.push("mono-merge".into());
    }
    parts.push(opts.passes.clone().unwrap_or_default());
    match &opts.profile_use {
        Some(file) => parts.push(format!("streaming-order{{profile={file}}}")),
        None if opts.profile == Some(Profile::Streaming) => parts.push("streaming-order".into()),
        None => {}
    }
    parts.retain(|p| !p.is_empty());
    parts.join(",")
}

/// Byte ranges of the chunks between `// -----` separator lines.
pub fn split_chunks(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == "// -----" {
            chunks.push(start..at);
            start = at + line.len();
        }
        at += line.len();
    }
    chunks.push(start..text.len());
    chunks
}

fn read_input(path: Option<&str>, stdin: &mut dyn Read) -> Result<(String, Vec<u8>), String> {
    match path {
        None | Some("-") => {
            let mut bytes = Vec::new();
            stdin.read_to_end(&mut bytes).map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(("<stdin>".into(), bytes))
        }
        Some(p) => {
            std::fs::read(p).map(|b| (p.to_string(), b)).map_err(|e| format!("cannot read `{p}`: {e}"))
        }
    }
}

fn fail(stderr: &mut dyn Write, msg: &str) -> i32 {
    let _ = stderr.write_all(msg.as_bytes());
    1
}

fn write_or_fail(stdout: &mut dyn Write, stderr: &mut dyn Write, text: &str) -> i32 {
    match stdout.write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(e) => fail(stderr, &format!("error: cannot write output: {e}\n")),
    }
}
