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
    drive_bytes(input, args).map(|(code, out, err)| (code, String::from_utf8_lossy(&out).into_owned(), err))
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

    /// Truncated and mutated `.wasm` (valid modules from the Wasm FileCheck inputs): never a
    /// panic; an error names a byte offset; a module that is still valid is emitted as valid
    /// Wasm.
    #[test]
    fn mutated_wasm_fails_cleanly(file in any::<prop::sample::Index>(), mutations in prop::collection::vec(wasm_mutation(), 1..4)) {
        let modules = wasm_corpus();
        let mut bytes = modules[file.index(modules.len())].clone();
        for m in &mutations {
            m.apply(&mut bytes);
        }
        let (code, out, err) = drive_bytes(bytes.clone(), &["-", "--input-format=wasm", "--emit=wasm"])
            .map_err(|p| TestCaseError::fail(format!("panic: {p}\ninput: {bytes:02x?}")))?;
        prop_assert!(code == 0 || code == 1, "exit status {code}");
        if code == 1 {
            prop_assert!(err.contains("error"), "no error reported:\n{err}");
            prop_assert!(err.contains("<stdin>@0x") || err.contains(" at offset "), "error without an offset:\n{err}");
            prop_assert!(out.is_empty(), "output written despite the error");
        } else {
            prop_assert!(wasmparser::Validator::new().validate_all(&out).is_ok(), "invalid output for valid input");
        }
    }

    /// The size report reads any bytes, as a library call: mutated and truncated modules give
    /// a report or an error with a byte offset, never a panic.
    #[test]
    fn size_report_of_mutated_wasm_never_panics(file in any::<prop::sample::Index>(), mutations in prop::collection::vec(wasm_mutation(), 1..4)) {
        let modules = wasm_corpus();
        let mut bytes = modules[file.index(modules.len())].clone();
        for m in &mutations {
            m.apply(&mut bytes);
        }
        let report = std::panic::catch_unwind(|| wasmir::lowering::size_report(&bytes))
            .map_err(|_| TestCaseError::fail(format!("panic on {bytes:02x?}")))?;
        match report {
            Ok(r) => prop_assert!(r.total_bytes == bytes.len() as u64 && r.code_bytes <= r.total_bytes),
            Err(e) => prop_assert!(e.message.contains("at offset"), "error without an offset: {}", e.message),
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

/// Valid modules to mutate: the `.wat` inputs of the Wasm FileCheck tests that validate.
fn wasm_corpus() -> Vec<Vec<u8>> {
    ["fac.wat", "kitchen.wat"]
        .iter()
        .map(|f| wat::parse_file(format!("tests/filecheck/wasm/Inputs/{f}")).expect("valid test input"))
        .collect()
}

#[derive(Debug, Clone)]
enum WasmMutation {
    Truncate(usize),
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    /// An over-long LEB128 (five continuation bytes), where sizes and counts live.
    LongLeb(usize),
}

impl WasmMutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len().max(1);
        match *self {
            Self::Truncate(i) => bytes.truncate(i % len),
            Self::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Self::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Self::Remove(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            Self::LongLeb(i) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
            _ => {}
        }
    }
}

fn wasm_mutation() -> impl Strategy<Value = WasmMutation> {
    prop_oneof![
        any::<usize>().prop_map(WasmMutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| WasmMutation::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| WasmMutation::Insert(i, b)),
        any::<usize>().prop_map(WasmMutation::Remove),
        any::<usize>().prop_map(WasmMutation::LongLeb),
    ]
}

/// `drive` with stdout kept as bytes (Wasm output is binary).
fn drive_bytes(input: Vec<u8>, args: &[&str]) -> Result<(i32, Vec<u8>, String), String> {
    let mut argv: Vec<std::ffi::OsString> = vec!["wasmir-opt".into()];
    argv.extend(args.iter().map(|a| (*a).into()));
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || {
            let mut stdin = std::io::Cursor::new(input);
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = wasmir::driver::main_with_args(argv, &mut stdin, &mut out, &mut err);
            (code, out, String::from_utf8_lossy(&err).into_owned())
        })
        .expect("spawn")
        .join()
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
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
    assert!(err.contains("nesting is too deep (more than 20064 levels)"), "{err}");
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

/// Wasm allows any nesting: a function 5000 blocks deep goes through the `.wir` text form
/// and back (the driver's nesting limit is above what real modules use), and its text stays
/// small because indentation stops growing at 64 levels.
#[test]
fn deeply_nested_wasm_round_trips_through_the_text_form() {
    let depth = 5000;
    let wat = format!(
        "(module (func (export \"f\") (result i32) {} i32.const 7 {}))",
        "block (result i32) ".repeat(depth),
        "end ".repeat(depth)
    );
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (input, text, output) = (dir.join("deep.wat"), dir.join("deep.wir"), dir.join("deep.wasm"));
    std::fs::write(&input, wat).expect("write input");
    let run = |args: &[&std::path::Path]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wasmir-opt")).args(args).output().expect("run wasmir-opt");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[&input, std::path::Path::new("-o"), &text]);
    let printed = std::fs::read_to_string(&text).expect("text written");
    // Linear: a few lines of at most 128 columns of indentation per level (indenting every
    // level would take over 75 MB here).
    assert!(printed.len() < 600 * depth, "{} bytes of text for {depth} levels", printed.len());
    run(&[&text, std::path::Path::new("--emit=wasm"), std::path::Path::new("-o"), &output]);
    let bytes = std::fs::read(&output).expect("wasm written");
    let module = wasmtime::Module::new(&wasmtime::Engine::default(), &bytes).expect("valid output");
    let mut store = wasmtime::Store::new(module.engine(), ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instantiates");
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").expect("export f");
    assert_eq!(f.call(&mut store, ()).expect("runs"), 7);
}

/// Deeper than the importer supports: a located "not supported yet" error, not a stack
/// overflow in a later recursive pass.
#[test]
fn wasm_nested_past_the_limit_is_a_located_error() {
    let depth = wasmir::frontends::MAX_BLOCK_NESTING + 1;
    let wat = format!("(module (func {} {}))", "block ".repeat(depth), "end ".repeat(depth));
    let bytes = wat::parse_str(&wat).expect("valid Wasm");
    let (code, err) = run_binary(&bytes, &["-", "--input-format=wasm", "--emit=wasm"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not supported yet: blocks nested more than 20000 deep"), "{err}");
    assert!(err.contains("<stdin>@0x"), "{err}");
}

/// Malformed SIMD in a binary: a lane index past the vector, a shuffle index past both
/// operands, a `v128.const` cut short. Each is a located error (a byte offset), exit 1.
#[test]
fn malformed_simd_binaries_give_located_errors() {
    let wat = "(module (func (export \"f\") (param v128) (result i32) \
               (i8x16.extract_lane_s 15 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31 \
               (local.get 0) (v128.const i32x4 1 2 3 4)))))";
    let bytes = wat::parse_str(wat).expect("valid Wasm");
    let find =
        |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle).expect("the instruction");
    // extract_lane_s is 0xfd 0x15 lane; the shuffle 0xfd 0x0d and 16 lane bytes.
    let mut bad_lane = bytes.clone();
    bad_lane[find(&[0xfd, 0x15, 15]) + 2] = 16;
    let mut bad_shuffle = bytes.clone();
    bad_shuffle[find(&[0xfd, 0x0d, 0, 1, 2]) + 17] = 32;
    // v128.const is 0xfd 0x0c and 16 bytes: cut after 5 of them.
    let cut = bytes[..find(&[0xfd, 0x0c]) + 7].to_vec();
    for (what, input) in [("lane", bad_lane), ("shuffle", bad_shuffle), ("truncated const", cut)] {
        let (code, err) = run_binary(&input, &["-", "--input-format=wasm", "--emit=wasm"]);
        assert_eq!(code, 1, "{what}: {err}");
        assert!(err.contains("<stdin>@0x"), "{what}: not located: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
    let (code, err) = run_binary(&bytes, &["-", "--input-format=wasm", "--emit=wasm"]);
    assert_eq!(code, 0, "the unmodified module is fine: {err}");
}
