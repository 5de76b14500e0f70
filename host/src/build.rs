//! Builds scenario sources into components: Rust crates with cargo for
//! `wasm32-wasip2`, Python folders with componentize-py, JavaScript folders
//! with componentize-js (`script.rs`), C, Zig and Go folders with their
//! compilers over bindings rigor generates itself (`native.rs`). Cargo
//! decides what is stale for Rust, so an up-to-date scenario costs one no-op
//! cargo invocation; every other output carries a content-hash stamp. Rust
//! guests build into their own target directory (`<target>/wasm`) so they
//! never wait on the host build's lock.

mod c;
mod go;
mod native;
mod script;
mod sdk_imports;
pub mod toolchain;

pub use script::{sdk_dir, wit_dir};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::catalog::Language;

/// The target scenarios are compiled for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// A Rust scenario crate to build.
#[derive(Debug, Clone)]
pub struct RustSource {
    pub name: String,
    pub dir: PathBuf,
    pub crate_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("`{tool}` is needed to build this scenario but cannot be run: {install}")]
    ToolchainMissing { tool: String, install: String },
    #[error("installing {tool} failed: {hint}\n{output}")]
    ToolchainInstall {
        tool: String,
        output: String,
        hint: String,
    },
    #[error("building scenario `{name}` with {tool} failed:\n{output}")]
    ScriptFailed {
        name: String,
        tool: String,
        output: String,
    },
    #[error("cannot read or write `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run `cargo`: {0} (install Rust with rustup: https://rustup.rs)")]
    NoCargo(std::io::Error),
    #[error("the `{GUEST_TARGET}` target is not installed: run `rustup target add {GUEST_TARGET}`")]
    MissingTarget,
    #[error("cannot read the cargo metadata of `{dir}`: {message}")]
    Metadata { dir: PathBuf, message: String },
    #[error("building {crates} for {GUEST_TARGET} failed (cargo's output is above)")]
    Failed { crates: String },
    #[error("cargo reported success but `{0}` was not produced")]
    Missing(PathBuf),
}

/// A scenario source to build, whatever its language.
#[derive(Debug, Clone)]
pub struct BuildSource {
    pub name: String,
    pub source: crate::catalog::Source,
}

/// What `build_sources` did for one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Built,
    UpToDate,
}

/// Builds every source with its language's toolchain and returns the
/// component path per scenario name. Prebuilt `.wasm` sources are skipped.
pub fn build_sources(sources: &[BuildSource]) -> Result<BTreeMap<String, PathBuf>, BuildError> {
    Ok(build_sources_with_outcome(sources)?
        .into_iter()
        .map(|(name, (path, _))| (name, path))
        .collect())
}

/// [`build_sources`], also telling what was rebuilt. For Rust, cargo decides
/// and the outcome is always `Built`.
pub fn build_sources_with_outcome(
    sources: &[BuildSource],
) -> Result<BTreeMap<String, (PathBuf, Outcome)>, BuildError> {
    use crate::catalog::Source;
    let rust: Vec<RustSource> = sources
        .iter()
        .filter_map(|s| match &s.source {
            Source::Rust { dir, crate_name } => Some(RustSource {
                name: s.name.clone(),
                dir: dir.clone(),
                crate_name: crate_name.clone(),
            }),
            _ => None,
        })
        .collect();
    let mut built: BTreeMap<String, (PathBuf, Outcome)> = build_rust(&rust)?
        .into_iter()
        .map(|(name, path)| (name, (path, Outcome::Built)))
        .collect();
    for s in sources {
        if let Source::Folder { language, dir } = &s.source {
            let output = match language {
                Language::Python | Language::Js => script::build(&s.name, *language, dir)?,
                _ => native::build(&s.name, *language, dir)?,
            };
            built.insert(s.name.clone(), output);
        }
    }
    Ok(built)
}

/// Where `build_sources` puts each component, without building anything.
pub fn expected_source_outputs(sources: &[BuildSource]) -> BTreeMap<String, PathBuf> {
    use crate::catalog::Source;
    let rust: Vec<RustSource> = sources
        .iter()
        .filter_map(|s| match &s.source {
            Source::Rust { dir, crate_name } => Some(RustSource {
                name: s.name.clone(),
                dir: dir.clone(),
                crate_name: crate_name.clone(),
            }),
            _ => None,
        })
        .collect();
    let mut out = expected_outputs(&rust);
    for s in sources {
        if let Source::Folder { dir, .. } = &s.source {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            out.insert(s.name.clone(), script::output_path(&dir));
        }
    }
    out
}

/// Whether the standard library for the guest target is installed.
fn target_installed() -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return true; // cargo will report the real problem
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(GUEST_TARGET)
        .is_dir()
}

struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
}

fn workspace_of(dir: &Path) -> Result<Workspace, BuildError> {
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .output()
        .map_err(BuildError::NoCargo)?;
    if !out.status.success() {
        return Err(BuildError::Metadata {
            dir: dir.to_owned(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| BuildError::Metadata {
            dir: dir.to_owned(),
            message: e.to_string(),
        })?;
    let field = |name: &str| {
        meta.get(name)
            .and_then(|v| v.as_str())
            .map(PathBuf::from)
            .ok_or_else(|| BuildError::Metadata {
                dir: dir.to_owned(),
                message: format!("no `{name}` in cargo metadata"),
            })
    };
    Ok(Workspace {
        root: field("workspace_root")?,
        target_dir: field("target_directory")?,
    })
}

/// Builds every source (one cargo invocation per workspace) and returns the
/// component path per scenario name.
pub fn build_rust(sources: &[RustSource]) -> Result<BTreeMap<String, PathBuf>, BuildError> {
    let mut built = BTreeMap::new();
    if sources.is_empty() {
        return Ok(built);
    }
    if !target_installed() {
        return Err(BuildError::MissingTarget);
    }
    let mut by_workspace: BTreeMap<PathBuf, (Workspace, Vec<&RustSource>)> = BTreeMap::new();
    for source in sources {
        let ws = workspace_of(&source.dir)?;
        by_workspace
            .entry(ws.root.clone())
            .or_insert_with(|| (ws, Vec::new()))
            .1
            .push(source);
    }
    for (root, (ws, members)) in by_workspace {
        let target_dir = ws.target_dir.join("wasm");
        let mut cmd = Command::new("cargo");
        cmd.arg("build")
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .args(["--release", "--target", GUEST_TARGET, "--target-dir"])
            .arg(&target_dir)
            // Small components; keep symbol names for wasm backtraces.
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
            .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
        for m in &members {
            cmd.args(["-p", &m.crate_name]);
        }
        let status = cmd.status().map_err(BuildError::NoCargo)?;
        if !status.success() {
            return Err(BuildError::Failed {
                crates: members
                    .iter()
                    .map(|m| format!("`{}`", m.crate_name))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        for m in members {
            let path = output_path(&target_dir, &m.crate_name);
            if !path.is_file() {
                return Err(BuildError::Missing(path));
            }
            built.insert(m.name.clone(), path);
        }
    }
    Ok(built)
}

fn output_path(target_dir: &Path, crate_name: &str) -> PathBuf {
    target_dir
        .join(GUEST_TARGET)
        .join("release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")))
}

/// Where `build_rust` puts each component, without building anything.
pub fn expected_outputs(sources: &[RustSource]) -> BTreeMap<String, PathBuf> {
    sources
        .iter()
        .filter_map(|s| {
            let ws = workspace_of(&s.dir).ok()?;
            Some((
                s.name.clone(),
                output_path(&ws.target_dir.join("wasm"), &s.crate_name),
            ))
        })
        .collect()
}
