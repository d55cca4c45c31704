//! The checks the layout tests run on a tree, each failing with a message that names the files
//! to change.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::doc::{declared_modules, layout_order, order_pointing_down, upward_edges};
use crate::edges::{describe, find_cycle, sibling_edges};
use crate::tree::Tree;

pub fn check_cycles(tree: &Tree) {
    let edges = sibling_edges(tree);
    assert!(
        edges
            .get(&Vec::new())
            .is_some_and(|e| e.len() > tree.min_edges),
        "the edge reader found almost nothing in {}: {edges:?}",
        tree.src.display()
    );
    let cycles: Vec<String> = edges
        .iter()
        .filter_map(|(parent, e)| {
            let keys: BTreeSet<(String, String)> = e.keys().cloned().collect();
            let cycle = find_cycle(&keys)?;
            let how: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let edge = (w[0].clone(), w[1].clone());
                    format!("  {}", describe(&edge, &e[&edge]))
                })
                .collect();
            Some(format!(
                "in {}: {}\n{}",
                std::iter::once("crate")
                    .chain(parent.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("::"),
                cycle.join(" -> "),
                how.join("\n")
            ))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles in {}:\n{}",
        tree.src.display(),
        cycles.join("\n")
    );
}

pub fn check_lines(tree: &Tree) {
    let long = long_files(tree.files());
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}

/// The files over 400 lines among `files`, as `path: N lines`.
pub fn long_files(files: Vec<PathBuf>) -> Vec<String> {
    files
        .into_iter()
        .map(|path| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            (path, lines)
        })
        .filter(|(_, lines)| *lines > 400)
        .map(|(path, lines)| format!("{}: {lines} lines", path.display()))
        .collect()
}

pub fn check_other_roots(tree: &Tree) {
    let with_modules: Vec<String> = tree
        .files()
        .into_iter()
        .filter(|path| tree.is_other_root(path))
        .filter(|path| !declared_modules(&std::fs::read_to_string(path).unwrap()).is_empty())
        .map(|path| tree.rel(&path))
        .collect();
    assert!(
        with_modules.is_empty(),
        "crate roots besides {} with modules of their own (not walked by this test): \
         {with_modules:?}",
        tree.root
    );
}

pub fn check_layout_doc_names_every_module(tree: &Tree) {
    let root = std::fs::read_to_string(tree.src.join(tree.root)).unwrap();
    let order = layout_order(&root);
    let missing: Vec<String> = declared_modules(&root)
        .into_iter()
        .filter(|m| !order.contains(m))
        .collect();
    assert!(
        missing.is_empty(),
        "{}'s layout doc does not name {missing:?}",
        tree.src.join(tree.root).display()
    );
}

pub fn check_dependencies_point_down(tree: &Tree) {
    let root = std::fs::read_to_string(tree.src.join(tree.root)).unwrap();
    let order = layout_order(&root);
    assert!(
        order.len() > 3,
        "no layout list (`//! * [`module`] — ...` bullets) in {}",
        tree.src.join(tree.root).display()
    );
    let edges = sibling_edges(tree);
    let up = upward_edges(&edges, &order);
    let keys: BTreeSet<(String, String)> = edges
        .get(&Vec::new())
        .into_iter()
        .flat_map(|e| e.keys().cloned())
        .collect();
    let hint = match find_cycle(&keys) {
        Some(_) => "none without breaking the import cycle first".to_string(),
        None => order_pointing_down(&edges, &order).join(", "),
    };
    assert!(
        up.is_empty(),
        "{}'s layout doc says dependencies point down its list; {} up:\n{}\n\
         An order with none pointing up, nearest the listed one: {hint}",
        tree.src.join(tree.root).display(),
        match up.len() {
            1 => "this edge points".to_string(),
            n => format!("these {n} edges point"),
        },
        up.join("\n"),
    );
}
