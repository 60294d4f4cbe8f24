//! The domain crate's layering, read from its own source with `syn`: the modules of
//! `shared/src` import each other without a loop (so each can be read, tested and
//! replaced from the bottom up), and no module but `http` (and what it nests) reaches
//! the HTTP layer: the web depends on the domain, never the other way round.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Top-level module → the top-level modules its non-test code names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Collects the crate-level modules a file's paths name (`crate::x`, and `super::x`
/// climbing to the crate root), skipping `#[cfg(test)]` items.
struct Names<'a> {
    /// How deep the file's module is (`orders.rs`: 1; `orders/browse.rs`: 2).
    depth: usize,
    /// The crate's top-level modules.
    modules: &'a BTreeSet<String>,
    found: BTreeSet<String>,
}

impl Names<'_> {
    fn path(&mut self, segments: &[String]) {
        let top = match segments.first().map(String::as_str) {
            Some("crate") => segments.get(1),
            Some("super") => {
                let climbs = segments.iter().take_while(|s| *s == "super").count();
                (climbs == self.depth).then(|| segments.get(climbs)).flatten()
            }
            _ => None,
        };
        if let Some(top) = top.filter(|t| self.modules.contains(*t)) {
            self.found.insert(top.clone());
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                prefix.push(name.ident.to_string());
                self.path(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Rename(rename) => {
                prefix.push(rename.ident.to_string());
                self.path(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.path(&prefix.clone()),
            syn::UseTree::Group(group) => group.items.iter().for_each(|item| self.use_tree(prefix, item)),
        }
    }
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|attr| attr.path().is_ident("cfg") && attr.parse_args::<syn::Ident>().is_ok_and(|ident| ident == "test"))
}

impl<'ast> Visit<'ast> for Names<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Impl(i) => &i.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_test(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.path(&segments);
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Paths inside macro bodies (`format!`, `json!`, …) are tokens: read `crate :: x`.
        let text = mac.tokens.to_string().replace(' ', "");
        for (index, _) in text.match_indices("crate::") {
            let rest = &text[index + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            self.path(&["crate".to_string(), name]);
        }
        syn::visit::visit_macro(self, mac);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory reads") {
        let path = entry.expect("entry reads").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The import graph of `shared/src` between top-level modules.
fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let module_of = |file: &Path| -> Vec<String> {
        let relative = file.strip_prefix(&root).expect("under src");
        let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let last = parts.pop().expect("a file name");
        let stem = last.trim_end_matches(".rs").to_string();
        if stem != "mod" && stem != "lib" {
            parts.push(stem);
        }
        parts
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f).first().cloned()).collect();
    let mut graph = Graph::new();
    for file in &files {
        let module = module_of(file);
        let Some(top) = module.first() else { continue };
        let source = std::fs::read_to_string(file).expect("source reads");
        let parsed = syn::parse_file(&source).unwrap_or_else(|e| panic!("{} parses: {e}", file.display()));
        let mut names = Names {
            depth: module.len(),
            modules: &modules,
            found: BTreeSet::new(),
        };
        names.visit_file(&parsed);
        names.found.remove(top);
        graph.entry(top.clone()).or_default().extend(names.found);
    }
    graph
}

/// A loop in `graph`, if there is one, as the modules along it.
fn find_loop(graph: &Graph) -> Option<Vec<String>> {
    fn walk(node: &str, graph: &Graph, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = walk(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| walk(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_import_each_other_without_a_loop() {
    let graph = graph();
    assert!(graph.len() > 10, "the walk found the crate's modules: {graph:?}");
    if let Some(cycle) = find_loop(&graph) {
        panic!(
            "shared/src modules import each other in a loop: {}\n\ngraph:\n{graph:#?}",
            cycle.join(" → ")
        );
    }
}

#[test]
fn only_the_http_layer_imports_http() {
    let graph = graph();
    let importers: Vec<&String> = graph
        .iter()
        .filter(|(module, imports)| *module != "http" && imports.contains("http"))
        .map(|(module, _)| module)
        .collect();
    assert!(
        importers.is_empty(),
        "these modules reach the HTTP layer: {importers:?}"
    );
}

#[test]
fn the_walk_sees_a_loop_when_there_is_one() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_loop(&graph), None);
    graph.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_loop(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
