//! The static half of the contract verifier: every rewrite rule cites at least one invariant,
//! and every cited ID exists in the catalog (specs/invariants.md, compiled in). The dynamic
//! half is `--explain-rewrites` (each applied rewrite logged with its citations); the semantic
//! half runs the rules' programs in wasmtime (tests/contracts.rs).

use wasmir_ir::registry::RewriteRule;

/// The invariant catalog, as written in specs/invariants.md.
pub const INVARIANT_CATALOG: &str = include_str!("../../specs/invariants.md");

/// The IDs the catalog defines (`### INV-...: title`), in order.
pub fn invariant_ids() -> Vec<&'static str> {
    INVARIANT_CATALOG
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .filter_map(|l| l.split(':').next())
        .filter(|id| id.starts_with("INV-"))
        .collect()
}

/// One message per rule that cites nothing or cites an ID the catalog does not define.
pub fn check_citations(rules: &[RewriteRule]) -> Vec<String> {
    let known = invariant_ids();
    let mut problems = Vec::new();
    for rule in rules {
        if rule.citations.is_empty() {
            problems.push(format!("rewrite `{}` cites no invariant", rule.name));
        }
        for id in rule.citations {
            if !known.contains(id) {
                problems.push(format!(
                    "rewrite `{}` cites `{id}`, which specs/invariants.md does not define",
                    rule.name
                ));
            }
        }
    }
    problems
}
