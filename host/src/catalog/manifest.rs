//! The serde model of `catalog.toml`. Unknown keys are errors; see
//! `docs/catalog.md` for the format.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// Other catalog files whose scenarios and targets join this catalog,
    /// relative to this file (a folder means its `catalog.toml`).
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub targets: Targets,
    #[serde(default, rename = "scenario")]
    pub scenarios: Vec<ScenarioEntry>,
}

/// Limits applied to every scenario that does not set its own: the same
/// keys as a scenario's `limits`.
pub type Defaults = LimitsDecl;

/// Named targets. `default` needs no entry: it is `--redis URL`, or a
/// throwaway redis-server that rigor starts for the run.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default)]
    pub redis: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioEntry {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// A scenario folder (Rust crate, Python `app.py`, JavaScript
    /// `package.json`), or a `.wasm` component, relative to the catalog file.
    pub source: Spanned<String>,
    /// `rust`, `python`, `js` or `wasm`; detected from the source when absent.
    pub language: Option<Spanned<String>>,
    /// Services the scenario needs to be running (`redis`); documentation
    /// for `rigor list` and for whoever sets up the run.
    #[serde(default)]
    pub services: Vec<Spanned<String>>,
    #[serde(default)]
    pub params: BTreeMap<String, Spanned<ParamDecl>>,
    #[serde(default)]
    pub grants: GrantsDecl,
    /// Metric name → threshold expressions.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(default)]
    pub limits: LimitsDecl,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDecl {
    /// The default; its TOML type is the parameter's type (integer, float,
    /// string or boolean).
    pub default: toml::Value,
    /// `int`, `float`, `string`, `bool`, `duration`, `size` or `list`;
    /// the default's TOML type when absent.
    #[serde(rename = "type")]
    pub ty: Option<String>,
    #[serde(default)]
    pub help: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsDecl {
    /// Redis target names the scenario may open.
    #[serde(default)]
    pub redis: Vec<Spanned<String>>,
    /// Directories the fs probe may open besides the scratch directory.
    #[serde(default)]
    pub dirs: Vec<Spanned<DirDecl>>,
    /// Pids the memory probe may sample (besides the host and children).
    #[serde(default)]
    pub pids: Vec<u32>,
    /// Programs the process probe may run: bare names (looked up on PATH),
    /// paths relative to the catalog's folder, or `{work}/…`.
    #[serde(default)]
    pub exec: Vec<Spanned<String>>,
    /// Whether children may start from the host's environment.
    #[serde(default, rename = "inherit-env")]
    pub inherit_env: bool,
    /// HTTP hosts (`127.0.0.1`) or `host:port` pairs the http probe may reach.
    #[serde(default)]
    pub http: Vec<Spanned<String>>,
}

/// `{ path = "data", mode = "ro", name = "data" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirDecl {
    /// Relative to the catalog's folder, or absolute.
    pub path: String,
    /// `ro` (default) or `rw`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The name a guest opens; the last component of `path` by default.
    #[serde(default)]
    pub name: Option<String>,
}

/// `[defaults]` and `[scenario.limits]`; see `crate::budget` for what each
/// budget counts and why its default is what it is.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsDecl {
    /// Cap on each linear memory, e.g. `"256MiB"`.
    pub memory: Option<Spanned<String>>,
    /// Wall-clock deadline, e.g. `"5m"`.
    pub deadline: Option<Spanned<String>>,
    /// Host memory held for the scenario, e.g. `"512MiB"`.
    #[serde(rename = "host-memory")]
    pub host_memory: Option<Spanned<String>>,
    /// Open connections (Redis connections and load connections).
    pub connections: Option<Spanned<i64>>,
    /// Live child processes.
    pub children: Option<Spanned<i64>>,
    /// Workers of a load.
    #[serde(rename = "load-workers")]
    pub load_workers: Option<Spanned<i64>>,
    /// OS threads of a load.
    #[serde(rename = "load-threads")]
    pub load_threads: Option<Spanned<i64>>,
}
