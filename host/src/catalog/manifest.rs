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
    /// Runs only when named on the command line, never as part of the
    /// whole catalog or a tag: for scenarios whose target the person running
    /// them names (`http-load --param url=...`).
    #[serde(default, rename = "opt-in")]
    pub opt_in: bool,
    /// How a sharded run runs it: `split` (default; each shard its part of
    /// the load), `whole` (every shard all of it) or `one` (shard 1 only).
    pub shard: Option<Spanned<String>>,
    #[serde(default)]
    pub params: BTreeMap<String, Spanned<ParamDecl>>,
    #[serde(default)]
    pub grants: GrantsDecl,
    /// Metric name → threshold expressions.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(default)]
    pub limits: LimitsDecl,
    /// For a virtual-user scenario: k6's executor, e.g. `{ type =
    /// "constant-vus", vus = 10, duration = "30s" }` (`catalog::executor`).
    pub executor: Option<Spanned<toml::Table>>,
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
    /// Redis targets the scenario may open: a name (data commands, every
    /// key) or a table that widens or narrows commands and keys.
    #[serde(default)]
    pub redis: Vec<Spanned<RedisGrantDecl>>,
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
    /// Environment variables a child may be given besides the safe set,
    /// each named exactly.
    #[serde(default)]
    pub env: Vec<Spanned<String>>,
    /// HTTP hosts (`127.0.0.1`) or `host:port` pairs the http probe may
    /// reach, or `"{params.NAME}"`: the host and port of that parameter's
    /// URL, settled when the run is planned.
    #[serde(default)]
    pub http: Vec<Spanned<String>>,
    /// Client certificates (mTLS) the http probe may present, by name.
    #[serde(default, rename = "client-certs")]
    pub client_certs: BTreeMap<String, Spanned<ClientCertDecl>>,
}

/// `{ cert = "certs/client.pem", key = "certs/client.key" }`, relative to
/// the catalog's folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertDecl {
    pub cert: String,
    pub key: String,
}

/// One item of `redis = [...]`: `"default"`, or
/// `{ target = "default", commands = ["+flushdb"], keys = ["app:*"] }`.
#[derive(Debug)]
pub enum RedisGrantDecl {
    Target(String),
    Table(RedisGrantTable),
}

/// The table form of a redis grant.
#[derive(Debug)]
pub struct RedisGrantTable {
    pub target: Spanned<String>,
    /// ACL rules applied in order on top of the data-only default.
    pub commands: Vec<Spanned<String>>,
    /// Commands rigor's table does not know (modules, newer servers).
    pub extra_commands: Vec<Spanned<String>>,
    /// Key glob patterns; absent: every key.
    pub keys: Option<Vec<Spanned<String>>>,
}

/// By hand rather than `#[serde(untagged)]`: items keep their own spans
/// (so errors name their line and column) and unknown fields are named.
impl<'de> Deserialize<'de> for RedisGrantDecl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        const FIELDS: &[&str] = &["target", "commands", "extra-commands", "keys"];
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RedisGrantDecl;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a redis target name, or a table `{ target = \"NAME\", commands = [...], keys = [...] }`",
                )
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RedisGrantDecl::Target(v.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut target = None;
                let mut commands = None;
                let mut extra_commands = None;
                let mut keys = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "target" if target.is_none() => target = Some(map.next_value()?),
                        "commands" if commands.is_none() => commands = Some(map.next_value()?),
                        "extra-commands" if extra_commands.is_none() => {
                            extra_commands = Some(map.next_value()?)
                        }
                        "keys" if keys.is_none() => keys = Some(map.next_value()?),
                        "target" | "commands" | "extra-commands" | "keys" => {
                            return Err(A::Error::custom(format!("duplicate field `{key}`")));
                        }
                        other => return Err(A::Error::unknown_field(other, FIELDS)),
                    }
                }
                Ok(RedisGrantDecl::Table(RedisGrantTable {
                    target: target.ok_or_else(|| A::Error::missing_field("target"))?,
                    commands: commands.unwrap_or_default(),
                    extra_commands: extra_commands.unwrap_or_default(),
                    keys,
                }))
            }
        }
        d.deserialize_any(Visitor)
    }
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
    /// Linear memory all VUs of a VU scenario may hold together.
    #[serde(rename = "vu-memory-total")]
    pub vu_memory_total: Option<Spanned<String>>,
}
