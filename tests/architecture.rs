//! The engine's modules depend on each other without circles: each module of `src/core` can be
//! read (and tested) knowing only the modules below it. This reads the sources, lists every
//! reference from one module of `src/core` to another (`use super::bus::…`, `super::reasons::…`
//! in code, `crate::core::job::…`, and `super::super::…` inside a module's own folder) and
//! fails on a cycle, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn core_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core")
}

/// The modules of `src/core`, each with its source files (`m.rs`, or everything in `m/`).
fn core_modules() -> BTreeMap<String, Vec<PathBuf>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(core_dir()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut files = Vec::new();
            collect_rs(&path, &mut files);
            modules.insert(stem, files);
        } else if path.extension().is_some_and(|e| e == "rs") && stem != "mod" {
            modules.insert(stem, vec![path]);
        }
    }
    modules
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first path segment of every path that starts with `prefix` in `source`, including each
/// item of a `prefix{a::…, b}` group.
fn segments_after(source: &str, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(prefix) {
        // `x_super::` is not `super::`.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group.find(|c| {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => return true,
                    '}' => depth -= 1,
                    _ => {}
                }
                false
            });
            let group = &group[..end.unwrap_or(group.len())];
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars().chain(std::iter::once(',')) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(first_ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            found.push(first_ident(rest));
        }
    }
    found
}

fn first_ident(s: &str) -> String {
    s.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// module -> the other modules of `src/core` it refers to.
fn core_edges() -> BTreeMap<String, BTreeSet<String>> {
    let modules = core_modules();
    let mut edges = BTreeMap::new();
    for (module, files) in &modules {
        let mut to = BTreeSet::new();
        for file in files {
            let source = std::fs::read_to_string(file).unwrap();
            // Inside a module's folder, `super::` is the module itself (or a folder within it).
            let top_level = file.parent() == Some(core_dir().as_path()) || file.file_name().is_some_and(|n| n == "mod.rs") && file.parent().and_then(Path::parent) == Some(core_dir().as_path());
            let mut names = segments_after(&source, "crate::core::");
            if top_level {
                names.extend(segments_after(&source, "super::"));
            } else {
                names.extend(segments_after(&source, "super::super::"));
            }
            to.extend(names.into_iter().filter(|n| n != module && modules.contains_key(n)));
        }
        edges.insert(module.clone(), to);
    }
    edges
}

/// A cycle in `edges`, as the path around it, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(node: &str, edges: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
}

#[test]
fn core_modules_have_no_import_cycle() {
    let edges = core_edges();
    for (module, to) in &edges {
        println!("{module} -> {}", to.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    assert!(edges.len() >= 8 && edges["worker"].contains("bus"), "the scan found the modules and their imports: {edges:?}");
    if let Some(cycle) = find_cycle(&edges) {
        panic!("src/core has an import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_scan_sees_every_form_of_reference() {
    let source = "use super::{bus::Bus, job::{A, B}, Value};\nlet x = super::reasons::stopped(w);\nuse crate::core::registry::R;\nmy_super::ignored";
    let mut found = segments_after(source, "super::");
    found.extend(segments_after(source, "crate::core::"));
    assert_eq!(found, ["bus", "job", "Value", "reasons", "registry"]);
    let edges: BTreeMap<String, BTreeSet<String>> =
        [("a", "b"), ("b", "c"), ("c", "a")].iter().map(|(f, t)| (f.to_string(), BTreeSet::from([t.to_string()]))).collect();
    assert_eq!(find_cycle(&edges), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}

/// Every source file of the crate stays short enough to read in one sitting; a longer one is
/// split by concern (as `core/worker/` and `core/job/` are).
#[test]
fn no_source_file_is_over_600_lines() {
    const MAX_LINES: usize = 600;
    let mut files = Vec::new();
    collect_rs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 20, "the scan found the sources: {files:?}");
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "source files over {MAX_LINES} lines: {long:?}");
}
