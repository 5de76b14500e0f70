//! The scenario catalog: `catalog.toml` parsed, validated (every problem with
//! its file, line and column) and resolved into typed entries; and the plan
//! of what one `rigor run` executes.

mod error;
mod manifest;
pub mod params;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{CatalogError, Location};
pub use params::{Param, ParamOverride, ParamType};

use crate::engine::Limits;
use crate::policy::Grants;
use crate::thresholds::{self, Expression};

/// The name of the Redis target every catalog knows: `--redis URL`, or a
/// managed redis-server when no URL is given.
pub const DEFAULT_REDIS_TARGET: &str = "default";

/// Where a scenario's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A Rust crate folder built with cargo for `wasm32-wasip2`.
    Rust { dir: PathBuf, crate_name: String },
    /// A prebuilt component.
    Wasm(PathBuf),
}

/// One resolved catalog entry.
#[derive(Debug, Clone)]
pub struct CatalogScenario {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub source: Source,
    pub params: Vec<Param>,
    pub grants: Grants,
    /// (metric, expression) pairs.
    pub thresholds: Vec<(String, Expression)>,
    pub limits: Limits,
}

/// A loaded catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub path: PathBuf,
    pub scenarios: Vec<CatalogScenario>,
    /// Redis target name → URL, as written in `[targets.redis]`.
    pub redis_targets: BTreeMap<String, String>,
}

impl Catalog {
    /// Reads `dir/catalog.toml` (or the file itself when `path` is a file).
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let file = if path.is_dir() {
            path.join("catalog.toml")
        } else {
            path.to_owned()
        };
        let text = std::fs::read_to_string(&file).map_err(|source| CatalogError::Read {
            path: file.clone(),
            source,
        })?;
        Self::parse(&file, &text)
    }

    /// Parses catalog text; `file` is used for locations and relative paths.
    pub fn parse(file: &Path, text: &str) -> Result<Catalog, CatalogError> {
        let at = |offset: usize, message: String| CatalogError::At {
            location: Location::at(file, text, offset),
            message,
        };
        let manifest: manifest::CatalogFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, e.message().trim().to_owned())
        })?;
        let base = file.parent().unwrap_or(Path::new(".")).to_owned();

        let mut defaults = Limits::default();
        if let Some(m) = &manifest.defaults.memory {
            defaults.memory = params::parse_size(m.get_ref()).map_err(|e| at(m.span().start, e))?;
        }
        if let Some(d) = &manifest.defaults.deadline {
            defaults.deadline = parse_duration(d.get_ref()).map_err(|e| at(d.span().start, e))?;
        }

        let mut redis_targets = BTreeMap::new();
        for (name, url) in &manifest.targets.redis {
            crate::probes::redis::RedisUrl::parse(url.get_ref())
                .map_err(|e| at(url.span().start, format!("redis target `{name}`: {e}")))?;
            redis_targets.insert(name.clone(), url.get_ref().clone());
        }

        let mut seen = BTreeSet::new();
        let mut scenarios = Vec::new();
        for entry in manifest.scenarios {
            let name = entry.name.get_ref().clone();
            if !is_valid_name(&name) {
                return Err(at(
                    entry.name.span().start,
                    format!(
                        "invalid scenario name `{name}`: use lowercase letters, digits and `-`"
                    ),
                ));
            }
            if !seen.insert(name.clone()) {
                return Err(at(
                    entry.name.span().start,
                    format!("duplicate scenario name `{name}`"),
                ));
            }
            let source = resolve_source(&base, entry.source.get_ref())
                .map_err(|e| at(entry.source.span().start, format!("scenario `{name}`: {e}")))?;

            let mut params = Vec::new();
            for (pname, decl) in &entry.params {
                let (ty, default) = ParamType::of_toml(&decl.get_ref().default).ok_or_else(|| {
                    at(
                        decl.span().start,
                        format!(
                            "parameter `{pname}` of `{name}`: the default must be an integer, float, string or boolean"
                        ),
                    )
                })?;
                params.push(Param {
                    name: pname.clone(),
                    ty,
                    default,
                    help: decl.get_ref().help.clone(),
                });
            }

            let mut grants = Grants::default();
            for target in &entry.grants.redis {
                let t = target.get_ref();
                if t != DEFAULT_REDIS_TARGET && !redis_targets.contains_key(t) {
                    let known: Vec<&str> = std::iter::once(DEFAULT_REDIS_TARGET)
                        .chain(redis_targets.keys().map(String::as_str))
                        .collect();
                    return Err(at(
                        target.span().start,
                        format!(
                            "scenario `{name}` is granted unknown redis target `{t}`; known targets: {} (declare it under [targets.redis])",
                            known.join(", ")
                        ),
                    ));
                }
                grants.redis.insert(t.clone());
            }

            let mut thresholds = Vec::new();
            for (metric, exprs) in &entry.thresholds {
                for expr in exprs {
                    let parsed = thresholds::parse(expr.get_ref()).map_err(|e| {
                        at(
                            expr.span().start,
                            format!("threshold on `{name}:{metric}`: {e}"),
                        )
                    })?;
                    thresholds.push((metric.clone(), parsed));
                }
            }

            let mut limits = defaults;
            if let Some(m) = &entry.limits.memory {
                limits.memory =
                    params::parse_size(m.get_ref()).map_err(|e| at(m.span().start, e))?;
            }
            if let Some(d) = &entry.limits.deadline {
                limits.deadline = parse_duration(d.get_ref()).map_err(|e| at(d.span().start, e))?;
            }

            scenarios.push(CatalogScenario {
                name,
                description: entry.description,
                tags: entry.tags,
                source,
                params,
                grants,
                thresholds,
                limits,
            });
        }
        Ok(Catalog {
            path: file.to_owned(),
            scenarios,
            redis_targets,
        })
    }

    pub fn get(&self, name: &str) -> Option<&CatalogScenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration `{text}`: {e} (examples: `30s`, `5m`)"))
}

