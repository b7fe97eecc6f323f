//! The FileCheck regression suite: every `tests/filecheck/**/*.wir` file's `// RUN:` lines run
//! through bash with `wasmir-opt` and LLVM's `FileCheck` and `not` substituted, as `lit` does.
//!
//! Substitutions: `%s` is the test file, `%S` its directory, `%t` a per-test scratch path.
//! A RUN line ending in `\` continues on the next RUN line. `// REQUIRES: llvm` marks a file
//! that needs the LLVM backend. Set `FILECHECK` to choose the
//! FileCheck binary; by default `FileCheck`, `FileCheck-19` or `/usr/lib/llvm-19/bin/FileCheck`
//! (Debian's llvm-19-tools, which the README's test command installs).

use std::path::{Path, PathBuf};
use std::process::Command;

fn find_tool(name: &str, env: &str) -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var(env) {
        return Ok(PathBuf::from(p));
    }
    let candidates = [format!("/usr/lib/llvm-19/bin/{name}"), format!("/usr/bin/{name}-19")];
    for c in candidates {
        if Path::new(&c).exists() {
            return Ok(PathBuf::from(c));
        }
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.exists() {
                return Ok(p);
            }
        }
    }
    Err(format!(
        "LLVM's `{name}` was not found (set {env}, or install Debian's llvm-19-tools: the README's test command does)"
    ))
}

/// The RUN commands of a test file, continuations joined.
fn run_lines(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let Some(at) = line.find("RUN:") else { continue };
        if !line[..at].trim_start().starts_with("//") {
            continue;
        }
        let body = line[at + 4..].trim();
        if let Some(partial) = body.strip_suffix('\\') {
            pending.push_str(partial);
            pending.push(' ');
        } else {
            pending.push_str(body);
            commands.push(std::mem::take(&mut pending));
        }
    }
    commands
}

fn substitute(command: &str, path: &Path, scratch: &Path, tools: &[(&str, &Path)]) -> String {
    let dir = path.parent().unwrap_or(Path::new("."));
    let replaced = command
        .replace("%s", &path.display().to_string())
        .replace("%S", &dir.display().to_string())
        .replace("%t", &scratch.display().to_string());
    // Tool names are replaced only where a command starts: after a pipe, `&&`, `;`, a
    // subshell's `(`, or `not`.
    let mut out = Vec::new();
    let mut at_command_start = true;
    for token in replaced.split(' ') {
        let mut t = token.to_string();
        if at_command_start && let Some((_, p)) = tools.iter().find(|(n, _)| *n == token) {
            t = p.display().to_string();
        }
        at_command_start =
            matches!(token, "|" | "&&" | "||" | ";" | "(" | "not") || (at_command_start && token.is_empty());
        out.push(t);
    }
    out.join(" ")
}

fn run_test(path: &Path, text: String) -> datatest_stable::Result<()> {
    // `// REQUIRES: llvm`: the file needs the LLVM backend (the `llvm` feature, which the
    // README's test command enables); without it the file is skipped, loudly.
    if text.lines().any(|l| l.trim() == "// REQUIRES: llvm") && !cfg!(feature = "llvm") {
        eprintln!("*** SKIPPED {}: needs the `llvm` feature ***", path.display());
        return Ok(());
    }
    let commands = run_lines(&text);
    if commands.is_empty() {
        return Err(format!("{}: no `// RUN:` line", path.display()).into());
    }
    let filecheck = find_tool("FileCheck", "FILECHECK")?;
    let not = find_tool("not", "LLVM_NOT")?;
    let opt = PathBuf::from(env!("CARGO_BIN_EXE_wasmir-opt"));
    let abs = std::fs::canonicalize(path)?;
    let scratch_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("filecheck");
    std::fs::create_dir_all(&scratch_dir)?;
    let stem = abs.to_string_lossy().replace(['/', '.'], "_");
    let scratch = scratch_dir.join(stem);
    let tools: [(&str, &Path); 3] = [("wasmir-opt", &opt), ("FileCheck", &filecheck), ("not", &not)];
    for command in commands {
        let expanded = substitute(&command, &abs, &scratch, &tools);
        let output = Command::new("bash").arg("-o").arg("pipefail").arg("-c").arg(&expanded).output()?;
        if !output.status.success() {
            return Err(format!(
                "RUN line failed ({}):\n  {command}\nexpanded:\n  {expanded}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
    }
    Ok(())
}

datatest_stable::harness! {
    { test = run_test, root = "tests/filecheck", pattern = r".*\.wir$" },
}
