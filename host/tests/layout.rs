//! The shape of `host/src` and `bench/src`, checked: no import cycles between sibling
//! modules, no file over 400 lines, and the crate root's layout doc naming every top-level
//! module in an order dependencies never go up.
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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Sibling edges by parent module, each with the files (relative to the tree) that make it.
type Edges = BTreeMap<Module, BTreeMap<(String, String), BTreeSet<String>>>;

/// A source tree to check.
struct Tree {
    /// The source directory.
    src: PathBuf,
    /// The library's crate root in it.
    root: &'static str,
    /// The fewest top-level edges a working reader finds in it.
    min_edges: usize,
}

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

impl Tree {
    /// Whether `path`, inside `src`, is a crate root other than [`Tree::root`]: `main.rs` or
    /// `lib.rs` at the top, or anything under `bin/`.
    fn is_other_root(&self, path: &Path) -> bool {
        let rel = path.strip_prefix(&self.src).unwrap_or(path);
        let top = rel.components().count() == 1;
        rel.starts_with("bin")
            || (top
                && matches!(rel.to_str(), Some("main.rs" | "lib.rs"))
                && !rel.ends_with(self.root))
    }

    /// Every `.rs` file of the tree, sorted.
    fn files(&self) -> Vec<PathBuf> {
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
        walk(&self.src, &mut out);
        out
    }

    /// Every source file of the library with its module path (the root is `[]`); the other
    /// crate roots and test-only files are left out.
    fn modules(&self) -> Vec<(Module, PathBuf)> {
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
    fn rel(&self, file: &Path) -> String {
        file.strip_prefix(&self.src)
            .unwrap_or(file)
            .display()
            .to_string()
    }
}

/// The code without comments and string literals (so prose naming `crate::x` is no edge).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut prev = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_string {
                if c == '"' && prev != '\\' {
                    in_string = false;
                }
                prev = if prev == '\\' && c == '\\' { ' ' } else { c };
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_string = true;
            }
            out.push(c);
            prev = c;
        }
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn parse(s: &[char], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut path = prefix.clone();
        while *i < s.len() {
            let c = s[*i];
            if c.is_whitespace() || c == ':' {
                *i += 1;
            } else if c == '{' {
                *i += 1;
                loop {
                    parse(s, i, path.clone(), out);
                    while *i < s.len() && s[*i].is_whitespace() {
                        *i += 1;
                    }
                    match s.get(*i) {
                        Some(',') => *i += 1,
                        Some('}') => {
                            *i += 1;
                            return;
                        }
                        _ => return,
                    }
                    while *i < s.len() && s[*i].is_whitespace() {
                        *i += 1;
                    }
                    if s.get(*i) == Some(&'}') {
                        *i += 1;
                        return;
                    }
                }
            } else if c == ',' || c == '}' {
                break;
            } else if is_ident(c) || c == '*' {
                let start = *i;
                while *i < s.len() && (is_ident(s[*i]) || s[*i] == '*') {
                    *i += 1;
                }
                let word: String = s[start..*i].iter().collect();
                if word == "as" {
                    // `x as y`: skip the alias.
                    while *i < s.len() && s[*i].is_whitespace() {
                        *i += 1;
                    }
                    while *i < s.len() && is_ident(s[*i]) {
                        *i += 1;
                    }
                } else if word != "self" && word != "*" {
                    path.push(word);
                }
            } else {
                *i += 1;
            }
        }
        out.push(path);
    }
    let chars: Vec<char> = tree.chars().collect();
    let mut out = Vec::new();
    parse(&chars, &mut 0, Vec::new(), &mut out);
    out
}

