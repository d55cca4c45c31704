//! The crate root's layout doc: the modules its bullets list, in order, the modules the root
//! declares, and the edges that point up the list.

use crate::edges::{Edges, listed};

/// The top-level modules in the order the root's `//!` layout doc lists them: every bullet
/// line `* [`name`]`, in order. Headings, prose and continuation lines between the bullets
/// are not modules; a name listed twice keeps its first place.
pub fn layout_order(root: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in root.lines() {
        let Some(doc) = line.trim_start().strip_prefix("//!") else {
            continue;
        };
        let Some(name) = doc
            .trim_start()
            .strip_prefix("* [`")
            .and_then(|rest| rest.split_once("`]"))
            .map(|(name, _)| name.to_string())
        else {
            continue;
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The modules the root declares (`mod x;`, `pub mod x;`, `pub(crate) mod x;`), test-only
/// ones left out.
pub fn declared_modules(root: &str) -> Vec<String> {
    root.lines()
        .map(str::trim)
        .map(|l| {
            l.strip_prefix("pub(crate) ")
                .or(l.strip_prefix("pub "))
                .unwrap_or(l)
        })
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .map(|m| m.trim().to_string())
        .filter(|m| !m.ends_with("_tests"))
        .collect()
}

/// Every top-level edge from a module to one listed above it in `order`, as messages.
pub fn upward_edges(edges: &Edges, order: &[String]) -> Vec<String> {
    let place = |m: &str| order.iter().position(|o| o == m);
    edges
        .get(&Vec::new())
        .into_iter()
        .flatten()
        .filter(|((from, to), _)| matches!((place(from), place(to)), (Some(f), Some(t)) if t < f))
        .map(|((from, to), files)| {
            format!(
                "{from} -> {to} points up the layout list (in {})",
                listed(files)
            )
        })
        .collect()
}

/// The listed modules in an order no top-level edge points up in, keeping the listed order
/// wherever the edges allow: each place goes to the first listed module that none of the
/// modules still unplaced depends on. (Modules on a cycle are appended in listed order.)
pub fn order_pointing_down(edges: &Edges, order: &[String]) -> Vec<String> {
    let top: Vec<&(String, String)> = edges
        .get(&Vec::new())
        .into_iter()
        .flat_map(|e| e.keys())
        .filter(|(a, b)| a != b && order.contains(a) && order.contains(b))
        .collect();
    let mut left: Vec<&String> = order.iter().collect();
    let mut out = Vec::new();
    while !left.is_empty() {
        let free = left.iter().position(|m| {
            !top.iter()
                .any(|(from, to)| to == *m && left.contains(&from))
        });
        let at = free.unwrap_or(0);
        out.push(left.remove(at).clone());
    }
    out
}
