//! Printing is a fixed point of parsing: for every chunk of every FileCheck test that parses
//! and verifies, `print(parse(print(x)))` equals `print(x)` in the custom form, and the
//! generic form parses back to the same custom text and is itself a fixed point.

mod common;

use wasmir::ir::parser::{ParseOptions, parse_module};
use wasmir::ir::printer::{PrintOptions, print_module};

fn reprint(text: &str, generic: bool) -> String {
    let ctx = wasmir::context();
    let module = wasmir::parse(&ctx, "reprint.wir", text)
        .unwrap_or_else(|e| panic!("printed IR does not parse: {e}\n{text}"));
    print_module(&ctx, &module, PrintOptions { generic, debug_info: false })
}

#[test]
fn every_valid_test_chunk_round_trips() {
    let mut checked = 0;
    for file in &common::wir_test_files() {
        let text = std::fs::read_to_string(file).expect("readable test file");
        for range in wasmir::driver::split_chunks(&text) {
            let ctx = wasmir::context();
            let id = ctx.sources().add(file.display().to_string(), text.clone());
            let Ok(module) = parse_module(&ctx, id, range, &ParseOptions::default()) else { continue };
            if wasmir::verify(&ctx, &module).is_err() {
                continue;
            }
            let custom = print_module(&ctx, &module, PrintOptions::default());
            let generic = print_module(&ctx, &module, PrintOptions { generic: true, debug_info: false });
            assert_eq!(
                reprint(&custom, false),
                custom,
                "custom form is not a fixed point for {}",
                file.display()
            );
            assert_eq!(
                reprint(&generic, false),
                custom,
                "generic form does not parse back to the same IR for {}",
                file.display()
            );
            assert_eq!(
                reprint(&generic, true),
                generic,
                "generic form is not a fixed point for {}",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} valid chunks were found: are the test files still found?");
}
