//! The pass manager: module and function passes registered by name with options, textual
//! pipelines, verification between passes, IR dumps and timing. Function passes run in
//! parallel over the functions of a module (rayon); results are collected in function order,
//! so output and diagnostics stay deterministic.

use crate::printer::{PrintOptions, print_module};
use crate::registry::Traits;
use crate::{Attr, Body, Context, Diagnostic, Location, Module, Op};
use indexmap::IndexMap;
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// A pass over a whole module.
pub trait ModulePass: Send + Sync {
    /// Transforms the module and returns what it has to say: any error stops the pipeline,
    /// warnings and remarks go to the user.
    fn run(&self, ctx: &Context, module: &mut Module) -> Vec<Diagnostic>;
}

/// A pass over one function body at a time. It may not look at other functions, which is
/// what lets the manager run it on all functions at once.
pub trait FunctionPass: Send + Sync {
    /// Transforms one function and returns what it has to say: any error stops the pipeline,
    /// warnings and remarks go to the user.
    fn run(&self, ctx: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic>;
}

/// What a function pass sees: the function op's name and attributes, and its body.
#[derive(Debug)]
pub struct FunctionUnit<'a> {
    pub name: String,
    pub attrs: Attr,
    pub loc: Location,
    pub body: &'a mut Body,
}

/// A constructed pass.
pub enum PassImpl {
    Module(Box<dyn ModulePass>),
    Function(Box<dyn FunctionPass>),
}

impl std::fmt::Debug for PassImpl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PassImpl::Module(_) => "ModulePass",
            PassImpl::Function(_) => "FunctionPass",
        })
    }
}

/// One option a pass accepts: `name=value` inside `pass{...}`.
#[derive(Copy, Clone, Debug)]
pub struct PassOptionSpec {
    pub name: &'static str,
    pub doc: &'static str,
    pub default: &'static str,
}

/// Option values given to a pass, defaults filled in.
#[derive(Clone, Debug, Default)]
pub struct PassOptions {
    values: IndexMap<String, String>,
}

impl PassOptions {
    /// The raw value of an option.
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }
    /// An unsigned option.
    pub fn get_u32(&self, name: &str) -> Result<u32, String> {
        self.get(name)
            .parse()
            .map_err(|_| format!("option `{name}` expects an unsigned integer, got `{}`", self.get(name)))
    }
    /// A boolean option (`true`/`false`/`1`/`0`).
    pub fn get_bool(&self, name: &str) -> Result<bool, String> {
        match self.get(name) {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(format!("option `{name}` expects true or false, got `{other}`")),
        }
    }
}

/// A registered pass.
#[derive(Copy, Clone, Debug)]
pub struct PassInfo {
    /// The flag name, as in `--passes=NAME`.
    pub name: &'static str,
    pub summary: &'static str,
    pub options: &'static [PassOptionSpec],
    /// Builds the pass from its options; an error message for bad option values.
    pub create: fn(&PassOptions) -> Result<PassImpl, String>,
}

/// All passes the driver knows, by name.
#[derive(Default, Debug)]
pub struct PassRegistry {
    passes: IndexMap<&'static str, PassInfo>,
}

impl PassRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    /// Registers a pass.
    pub fn register(&mut self, info: PassInfo) -> &mut Self {
        self.passes.insert(info.name, info);
        self
    }
    /// All passes, sorted by name.
    pub fn passes(&self) -> Vec<&PassInfo> {
        let mut v: Vec<_> = self.passes.values().collect();
        v.sort_by_key(|p| p.name);
        v
    }
    /// The pass named `name`.
    pub fn get(&self, name: &str) -> Option<&PassInfo> {
        self.passes.get(name)
    }

    /// Parses a pipeline such as `canonicalize{max-iterations=3},cse,dce`.
    pub fn parse_pipeline(&self, text: &str) -> Result<Vec<(&'static str, PassImpl)>, String> {
        let mut out = Vec::new();
        for item in split_top_level(text)? {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (name, opts) = match item.find('{') {
                Some(i) => {
                    let inner = item[i + 1..]
                        .strip_suffix('}')
                        .ok_or_else(|| format!("`{item}`: options must end with `}}`"))?;
                    (item[..i].trim(), inner)
                }
                None => (item, ""),
            };
            let info = self.get(name).ok_or_else(|| {
                let known: Vec<_> = self.passes().iter().map(|p| p.name).collect();
                format!("unknown pass `{name}` (known passes: {})", known.join(", "))
            })?;
            let mut values: IndexMap<String, String> =
                info.options.iter().map(|o| (o.name.to_string(), o.default.to_string())).collect();
            for kv in opts.split_whitespace() {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("pass `{name}`: option `{kv}` must be `name=value`"))?;
                if !values.contains_key(k) {
                    let known: Vec<_> = info.options.iter().map(|o| o.name).collect();
                    return Err(format!("pass `{name}` has no option `{k}` (options: {})", known.join(", ")));
                }
                values.insert(k.to_string(), v.to_string());
            }
            let pass = (info.create)(&PassOptions { values }).map_err(|e| format!("pass `{name}`: {e}"))?;
            out.push((info.name, pass));
        }
        Ok(out)
    }
}

fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced `}}` in pipeline `{text}`"));
                }
            }
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced `{{` in pipeline `{text}`"));
    }
    items.push(&text[start..]);
    Ok(items)
}

/// Checks a module between passes; returns every error found.
pub type VerifyHook = fn(&Context, &Module) -> Vec<Diagnostic>;

