//! What the benchmark binaries share: timing by best of several runs, running wasm-opt, and
//! reading the arguments.
// Each benchmark binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Runs `f` `reps` times; the fastest run's time and the last run's result.
pub fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..reps {
        let start = Instant::now();
        let r = f();
        best = best.min(start.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one repetition"))
}

/// `wasm-opt FLAGS in.wasm -o out.wasm`, best of `reps`: the time and the output; None when
/// binaryen is not installed or refuses the file.
pub fn wasm_opt(flags: &[&str], path: &std::path::Path, reps: usize) -> Option<(Duration, Vec<u8>)> {
    let out = std::env::temp_dir().join(format!("wasmir-bench-{}.wasm", std::process::id()));
    let (time, ok) = best_of(reps, || {
        std::process::Command::new("wasm-opt")
            .args(flags)
            .arg(path)
            .arg("-o")
            .arg(&out)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let bytes = std::fs::read(&out).ok();
    let _ = std::fs::remove_file(&out);
    if !ok {
        return None;
    }
    Some((time, bytes?))
}

/// The benchmark's arguments: repetitions (1 with `--quick`, else 3) and the input files
/// named, if any.
pub fn args() -> (usize, Vec<std::path::PathBuf>) {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let reps = if args.iter().any(|a| a == "--quick") { 1 } else { 3 };
    (reps, args.iter().filter(|a| !a.starts_with("--")).map(std::path::PathBuf::from).collect())
}
