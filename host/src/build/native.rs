//! C, Zig and Go scenario folders → components. Rigor generates the
//! bindings itself from the contract (wit-bindgen's C and Go generators,
//! in-process), the language's compiler turns the folder and the bindings
//! into a core module (`c.rs`, `go.rs`), and wit-component encodes the
//! component, adapting WASI preview1 imports when the core module has any.
//! So an author installs no wit-bindgen CLI and no wasm-tools. The output and
//! its content-hash stamp are laid out as for Python and JavaScript
//! (`script.rs`).

use std::path::{Path, PathBuf};

use wit_parser::{Resolve, WorldId};

use super::script::{collect_inputs, stamped_build, wit_dir};
use super::toolchain::Toolchain;
use super::{BuildError, Outcome, c, go};
use crate::catalog::Language;

/// The world a native scenario's sources export, named as the WIT names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExportedWorld {
    Scenario,
    VuScenario,
}

impl ExportedWorld {
    pub(super) fn wit_name(self) -> &'static str {
        match self {
            ExportedWorld::Scenario => "scenario",
            ExportedWorld::VuScenario => "vu-scenario",
        }
    }
}

/// Everything a language's compile step needs.
pub(super) struct NativeBuild<'a> {
    /// The scenario's name in the catalog (for messages).
    pub name: &'a str,
    pub language: Language,
    /// The scenario folder (canonical).
    pub dir: &'a Path,
    /// A fresh scratch folder under `target/` for bindings and objects.
    pub work: PathBuf,
    pub toolchain: &'a Toolchain,
    pub contract: &'a Contract,
}

impl NativeBuild<'_> {
    /// A failure of the build, with the tool's own output.
    pub(super) fn failed(&self, tool: &str, output: impl Into<String>) -> BuildError {
        BuildError::ScriptFailed {
            name: self.name.to_owned(),
            tool: tool.to_owned(),
            output: output.into(),
        }
    }

    pub(super) fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + use<> {
        let path = path.to_owned();
        move |source| BuildError::Io { path, source }
    }
}

/// The contract parsed once per build, with the world the scenario exports.
pub(super) struct Contract {
    pub resolve: Resolve,
    pub world: WorldId,
    pub exported: ExportedWorld,
}

impl Contract {
    fn load(exported: ExportedWorld) -> Result<Self, BuildError> {
        let wit = wit_dir();
        let fail = |e: anyhow::Error| BuildError::ScriptFailed {
            name: wit.display().to_string(),
            tool: "wit".into(),
            output: format!("{e:#}"),
        };
        let mut resolve = Resolve::default();
        let (package, _) = resolve.push_dir(&wit).map_err(fail)?;
        let world = resolve
            .select_world(&[package], Some(exported.wit_name()))
            .map_err(fail)?;
        Ok(Self {
            resolve,
            world,
            exported,
        })
    }

