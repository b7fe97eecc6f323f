//! Bad input never panics and never hangs: mutated and truncated test files, random bytes and
//! hostile nesting all end in exit status 0 or 1, with located errors.

mod common;

use proptest::prelude::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn corpus() -> Vec<String> {
    common::wir_test_files()
        .into_iter()
        .map(|f| std::fs::read_to_string(f).expect("utf-8 test file"))
        .collect()
}

/// Runs the driver in-process on a thread with the binary's stack size; returns the exit
/// status, stdout and stderr, or the panic message.
fn drive(input: Vec<u8>, args: &[&str]) -> Result<(i32, String, String), String> {
    let mut argv: Vec<std::ffi::OsString> = vec!["wasmir-opt".into()];
    argv.extend(args.iter().map(|a| (*a).into()));
    let handle = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let mut stdin = std::io::Cursor::new(input);
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = wasmir::driver::main_with_args(argv, &mut stdin, &mut out, &mut err);
            (code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
        })
        .expect("spawn");
    handle.join().map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ",",
    ":",
    "=",
    "->",
    "%0",
    "%arg0",
    "%x#7",
    "@f",
    "\"",
    "\"s\"",
    "^bb0",
    "!memory.x",
    "#x.y",
    "0x",
    "-",
    "1.5e",
    "9999999999999999999999",
    "arith.addi",
    "func.return",
    "module",
    "i32",
    "f64",
    "loc(",
    "// -----\n",
    "\n",
    "\u{0}",
    "é",
];

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Replace(usize, u8),
    Insert(usize, usize),
    Delete(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Truncate(i) => bytes.truncate(i % len),
            Mutation::Replace(i, b) => {
                if !bytes.is_empty() {
                    let at = i % bytes.len();
                    bytes[at] = b;
                }
            }
            Mutation::Insert(i, t) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, TOKENS[t].bytes());
            }
            Mutation::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Mutated test files: never a panic; success prints IR that parses back to itself;
    /// failure says `error` with a location.
    #[test]
    fn mutated_inputs_fail_cleanly(file in any::<prop::sample::Index>(), mutations in prop::collection::vec(mutation(), 1..4), split in any::<bool>()) {
        let files = corpus();
        let text = &files[file.index(files.len())];
        let input = apply(text, &mutations);
        let args: &[&str] = if split { &["--split-input-file", "--passes=canonicalize,cse"] } else { &["--passes=canonicalize,dce"] };
        let (code, out, err) = drive(input.clone(), args).map_err(|p| TestCaseError::fail(format!("panic: {p}\ninput:\n{}", String::from_utf8_lossy(&input))))?;
        prop_assert!(code == 0 || code == 1, "exit status {code}");
        if code == 1 {
            prop_assert!(err.contains("error"), "no error reported:\n{err}");
            let located = err.contains("-->") || err.contains("not valid UTF-8");
            prop_assert!(located, "error without a location:\n{err}");
        } else if !split {
            let (code2, out2, _) = drive(out.clone().into_bytes(), &[]).map_err(TestCaseError::fail)?;
            prop_assert_eq!(code2, 0);
            prop_assert_eq!(out2, out);
        }
    }

    /// Arbitrary bytes: never a panic.
    #[test]
    fn random_bytes_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let (code, _, err) = drive(bytes, &[]).map_err(TestCaseError::fail)?;
        prop_assert!(code == 0 || code == 1);
        if code == 1 {
            prop_assert!(err.contains("error"));
        }
    }
}

fn run_binary(input: &[u8], args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmir-opt"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wasmir-opt");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn hundred_thousand_nested_regions_give_a_located_error() {
    let input = "module {".repeat(100_000);
    let (code, err) = run_binary(input.as_bytes(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nesting is too deep (more than 1000 levels)"), "{err}");
    assert!(err.contains("<stdin>:1:"), "{err}");
    assert!(err.len() < 2000, "the diagnostic must not echo the 800 KB line:\n{}", &err[..2000]);
}

#[test]
fn hundred_thousand_nested_brackets_give_a_located_error() {
    for (open, context) in [
        ("[", "func.func private @f() attributes {test.a = "),
        ("(", "func.func private @f("),
        ("{a = ", "func.func private @f() attributes {test.a = "),
    ] {
        let input = format!("{context}{}", open.repeat(100_000));
        let (code, err) = run_binary(input.as_bytes(), &[]);
        assert_eq!(code, 1, "{open}: {err}");
        assert!(err.contains("nesting is too deep"), "{open}: {err}");
    }
}

#[test]
fn a_long_flat_function_is_fine() {
    let mut text = String::from("func.func @f(%a: i32) -> i32 {\n  %v0 = arith.addi %a, %a : i32\n");
    for i in 1..50_000 {
        text.push_str(&format!("  %v{i} = arith.addi %v{}, %a : i32\n", i - 1));
    }
    text.push_str("  func.return %v49999 : i32\n}\n");
    let (code, err) = run_binary(text.as_bytes(), &["--passes=cse"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn invalid_utf8_is_reported_with_its_offset() {
    let (code, err) = run_binary(b"func.func private @f()\n\xff\xfe", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("input is not valid UTF-8 (at byte 23)"), "{err}");
}

#[test]
fn empty_and_whitespace_inputs_are_empty_modules() {
    for input in ["", "   \n\t// only a comment\n"] {
        let (code, out, err) = drive(input.as_bytes().to_vec(), &[]).expect("no panic");
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "module {\n}\n");
    }
}
