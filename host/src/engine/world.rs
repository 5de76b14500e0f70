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

/// The two worlds a component may target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorldKind {
    /// `scenario`: `describe` and `run`.
    Scenario,
    /// `vu-scenario`: `describe`, `setup`, `iteration`, `teardown`.
    VuScenario,
}

impl WorldKind {
    fn name(self) -> &'static str {
        match self {
            WorldKind::Scenario => "scenario",
            WorldKind::VuScenario => "vu-scenario",
        }
    }

    fn exports(self) -> &'static [&'static str] {
        match self {
            WorldKind::Scenario => &["describe", "run"],
            WorldKind::VuScenario => &["describe", "setup", "iteration", "teardown"],
        }
    }

    /// The world whose distinctive export `name` is, if any.
    fn of_export(name: &str) -> Option<Self> {
        match name {
            "run" => Some(WorldKind::Scenario),
            "iteration" | "setup" | "teardown" => Some(WorldKind::VuScenario),
            _ => None,
        }
    }
}

/// Checks the exports (`describe` and `run`, or the VU world's) and the
/// versions of the contract interfaces the component imports.
pub fn check_world(
    engine: &wasmtime::Engine,
    path: &Path,
    component: &Component,
    expected: WorldKind,
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
    let other = match expected {
        WorldKind::Scenario => WorldKind::VuScenario,
        WorldKind::VuScenario => WorldKind::Scenario,
    };
    let targets_other = exports
        .iter()
        .any(|(name, is_func)| *is_func && WorldKind::of_export(name) == Some(other));
    if targets_other {
        return Err(wrong(match other {
            WorldKind::VuScenario => format!(
                "it is a virtual-user scenario (it exports `setup`, `iteration` and `teardown`, the world `{CONTRACT_PACKAGE}/vu-scenario@{CONTRACT_VERSION}`): give its catalog entry an `executor`, e.g. `executor = {{ type = \"constant-vus\", vus = 10, duration = \"30s\" }}`, or run it by path with `--executor type=constant-vus,vus=10,duration=30s`"
            ),
            WorldKind::Scenario => format!(
                "its catalog entry has an `executor`, but it is a plain scenario (it exports `run`, the world `{CONTRACT_PACKAGE}/scenario@{CONTRACT_VERSION}`): remove the `executor`, or export `setup`, `iteration` and `teardown` (the world `{CONTRACT_PACKAGE}/vu-scenario@{CONTRACT_VERSION}`)"
            ),
        }));
    }
    let missing: Vec<&str> = expected
        .exports()
        .iter()
        .copied()
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
            "it does not export {} (it exports {found}); a scenario implements the world `{CONTRACT_PACKAGE}/{}@{CONTRACT_VERSION}`",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" and "),
            expected.name()
        )));
    }
    Ok(())
}

/// What a component imports and exports, read from its component type
/// (`rigor inspect`): every imported interface with the functions it names,
/// and the exported items.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ComponentShape {
    /// `(interface, functions)`, in the component's order.
    pub imports: Vec<ImportedInterface>,
    pub exports: Vec<String>,
    /// `rigor:scenario/scenario@X` when the component imports contract
    /// interfaces of version X (or none) and exports `describe` and `run`.
    pub world: Option<String>,
    /// Which world, when it is one of this host's.
    #[serde(skip)]
    pub kind: Option<WorldKind>,
    /// Whether this host runs components of that world version.
    pub supported: bool,
}

/// One imported interface and the functions of it the component uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportedInterface {
    pub name: String,
    pub functions: Vec<String>,
}

/// Reads the shape of a compiled component.
pub fn shape(engine: &wasmtime::Engine, component: &Component) -> ComponentShape {
    let ty = component.component_type();
    let imports: Vec<ImportedInterface> = ty
        .imports(engine)
        .map(|(name, item)| ImportedInterface {
            name: name.to_owned(),
            functions: match item.ty {
                ComponentItem::ComponentInstance(instance) => instance
                    .exports(engine)
                    .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
                    .map(|(name, _)| name.to_owned())
                    .collect(),
                _ => Vec::new(),
            },
        })
        .collect();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let versions: std::collections::BTreeSet<&str> = imports
        .iter()
        .filter_map(|i| i.name.strip_prefix(CONTRACT_PACKAGE))
        .map(|rest| rest.rsplit_once('@').map_or("", |(_, v)| v))
        .collect();
    let kind = [WorldKind::Scenario, WorldKind::VuScenario]
        .into_iter()
        .find(|kind| {
            kind.exports()
                .iter()
                .all(|want| exports.iter().any(|e| e == want))
        });
    let version = match versions.len() {
        0 => Some(CONTRACT_VERSION),
        1 => versions.iter().next().copied(),
        _ => None,
    };
    let world = version
        .zip(kind)
        .map(|(v, kind)| format!("{CONTRACT_PACKAGE}/{}@{v}", kind.name()));
    let supported = world.is_some() && version == Some(CONTRACT_VERSION);
    ComponentShape {
        imports,
        exports,
        world,
        kind,
        supported,
    }
}
