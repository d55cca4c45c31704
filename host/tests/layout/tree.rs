//! The trees the layout test reads: a source directory, its crate roots, its files and the
//! module each file is.

use std::path::{Path, PathBuf};

pub type Module = Vec<String>;

/// A source tree to check.
pub struct Tree {
    /// The source directory.
    pub src: PathBuf,
    /// The library's crate root in it.
    pub root: &'static str,
    /// The fewest top-level edges a working reader finds in it.
    pub min_edges: usize,
}

impl Tree {
    /// Whether `path`, inside `src`, is a crate root other than [`Tree::root`]: `main.rs` or
    /// `lib.rs` at the top, or anything under `bin/`.
    pub fn is_other_root(&self, path: &Path) -> bool {
        let rel = path.strip_prefix(&self.src).unwrap_or(path);
        let top = rel.components().count() == 1;
        rel.starts_with("bin")
            || (top
                && matches!(rel.to_str(), Some("main.rs" | "lib.rs"))
                && !rel.ends_with(self.root))
    }

    /// Every `.rs` file of the tree, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        rs_files(&self.src)
    }

    /// Every source file of the library with its module path (the root is `[]`); the other
    /// crate roots and test-only files are left out.
    pub fn modules(&self) -> Vec<(Module, PathBuf)> {
        let mut out = Vec::new();
        for path in self.files() {
            if self.is_other_root(&path) {
                continue;
            }
            let rel = path.strip_prefix(&self.src).unwrap();
            let mut module: Module = rel
                .parent()
                .into_iter()
                .flat_map(|p| p.components())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            match name.as_str() {
                _ if rel == Path::new(self.root) => {}
                "mod" => {}
                n if n.ends_with("_tests") => continue,
                n => module.push(n.to_string()),
            }
            out.push((module, path));
        }
        out
    }

    /// The path of `file` inside the tree, for messages.
    pub fn rel(&self, file: &Path) -> String {
        file.strip_prefix(&self.src)
            .unwrap_or(file)
            .display()
            .to_string()
    }
}

/// Every `.rs` file under `dir`, at any depth, sorted.
pub fn rs_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}
