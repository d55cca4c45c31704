//! The sibling edges of a tree: every `crate::`/`super::`/`self::` path in its code, resolved to
//! the modules it names, and the cycles among them.

use std::collections::{BTreeMap, BTreeSet};

use crate::tree::{Module, Tree};

/// Sibling edges by parent module, each with the files (relative to the tree) that make it.
pub type Edges = BTreeMap<Module, BTreeMap<(String, String), BTreeSet<String>>>;

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
pub fn expand(tree: &str) -> Vec<Vec<String>> {
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
pub fn sibling_edges(tree: &Tree) -> Edges {
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
pub fn describe(edge: &(String, String), files: &BTreeSet<String>) -> String {
    format!("{} -> {} (in {})", edge.0, edge.1, listed(files))
}

/// A cycle among `edges`, if any, as the list of nodes on it.
pub fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
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
pub fn listed(files: &BTreeSet<String>) -> String {
    files
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