    /// Runs a wit-bindgen generator over the world and writes its files
    /// under `out`; returns the paths written.
    pub(super) fn generate(
        &self,
        mut generator: Box<dyn wit_bindgen_core::WorldGenerator>,
        out: &Path,
    ) -> Result<Vec<PathBuf>, BuildError> {
        let mut files = wit_bindgen_core::Files::default();
        let mut resolve = self.resolve.clone();
        generator
            .generate(&mut resolve, self.world, &mut files)
            .map_err(|e| BuildError::ScriptFailed {
                name: out.display().to_string(),
                tool: "wit-bindgen".into(),
                output: format!("{e:#}"),
            })?;
        let mut written = Vec::new();
        for (name, bytes) in files.iter() {
            let path = out.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| BuildError::Io {
                    path: parent.to_owned(),
                    source,
                })?;
            }
            std::fs::write(&path, bytes).map_err(|source| BuildError::Io {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
        Ok(written)
    }

    /// Adds the world's type information to a core module that was linked
    /// without it (Go), as `wasm-tools component embed` does.
    pub(super) fn embed(&self, core: &mut Vec<u8>) -> Result<(), BuildError> {
        wit_component::embed_component_metadata(
            core,
            &self.resolve,
            self.world,
            wit_component::StringEncoding::UTF8,
            false,
        )
        .map_err(|e| BuildError::ScriptFailed {
            name: "component".into(),
            tool: "wit-component".into(),
            output: format!("{e:#}"),
        })
    }
}

/// Encodes a core module that carries its component type into a component.
/// The WASI preview1 reactor adapter is offered always; wit-component uses
/// it only when the module imports `wasi_snapshot_preview1` (Go's runtime,
/// C code using stdio through an older wasi-libc).
pub(super) fn encode(name: &str, core: &[u8]) -> Result<Vec<u8>, BuildError> {
    let fail = |e: anyhow::Error| BuildError::ScriptFailed {
        name: name.to_owned(),
        tool: "wit-component".into(),
        output: format!("{e:#}"),
    };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)
        .map_err(fail)?
        .adapter(
            "wasi_snapshot_preview1",
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .map_err(fail)?
        .encode()
        .map_err(fail)
}

/// The toolchain that compiles `language`.
fn toolchain_for(language: Language) -> Result<Toolchain, BuildError> {
    match language {
        Language::C | Language::Zig => c::toolchain(),
        Language::Go => go::toolchain(),
        _ => unreachable!("not a native language: {language}"),
    }
}

/// Which world the folder's sources export.
fn exported_world(language: Language, dir: &Path) -> Result<ExportedWorld, BuildError> {
    let mut files = Vec::new();
    collect_inputs(dir, dir, &mut files).map_err(|source| BuildError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut sources = String::new();
    for rel in files {
        if rel
            .extension()
            .is_some_and(|e| matches!(e.to_str(), Some("c" | "h" | "zig" | "go")))
        {
            sources += &std::fs::read_to_string(dir.join(&rel)).unwrap_or_default();
        }
    }
    let vu = match language {
        Language::Go => go::exports_vu_scenario(&sources),
        _ => c::exports_vu_scenario(language, &sources),
    };
    Ok(if vu {
        ExportedWorld::VuScenario
    } else {
        ExportedWorld::Scenario
    })
}

/// Builds the folder `dir` if its stamp is stale; returns the component path.
pub fn build(name: &str, language: Language, dir: &Path) -> Result<(PathBuf, Outcome), BuildError> {
    let toolchain = toolchain_for(language)?;
    stamped_build(name, language, dir, &toolchain, |dir, target, tmp| {
        let contract = Contract::load(exported_world(language, dir)?)?;
        let work = target.join("build");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).map_err(|e| BuildError::Io {
            path: work.clone(),
            source: e,
        })?;
        let ctx = NativeBuild {
            name,
            language,
            dir,
            work,
            toolchain: &toolchain,
            contract: &contract,
        };
        let core = match language {
            Language::Go => go::compile(&ctx)?,
            _ => c::compile(&ctx)?,
        };
        let component = encode(name, &core)?;
        std::fs::write(tmp, &component).map_err(|e| BuildError::Io {
            path: tmp.to_owned(),
            source: e,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_loads_for_both_worlds_and_generates_c_and_go_bindings() {
        for exported in [ExportedWorld::Scenario, ExportedWorld::VuScenario] {
            let contract = Contract::load(exported).unwrap();
            let out = tempfile::tempdir().unwrap();
            let files = contract
                .generate(c::bindings_generator(), out.path())
                .unwrap();
            assert!(
                files
                    .iter()
                    .any(|f| f.extension().is_some_and(|e| e == "h")),
                "{files:?}"
            );
            let files = contract
                .generate(go::bindings_generator(), out.path())
                .unwrap();
            assert!(
                files
                    .iter()
                    .any(|f| f.extension().is_some_and(|e| e == "go")),
                "{files:?}"
            );
        }
    }
}
