//! The shape of `host/src` and `bench/src`, checked: no import cycles between sibling
//! modules, no file over 400 lines, and the crate root's layout doc naming every top-level
//! module in an order dependencies never go up. The tests are held to the line limit too:
//! every `.rs` file under `host/tests` and `bench/benches`.
//!
//! Edges come from every `crate::`, `super::` and `self::` path in the code (in `use` trees,
//! braces expanded, and inline), resolved to the deepest module they name. An edge counts
//! between the two siblings under the modules' common parent, so `runtime::component` using
//! `runtime::host` is `component → host` inside `runtime`, and `dispatch` using
//! `runtime::host` is `dispatch → runtime` at the top. A child using its parent's items is not
//! an edge. Test-only files (`*_tests.rs`) are left out of the edges (not of the line count).
//!
//! A tree is a source directory and its crate root (`lib.rs` for both). The other crate roots
//! in it, `main.rs` and `bin/*.rs`, are crates of their own that reach the library by its name
//! (`extws_wasm::`, `extws_bench::`), not by `crate::`: they hold no sibling edges, so they are
//! only held to the line limit, and to being one file each (no `mod x;` of their own, which
//! this walker would not follow).
//!
//! The walker is in `layout/`: [`tree`] (a tree's files and modules), [`edges`] (the paths in
//! the code and the cycles among them), [`doc`] (the root's layout list) and [`checks`].

#[path = "layout/checks.rs"]
mod checks;
#[path = "layout/doc.rs"]
mod doc;
#[path = "layout/edges.rs"]
mod edges;
#[path = "layout/tree.rs"]
mod tree;

use std::collections::BTreeSet;
use std::path::PathBuf;

use checks::{
    check_cycles, check_dependencies_point_down, check_layout_doc_names_every_module, check_lines,
    check_other_roots, long_files,
};
use doc::{declared_modules, layout_order, order_pointing_down, upward_edges};
use edges::{Edges, expand, find_cycle};
use tree::{Tree, rs_files};

/// `host/src`, or the tree `EXTWS_LAYOUT_SRC` names (to check another checkout, e.g. to see
/// this test fail on a tree with cycles).
fn host() -> Tree {
    Tree {
        src: std::env::var_os("EXTWS_LAYOUT_SRC")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")),
        root: "lib.rs",
        min_edges: 20,
    }
}

/// `bench/src`, or the tree `EXTWS_LAYOUT_BENCH_SRC` names.
fn bench() -> Tree {
    Tree {
        src: std::env::var_os("EXTWS_LAYOUT_BENCH_SRC")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/src")),
        root: "lib.rs",
        min_edges: 10,
    }
}

#[test]
fn no_import_cycles_between_host_modules() {
    check_cycles(&host());
}

#[test]
fn no_import_cycles_between_bench_modules() {
    check_cycles(&bench());
}

#[test]
fn no_host_file_over_400_lines() {
    check_lines(&host());
}

#[test]
fn no_bench_file_over_400_lines() {
    check_lines(&bench());
}

/// Every `.rs` file under `host/tests` (the test binaries, their modules and the shared
/// harness) and under `bench/benches`, or under the directories `EXTWS_LAYOUT_TESTS` and
/// `EXTWS_LAYOUT_BENCHES` name.
#[test]
fn no_test_file_over_400_lines() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir =
        |var: &str, default: PathBuf| std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    let tests = dir("EXTWS_LAYOUT_TESTS", manifest.join("tests"));
    let benches = dir("EXTWS_LAYOUT_BENCHES", manifest.join("../bench/benches"));
    let mut files = rs_files(&tests);
    assert!(
        files.len() > 20,
        "the walk found almost nothing in {}: {files:?}",
        tests.display()
    );
    if benches.is_dir() {
        files.extend(rs_files(&benches));
    }
    let long = long_files(files);
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}

#[test]
fn the_other_crate_roots_are_one_file_each() {
    check_other_roots(&host());
    check_other_roots(&bench());
}

#[test]
fn the_host_layout_doc_names_every_module() {
    check_layout_doc_names_every_module(&host());
}

#[test]
fn the_bench_layout_doc_names_every_module() {
    check_layout_doc_names_every_module(&bench());
}

#[test]
fn host_dependencies_point_down_the_layout_list() {
    check_dependencies_point_down(&host());
}

#[test]
fn bench_dependencies_point_down_the_layout_list() {
    check_dependencies_point_down(&bench());
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let edges: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(find_cycle(&edges).unwrap().len(), 4);
    let paths = expand("crate::{a::{b, c as d}, e, self}");
    assert_eq!(
        paths,
        [
            vec!["crate", "a", "b"],
            vec!["crate", "a", "c"],
            vec!["crate", "e"],
            vec!["crate"]
        ]
    );
}

#[test]
fn the_layout_list_is_the_bullets_in_order() {
    let root = "//! Layout:\n\
                //!\n\
                //! **Edge**\n\
                //!\n\
                //! * [`gateway`] — the head; see [`dispatch`].\n\
                //!   More about it.\n\
                //!\n\
                //! Commands:\n\
                //! * [`dispatch`] — frames.\n\
                //! * [`gateway`] — listed again.\n\
                //! * [`state`] — the store.\n\
                \n\
                pub mod dispatch;\n\
                pub(crate) mod gateway;\n\
                mod state;\n\
                #[cfg(test)]\n\
                mod state_tests;\n";
    assert_eq!(layout_order(root), ["gateway", "dispatch", "state"]);
    assert_eq!(declared_modules(root), ["dispatch", "gateway", "state"]);
    let mut edges = Edges::new();
    let top = edges.entry(Vec::new()).or_default();
    for (from, to, file) in [
        ("gateway", "state", "gateway.rs"),
        ("dispatch", "gateway", "dispatch/mod.rs"),
        ("dispatch", "gateway", "dispatch/close.rs"),
        ("dispatch", "state", "dispatch/mod.rs"),
        ("state", "unlisted", "state.rs"),
    ] {
        top.entry((from.into(), to.into()))
            .or_default()
            .insert(file.into());
    }
    assert_eq!(
        upward_edges(&edges, &layout_order(root)),
        ["dispatch -> gateway points up the layout list (in dispatch/close.rs, dispatch/mod.rs)"]
    );
    assert_eq!(
        order_pointing_down(&edges, &layout_order(root)),
        ["dispatch", "gateway", "state"]
    );
}
