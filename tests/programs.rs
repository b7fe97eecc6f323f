//! Real programs: C and C++ sources in tests/programs, built with clang for wasm32-wasi at
//! several optimization levels and feature sets, run in wasmtime (WASI preview 1) before and after
//! `wasmir-opt in.wasm --emit=wasm`, after the `.wir` text detour, and with explicit bounds
//! checks after bounds-check elimination (`--passes=bounds-checks-explicit,bce`), at `-O2`
//! (e-graph included) and in the streaming profile (`-O2`, mono-merge, functions reordered);
//! stdout, stderr and the exit status must be identical. SIMD builds (`-msimd128`: the
//! auto-vectorizer on every program, and the intrinsics of the simd_* programs) keep every
//! SIMD instruction through the round trips, and also run through the scalar fallback
//! (`--target=wasmtime,-simd`) on a wasmtime without SIMD. A generics-heavy Rust program checks
//! function merging the same way, and how much duplicated code it removes.

use std::path::{Path, PathBuf};
use std::process::Command;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

const CLANG: &str = "clang-19";
const CLANGXX: &str = "clang++-19";
const SYSROOT: &str = "/usr";
/// Builds, by name: optimization levels, and -O3 with every post-MVP feature clang 19 has
/// outside SIMD, EH and threads (bulk memory, tail calls, multi-value, reference types, ...).
const LEVELS: &[(&str, &[&str])] = &[
    ("-O0", &["-O0"]),
    ("-O2", &["-O2"]),
    ("-Oz", &["-Oz"]),
    (
        "-O3-features",
        &[
            "-O3",
            "-mbulk-memory",
            "-msign-ext",
            "-mnontrapping-fptoint",
            "-mtail-call",
            "-mmultivalue",
            "-mreference-types",
            "-mextended-const",
            "-mmutable-globals",
        ],
    ),
    // Then `wasm-opt --asyncify`: every function that may reach an import saves and restores
    // its locals around each call, as TinyGo's goroutines and Emscripten's ASYNCIFY do.
    ("-O2-asyncify", &["-O2"]),
    // SIMD: clang's auto-vectorizer on every program, and the simd_* programs' intrinsics
    // (wasm_simd128.h), which build only with -msimd128.
    ("-O3-simd", &["-O3", "-msimd128"]),
    ("-O2-simd", &["-O2", "-msimd128"]),
];

/// Whether `level` builds with SIMD.
fn has_simd(flags: &[&str]) -> bool {
    flags.contains(&"-msimd128")
}

/// A wasmtime without SIMD, for the `lower-simd` fallback's output.
fn scalar_engine() -> wasmtime::Engine {
    let mut config = wasmtime::Config::new();
    config.consume_fuel(true).wasm_relaxed_simd(false).wasm_simd(false);
    wasmtime::Engine::new(&config).expect("engine")
}

/// How many of each SIMD instruction a module's code holds, by name.
fn simd_counts(wasm: &[u8]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else { continue };
        let mut ops = body.get_operators_reader().expect("code");
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset().expect("an operator");
            // The SIMD instructions are the ones with the 0xfd prefix.
            if wasm[offset] == 0xfd {
                let name = format!("{op:?}");
                *counts.entry(name.split([' ', '{']).next().unwrap_or_default().to_string()).or_insert(0) +=
                    1;
            }
        }
    }
    counts
}

