//! Which guest-SDK modules a Python or JavaScript scenario reaches through
//! its imports, transitively. The SDKs have one module per probe
//! (`rigor/fs.py`, `rigor/fs.js`); the build world imports only the contract
//! interfaces named in the scenario's sources and in the SDK modules found
//! here, so importing the SDK never grants a component a probe it does not
//! use.
//!
//! Imports are read line by line, not parsed: comments and Python docstrings
//! are skipped, and an import written where it never runs only makes the
//! component import more than it needs, never less.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::catalog::Language;

/// Most SDK modules followed, so a hostile SDK folder cannot make the scan
/// run away (the SDKs have about ten).
const MAX_SDK_MODULES: usize = 256;

/// The text of every SDK module under `sdk` that the scenario sources of
/// `dir` import, directly or through other SDK modules.
pub fn sdk_modules_used(language: Language, dir: &Path, sdk: &Path) -> std::io::Result<String> {
    let mut scenario_files = Vec::new();
    source_files(dir, dir, &mut scenario_files)?;
    // (file relative to its root, its text) still to read imports from.
    let mut pending: Vec<(PathBuf, String)> = scenario_files
        .into_iter()
        .map(|rel| {
            let text = std::fs::read_to_string(dir.join(&rel)).unwrap_or_default();
            (rel, text)
        })
        .collect();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut out = String::new();
    while let Some((rel, text)) = pending.pop() {
        let found = match language {
            Language::Js => js_imports(&text)
                .into_iter()
                .filter_map(|spec| resolve_js(&rel, &spec))
                .collect::<Vec<_>>(),
            _ => {
                let package = python_package(&rel, sdk.join(&rel).is_file());
                python_imports(&text, package.as_deref())
                    .into_iter()
                    .flat_map(|module| python_files(&module))
                    .collect()
            }
        };
        for module in found {
            if seen.len() >= MAX_SDK_MODULES || seen.contains(&module) {
                continue;
            }
            let path = sdk.join(&module);
            if !path.is_file() {
                continue;
            }
            seen.insert(module.clone());
            let text = std::fs::read_to_string(&path)?;
            out += &text;
            out.push('\n');
            pending.push((module, text));
        }
    }
    Ok(out)
}

/// `.py`, `.js` and `.mjs` files under `dir`, relative to `root`, skipping
/// build outputs, installed packages and hidden folders.
fn source_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.')
            || matches!(name.as_ref(), "target" | "node_modules" | "__pycache__")
        {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            source_files(root, &path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "py" || e == "js" || e == "mjs")
        {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_owned());
        }
    }
    Ok(())
}

/// Lines of Python source that are code: docstrings and other
/// triple-quoted strings, and comments, are left out.
fn python_code_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut open: Option<&str> = None;
    for line in text.lines() {
        let mut rest = line;
        let mut code = String::new();
        loop {
            match open {
                Some(quote) => match rest.find(quote) {
                    Some(end) => {
                        rest = &rest[end + 3..];
                        open = None;
                    }
                    None => break,
                },
                None => {
                    let next = ["\"\"\"", "'''"]
                        .iter()
                        .filter_map(|q| rest.find(q).map(|i| (i, *q)))
                        .min();
                    match next {
                        Some((i, quote)) => {
                            code += &rest[..i];
                            rest = &rest[i + 3..];
                            open = Some(quote);
                        }
                        None => {
                            code += rest;
                            break;
                        }
                    }
                }
            }
        }
        let code = code.split('#').next().unwrap_or("").trim();
        if !code.is_empty() {
            lines.push(code.to_owned());
        }
    }
    lines
}

/// The modules a Python source imports, absolute: `import a.b` gives `a.b`;
/// `from a import b, c` gives `a`, `a.b` and `a.c` (either may be a
/// module); relative imports are resolved against `package` (the package
/// the file is in, `None` outside one).
fn python_imports(text: &str, package: Option<&str>) -> Vec<String> {
    // Join parenthesised and backslash-continued statements into one line.
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    for line in python_code_lines(text) {
        let continued = line.ends_with('\\');
        current += line.trim_end_matches('\\');
        current.push(' ');
        depth += line.matches('(').count() as i32 - line.matches(')').count() as i32;
        if depth <= 0 && !continued {
            statements.push(std::mem::take(&mut current));
            depth = 0;
        }
    }
    statements.push(current);
    let mut modules = Vec::new();
    for statement in statements {
        // `import a; import b` and `if x: import a` are rare in scenarios,
        // but cheap to honour.
        for part in statement.split(';') {
            let part = part.trim();
            let part = part.rsplit_once(": ").map_or(part, |(_, s)| s.trim());
            if let Some(names) = part.strip_prefix("import ") {
                for name in names.split(',') {
                    let name = name.split_whitespace().next().unwrap_or("");
                    if !name.is_empty() {
                        modules.push(name.to_owned());
                    }
                }
            } else if let Some(rest) = part.strip_prefix("from ") {
                let Some((from, names)) = rest.split_once(" import ") else {
                    continue;
                };
                let Some(base) = absolute_module(from.trim(), package) else {
                    continue;
                };
                for name in names.replace(['(', ')'], " ").split(',') {
                    let name = name.split_whitespace().next().unwrap_or("");
                    if !name.is_empty() && name != "*" {
                        modules.push(if base.is_empty() {
                            name.to_owned()
                        } else {
                            format!("{base}.{name}")
                        });
                    }
                }
                if !base.is_empty() {
                    modules.push(base);
                }
            }
        }
    }
    modules
}

