//! Checks that a file is a component of the `rigor:scenario` world this host
//! supports, with messages that say what the file is instead.

use std::path::Path;

use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::EngineError;
use crate::bindings::{CONTRACT_PACKAGE, CONTRACT_VERSION};

/// WebAssembly magic number.
const MAGIC: &[u8; 4] = b"\0asm";
/// Version/layer field of a core module (version 1, layer 0).
const CORE_MODULE: [u8; 4] = [1, 0, 0, 0];

/// Rejects files that are not components before handing them to Cranelift.
pub fn check_header(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let not = |reason: &str| EngineError::NotAComponent {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(not(
            "the file does not start with the WebAssembly magic number (`\\0asm`); build the scenario with `rigor build`",
        ));
    }
    if bytes[4..8] == CORE_MODULE {
        return Err(not(
            "it is a core WebAssembly module; scenarios are components (build for `wasm32-wasip2`, or wrap the module with `wasm-tools component new`)",
        ));
    }
    Ok(())
}

/// Checks the exports (`describe`, `run`) and the versions of the contract
/// interfaces the component imports.
pub fn check_world(
    engine: &wasmtime::Engine,
    path: &Path,
    component: &Component,
) -> Result<(), EngineError> {
    let wrong = |reason: String| EngineError::WrongWorld {
        path: path.to_owned(),
        reason,
    };
    let ty = component.component_type();
    for (name, _) in ty.imports(engine) {
        let Some(rest) = name.strip_prefix(CONTRACT_PACKAGE) else {
            continue;
        };
        let version = rest.rsplit_once('@').map(|(_, v)| v).unwrap_or("");
        if version != CONTRACT_VERSION {
            return Err(wrong(format!(
                "it imports `{name}`, built against {CONTRACT_PACKAGE}@{version}, but this host supports {CONTRACT_PACKAGE}@{CONTRACT_VERSION}; rebuild the scenario against {CONTRACT_PACKAGE}@{CONTRACT_VERSION} or use a rigor release that supports @{version}"
            )));
        }
    }
    let exports: Vec<(String, bool)> = ty
        .exports(engine)
        .map(|(name, item)| {
            (
                name.to_owned(),
                matches!(item.ty, ComponentItem::ComponentFunc(_)),
            )
        })
        .collect();
    let missing: Vec<&str> = ["describe", "run"]
        .into_iter()
        .filter(|want| {
            !exports
                .iter()
                .any(|(name, is_func)| name == want && *is_func)
        })
        .collect();
    if !missing.is_empty() {
        let found = if exports.is_empty() {
            "nothing".to_owned()
        } else {
            exports
                .iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(wrong(format!(
            "it does not export {} (it exports {found}); a scenario implements the world `{CONTRACT_PACKAGE}/scenario@{CONTRACT_VERSION}`",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        )));
    }
    Ok(())
}