fn resolve_source(base: &Path, source: &str) -> Result<Source, String> {
    let path = base.join(source);
    if source.ends_with(".wasm") {
        // A prebuilt component may legitimately not exist until it is built
        // elsewhere; loading reports a missing file clearly.
        return Ok(Source::Wasm(path));
    }
    let manifest = path.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|_| {
        format!(
            "source `{source}` is neither a `.wasm` file nor a folder with a Cargo.toml (looked for `{}`)",
            manifest.display()
        )
    })?;
    let crate_name = package_name(&text)
        .ok_or_else(|| format!("`{}` has no [package] name", manifest.display()))?;
    Ok(Source::Rust {
        dir: path,
        crate_name,
    })
}

fn package_name(cargo_toml: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(cargo_toml).ok()?;
    value
        .get("package")?
        .get("name")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Catalog, CatalogError> {
        Catalog::parse(Path::new("/nonexistent/catalog.toml"), text)
    }

    #[test]
    fn unknown_field_names_its_line() {
        let err = parse("[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\ncolour = \"blue\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/nonexistent/catalog.toml:4:1:"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn duplicate_name_and_bad_threshold_and_unknown_target_are_located() {
        let dup = parse(
            "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[[scenario]]\nname = \"a\"\nsource = \"b.wasm\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(dup.contains(":5:8: duplicate scenario name `a`"), "{dup}");

        let bad = parse(
            "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[scenario.thresholds]\n\"get\" = [\"p(99) <\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains(":5:10: threshold on `a:get`"), "{bad}");

        let target = parse(
            "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[scenario.grants]\nredis = [\"cache\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            target.contains(":5:10:") && target.contains("unknown redis target `cache`"),
            "{target}"
        );
    }

    #[test]
    fn valid_entry_resolves_params_grants_limits() {
        let c = parse(
            "[defaults]\ndeadline = \"1m\"\n[targets.redis]\ncache = \"redis://127.0.0.1:1\"\n[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\nparams = { ops = { default = 10, help = \"n\" } }\n[scenario.grants]\nredis = [\"default\", \"cache\"]\n[scenario.limits]\nmemory = \"64MiB\"\n",
        )
        .unwrap();
        let s = &c.scenarios[0];
        assert_eq!(s.params[0].ty, ParamType::Int);
        assert_eq!(s.params[0].default, "10");
        assert_eq!(s.limits.memory, 64 << 20);
        assert_eq!(s.limits.deadline, Duration::from_secs(60));
        assert!(s.grants.redis.contains("cache"));
        assert_eq!(s.source, Source::Wasm(PathBuf::from("/nonexistent/a.wasm")));
    }
}