/// Runs Binaryen's asyncify transform on `module` in place (Binaryen from scripts/setup.sh).
fn asyncify(module: &Path) {
    let out =
        Command::new("wasm-opt").arg(module).args(["--asyncify", "-o"]).arg(module).output().unwrap_or_else(
            |e| panic!("cannot run wasm-opt: {e}; `bash scripts/setup.sh` installs binaryen"),
        );
    assert!(out.status.success(), "wasm-opt --asyncify failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    stdout: String,
    stderr: String,
    status: Result<i32, String>,
}

fn engine() -> wasmtime::Engine {
    let mut config = wasmtime::Config::new();
    config.consume_fuel(true);
    wasmtime::Engine::new(&config).expect("engine")
}

/// Runs a WASI command module's `_start` with a fixed argument list and no environment.
fn run(engine: &wasmtime::Engine, wasm: &[u8]) -> Run {
    let module = wasmtime::Module::new(engine, wasm).expect("module compiles");
    let mut linker = wasmtime::Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx).expect("wasi links");
    let (stdout, stderr) = (MemoryOutputPipe::new(1 << 20), MemoryOutputPipe::new(1 << 20));
    let wasi = wasmtime_wasi::WasiCtxBuilder::new()
        .args(&["program", "--flag"])
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build_p1();
    let mut store = wasmtime::Store::new(engine, wasi);
    store.set_fuel(20_000_000_000).expect("fuel is enabled");
    let status = linker
        .instantiate(&mut store, &module)
        .and_then(|instance| instance.get_typed_func::<(), ()>(&mut store, "_start"))
        .and_then(|start| start.call(&mut store, ()))
        .map(|()| 0)
        .or_else(|e| match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(format!("{e:?}")),
        });
    let text = |p: &MemoryOutputPipe| String::from_utf8_lossy(&p.contents()).into_owned();
    Run { stdout: text(&stdout), stderr: text(&stderr), status }
}

