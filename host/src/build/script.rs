//! Python and JavaScript scenario folders → components, skipping what is up
//! to date. The output is `<folder>/target/scenario.wasm`; beside it,
//! `scenario.wasm.stamp` holds the content hash of everything that went in
//! (the folder's sources, the WIT contract, the guest SDK, the toolchain's
//! name and version), so a changed input of any kind triggers a rebuild.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::sdk_imports::sdk_modules_used;
use super::toolchain::{self, Toolchain};
use super::{BuildError, Outcome};
use crate::catalog::Language;

/// The repository this rigor was built from: default location of the WIT
/// contract and the guest SDKs (override with RIGOR_WIT_DIR / RIGOR_SDK_DIR).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The folder holding the contract's `.wit` files.
pub fn wit_dir() -> PathBuf {
    std::env::var_os("RIGOR_WIT_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(REPO).join("wit"))
}

/// The folder holding the guest SDK for `language` (`guest-sdk/python`).
pub fn sdk_dir(language: Language) -> PathBuf {
    let base = std::env::var_os("RIGOR_SDK_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(REPO).join("guest-sdk"));
    base.join(language.as_str())
}

/// Where the component of a Python or JavaScript folder is written.
pub fn output_path(dir: &Path) -> PathBuf {
    dir.join("target").join("scenario.wasm")
}

fn stamp_path(output: &Path) -> PathBuf {
    output.with_extension("wasm.stamp")
}

/// Builds the folder `dir` if its stamp is stale; returns the component path.
pub fn build(name: &str, language: Language, dir: &Path) -> Result<(PathBuf, Outcome), BuildError> {
    let toolchain = match language {
        Language::Python => toolchain::componentize_py()?,
        Language::Js => toolchain::componentize_js()?,
        _ => unreachable!("not a script language"),
    };
    stamped_build(name, language, dir, &toolchain, |dir, target, tmp| {
        let wit = stage_wit(language, dir, target)?;
        let mut cmd = toolchain.command();
        let mut workdir = dir.to_owned();
        match language {
            Language::Python => {
                cmd.arg("-d")
                    .arg(&wit)
                    .args(["-w", BUILD_WORLD, "componentize", "app", "-p", "."])
                    .arg("-p")
                    .arg(sdk_dir(Language::Python))
                    .arg("-o")
                    .arg(tmp);
            }
            _ => {
                // No WASI stdio, random, clocks or HTTP: a scenario reaches the
                // world only through rigor's probes, so it imports nothing else.
                workdir = stage_js(dir, target)?;
                cmd.arg(js_entry(dir)?)
                    .arg("--wit")
                    .arg(&wit)
                    .args([
                        "--world-name",
                        BUILD_WORLD,
                        "-d",
                        "stdio",
                        "random",
                        "clocks",
                        "http",
                        "fetch-event",
                    ])
                    .arg("-o")
                    .arg(tmp);
            }
        }
        let out = cmd
            .current_dir(&workdir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| BuildError::ToolchainMissing {
                tool: toolchain.program.display().to_string(),
                install: format!("cannot start it: {e}"),
            })?;
        if out.status.success() && tmp.is_file() {
            return Ok(());
        }
        let mut output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim()
        .to_owned();
        if language == Language::Js
            && let Some(syntax) = js_syntax_errors(&workdir)
        {
            output = format!("{syntax}\n\n{output}");
        }
        Err(BuildError::ScriptFailed {
            name: name.to_owned(),
            tool: toolchain.id.clone(),
            output,
        })
    })
}

/// The frame every stamped (non-cargo) build shares: the output is
/// `<dir>/target/scenario.wasm`, concurrent builds of one folder take
/// turns, an up-to-date stamp skips the build, and `produce` writes the
/// component to a temporary file (given the canonical folder, its `target/`
/// and that file) which is renamed into place before the stamp is written.
pub(super) fn stamped_build(
    name: &str,
    language: Language,
    dir: &Path,
    toolchain: &Toolchain,
    produce: impl FnOnce(&Path, &Path, &Path) -> Result<(), BuildError>,
) -> Result<(PathBuf, Outcome), BuildError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |e| BuildError::Io { path, source: e }
    };
    let dir = &dir.canonicalize().map_err(io(dir))?;
    let output = output_path(dir);
    let target = output.parent().unwrap_or(dir);
    std::fs::create_dir_all(target).map_err(io(target))?;
    // Concurrent builds of one folder take turns; the later one then finds
    // the stamp up to date.
    let _lock = toolchain::InstallLock::acquire(&target.join(".build.lock"))?;
    let hash = input_hash(toolchain, language, dir)?;
    let stamp = stamp_path(&output);
    if output.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == hash) {
        return Ok((output, Outcome::UpToDate));
    }
    let tmp = target.join(format!("scenario.{}.wasm.tmp", std::process::id()));
    let started = Instant::now();
    if let Err(e) = produce(dir, target, &tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &output).map_err(io(&output))?;
    std::fs::write(&stamp, format!("{hash}\n")).map_err(io(&stamp))?;
    eprintln!(
        "built {name} ({language}, {}) in {:.1} s",
        toolchain.id,
        started.elapsed().as_secs_f64()
    );
    Ok((output, Outcome::Built))
}

