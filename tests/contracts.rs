//! The contract verifier's static checks run as tests: every rewrite rule cites at least one
//! invariant and every cited ID exists in specs/invariants.md, so a rule added without a
//! citation fails CI.

use wasmir::ir::registry::RewriteRule;
use wasmir::verifier::contracts::{check_citations, invariant_ids};

#[test]
fn every_rule_cites_invariants_that_exist() {
    let ctx = wasmir::context();
    let rules = wasmir::rewrite_rules(&ctx);
    assert!(rules.len() >= 10, "the registry lists the rules: {rules:?}");
    let problems = check_citations(&rules);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_rule_without_a_valid_citation_is_reported() {
    let rules = [
        RewriteRule { name: "test.uncited".into(), identity: "x == x", citations: &[] },
        RewriteRule { name: "test.unknown".into(), identity: "x == x", citations: &["INV-NOPE-999"] },
        RewriteRule { name: "test.fine".into(), identity: "x + 0 == x", citations: &["INV-ARITH-001"] },
    ];
    assert_eq!(
        check_citations(&rules),
        vec![
            "rewrite `test.uncited` cites no invariant".to_string(),
            "rewrite `test.unknown` cites `INV-NOPE-999`, which specs/invariants.md does not define"
                .to_string(),
        ]
    );
}

#[test]
fn the_catalog_is_the_file_in_specs() {
    let on_disk = std::fs::read_to_string("specs/invariants.md").expect("catalog");
    let ids = invariant_ids();
    assert!(ids.contains(&"INV-MEM-003") && ids.contains(&"INV-REF-001"), "{ids:?}");
    for id in &ids {
        assert!(
            on_disk.contains(&format!("### {id}:")),
            "{id} is compiled in but not in specs/invariants.md"
        );
    }
    let on_disk_ids = on_disk.lines().filter(|l| l.starts_with("### INV-")).count();
    assert_eq!(ids.len(), on_disk_ids, "the compiled-in catalog is current");
}
