//! Diagnostics: errors, warnings and notes with locations, rendered rustc-style (source line and
//! caret) through codespan-reporting, and the `--verify-diagnostics` expectation checker.

use crate::{Context, FileId, Location, SourceFile};
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, Chars, Config};
use std::ops::Range;
use std::sync::Arc;

/// How serious a diagnostic is.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
    Remark,
}

impl Severity {
    /// The word used in rendered output and in `expected-<word>` annotations.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
            Severity::Remark => "remark",
        }
    }
}

/// One message about the input, with where it applies and attached notes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    pub loc: Location,
    pub message: String,
    pub notes: Vec<Diagnostic>,
}

impl Diagnostic {
    /// An error at `loc`.
    pub fn error(loc: Location, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, loc, message: message.into(), notes: Vec::new() }
    }
    /// A warning at `loc`.
    pub fn warning(loc: Location, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, loc, message: message.into(), notes: Vec::new() }
    }
    /// A remark at `loc`: information the user asked for, such as an applied rewrite.
    pub fn remark(loc: Location, message: impl Into<String>) -> Self {
        Self { severity: Severity::Remark, loc, message: message.into(), notes: Vec::new() }
    }
    /// Attaches a note.
    pub fn with_note(mut self, loc: Location, message: impl Into<String>) -> Self {
        self.notes.push(Diagnostic {
            severity: Severity::Note,
            loc,
            message: message.into(),
            notes: Vec::new(),
        });
        self
    }
    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.severity.word(), self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// `file:line:col` (or `file@offset`) of a location, if it has one.
pub fn location_prefix(ctx: &Context, loc: Location) -> Option<String> {
    match loc {
        Location::Unknown => None,
        Location::Span { file, start, .. } => {
            let f = ctx.sources().get(file)?;
            let (line, col) = f.line_col(start);
            Some(format!("{}:{line}:{col}", f.name))
        }
        Location::Offset { file, offset } => {
            let f = ctx.sources().get(file)?;
            Some(format!("{}@0x{offset:x}", f.name))
        }
        Location::LineCol { file, line, col } => Some(format!("{}:{line}:{col}", ctx.ident_str(file))),
    }
}

/// The 1-based line of a location in `file`, if it points into that file.
pub fn line_in(ctx: &Context, loc: Location, file: FileId) -> Option<u32> {
    match loc {
        Location::Span { file: f, start, .. } if f == file => Some(ctx.sources().get(f)?.line_col(start).0),
        _ => None,
    }
}

struct SourceFiles<'a>(&'a Context);

struct SourceText(Arc<SourceFile>);

impl AsRef<str> for SourceText {
    fn as_ref(&self) -> &str {
        &self.0.text
    }
}

impl<'a> Files<'a> for SourceFiles<'_> {
    type FileId = FileId;
    type Name = String;
    type Source = SourceText;

    fn name(&'a self, id: FileId) -> Result<String, FilesError> {
        Ok(self.0.sources().get(id).ok_or(FilesError::FileMissing)?.name.clone())
    }
    fn source(&'a self, id: FileId) -> Result<SourceText, FilesError> {
        Ok(SourceText(self.0.sources().get(id).ok_or(FilesError::FileMissing)?))
    }
    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let f = self.0.sources().get(id).ok_or(FilesError::FileMissing)?;
        Ok(f.line_starts().partition_point(|&s| s as usize <= byte_index).saturating_sub(1))
    }
    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let f = self.0.sources().get(id).ok_or(FilesError::FileMissing)?;
        let starts = f.line_starts();
        let start = *starts
            .get(line_index)
            .ok_or(FilesError::LineTooLarge { given: line_index, max: starts.len() - 1 })?;
        let end = starts.get(line_index + 1).map_or(f.text.len(), |&e| e as usize);
        Ok(start as usize..end)
    }
}