/// The world a Python or JavaScript scenario is built for: the `scenario`
/// world's exports with only the contract interfaces its sources (and the
/// SDK) use. These toolchains import every interface of the world they are
/// given, so building against the full world would make every scenario
/// import — and `rigor inspect` list — capabilities it never touches.
const BUILD_WORLD: &str = "scenario-build";

/// Copies the contract into `target/wit` and adds the world `scenario-build`.
fn stage_wit(language: Language, dir: &Path, target: &Path) -> Result<PathBuf, BuildError> {
    let wit = wit_dir();
    let staged = target.join("wit");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |e| BuildError::Io { path, source: e }
    };
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir_all(&staged).map_err(io(&staged))?;
    let mut worlds = String::new();
    for entry in std::fs::read_dir(&wit).map_err(io(&wit))? {
        let path = entry.map_err(io(&wit))?.path();
        if path.extension().is_some_and(|e| e == "wit") {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            if text.contains("world scenario") {
                worlds = text.clone();
            }
            std::fs::write(staged.join(path.file_name().unwrap_or_default()), text)
                .map_err(io(&staged))?;
        }
    }
    let offered = world_body(&worlds, "host-imports")
        .map(|body| {
            body.lines()
                .filter_map(|l| l.trim().strip_prefix("import "))
                .map(|l| l.trim_end_matches(';').trim().to_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // The scenario's own sources, plus the SDK modules they import (and
    // those import, transitively): an SDK module for a probe the scenario
    // never imports must not add that probe to the component.
    let own = read_sources(dir).map_err(io(dir))?;
    let sdk = sdk_dir(language);
    let sources = own.clone() + &sdk_modules_used(language, dir, &sdk).map_err(io(&sdk))?;
    let exports = if is_vu_scenario(language, &own) {
        "vu-scenario"
    } else {
        "scenario"
    };
    let scenario = world_body(&worlds, exports).ok_or_else(|| BuildError::ScriptFailed {
        name: dir.display().to_string(),
        tool: "wit".into(),
        output: format!("no `world {exports}` in `{}`", wit.display()),
    })?;
    let used: Vec<&String> = offered
        .iter()
        .filter(|name| uses_interface(language, &sources, name))
        .collect();
    let mut world = format!("package rigor:scenario@0.1.0;\n\nworld {BUILD_WORLD} {{\n");
    for name in used {
        world += &format!("    import {name};\n");
    }
    for line in scenario.lines() {
        if !line.trim_start().starts_with("include host-imports") {
            world += line;
            world.push('\n');
        }
    }
    world += "}\n";
    let file = staged.join("build-world.wit");
    std::fs::write(&file, world).map_err(io(&file))?;
    Ok(staged)
}

/// The Python or JavaScript sources under `dir`, concatenated.
fn read_sources(dir: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    collect_inputs(dir, dir, &mut files)?;
    let mut text = String::new();
    for rel in files {
        if rel
            .extension()
            .is_some_and(|e| e == "py" || e == "js" || e == "mjs")
        {
            text += &std::fs::read_to_string(dir.join(&rel)).unwrap_or_default();
        }
    }
    Ok(text)
}

/// Whether the scenario's sources export a virtual-user scenario (the SDK's
/// `vu_scenario` decorator, or `vuScenario` in JavaScript).
fn is_vu_scenario(language: Language, sources: &str) -> bool {
    match language {
        Language::Js => sources.contains("vuScenario("),
        _ => sources.contains("vu_scenario("),
    }
}

/// The text between the braces of `world NAME { ... }`.
fn world_body<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(&format!("world {name} {{"))?;
    let open = start + text[start..].find('{')? + 1;
    let mut depth = 1;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[open..open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the sources import the contract interface `name`.
fn uses_interface(language: Language, sources: &str, name: &str) -> bool {
    match language {
        Language::Js => {
            sources.contains(&format!("rigor:scenario/{name}@"))
                || sources.contains(&format!("rigor:scenario/{name}\""))
                || sources.contains(&format!("rigor:scenario/{name}'"))
        }
        _ => {
            let module = name.replace('-', "_");
            sources.contains(&format!("wit_world.imports.{module}"))
                || sources.lines().any(|line| {
                    line.trim_start()
                        .strip_prefix("from wit_world.imports import")
                        .is_some_and(|names| {
                            names
                                .split(',')
                                .map(|n| {
                                    n.trim()
                                        .trim_matches(['(', ')'])
                                        .split(' ')
                                        .next()
                                        .unwrap_or("")
                                })
                                .any(|n| n == module)
                        })
                })
        }
    }
}

/// componentize-js reports a syntax error without its place; `node --check`
/// on each staged module (as `.mjs`, so it parses as an ES module) names the
/// file, line and offending code.
fn js_syntax_errors(stage: &Path) -> Option<String> {
    let mut files = Vec::new();
    collect_inputs(stage, stage, &mut files).ok()?;
    let mut report = Vec::new();
    for rel in files {
        if rel.extension().is_none_or(|e| e != "js") {
            continue;
        }
        let module = stage.join(&rel).with_extension("check.mjs");
        std::fs::copy(stage.join(&rel), &module).ok()?;
        let out = std::process::Command::new("node")
            .arg("--check")
            .arg(&module)
            .output()
            .ok()?;
        let _ = std::fs::remove_file(&module);
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stderr)
                .replace(&module.display().to_string(), &rel.display().to_string());
            report.push(text.trim().to_owned());
        }
    }
    (!report.is_empty()).then(|| report.join("\n\n"))
}

/// The entry module of a JavaScript folder: `main` of package.json, else
/// `scenario.js`.
fn js_entry(dir: &Path) -> Result<String, BuildError> {
    let manifest = dir.join("package.json");
    let text = std::fs::read_to_string(&manifest).map_err(|e| BuildError::Io {
        path: manifest.clone(),
        source: e,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| BuildError::ScriptFailed {
            name: dir.display().to_string(),
            tool: "package.json".into(),
            output: format!("`{}` is not valid JSON: {e}", manifest.display()),
        })?;
    Ok(value
        .get("main")
        .and_then(|m| m.as_str())
        .unwrap_or("scenario.js")
        .to_owned())
}

/// Copies the scenario's sources and the JavaScript SDK into `target/stage`,
/// so the scenario imports the SDK as `"./rigor.js"` and `"./rigor/fs.js"`
/// without a copy of it in the source folder.
fn stage_js(dir: &Path, target: &Path) -> Result<PathBuf, BuildError> {
    let stage = target.join("stage");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |e| BuildError::Io { path, source: e }
    };
    let _ = std::fs::remove_dir_all(&stage);
    let mut files = Vec::new();
    collect_inputs(dir, dir, &mut files).map_err(io(dir))?;
    for rel in files {
        let to = stage.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::copy(dir.join(&rel), &to).map_err(io(&to))?;
    }
    std::fs::create_dir_all(&stage).map_err(io(&stage))?;
    // The whole SDK (`rigor.js` and one `rigor/<probe>.js` per probe): only
    // the modules the scenario imports are bundled and imported.
    let sdk = sdk_dir(Language::Js);
    let mut files = Vec::new();
    collect_inputs(&sdk, &sdk, &mut files).map_err(io(&sdk))?;
    for rel in files {
        if rel.extension().is_none_or(|e| e != "js") {
            continue;
        }
        let to = stage.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::copy(sdk.join(&rel), &to).map_err(io(&to))?;
    }
    Ok(stage)
}

/// SHA-256 over the toolchain id and every input file (path and content).
fn input_hash(toolchain: &Toolchain, language: Language, dir: &Path) -> Result<String, BuildError> {
    let mut hasher = Sha256::new();
    hasher.update(toolchain.id.as_bytes());
    let mut roots = vec![
        ("wit", wit_dir()),
        ("sdk", sdk_dir(language)),
        ("src", dir.to_owned()),
    ];
    // The Zig SDK wraps the C SDK, which is compiled into every Zig scenario.
    if language == Language::Zig {
        roots.push(("sdk-c", sdk_dir(Language::C)));
    }
    for (label, root) in roots {
        let mut files = Vec::new();
        collect_inputs(&root, &root, &mut files).map_err(|e| BuildError::Io {
            path: root.clone(),
            source: e,
        })?;
        files.sort();
        for rel in files {
            let bytes = std::fs::read(root.join(&rel)).map_err(|e| BuildError::Io {
                path: root.join(&rel),
                source: e,
            })?;
            hasher.update(label.as_bytes());
            hasher.update(rel.to_string_lossy().as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Source files under `dir`, relative to `root`: build outputs, installed
/// packages, caches and hidden files are not inputs.
pub(super) fn collect_inputs(
    root: &Path,
    dir: &Path,
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.')
            || matches!(name.as_ref(), "target" | "node_modules" | "__pycache__")
            || name.ends_with(".wasm")
        {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_inputs(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_are_found_in_python_and_js_sources() {
        let py = "import rigor\nfrom wit_world.imports import process, fs as files\nx = wit_world.imports.http_client.send\n";
        assert!(uses_interface(Language::Python, py, "process"));
        assert!(uses_interface(Language::Python, py, "fs"));
        assert!(uses_interface(Language::Python, py, "http-client"));
        assert!(!uses_interface(Language::Python, py, "redis"));
        let js = "import { spawn } from 'rigor:scenario/process@0.1.0';\nimport * as r from \"rigor:scenario/redis\";\n";
        assert!(uses_interface(Language::Js, js, "process"));
        assert!(uses_interface(Language::Js, js, "redis"));
        assert!(!uses_interface(Language::Js, js, "fs"));
    }

    #[test]
    fn world_bodies_are_cut_at_their_braces() {
        let wit = "world host-imports {\n import clock;\n}\nworld scenario {\n include host-imports;\n export run: func() -> result<_, string>;\n}\n";
        assert_eq!(
            world_body(wit, "host-imports").unwrap().trim(),
            "import clock;"
        );
        assert!(world_body(wit, "scenario").unwrap().contains("export run"));
        assert!(world_body(wit, "missing").is_none());
    }

    #[test]
    fn the_input_hash_follows_sources_but_not_outputs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), "a = 1\n").unwrap();
        let tool = Toolchain {
            id: "componentize-py 0".into(),
            program: PathBuf::from("python3"),
            prefix_args: Vec::new(),
        };
        let hash = || input_hash(&tool, Language::Python, dir.path()).unwrap();
        let first = hash();
        std::fs::create_dir_all(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/scenario.wasm"), "out").unwrap();
        std::fs::create_dir_all(dir.path().join("__pycache__")).unwrap();
        std::fs::write(dir.path().join("__pycache__/app.pyc"), "x").unwrap();
        assert_eq!(hash(), first, "outputs and caches are not inputs");
        std::fs::write(dir.path().join("app.py"), "a = 2\n").unwrap();
        assert_ne!(hash(), first, "a changed source is");
        let other_tool = Toolchain {
            id: "componentize-py 1".into(),
            ..tool.clone()
        };
        std::fs::write(dir.path().join("app.py"), "a = 1\n").unwrap();
        assert_eq!(hash(), first);
        assert_ne!(
            input_hash(&other_tool, Language::Python, dir.path()).unwrap(),
            first,
            "so is the toolchain version"
        );
    }
}
