//! A test that keeps the crate's modules free of import cycles (house
//! style): every `crate::<module>` path in code (a `use` line or a path
//! written inline, comments skipped) is an edge from the file's top-level
//! module to `<module>`, and the graph must be acyclic. The same holds among
//! the files of each directory module (`routing/table.rs` and
//! `routing/policy.rs`), read from `super::<sibling>` paths of its files
//! (before their test modules) and `crate::<dir>::<sibling>` paths. A cycle fails the test
//! with the modules in it and the lines that make each edge. The cure is a
//! leaf module both sides may use, or moving the code to the side that owns it.
//! Test code only; nothing here is compiled into the gateway.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Edges of the top-level module graph: from, to, and where (file:line).
type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::<name>` paths of one line of code, comments dropped.
fn crate_paths(line: &str) -> Vec<&str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    let code = code.split(" //").next().unwrap_or(code);
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        let name_len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && name_len > 0 {
            found.push(&after[..name_len]);
        }
        rest = &after[name_len..];
    }
    found
}

fn graph_of(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let from = first.to_string_lossy().trim_end_matches(".rs").to_owned();
        if from == "lib" || from == "main" || from == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for to in crate_paths(line) {
                if to != from {
                    graph
                        .entry(from.clone())
                        .or_default()
                        .entry(to.to_owned())
                        .or_default()
                        .push(format!("{}:{}", relative.display(), number + 1));
                }
            }
        }
    }
    graph
}

/// The sibling graph of every directory module under `src`, keyed by the
/// directory (`routing`, `formats/gemini`).
fn sibling_graphs(src: &Path) -> BTreeMap<String, Graph> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: Vec<Vec<String>> = files
        .iter()
        .map(|file| {
            let relative = file.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|last| last == "mod") {
                parts.pop();
            }
            parts
        })
        .collect();
    let mut graphs = BTreeMap::<String, Graph>::new();
    for (file, parts) in files.iter().zip(&modules) {
        let text = std::fs::read_to_string(file).unwrap();
        let relative = file.strip_prefix(src).unwrap().display().to_string();
        let is_mod = file.ends_with("mod.rs");
        for depth in 1..parts.len() {
            let dir = &parts[..depth];
            let child = &parts[depth];
            let is_sibling = |name: &str| {
                name != child
                    && modules
                        .iter()
                        .any(|m| m.len() > depth && m[..depth] == *dir && m[depth] == name)
            };
            let prefix = format!("crate::{}::", dir.join("::"));
            // `super::` of a direct child file (not a mod.rs) names a sibling.
            let reads_super = depth + 1 == parts.len() && !is_mod;
            let mut in_tests = false;
            for (number, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                in_tests |= code.starts_with("#[cfg(test)]");
                let mut names = Vec::new();
                for (at, _) in code.match_indices(&prefix) {
                    names.push(&code[at + prefix.len()..]);
                }
                if reads_super && !in_tests {
                    for (at, _) in code.match_indices("super::") {
                        let before = code[..at].chars().next_back();
                        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                            names.push(&code[at + "super::".len()..]);
                        }
                    }
                }
                for rest in names {
                    let len = rest
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    let name = &rest[..len];
                    if is_sibling(name) {
                        graphs
                            .entry(dir.join("/"))
                            .or_default()
                            .entry(child.clone())
                            .or_default()
                            .entry(name.to_owned())
                            .or_default()
                            .push(format!("{relative}:{}", number + 1));
                    }
                }
            }
        }
    }
    graphs
}

/// A cycle of `graph` as a list of modules (the first repeated at the end), if any.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn describe(graph: &Graph, cycle: &[String]) -> String {
    cycle
        .windows(2)
        .map(|pair| {
            let lines = &graph[&pair[0]][&pair[1]];
            format!("{} -> {} ({})", pair[0], pair[1], lines.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn top_level_modules_import_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    assert!(graph.len() > 20, "too few modules read: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle:\n{}", describe(&graph, &cycle));
    }
}

#[test]
fn files_of_a_directory_module_import_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graphs = sibling_graphs(&src);
    assert!(
        graphs
            .get("routing")
            .is_some_and(|g| g.contains_key("decide")),
        "routing's files not read: {graphs:?}"
    );
    for (dir, graph) in &graphs {
        if let Some(cycle) = find_cycle(graph) {
            panic!("import cycle in {dir}/:\n{}", describe(graph, &cycle));
        }
    }
}

#[test]
fn paths_are_read_from_code_only() {
    assert_eq!(crate_paths("use crate::error::GatewayError;"), ["error"]);
    assert_eq!(
        crate_paths("    let x = crate::formats::a(crate::sse::b); // crate::keys"),
        ["formats", "sse"]
    );
    assert!(crate_paths("//! see [`crate::formats`]").is_empty());
    assert!(crate_paths("use mycrate::thing;").is_empty());
}

#[test]
fn a_cycle_is_found_and_named() {
    fn edge(graph: &mut Graph, from: &str, to: &str) {
        graph
            .entry(from.to_owned())
            .or_default()
            .insert(to.to_owned(), vec![format!("{from}.rs:1")]);
    }
    let mut graph = Graph::new();
    edge(&mut graph, "a", "b");
    edge(&mut graph, "b", "c");
    edge(&mut graph, "d", "a");
    assert_eq!(find_cycle(&graph), None);
    edge(&mut graph, "c", "a");
    let cycle = find_cycle(&graph).unwrap();
    assert_eq!(cycle, ["a", "b", "c", "a"]);
    assert_eq!(
        describe(&graph, &cycle),
        "a -> b (a.rs:1)\nb -> c (b.rs:1)\nc -> a (c.rs:1)"
    );
}