fn to_codespan(ctx: &Context, d: &Diagnostic) -> CsDiagnostic<FileId> {
    let base = match d.severity {
        Severity::Error => CsDiagnostic::error(),
        Severity::Warning => CsDiagnostic::warning(),
        Severity::Note => CsDiagnostic::note(),
        Severity::Remark => CsDiagnostic::help(),
    };
    let mut labels = Vec::new();
    let mut notes = Vec::new();
    let mut message = d.message.clone();
    let mut label_for = |loc: Location, message: String, primary: bool| match loc {
        Location::Span { file, start, .. } if line_is_too_long(ctx, file, start) => false,
        Location::Span { file, start, end } => {
            let source = ctx.sources().get(file);
            let text = source.as_ref().map_or("", |f| f.text.as_str());
            let start = (start as usize).min(text.len());
            let mut end = (end as usize).clamp(start, text.len());
            // An empty span is widened to one character, unless that character ends the line
            // (a label spanning a newline would render as a multi-line label).
            if end == start
                && let Some(c) = text[start..].chars().next().filter(|&c| c != '\n')
            {
                end = start + c.len_utf8();
            }
            while !text.is_char_boundary(end) {
                end += 1;
            }
            let label =
                if primary { Label::primary(file, start..end) } else { Label::secondary(file, start..end) };
            labels.push(label.with_message(message));
            true
        }
        _ => false,
    };
    if !label_for(d.loc, String::new(), true)
        && let Some(prefix) = location_prefix(ctx, d.loc)
    {
        message = format!("{message}\n --> {prefix}");
    }
    for n in &d.notes {
        if !label_for(n.loc, n.message.clone(), false) {
            notes.push(match location_prefix(ctx, n.loc) {
                Some(p) => format!("{}: {} ({p})", n.severity.word(), n.message),
                None => format!("{}: {}", n.severity.word(), n.message),
            });
        }
    }
    base.with_message(message).with_labels(labels).with_notes(notes)
}

/// Source lines longer than this are not echoed in a diagnostic: the location alone is shown.
const MAX_SNIPPET_LINE: usize = 1000;

fn line_is_too_long(ctx: &Context, file: FileId, offset: u32) -> bool {
    let Some(f) = ctx.sources().get(file) else { return true };
    let starts = f.line_starts();
    let line = starts.partition_point(|&s| s <= offset).saturating_sub(1);
    let start = starts[line] as usize;
    let end = starts.get(line + 1).map_or(f.text.len(), |&e| e as usize);
    end - start > MAX_SNIPPET_LINE
}

/// Renders diagnostics as text: message, `--> file:line:col`, the source line and a caret.
pub fn render(ctx: &Context, diags: &[Diagnostic]) -> String {
    let config = Config { chars: Chars::ascii(), ..Config::default() };
    let files = SourceFiles(ctx);
    let mut out = String::new();
    for d in diags {
        match term::emit_into_string(&config, &files, &to_codespan(ctx, d)) {
            Ok(s) => out.push_str(&s),
            Err(_) => {
                out.push_str(&d.to_string());
                out.push('\n');
            }
        }
    }
    out
}

/// One `// expected-<severity> @<where> {{text}}` annotation.
#[derive(Clone, Debug)]
struct Expectation {
    severity: Severity,
    target_line: u32,
    text: String,
    /// Where the annotation itself is, for reporting an unmet expectation.
    loc: Location,
    matched: bool,
}