/// Every `crate::`/`super::`/`self::` path in `code`, made absolute for a file of `module`
/// (`is_mod_file`: the file is `mod.rs`/`lib.rs`, so `super` is one level further up).
fn references(code: &str, module: &Module, is_mod_file: bool) -> Vec<Module> {
    let base_self = module.clone();
    let mut base_super = module.clone();
    if !is_mod_file || !module.is_empty() {
        base_super.pop();
    }
    let absolute = |path: Vec<String>| -> Option<Module> {
        let (head, rest) = path.split_first()?;
        let mut out = match head.as_str() {
            "crate" => Vec::new(),
            "super" => base_super.clone(),
            "self" => base_self.clone(),
            _ => return None,
        };
        let mut rest = rest.to_vec();
        while rest.first().is_some_and(|s| s == "super") {
            rest.remove(0);
            out.pop();
        }
        out.extend(rest);
        Some(out)
    };
    let mut found = Vec::new();
    // `use` trees.
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(is_ident) {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        for path in expand(&rest[..end]) {
            found.extend(absolute(path));
        }
    }
    // Inline paths.
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !is_ident(chars[i - 1])) {
            let start = i;
            let mut path = Vec::new();
            loop {
                let s = i;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                path.push(chars[s..i].iter().collect::<String>());
                if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
                    i += 2;
                    if !chars.get(i).copied().is_some_and(is_ident) {
                        break;
                    }
                } else {
                    break;
                }
            }
            if path.len() > 1 && ["crate", "super", "self"].contains(&path[0].as_str()) {
                found.extend(absolute(path));
            }
            if i == start {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The sibling edges of the tree's library, by parent module.
fn sibling_edges(tree: &Tree) -> Edges {
    let files = tree.modules();
    let known: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut edges = Edges::new();
    for (module, path) in &files {
        let is_mod_file = module.is_empty() || path.file_name().is_some_and(|n| n == "mod.rs");
        let code = code_only(&std::fs::read_to_string(path).unwrap());
        for target in references(&code, module, is_mod_file) {
            // The deepest module the path names.
            let mut target = target;
            while !target.is_empty() && !known.contains(&target) {
                target.pop();
            }
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.len() || common == target.len() {
                continue; // itself, a child of it, or one of its parents
            }
            edges
                .entry(module[..common].to_vec())
                .or_default()
                .entry((module[common].clone(), target[common].clone()))
                .or_default()
                .insert(tree.rel(path));
        }
    }
    edges
}

/// `a -> b (in a.rs, a/x.rs)`: an edge and the files that make it.
fn describe(edge: &(String, String), files: &BTreeSet<String>) -> String {
    format!("{} -> {} (in {})", edge.0, edge.1, listed(files))
}

/// A cycle among `edges`, if any, as the list of nodes on it.
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().push(b);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(node, 1);
        stack.push(node);
        for &n in next.get(node).into_iter().flatten() {
            match state.get(n) {
                Some(1) => {
                    let from = stack.iter().position(|s| *s == n).unwrap();
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|s| s.to_string()).collect();
                    cycle.push(n.to_string());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(n, next, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node, 2);
        None
    }
    let mut state = BTreeMap::new();
    let nodes: Vec<&str> = next.keys().copied().collect();
    for node in nodes {
        if !state.contains_key(node)
            && let Some(c) = visit(node, &next, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

/// The files of an edge, for messages.
fn listed(files: &BTreeSet<String>) -> String {
    files
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The top-level modules in the order the root's `//!` layout doc lists them: every bullet
/// line `* [`name`]`, in order. Headings, prose and continuation lines between the bullets
/// are not modules; a name listed twice keeps its first place.
fn layout_order(root: &str) -> Vec<String> {
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
fn declared_modules(root: &str) -> Vec<String> {
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
fn upward_edges(edges: &Edges, order: &[String]) -> Vec<String> {
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
fn order_pointing_down(edges: &Edges, order: &[String]) -> Vec<String> {
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

fn check_cycles(tree: &Tree) {
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

fn check_lines(tree: &Tree) {
    let long: Vec<String> = tree
        .files()
        .into_iter()
        .map(|path| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            (path, lines)
        })
        .filter(|(_, lines)| *lines > 400)
        .map(|(path, lines)| format!("{}: {lines} lines", path.display()))
        .collect();
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}

fn check_other_roots(tree: &Tree) {
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

fn check_layout_doc_names_every_module(tree: &Tree) {
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

fn check_dependencies_point_down(tree: &Tree) {
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
