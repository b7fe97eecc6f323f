//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// Every `.wir` file under tests/filecheck, sorted.
pub fn wir_test_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("test directory exists") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "wir") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new("tests/filecheck"), &mut files);
    files.sort();
    files
}
