//! House-style checks that rustfmt and clippy do not make (TigerBeetle's `tidy`).
//!
//! Goal: every source file says what it owns, library code does not print, no leftover
//! `todo!`/`unimplemented!`/`dbg!`, `unsafe` stays in its one module, and files stay small enough
//! to read. Method: scan `src/` as text.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn source_tree_is_tidy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 20);
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        if !text.trim_start().starts_with("//!") {
            problems.push(format!("{rel}: no `//!` module doc"));
        }
        for banned in ["todo!(", "unimplemented!(", "dbg!("] {
            if text.contains(banned) {
                problems.push(format!("{rel}: contains {banned}"));
            }
        }
        let is_bin = rel.starts_with("bin/");
        if !is_bin && (text.contains("println!(") || text.contains("eprintln!(")) {
            problems.push(format!("{rel}: prints from library code (use tracing)"));
        }
        if text.contains("unsafe {") && rel != "store/mapped_file.rs" {
            problems.push(format!("{rel}: `unsafe` outside store/mapped_file.rs"));
        }
        let lines = text.lines().count();
        if lines > 900 {
            problems.push(format!("{rel}: {lines} lines; split it"));
        }
    }
    assert!(
        problems.is_empty(),
        "tidy problems:\n{}",
        problems.join("\n")
    );
}