/// Runs wasmir-opt: this build's, or the one `WASMIR_OPT` names (to compare builds).
fn wasmir_opt(args: &[&Path]) {
    let exe = std::env::var_os("WASMIR_OPT").unwrap_or_else(|| env!("CARGO_BIN_EXE_wasmir-opt").into());
    let out = Command::new(exe).args(args).output().expect("wasmir-opt runs");
    assert!(out.status.success(), "wasmir-opt {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Builds `source` at `level`; panics with the set-up command when the toolchain is missing.
fn build(source: &Path, level: &str, flags: &[&str], out: &Path) {
    let cxx = source.extension().is_some_and(|e| e == "cpp");
    let mut cmd = Command::new(if cxx { CLANGXX } else { CLANG });
    cmd.args(["--target=wasm32-wasi", &format!("--sysroot={SYSROOT}")])
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(source);
    if cxx {
        cmd.arg("-fno-exceptions");
    } else {
        cmd.arg("-lm");
    }
    let result = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {}: {e}; `bash scripts/setup.sh` installs the wasm32-wasi toolchain", CLANG)
    });
    assert!(
        result.status.success(),
        "building {} {level} failed (`bash scripts/setup.sh` installs wasi-libc and libc++ for wasm32):\n{}",
        source.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

fn sources() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/programs")
        .expect("tests/programs exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "c" || e == "cpp"))
        .collect();
    files.sort();
    files
}

/// Builds every program at every level and checks both round trips; returns the original
/// runs by program and level for the content checks below.
fn check_all() -> Vec<(String, String, Run)> {
    let engine = engine();
    let scalar = scalar_engine();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("programs");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    for source in sources() {
        let stem = source.file_stem().and_then(|s| s.to_str()).expect("utf-8 name").to_string();
        for &(level, flags) in LEVELS {
            if stem.starts_with("simd_") && !has_simd(flags) {
                continue;
            }
            let base = dir.join(format!("{stem}{level}"));
            let input = base.with_extension("wasm");
            let direct = base.with_extension("direct.wasm");
            let text = base.with_extension("wir");
            let via_text = base.with_extension("via-text.wasm");
            let checked = base.with_extension("checked.wasm");
            let optimized = base.with_extension("o2.wasm");
            let streaming = base.with_extension("streaming.wasm");
            build(&source, level, flags, &input);
            if level.ends_with("-asyncify") {
                asyncify(&input);
            }
            wasmir_opt(&[&input, Path::new("--emit=wasm"), Path::new("-o"), &direct]);
            wasmir_opt(&[&input, Path::new("-o"), &text]);
            wasmir_opt(&[&text, Path::new("--emit=wasm"), Path::new("-o"), &via_text]);
            // Explicit bounds checks on every access, with the provable ones eliminated.
            wasmir_opt(&[
                &input,
                Path::new("--passes=bounds-checks-explicit,bce"),
                Path::new("--emit=wasm"),
                Path::new("-o"),
                &checked,
            ]);
            let original = run(&engine, &std::fs::read(&input).expect("built"));
            assert!(original.status.is_ok(), "{stem} {level} does not run: {:?}", original.status);
            wasmir_opt(&[&input, Path::new("-O2"), Path::new("--emit=wasm"), Path::new("-o"), &optimized]);
            wasmir_opt(&[
                &input,
                // -O2, mono-merge and the streaming layout.
                Path::new("--profile=streaming"),
                Path::new("--emit=wasm"),
                Path::new("-o"),
                &streaming,
            ]);
            for path in [&direct, &via_text, &checked, &optimized, &streaming] {
                let after = run(&engine, &std::fs::read(path).expect("emitted"));
                if original != after {
                    failures.push(format!(
                        "{stem} {level}: {} behaves differently:\n  before: {original:?}\n  after:  {after:?}",
                        path.display()
                    ));
                }
            }
            if has_simd(flags) {
                // Every SIMD instruction stays (a v128.const may become a read of a zero local).
                let before = simd_counts(&std::fs::read(&input).expect("built"));
                for path in [&direct, &via_text, &checked] {
                    let mut after = simd_counts(&std::fs::read(path).expect("emitted"));
                    let (consts_before, consts_after) = (
                        before.get("V128Const").copied().unwrap_or(0),
                        after.remove("V128Const").unwrap_or(0),
                    );
                    let mut expected = before.clone();
                    expected.remove("V128Const");
                    if after != expected || consts_after > consts_before {
                        failures.push(format!("{stem} {level}: {} changed its SIMD instructions:\n  before: {before:?}\n  after:  {after:?}", path.display()));
                    }
                }
                // The scalar fallback, on a wasmtime without SIMD.
                let fallback = base.with_extension("scalar.wasm");
                wasmir_opt(&[
                    &input,
                    Path::new("--target=wasmtime,-simd"),
                    Path::new("--emit=wasm"),
                    Path::new("-o"),
                    &fallback,
                ]);
                let bytes = std::fs::read(&fallback).expect("emitted");
                if !simd_counts(&bytes).is_empty() {
                    failures.push(format!("{stem} {level}: the fallback left SIMD instructions"));
                }
                let after = run(&scalar, &bytes);
                if original != after {
                    failures.push(format!(
                        "{stem} {level}: the scalar fallback behaves differently:\n  before: {original:?}\n  after:  {after:?}"
                    ));
                }
            }
            runs.push((stem.clone(), level.to_string(), original));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    runs
}

#[test]
fn real_programs_behave_identically_after_the_round_trips() {
    let runs = check_all();
    let simd_levels = LEVELS.iter().filter(|(_, f)| has_simd(f)).count();
    let simd_only = sources()
        .iter()
        .filter(|s| s.file_name().is_some_and(|n| n.to_string_lossy().starts_with("simd_")))
        .count();
    assert_eq!(runs.len(), sources().len() * LEVELS.len() - simd_only * (LEVELS.len() - simd_levels));
    let find = |stem: &'static str| runs.iter().filter(move |(s, _, _)| s == stem).map(|(_, l, r)| (l, r));
    // The programs compute what they should (so the comparison above compares real work).
    for (level, r) in find("interpreter") {
        // Sum of squares below 100, 12345², -77, popcount(-1), a 13-bit rotate, fib(27).
        assert!(
            r.stdout.starts_with("328350\n152399025\n-77\n64\n7542668687916785700\nlast 5\nfib(27) 196418\n"),
            "{level}: {}",
            r.stdout
        );
        // main returns (sum % 97) % 7 + 3, and 328350 % 97 = 5.
        assert_eq!(r.status, Ok(8), "{level}");
    }
    for (level, r) in find("containers") {
        assert!(r.stdout.contains("primes 500 last 3571 "), "{level}: {}", r.stdout);
    }
    for (level, r) in find("sort_and_format") {
        assert!(r.stdout.contains("binaryen,cranelift,egg,llvm,mlir,wasm,wit\n"), "{level}: {}", r.stdout);
        assert!(r.stdout.contains("abc-beef--003.142--9223372036854775808\n"), "{level}: {}", r.stdout);
        assert!(
            r.stdout.contains("strtod 27.18280 strtol -127 argc 2 arg0 program\n"),
            "{level}: {}",
            r.stdout
        );
    }
    for (level, r) in find("simd_kernels") {
        assert!(r.stdout.contains("find 3001 -1\n"), "{level}: {}", r.stdout);
        assert!(r.stdout.contains("\nupper "), "{level}: {}", r.stdout);
    }
    for (level, r) in find("text_and_hashes") {
        assert!(r.stdout.contains("distinct 8\n"), "{level}: {}", r.stdout);
    }
}

/// Builds the Rust program tests/programs/`name` for wasm32-wasip1 in `profile`; panics with
/// the set-up command when the target is not installed.
fn build_rust(name: &str, profile: &str) -> Vec<u8> {
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--offline", "--target", "wasm32-wasip1", "--manifest-path"])
        .arg(format!("tests/programs/{name}/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // The build must not see this test's own cargo settings.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if profile == "release" {
        cmd.arg("--release");
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "building tests/programs/{name} failed (`bash scripts/setup.sh` installs the wasm32-wasip1 target):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(target_dir.join("wasm32-wasip1").join(profile).join(format!("{name}.wasm"))).expect("built")
}

/// The generics-heavy Rust program in a debug and a release build: after mono-merge (and at
/// -Os, and in the streaming profile) it prints the same, its duplicated code (functions with an identical twin) drops by at
/// least 40%, and its code section is smaller than the input's.
#[test]
fn generic_rust_programs_merge_and_behave_identically() {
    let engine = engine();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("generics");
    std::fs::create_dir_all(&dir).expect("temp dir");
    for profile in ["debug", "release"] {
        let input = dir.join(format!("generics.{profile}.wasm"));
        std::fs::write(&input, build_rust("generics", profile)).expect("written");
        let original = run(&engine, &std::fs::read(&input).expect("built"));
        assert_eq!(original.status, Ok(0), "{profile}: {original:?}");
        assert_eq!(original.stdout.lines().count(), 12, "{profile}: {}", original.stdout);
        assert!(
            original.stdout.starts_with("u8: ") && original.stdout.contains("\nisize: "),
            "{}",
            original.stdout
        );
        let before = wasmir::lowering::size_report(&std::fs::read(&input).expect("built")).expect("measured");
        for (flag, name) in
            [("--passes=mono-merge", "merged"), ("-Os", "os"), ("--profile=streaming", "streaming")]
        {
            let output = dir.join(format!("generics.{profile}.{name}.wasm"));
            wasmir_opt(&[&input, Path::new(flag), Path::new("--emit=wasm"), Path::new("-o"), &output]);
            let bytes = std::fs::read(&output).expect("emitted");
            let after = run(&engine, &bytes);
            assert_eq!(original, after, "{profile} {flag} behaves differently");
            let report = wasmir::lowering::size_report(&bytes).expect("measured");
            assert!(
                report.duplicates.identical_bytes * 10 <= before.duplicates.identical_bytes * 6,
                "{profile} {flag}: duplicated bytes {} -> {}",
                before.duplicates.identical_bytes,
                report.duplicates.identical_bytes
            );
            assert!(
                report.code_bytes < before.code_bytes,
                "{profile} {flag}: code {} -> {}",
                before.code_bytes,
                report.code_bytes
            );
        }
    }
}

/// The Rust SIMD program (core::arch::wasm32, simd128 per function) in a debug and a release
/// build: the same output after the round trip, `-O2` and the bounds-check passes, every SIMD
/// instruction kept by the round trip, and the same output through the scalar fallback on a
/// wasmtime without SIMD.
#[test]
fn rust_simd_programs_behave_identically() {
    let (engine, scalar) = (engine(), scalar_engine());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("simd_rust");
    std::fs::create_dir_all(&dir).expect("temp dir");
    for profile in ["debug", "release"] {
        let input = dir.join(format!("simd_rust.{profile}.wasm"));
        std::fs::write(&input, build_rust("simd_rust", profile)).expect("written");
        let bytes = std::fs::read(&input).expect("built");
        let original = run(&engine, &bytes);
        assert_eq!(original.status, Ok(0), "{profile}: {original:?}");
        assert!(
            original.stdout.contains("text hELLO, simd wORLD! 0123456789 ABCxyz\n"),
            "{}",
            original.stdout
        );
        assert!(
            original
                .stdout
                .contains("transposed [-7, 5, 17, 29, -4, 8, 20, 32, -1, 11, 23, 35, 2, 14, 26, 38]"),
            "{}",
            original.stdout
        );
        let counts = simd_counts(&bytes);
        assert!(counts.values().sum::<usize>() > 50, "{profile}: SIMD in the build: {counts:?}");
        let variants: [(&str, &[&str]); 4] = [
            ("direct", &[]),
            ("o2", &["-O2"]),
            ("checked", &["--passes=bounds-checks-explicit,bce"]),
            ("scalar", &["--target=wasmtime,-simd"]),
        ];
        for (name, flags) in variants {
            let output = dir.join(format!("simd_rust.{profile}.{name}.wasm"));
            let mut args: Vec<&Path> = vec![&input];
            args.extend(flags.iter().map(Path::new));
            args.extend([Path::new("--emit=wasm"), Path::new("-o"), &output]);
            wasmir_opt(&args);
            let out = std::fs::read(&output).expect("emitted");
            let after = run(if name == "scalar" { &scalar } else { &engine }, &out);
            assert_eq!(original, after, "{profile} {name} behaves differently");
            let mut kept = simd_counts(&out);
            match name {
                "scalar" => assert!(kept.is_empty(), "{profile}: the fallback left {kept:?}"),
                "direct" => {
                    let mut expected = counts.clone();
                    let consts = expected.remove("V128Const").unwrap_or(0);
                    assert!(kept.remove("V128Const").unwrap_or(0) <= consts);
                    assert_eq!(kept, expected, "{profile}: the round trip changed SIMD instructions");
                }
                _ => {}
            }
        }
    }
}

/// examples/hello.wir prints through WASI's fd_write in a module under 2 KB, at every
/// profile; clang's `-Oz` build of the same program with wasi-libc's printf, even stripped of
/// its names, is larger.
#[test]
fn hello_world_in_wasmir_is_under_2_kb() {
    let engine = engine();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hello");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello.wir");
    let mut sizes = Vec::new();
    for flag in ["-O0", "--profile=release", "--profile=streaming", "-Os"] {
        let out = dir.join(format!("hello{flag}.wasm"));
        wasmir_opt(&[&source, Path::new(flag), Path::new("--emit=wasm"), Path::new("-o"), &out]);
        let bytes = std::fs::read(&out).expect("emitted");
        let ran = run(&engine, &bytes);
        assert_eq!(
            ran,
            Run { stdout: "Hello, world!\n".into(), stderr: String::new(), status: Ok(0) },
            "{flag}"
        );
        assert!(bytes.len() < 2048, "{flag}: {} bytes", bytes.len());
        sizes.push(bytes.len());
    }
    let c = dir.join("hello.c");
    std::fs::write(&c, "#include <stdio.h>\nint main(void) { printf(\"Hello, world!\\n\"); return 0; }\n")
        .expect("written");
    let clang = dir.join("hello.clang.wasm");
    build(&c, "-Oz", &["-Oz", "-s"], &clang);
    let clang_bytes = std::fs::read(&clang).expect("built");
    assert_eq!(run(&engine, &clang_bytes).stdout, "Hello, world!\n");
    eprintln!("hello world: WasmIR {sizes:?} bytes; clang -Oz -s with printf {} bytes", clang_bytes.len());
    assert!(sizes.iter().all(|&s| s < clang_bytes.len()), "{sizes:?} vs clang {}", clang_bytes.len());
}