/// `from` target made absolute: `.x` in package `rigor` is `rigor.x`.
fn absolute_module(from: &str, package: Option<&str>) -> Option<String> {
    let dots = from.len() - from.trim_start_matches('.').len();
    if dots == 0 {
        return Some(from.to_owned());
    }
    let mut parts: Vec<&str> = package?.split('.').collect();
    for _ in 1..dots {
        parts.pop()?;
    }
    let rest = &from[dots..];
    if !rest.is_empty() {
        parts.push(rest);
    }
    Some(parts.join("."))
}

/// The package a Python file is in: `rigor/fs.py` and `rigor/__init__.py`
/// are in `rigor`. Only SDK files are in a package here; a scenario's own
/// relative imports stay within its folder, which is scanned whole anyway.
fn python_package(rel: &Path, in_sdk: bool) -> Option<String> {
    if !in_sdk {
        return None;
    }
    let parent = rel.parent()?;
    let parts: Vec<String> = parent
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Files that importing `module` runs: the module and every package
/// `__init__.py` above it (`rigor.fs` → `rigor/__init__.py`, `rigor/fs.py`).
fn python_files(module: &str) -> Vec<PathBuf> {
    let parts: Vec<&str> = module.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Vec::new();
    }
    let mut files = Vec::new();
    let mut path = PathBuf::new();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        files.push(path.join("__init__.py"));
        if i == parts.len() - 1 {
            files.push(path.with_extension("py"));
        }
    }
    files
}

