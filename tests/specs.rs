//! The specs are tests: generated op references are current, every ` ```wir ` block in
//! specs/ and every op's declared example parses, verifies and round-trips, and every
//! invariant names tests that exist. `BLESS=1` regenerates the op references.

use std::path::Path;
use wasmir::ir::printer::{PrintOptions, print_module};

const BEGIN: &str = "<!-- BEGIN GENERATED: wasmir-opt --print-op-docs=";
const END: &str = "<!-- END GENERATED -->";

fn spec_files() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir("specs")
        .expect("specs/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("readable")))
        .collect();
    files.sort();
    files
}

fn check_example(what: &str, text: &str) {
    let ctx = wasmir::context();
    let module =
        wasmir::parse(&ctx, what, text).unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{text}"));
    if let Err(errors) = wasmir::verify(&ctx, &module) {
        panic!("{what} does not verify:\n{}", wasmir::ir::diagnostics::render(&ctx, &errors));
    }
    let printed = wasmir::print(&ctx, &module);
    let again = wasmir::print(&ctx, &wasmir::parse(&ctx, what, &printed).expect("printed IR parses"));
    assert_eq!(printed, again, "{what} is not a print/parse fixed point");
    let generic = print_module(&ctx, &module, PrintOptions { generic: true, debug_info: false });
    let from_generic = wasmir::print(&ctx, &wasmir::parse(&ctx, what, &generic).expect("generic IR parses"));
    assert_eq!(printed, from_generic, "{what}: the generic form does not parse back to the same IR");
}

#[test]
fn generated_op_references_are_current() {
    let ctx = wasmir::context();
    let bless = std::env::var_os("BLESS").is_some();
    let mut stale = Vec::new();
    for (path, text) in spec_files() {
        let Some(start) = text.find(BEGIN) else { continue };
        let name_end = text[start + BEGIN.len()..].find(" -->").expect("marker ends") + start + BEGIN.len();
        let dialect = &text[start + BEGIN.len()..name_end];
        let body_start = name_end + " -->\n".len();
        let end = text.find(END).expect("END marker");
        let def =
            ctx.registry().dialect(dialect).unwrap_or_else(|| panic!("{path}: unknown dialect {dialect}"));
        let generated = wasmir::ir::docs::dialect_reference(def);
        if text[body_start..end] != generated {
            if bless {
                let updated = format!("{}{}{}", &text[..body_start], generated, &text[end..]);
                std::fs::write(&path, updated).expect("write spec");
            } else {
                stale.push(path);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated op references in {stale:?}: run `BLESS=1 cargo test --test specs`"
    );
}

#[test]
fn every_wir_block_in_the_specs_is_valid() {
    let mut count = 0;
    for (path, text) in spec_files() {
        let mut rest = text.as_str();
        while let Some(start) = rest.find("```wir\n") {
            let body = &rest[start + 7..];
            let end = body.find("```").expect("closed fence");
            check_example(&format!("{path} block {count}"), &body[..end]);
            count += 1;
            rest = &body[end + 3..];
        }
    }
    assert!(count >= 10, "only {count} examples found in specs/");
}

#[test]
fn every_registered_op_has_a_valid_example() {
    let ctx = wasmir::context();
    for (_, def) in ctx.registry().ops() {
        assert!(!def.summary.is_empty(), "{} has no summary", def.name);
        assert!(!def.example.is_empty(), "{} has no example", def.name);
        check_example(def.name, def.example);
        assert!(
            def.example.contains(wasmir::ir::printer::custom_name(def)),
            "the example of {} does not use it",
            def.name
        );
    }
}

#[test]
fn every_invariant_names_tests_that_exist() {
    let text = std::fs::read_to_string("specs/invariants.md").expect("catalog");
    let mut ids = Vec::new();
    for section in text.split("\n### ").skip(1) {
        let id = section.split(':').next().expect("id").trim().to_string();
        assert!(id.starts_with("INV-"), "bad id {id}");
        assert!(!ids.contains(&id), "duplicate id {id}");
        let tests = section
            .lines()
            .find(|l| l.starts_with("Tests: "))
            .unwrap_or_else(|| panic!("{id} names no tests"));
        for t in tests["Tests: ".len()..].split(", ") {
            assert!(Path::new(t.trim()).exists(), "{id} cites missing test {t}");
        }
        ids.push(id);
    }
    assert!(ids.len() >= 10);
}
