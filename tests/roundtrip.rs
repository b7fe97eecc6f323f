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

/// The same through the command line, as a user would check it: for every test file that
/// `wasmir-opt --split-input-file` accepts, its output read back prints the same bytes, and
/// so does its generic output.
#[test]
fn the_driver_output_reads_back_to_itself() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let run = |args: &[&str], input: Option<&[u8]>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasmir-opt"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run wasmir-opt");
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(bytes) = input {
            stdin.write_all(bytes).expect("write stdin");
        }
        drop(stdin);
        let out = child.wait_with_output().expect("wait");
        (out.status.success(), out.stdout)
    };
    let mut checked = 0;
    for file in common::wir_test_files() {
        let path = file.to_str().expect("utf-8 path");
        let (ok, custom) = run(&[path, "--split-input-file"], None);
        if !ok {
            continue;
        }
        let (ok2, again) = run(&["-", "--split-input-file"], Some(&custom));
        assert!(ok2 && again == custom, "{path}: `wasmir-opt f | wasmir-opt -` differs");
        let (_, generic) = run(&[path, "--split-input-file", "--emit=generic"], None);
        let (ok3, from_generic) = run(&["-", "--split-input-file"], Some(&generic));
        assert!(
            ok3 && from_generic == custom,
            "{path}: `wasmir-opt --emit=generic f | wasmir-opt -` differs"
        );
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} files were accepted whole");
}