/// The module specifiers a JavaScript source imports statically or
/// dynamically (`import x from "s"`, `export * from "s"`, `import "s"`,
/// `import("s")`), skipping lines that are comments.
fn js_imports(text: &str) -> Vec<String> {
    let mut specs = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") || trimmed.starts_with("/*") || trimmed.starts_with('*') {
            continue;
        }
        for keyword in ["from", "import", "import("] {
            let mut rest = line;
            while let Some(i) = rest.find(keyword) {
                let before_ok = rest[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'));
                let after = rest[i + keyword.len()..].trim_start();
                rest = &rest[i + keyword.len()..];
                if !before_ok {
                    continue;
                }
                let Some(quote) = after
                    .chars()
                    .next()
                    .filter(|c| matches!(c, '"' | '\'' | '`'))
                else {
                    continue;
                };
                if let Some(end) = after[1..].find(quote) {
                    specs.push(after[1..1 + end].to_owned());
                }
            }
        }
    }
    specs
}

/// A relative specifier of the module at `from` (relative to the staging
/// folder, where the scenario's files and the SDK's sit side by side) as a
/// path relative to that folder; bare and URL specifiers are not files.
fn resolve_js(from: &Path, spec: &str) -> Option<PathBuf> {
    if !(spec.starts_with("./") || spec.starts_with("../")) {
        return None;
    }
    let mut path = from.parent().unwrap_or(Path::new("")).to_owned();
    for component in Path::new(spec).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !path.pop() {
                    return None;
                }
            }
            Component::Normal(part) => path.push(part),
            _ => return None,
        }
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn python_imports_cover_every_form() {
        let text = "import rigor\nimport rigor.http as h, os\nfrom rigor import (\n    fs,\n    process as p,\n)\nfrom rigor.websocket import WebSocket\nfrom x import \\\n  y\n";
        let got = python_imports(text, None);
        for want in [
            "rigor",
            "rigor.http",
            "os",
            "rigor.fs",
            "rigor.process",
            "rigor.websocket",
            "rigor.websocket.WebSocket",
            "x.y",
        ] {
            assert!(got.iter().any(|m| m == want), "{want} in {got:?}");
        }
        assert_eq!(
            python_imports(
                "from . import fs\nfrom .redis import Redis\n",
                Some("rigor")
            ),
            ["rigor.fs", "rigor", "rigor.redis.Redis", "rigor.redis"]
        );
        assert_eq!(absolute_module("..x", Some("a.b")).as_deref(), Some("a.x"));
        assert_eq!(absolute_module(".x", None), None);
    }

    #[test]
    fn python_docstrings_and_comments_import_nothing() {
        let text = "\"\"\"Example:\n\nfrom rigor.fs import Dir\n\"\"\"\n# import rigor.http\nx = '''\nimport rigor.memory\n'''\nimport rigor.redis  # the real one\n";
        assert_eq!(python_imports(text, None), ["rigor.redis"]);
    }

    #[test]
    fn js_imports_find_static_dynamic_and_reexports() {
        let text = "import * as rigor from \"./rigor.js\";\nimport { Dir } from './rigor/fs.js';\nexport { send } from \"./rigor/http.js\";\nimport \"./side.js\";\nconst m = await import(\"./rigor/memory.js\");\n// import { x } from \"./rigor/process.js\";\n * import { y } from \"./rigor/websocket.js\";\nconst imported = 1; const fromage = \"x\";\n";
        assert_eq!(
            js_imports(text),
            [
                "./rigor.js",
                "./rigor/fs.js",
                "./rigor/http.js",
                "./side.js",
                "./rigor/memory.js"
            ]
        );
        assert_eq!(
            resolve_js(Path::new("rigor/fs.js"), "../rigor.js"),
            Some(PathBuf::from("rigor.js"))
        );
        assert_eq!(
            resolve_js(Path::new("rigor/fs.js"), "./process.js"),
            Some(PathBuf::from("rigor/process.js"))
        );
        assert_eq!(resolve_js(Path::new("a.js"), "../x.js"), None);
        assert_eq!(
            resolve_js(Path::new("a.js"), "rigor:scenario/fs@0.1.0"),
            None
        );
    }

    #[test]
    fn only_the_sdk_modules_a_python_scenario_imports_are_scanned() {
        let sdk = tempfile::tempdir().unwrap();
        write(
            sdk.path(),
            "rigor/__init__.py",
            "\"\"\"from rigor.http import x\"\"\"\nfrom wit_world.imports import clock\n",
        );
        write(
            sdk.path(),
            "rigor/fs.py",
            "from wit_world.imports import fs\nfrom . import process\n",
        );
        write(
            sdk.path(),
            "rigor/process.py",
            "from wit_world.imports import process\n",
        );
        write(
            sdk.path(),
            "rigor/http.py",
            "from wit_world.imports import http\n",
        );
        let scenario = tempfile::tempdir().unwrap();
        write(
            scenario.path(),
            "app.py",
            "import rigor\nfrom rigor.fs import Dir\n",
        );
        let text = sdk_modules_used(Language::Python, scenario.path(), sdk.path()).unwrap();
        assert!(text.contains("imports import clock"), "{text}");
        assert!(text.contains("imports import fs"), "{text}");
        assert!(
            text.contains("imports import process"),
            "transitively: {text}"
        );
        assert!(!text.contains("imports import http"), "{text}");

        write(scenario.path(), "app.py", "print('no sdk')\n");
        let text = sdk_modules_used(Language::Python, scenario.path(), sdk.path()).unwrap();
        assert_eq!(text, "");
    }

    #[test]
    fn only_the_sdk_modules_a_js_scenario_imports_are_scanned() {
        let sdk = tempfile::tempdir().unwrap();
        write(
            sdk.path(),
            "rigor.js",
            "// import { x } from \"./rigor/http.js\";\nimport * as clock from \"rigor:scenario/clock@0.1.0\";\n",
        );
        write(
            sdk.path(),
            "rigor/fs.js",
            "import { ProbeError } from \"../rigor.js\";\nimport * as fs from \"rigor:scenario/fs@0.1.0\";\n",
        );
        write(
            sdk.path(),
            "rigor/memory.js",
            "import { Child } from \"./process.js\";\nimport * as m from \"rigor:scenario/memory@0.1.0\";\n",
        );
        write(
            sdk.path(),
            "rigor/process.js",
            "import * as p from \"rigor:scenario/process@0.1.0\";\n",
        );
        write(
            sdk.path(),
            "rigor/http.js",
            "import * as h from \"rigor:scenario/http@0.1.0\";\n",
        );
        let scenario = tempfile::tempdir().unwrap();
        write(
            scenario.path(),
            "scenario.js",
            "import { Dir } from \"./rigor/fs.js\";\nimport { helper } from \"./lib/helper.js\";\n",
        );
        write(
            scenario.path(),
            "lib/helper.js",
            "import { Watcher } from \"../rigor/memory.js\";\n",
        );
        let text = sdk_modules_used(Language::Js, scenario.path(), sdk.path()).unwrap();
        for used in ["clock", "fs", "memory", "process"] {
            assert!(
                text.contains(&format!("rigor:scenario/{used}@")),
                "{used}: {text}"
            );
        }
        assert!(!text.contains("rigor:scenario/http@"), "{text}");
    }
}
