//! The shape of `host/src`, checked: no import cycles between sibling modules, no file over 400
//! lines, and `lib.rs`'s layout doc naming every top-level module.
//!
//! Edges come from every `crate::`, `super::` and `self::` path in the code (in `use` trees,
//! braces expanded, and inline), resolved to the deepest module they name. An edge counts
//! between the two siblings under the modules' common parent, so `runtime::component` using
//! `runtime::host` is `component → host` inside `runtime`, and `dispatch` using
//! `runtime::host` is `dispatch → runtime` at the top. A child using its parent's items is not
//! an edge. Test-only files (`*_tests.rs`) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// `host/src`, or the tree `EXTWS_LAYOUT_SRC` names (to check another checkout, e.g. to see
/// this test fail on a tree with cycles).
fn src() -> PathBuf {
    std::env::var_os("EXTWS_LAYOUT_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// Every source file of the library with its module path (`lib.rs` is the root).
fn modules() -> Vec<(Module, PathBuf)> {
    fn walk(dir: &Path, prefix: &Module, out: &mut Vec<(Module, PathBuf)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut module = prefix.clone();
                module.push(name);
                walk(&path, &module, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = match name.as_str() {
                    "lib" if prefix.is_empty() => prefix.clone(),
                    "main" if prefix.is_empty() => continue,
                    "mod" => prefix.clone(),
                    n if n.ends_with("_tests") => continue,
                    n => {
                        let mut m = prefix.clone();
                        m.push(n.to_string());
                        m
                    }
                };
                out.push((module, path));
            }
        }
    }
    let mut out = Vec::new();
    walk(&src(), &Vec::new(), &mut out);
    out
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

/// The sibling edges of the library, by parent module.
fn sibling_edges() -> BTreeMap<Module, BTreeSet<(String, String)>> {
    let files = modules();
    let known: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: BTreeMap<Module, BTreeSet<(String, String)>> = BTreeMap::new();
    for (module, path) in &files {
        let is_mod_file = matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("mod.rs" | "lib.rs")
        );
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
                .insert((module[common].clone(), target[common].clone()));
        }
    }
    edges
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

#[test]
fn no_import_cycles_between_modules() {
    let edges = sibling_edges();
    assert!(
        edges.get(&Vec::new()).is_some_and(|e| e.len() > 20),
        "the edge reader found almost nothing: {edges:?}"
    );
    let cycles: Vec<String> = edges
        .iter()
        .filter_map(|(parent, e)| {
            find_cycle(e).map(|c| format!("in crate::{}: {}", parent.join("::"), c.join(" -> ")))
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
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
fn no_source_file_over_400_lines() {
    let long: Vec<String> = modules()
        .into_iter()
        .map(|(_, path)| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            (path, lines)
        })
        .filter(|(_, lines)| *lines > 400)
        .map(|(path, lines)| format!("{}: {lines} lines", path.display()))
        .collect();
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}

#[test]
fn the_layout_doc_names_every_module() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let missing: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .filter(|m| !lib.contains(&format!("//! * [`{m}`]")))
        .collect();
    assert!(
        missing.is_empty(),
        "lib.rs's layout doc does not name {missing:?}"
    );
}