/// What the manager records while it runs.
#[derive(Debug, Default)]
pub struct PassReport {
    /// Wall time per pass (and per verifier run), in pipeline order.
    pub timings: Vec<(String, Duration)>,
    /// IR dumps requested by `print_after*`.
    pub dumps: String,
    /// Warnings and remarks the passes emitted, in pipeline and function order.
    pub diagnostics: Vec<Diagnostic>,
}

/// A timing report in the shape of MLIR's `--mlir-timing`: one row per phase, with its share.
pub fn timing_table(rows: &[(String, Duration)]) -> String {
    let total: Duration = rows.iter().map(|r| r.1).sum();
    let total_s = total.as_secs_f64().max(1e-12);
    let mut out = String::new();
    out.push_str("===-------------------------------------------------------------------------===\n");
    out.push_str("                         ... Execution time report ...\n");
    out.push_str("===-------------------------------------------------------------------------===\n");
    out.push_str(&format!("  Total Execution Time: {:.4} seconds\n\n", total.as_secs_f64()));
    out.push_str("  ----Wall Time----  ----Name----\n");
    for (name, d) in rows {
        let s = d.as_secs_f64();
        out.push_str(&format!("  {s:>8.4} ({:>5.1}%)  {name}\n", 100.0 * s / total_s));
    }
    out.push_str(&format!("  {:>8.4} (100.0%)  Total\n", total.as_secs_f64()));
    out
}

/// Runs a pipeline of passes over a module.
#[derive(Debug, Default)]
pub struct PassManager {
    passes: Vec<(&'static str, PassImpl)>,
    verify: Option<VerifyHook>,
    print_after_all: bool,
    print_after: Vec<String>,
    print_options: PrintOptions,
}

impl PassManager {
    /// A manager running `passes` in order.
    pub fn new(passes: Vec<(&'static str, PassImpl)>) -> Self {
        Self { passes, ..Self::default() }
    }
    /// Verifies the module after every pass with `hook` (`None` turns verification off).
    pub fn verify_with(&mut self, hook: Option<VerifyHook>) -> &mut Self {
        self.verify = hook;
        self
    }
    /// Dumps the IR after every pass.
    pub fn print_after_all(&mut self, on: bool) -> &mut Self {
        self.print_after_all = on;
        self
    }
    /// Dumps the IR after each pass named in `names`.
    pub fn print_after(&mut self, names: Vec<String>) -> &mut Self {
        self.print_after = names;
        self
    }
    /// How dumps are printed.
    pub fn print_options(&mut self, opts: PrintOptions) -> &mut Self {
        self.print_options = opts;
        self
    }

    /// Runs every pass. Stops at the first pass (or verification) that reports errors.
    pub fn run(
        &self,
        ctx: &Context,
        module: &mut Module,
    ) -> Result<PassReport, (PassReport, Vec<Diagnostic>)> {
        let mut report = PassReport::default();
        for (name, pass) in &self.passes {
            let start = Instant::now();
            let diagnostics = match pass {
                PassImpl::Module(p) => p.run(ctx, module),
                PassImpl::Function(p) => run_function_pass(ctx, module.body_mut(), p.as_ref()),
            };
            report.timings.push(((*name).to_string(), start.elapsed()));
            if diagnostics.iter().any(Diagnostic::is_error) {
                return Err((report, diagnostics));
            }
            report.diagnostics.extend(diagnostics);
            if let Some(verify) = self.verify {
                let start = Instant::now();
                let errors = verify(ctx, module);
                report.timings.push((format!("(verify after {name})"), start.elapsed()));
                if !errors.is_empty() {
                    let errors = errors
                        .into_iter()
                        .map(|e| {
                            e.with_note(
                                Location::Unknown,
                                format!("the IR became invalid after pass `{name}`"),
                            )
                        })
                        .collect();
                    return Err((report, errors));
                }
            }
            if self.print_after_all || self.print_after.iter().any(|n| n == name) {
                report.dumps.push_str(&format!("// -----// IR Dump After {name} //----- //\n"));
                report.dumps.push_str(&print_module(ctx, module, self.print_options));
            }
        }
        Ok(report)
    }
}

/// Runs `pass` on every function-like op of `body` and, recursively, of nested symbol tables,
/// all functions of one body in parallel. Returns the diagnostics in function order.
pub fn run_function_pass(ctx: &Context, body: &mut Body, pass: &dyn FunctionPass) -> Vec<Diagnostic> {
    let info: crate::FxHashMap<Op, (Traits, String, Attr, Location)> = body
        .preorder()
        .into_iter()
        .filter(|&op| body.child(op).is_some())
        .map(|op| {
            let def = ctx.op_def(body.op_kind(op));
            let name = crate::symbol_name(ctx, body, op).unwrap_or_default().to_string();
            (op, (def.traits, name, body.op_attrs(op), body.op_loc(op)))
        })
        .collect();
    let children = body.isolated_children_mut();
    let results: Vec<Vec<Diagnostic>> = children
        .into_par_iter()
        .map(|(op, child)| {
            let Some((traits, name, attrs, loc)) = info.get(&op) else {
                return Vec::new();
            };
            if traits.contains(Traits::FUNCTION_LIKE) {
                let mut unit = FunctionUnit { name: name.clone(), attrs: *attrs, loc: *loc, body: child };
                pass.run(ctx, &mut unit)
            } else if traits.contains(Traits::SYMBOL_TABLE) {
                run_function_pass(ctx, child, pass)
            } else {
                Vec::new()
            }
        })
        .collect();
    results.into_iter().flatten().collect()
}
