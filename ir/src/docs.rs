//! Reference documentation generated from the op declarations, so that docs, parser, printer
//! and verifier all come from the one `OpDef` of each op.

use crate::registry::{DialectDef, OpDef, Syntax};

/// The Markdown reference of every op of a dialect.
pub fn dialect_reference(dialect: &DialectDef) -> String {
    let mut out = String::new();
    for op in dialect.ops {
        op_reference(&mut out, op);
    }
    out
}

fn list<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    if items.is_empty() { "none".to_string() } else { items.iter().map(show).collect::<Vec<_>>().join("; ") }
}

fn op_reference(out: &mut String, op: &OpDef) {
    out.push_str(&format!("### `{}`: {}\n\n", op.name, op.summary));
    if !op.description.is_empty() {
        out.push_str(op.description);
        out.push_str("\n\n");
    }
    let value = |s: &crate::registry::ValueSpec| {
        format!("`{}`{}: {}", s.name, if s.variadic { " (variadic)" } else { "" }, s.ty.describe(None))
    };
    out.push_str("| | |\n|---|---|\n");
    out.push_str(&format!("| Operands | {} |\n", list(op.operands, value)));
    out.push_str(&format!("| Results | {} |\n", list(op.results, value)));
    out.push_str(&format!(
        "| Attributes | {} |\n",
        list(op.attrs, |a| format!(
            "`{}`{}: {}",
            a.name,
            if a.optional { " (optional)" } else { "" },
            a.kind.describe()
        ))
    ));
    out.push_str(&format!(
        "| Regions | {} |\n",
        list(op.regions, |r| format!("`{}`{}", r.name, if r.may_be_empty { " (may be empty)" } else { "" }))
    ));
    let traits = op.traits.names();
    out.push_str(&format!(
        "| Traits | {} |\n",
        if traits.is_empty() { "none".into() } else { traits.join(", ") }
    ));
    let syntax = match op.syntax {
        Syntax::Generic => "generic only",
        Syntax::Format(_) => "declarative format",
        Syntax::Custom { .. } => "custom parser and printer",
    };
    out.push_str(&format!("| Custom form | {syntax} |\n"));
    out.push_str(&format!("| Folder | {} |\n", if op.fold.is_some() { "yes" } else { "no" }));
    out.push_str(&format!("| Verifier hook | {} |\n", if op.verify.is_some() { "yes" } else { "no" }));
    out.push_str(&format!(
        "| Canonicalization patterns | {} |\n\n",
        list(op.patterns, |p| format!("`{}` ({})", p.name, p.identity))
    ));
    if !op.example.is_empty() {
        out.push_str("```wir\n");
        out.push_str(op.example);
        out.push_str("\n```\n\n");
    }
}
