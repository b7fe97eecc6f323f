//! Every rewrite rule of the dialects and of this crate's passes, with the invariants each
//! cites, for `--list-rewrites` and the contract verifier.

use wasmir_ir::Context;
use wasmir_ir::registry::RewriteRule;

/// What every dialect's folder does, as `--list-rewrites` and `--explain-rewrites` say it.
pub(crate) const FOLD_IDENTITY: &str = "constant folding with the dialect's exact semantics";

/// The rules of the registered dialects (their folders and canonicalization patterns) and of
/// the rewrite passes, in a stable order.
pub fn registered_rules(ctx: &Context) -> Vec<RewriteRule> {
    let mut rules = Vec::new();
    for dialect in ctx.registry().dialects() {
        if dialect.ops.iter().any(|op| op.fold.is_some()) {
            rules.push(RewriteRule {
                name: format!("{}.fold", dialect.name),
                identity: FOLD_IDENTITY,
                citations: dialect.fold_citations,
            });
        }
        let mut seen: Vec<&str> = Vec::new();
        for op in dialect.ops {
            for pattern in op.patterns {
                if seen.contains(&pattern.name) {
                    continue;
                }
                seen.push(pattern.name);
                rules.push(RewriteRule {
                    name: format!("{}.{}", dialect.name, pattern.name),
                    identity: pattern.identity,
                    citations: pattern.citations,
                });
            }
        }
    }
    let passes: [(&str, &[PassRule]); 4] = [
        ("egraph-simplify", crate::egraph::RULES),
        ("bce", crate::bce::RULES),
        ("directize", crate::directize::RULES),
        ("mono-merge", crate::mono::RULES),
    ];
    for (pass, pass_rules) in passes {
        rules.extend(pass_rules.iter().map(|r| RewriteRule {
            name: format!("{pass}.{}", r.name),
            identity: r.identity,
            citations: r.citations,
        }));
    }
    rules
}

/// The `rules` option every rule-based pass takes: rule names separated by `;`, all of them
/// when empty.
pub(crate) const RULES_OPTION: wasmir_ir::pass::PassOptionSpec = wasmir_ir::pass::PassOptionSpec {
    name: "rules",
    doc: "Only these rules (names separated by `;`); all when empty",
    default: "",
};

/// The rules the `rules` option selects from `rules` (the pass's own), by name.
pub(crate) fn selected_rules(
    options: &wasmir_ir::pass::PassOptions,
    pass: &str,
    rules: &[PassRule],
) -> Result<Vec<&'static str>, String> {
    let requested: Vec<&str> = options.get("rules").split(';').filter(|n| !n.is_empty()).collect();
    if requested.is_empty() {
        return Ok(rules.iter().map(|r| r.name).collect());
    }
    requested
        .into_iter()
        .map(|name| {
            rules
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.name)
                .ok_or_else(|| format!("unknown {pass} rule `{name}`"))
        })
        .collect()
}

/// A rule of a rewrite pass, declared once beside the code that applies it.
#[derive(Copy, Clone, Debug)]
pub struct PassRule {
    pub name: &'static str,
    pub identity: &'static str,
    pub citations: &'static [&'static str],
}