/// Reads the expectations in `range` of `file`. Malformed annotations are errors.
fn parse_expectations(
    ctx: &Context,
    file: FileId,
    range: Range<usize>,
) -> (Vec<Expectation>, Vec<Diagnostic>) {
    let Some(src) = ctx.sources().get(file) else { return (Vec::new(), Vec::new()) };
    let mut expectations = Vec::new();
    let mut errors = Vec::new();
    let text = &src.text[range.clone()];
    let mut line_start = range.start;
    // Lines that are not annotation-only lines; `@above`/`@below` skip annotation lines.
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .map(|l| {
            let s = line_start;
            line_start += l.len();
            (s, l)
        })
        .collect();
    let is_annotation_only = |l: &str| l.trim_start().starts_with("//") && l.contains("expected-");
    for (idx, &(start, line)) in lines.iter().enumerate() {
        let mut search = 0;
        while let Some(pos) = line[search..].find("expected-") {
            let at = search + pos;
            search = at + 1;
            let rest = &line[at + "expected-".len()..];
            let (severity, rest) =
                match ["error", "warning", "note", "remark"].iter().find(|w| rest.starts_with(**w)) {
                    Some(&w) => (
                        match w {
                            "error" => Severity::Error,
                            "warning" => Severity::Warning,
                            "note" => Severity::Note,
                            _ => Severity::Remark,
                        },
                        &rest[w.len()..],
                    ),
                    None => continue,
                };
            let loc = Location::Span { file, start: (start + at) as u32, end: (start + at + 9) as u32 };
            let this_line = src.line_col((start + at) as u32).0;
            let rest = rest.trim_start();
            let (target, rest) = if let Some(r) = rest.strip_prefix('@') {
                let end = r.find(|c: char| c.is_whitespace() || c == '{').unwrap_or(r.len());
                let spec = &r[..end];
                let target = match spec {
                    "above" => (0..idx)
                        .rev()
                        .find(|&i| !is_annotation_only(lines[i].1))
                        .map(|i| src.line_col(lines[i].0 as u32).0),
                    "below" => (idx + 1..lines.len())
                        .find(|&i| !is_annotation_only(lines[i].1))
                        .map(|i| src.line_col(lines[i].0 as u32).0),
                    _ => spec
                        .parse::<i64>()
                        .ok()
                        .map(|d| i64::from(this_line) + d)
                        .filter(|&l| l >= 1)
                        .map(|l| l as u32),
                };
                match target {
                    Some(t) => (t, r[end..].trim_start()),
                    None => {
                        errors.push(Diagnostic::error(loc, format!("bad line offset `@{spec}`")));
                        continue;
                    }
                }
            } else {
                (this_line, rest)
            };
            let Some(body) = rest.strip_prefix("{{") else {
                errors.push(Diagnostic::error(loc, "expected `{{` after the expectation"));
                continue;
            };
            let Some(close) = body.find("}}") else {
                errors.push(Diagnostic::error(loc, "expected `}}` closing the expectation"));
                continue;
            };
            expectations.push(Expectation {
                severity,
                target_line: target,
                text: body[..close].to_string(),
                loc,
                matched: false,
            });
        }
    }
    (expectations, errors)
}

/// Checks emitted diagnostics against the annotations in `range` of `file`, MLIR's
/// `-verify-diagnostics`. Returns the mismatches as errors (empty means success): every
/// emitted diagnostic must be expected, and every expectation must be met.
pub fn check_expected(
    ctx: &Context,
    file: FileId,
    range: Range<usize>,
    emitted: &[Diagnostic],
) -> Vec<Diagnostic> {
    let (mut expectations, mut errors) = parse_expectations(ctx, file, range);
    let mut flat: Vec<&Diagnostic> = Vec::new();
    for d in emitted {
        flat.push(d);
        flat.extend(d.notes.iter());
    }
    for d in flat {
        let line = line_in(ctx, d.loc, file);
        let found = expectations.iter_mut().find(|e| {
            !e.matched
                && e.severity == d.severity
                && Some(e.target_line) == line
                && d.message.contains(&e.text)
        });
        match found {
            Some(e) => e.matched = true,
            // Notes without their own expectation are tolerated, as in MLIR.
            None if d.severity == Severity::Note => {}
            None => errors
                .push(Diagnostic::error(d.loc, format!("unexpected {}: {}", d.severity.word(), d.message))),
        }
    }
    for e in expectations.iter().filter(|e| !e.matched) {
        errors.push(Diagnostic::error(
            e.loc,
            format!("expected {} \"{}\" was not produced", e.severity.word(), e.text),
        ));
    }
    errors
}
