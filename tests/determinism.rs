//! Output is byte-identical across runs and thread counts (INV-CORE-005).

use std::process::Command;

#[test]
fn output_is_identical_across_thread_counts() {
    let mut text = String::new();
    for f in 0..300 {
        text.push_str(&format!("func.func @f{f}(%a: i32, %b: i32) -> i32 {{\n"));
        text.push_str("  %c2 = arith.constant 2 : i32\n  %c8 = arith.constant 8 : i32\n");
        for i in 0..(f % 13 + 2) {
            let prev = if i == 0 { "%a".to_string() } else { format!("%v{}", i - 1) };
            text.push_str(&format!("  %m{i} = arith.muli {prev}, %c8 : i32\n  %v{i} = arith.subi %m{i}, %c2 : i32\n  %dup{i} = arith.muli {prev}, %c8 : i32\n"));
        }
        text.push_str(&format!("  func.return %v{} : i32\n}}\n", f % 13 + 1));
    }
    let dir = std::env::temp_dir().join(format!("wasmir-determinism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.wir");
    std::fs::write(&input, &text).unwrap();
    let run = |threads: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_wasmir-opt"))
            .arg(&input)
            .arg("--passes=canonicalize,cse,dce,symbol-dce")
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .expect("run wasmir-opt");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let reference = run("1");
    assert!(reference.len() > 10_000);
    for threads in ["2", "4", "8", "1"] {
        assert!(run(threads) == reference, "output differs with {threads} threads");
    }
}
