//! Every rewrite rule of the dialects and of this crate's passes, with the invariants each
//! cites, for `--list-rewrites` and the contract verifier.

use wasmir_ir::Context;
use wasmir_ir::registry::RewriteRule;

/// The rules of the registered dialects (their folders and canonicalization patterns) and of
/// the rewrite passes, in a stable order.
pub fn registered_rules(ctx: &Context) -> Vec<RewriteRule> {
    let mut rules = Vec::new();
    for dialect in ctx.registry().dialects() {
        if dialect.ops.iter().any(|op| op.fold.is_some()) {
            rules.push(RewriteRule {
                name: format!("{}.fold", dialect.name),
                identity: "constant folding with the dialect's exact semantics",
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
    rules.extend(crate::egraph::RULES.iter().map(|r| RewriteRule {
        name: format!("egraph-simplify.{}", r.name),
        identity: r.identity,
        citations: r.citations,
    }));
    rules.extend(crate::bce::RULES.iter().map(|r| RewriteRule {
        name: format!("bce.{}", r.name),
        identity: r.identity,
        citations: r.citations,
    }));
    rules.extend(crate::directize::RULES.iter().map(|r| RewriteRule {
        name: format!("directize.{}", r.name),
        identity: r.identity,
        citations: r.citations,
    }));
    rules
}

/// A rule of a rewrite pass, declared once beside the code that applies it.
#[derive(Copy, Clone, Debug)]
pub struct PassRule {
    pub name: &'static str,
    pub identity: &'static str,
    pub citations: &'static [&'static str],
}
