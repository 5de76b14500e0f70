//! The scenario catalog: `catalog.toml` parsed, validated (every problem with
//! its file, line and column) and resolved into typed entries; and the plan
//! of what one `rigor run` executes.

mod error;
pub mod executor;
pub mod http_grant;
mod language;
mod manifest;
pub mod params;
pub mod plan;
mod redis_grant;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{CatalogError, Location};
pub use language::Language;
pub use params::{Param, ParamOverride, ParamType};

use crate::budget::Resource;
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
    /// A folder in any other language (Python, JavaScript, C, Zig, Go),
    /// built by `rigor build` with that language's pinned toolchain.
    Folder { language: Language, dir: PathBuf },
    /// A prebuilt component.
    Wasm(PathBuf),
}

impl Source {
    /// The language the source is written in.
    pub fn language(&self) -> Language {
        match self {
            Source::Rust { .. } => Language::Rust,
            Source::Folder { language, .. } => *language,
            Source::Wasm(_) => Language::Wasm,
        }
    }
}

/// Services a scenario may declare in `services = [...]`.
pub const KNOWN_SERVICES: &[&str] = &["redis", "http"];

/// One resolved catalog entry.
#[derive(Debug, Clone)]
pub struct CatalogScenario {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub source: Source,
    /// Services the scenario needs (`redis`), as declared.
    pub services: Vec<String>,
    /// Runs only when named (see the manifest's `opt-in`).
    pub opt_in: bool,
    /// How a sharded run runs it (`shard = "split" | "whole" | "one"`).
    pub shard: crate::shard::ShardMode,
    pub params: Vec<Param>,
    pub grants: Grants,
    /// Grants settled when the run is planned (parameter-following `http`
    /// entries, client identities).
    pub deferred: http_grant::Deferred,
    /// (metric, expression) pairs.
    pub thresholds: Vec<(String, Expression)>,
    pub limits: Limits,
    /// A VU scenario's executor, read when the run is planned.
    pub executor: Option<executor::ExecutorDecl>,
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
    /// Files named in `include` are read from disk, relative to `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Catalog, CatalogError> {
        let mut files = Vec::new();
        load_tree(file, text.to_owned(), &mut files, &mut Vec::new())?;

        // Targets first: a scenario in one file may use a target declared in another.
        let mut redis_targets = BTreeMap::new();
        for loaded in &files {
            let at = loaded.at();
            for (name, url) in &loaded.manifest.targets.redis {
                crate::probes::redis::RedisUrl::parse(url.get_ref())
                    .map_err(|e| at(url.span().start, format!("redis target `{name}`: {e}")))?;
                if let Some(previous) = redis_targets.insert(name.clone(), url.get_ref().clone())
                    && previous != *url.get_ref()
                {
                    return Err(at(
                        url.span().start,
                        format!(
                            "redis target `{name}` is declared twice with different URLs (`{previous}` and `{}`)",
                            url.get_ref()
                        ),
                    ));
                }
            }
        }

        let mut seen = BTreeSet::new();
        let mut scenarios = Vec::new();
        for LoadedFile {
            file,
            text,
            manifest,
        } in files
        {
            let at = |offset: usize, message: String| CatalogError::At {
                location: Location::at(&file, &text, offset),
                message,
            };
            let base = file.parent().unwrap_or(Path::new(".")).to_owned();
            let mut defaults = Limits::default();
            apply_limits(&mut defaults, &manifest.defaults, &at)?;
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
                let declared = match &entry.language {
                    Some(l) => Some(Language::from_name(l.get_ref()).ok_or_else(|| {
                        at(
                            l.span().start,
                            format!(
                                "scenario `{name}`: unknown language `{}` (languages: {})",
                                l.get_ref(),
                                Language::NAMES.join(", ")
                            ),
                        )
                    })?),
                    None => None,
                };
                let source = language::resolve_source(&base, entry.source.get_ref(), declared)
                    .map_err(|e| {
                        at(entry.source.span().start, format!("scenario `{name}`: {e}"))
                    })?;

                let mut services = Vec::new();
                for service in &entry.services {
                    if !KNOWN_SERVICES.contains(&service.get_ref().as_str()) {
                        return Err(at(
                            service.span().start,
                            format!(
                                "scenario `{name}` needs unknown service `{}` (services: {})",
                                service.get_ref(),
                                KNOWN_SERVICES.join(", ")
                            ),
                        ));
                    }
                    services.push(service.get_ref().clone());
                }

                let mut params = Vec::new();
                for (pname, decl) in &entry.params {
                    let d = decl.get_ref();
                    let (ty, default) =
                        ParamType::of_decl(d.ty.as_deref(), &d.default).map_err(|e| {
                            at(
                                decl.span().start,
                                format!("parameter `{pname}` of `{name}`: {e}"),
                            )
                        })?;
                    params.push(Param {
                        name: pname.clone(),
                        ty,
                        default,
                        help: decl.get_ref().help.clone(),
                    });
                }

                let mut grants = Grants {
                    redis: redis_grant::resolve(&name, &entry.grants.redis, &redis_targets)
                        .map_err(|(offset, message)| at(offset, message))?,
                    ..Grants::default()
                };
                for dir in &entry.grants.dirs {
                    let d = dir.get_ref();
                    let decl = crate::probes::fs::grant::DirDecl {
                        path: &d.path,
                        mode: d.mode.as_deref(),
                        name: d.name.as_deref(),
                    };
                    let grant = crate::probes::fs::grant::resolve(&base, decl)
                        .map_err(|e| at(dir.span().start, format!("scenario `{name}`: {e}")))?;
                    if grants.dirs.iter().any(|d| d.name == grant.name) {
                        return Err(at(
                            dir.span().start,
                            format!(
                                "scenario `{name}` grants two directories named `{}`; give one a different `name`",
                                grant.name
                            ),
                        ));
                    }
                    grants.dirs.push(grant);
                }
                grants.pids.extend(entry.grants.pids.iter().copied());
                for program in &entry.grants.exec {
                    let grant = crate::probes::process::exec_grant(&base, program.get_ref())
                        .map_err(|e| at(program.span().start, format!("scenario `{name}`: {e}")))?;
                    grants.exec.insert(program.get_ref().clone(), grant);
                }
                grants.inherit_env = entry.grants.inherit_env;
                for var in &entry.grants.env {
                    let var_name = crate::probes::process::env::grant_name(var.get_ref())
                        .map_err(|e| at(var.span().start, format!("scenario `{name}`: {e}")))?;
                    grants.env.insert(var_name);
                }
                let mut deferred = http_grant::Deferred::default();
                for host in &entry.grants.http {
                    if let Some(param) = http_grant::param_reference(host.get_ref(), &params) {
                        let param = param.map_err(|e| {
                            at(host.span().start, format!("scenario `{name}`: {e}"))
                        })?;
                        deferred.url_params.push(param);
                        continue;
                    }
                    let host = crate::probes::http::grant_host(host.get_ref())
                        .map_err(|e| at(host.span().start, format!("scenario `{name}`: {e}")))?;
                    grants.http.insert(host);
                }
                for (cert_name, decl) in &entry.grants.client_certs {
                    if !is_valid_name(cert_name) {
                        return Err(at(
                            decl.span().start,
                            format!(
                                "scenario `{name}`: client-certs name `{cert_name}` must be lowercase letters, digits and `-`"
                            ),
                        ));
                    }
                    deferred.client_certs.insert(
                        cert_name.clone(),
                        http_grant::client_cert_paths(&base, decl.get_ref()),
                    );
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
                apply_limits(&mut limits, &entry.limits, &at)?;
                let shard = match &entry.shard {
                    None => crate::shard::ShardMode::default(),
                    Some(mode) => crate::shard::ShardMode::parse(mode.get_ref()).ok_or_else(|| {
                        at(
                            mode.span().start,
                            format!(
                                "scenario `{name}`: shard `{}` is not one of `split`, `whole`, `one`",
                                mode.get_ref()
                            ),
                        )
                    })?,
                };

                let executor = entry.executor.as_ref().map(|table| executor::ExecutorDecl {
                    table: table.get_ref().clone(),
                    location: Location::at(&file, &text, table.span().start).to_string(),
                });
                if let Some(decl) = &executor {
                    // Checked now with the parameters' defaults, so a typo
                    // fails `rigor list` too, not only the run.
                    let defaults: Vec<(String, String)> = params
                        .iter()
                        .map(|p| (p.name.clone(), p.default.clone()))
                        .collect();
                    executor::resolve(decl, &name, &defaults).map_err(CatalogError::Selection)?;
                }

                scenarios.push(CatalogScenario {
                    name,
                    description: entry.description,
                    tags: entry.tags,
                    source,
                    services,
                    opt_in: entry.opt_in,
                    shard,
                    params,
                    grants,
                    deferred,
                    thresholds,
                    limits,
                    executor,
                });
            }
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

/// Applies the keys `decl` sets over `limits`; a bad value names its place.
fn apply_limits(
    limits: &mut Limits,
    decl: &manifest::LimitsDecl,
    at: &impl Fn(usize, String) -> CatalogError,
) -> Result<(), CatalogError> {
    if let Some(m) = &decl.memory {
        limits.memory = params::parse_size(m.get_ref()).map_err(|e| at(m.span().start, e))?;
    }
    if let Some(d) = &decl.deadline {
        limits.deadline = parse_duration(d.get_ref()).map_err(|e| at(d.span().start, e))?;
    }
    if let Some(m) = &decl.vu_memory_total {
        limits.vu_memory_total = params::parse_size(m.get_ref())
            .map_err(|e| at(m.span().start, format!("`vu-memory-total`: {e}")))?;
    }
    if let Some(m) = &decl.host_memory {
        let bytes = params::parse_size(m.get_ref())
            .map_err(|e| at(m.span().start, format!("`host-memory`: {e}")))?;
        limits.budgets.set(Resource::HostMemory, bytes);
    }
    let counts = [
        (Resource::Connections, &decl.connections),
        (Resource::Children, &decl.children),
        (Resource::LoadWorkers, &decl.load_workers),
        (Resource::LoadThreads, &decl.load_threads),
    ];
    for (resource, value) in counts {
        let Some(value) = value else { continue };
        let max = resource.catalog_max();
        let n = u64::try_from(*value.get_ref())
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                at(
                    value.span().start,
                    format!("`{}` is {}; use 0..={max}", resource.key(), value.get_ref()),
                )
            })?;
        limits.budgets.set(resource, n);
    }
    Ok(())
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration `{text}`: {e} (examples: `30s`, `5m`)"))
}

/// One file of the include tree, parsed.
struct LoadedFile {
    file: PathBuf,
    text: String,
    manifest: manifest::CatalogFile,
}

impl LoadedFile {
    /// Builds located errors for this file.
    fn at(&self) -> impl Fn(usize, String) -> CatalogError + '_ {
        |offset, message| CatalogError::At {
            location: Location::at(&self.file, &self.text, offset),
            message,
        }
    }
}

/// Parses `file` and, depth first, the files it includes. `stack` holds the
/// files being loaded, to report include cycles.
fn load_tree(
    file: &Path,
    text: String,
    files: &mut Vec<LoadedFile>,
    stack: &mut Vec<PathBuf>,
) -> Result<(), CatalogError> {
    let manifest: manifest::CatalogFile = toml::from_str(&text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        CatalogError::At {
            location: Location::at(file, &text, offset),
            message: e.message().trim().to_owned(),
        }
    })?;
    let includes: Vec<_> = manifest.include.clone();
    let key = file.canonicalize().unwrap_or_else(|_| file.to_owned());
    stack.push(key);
    files.push(LoadedFile {
        file: file.to_owned(),
        text,
        manifest,
    });
    let index = files.len() - 1;
    let base = file.parent().unwrap_or(Path::new(".")).to_owned();
    for include in includes {
        let at = |message: String| CatalogError::At {
            location: Location::at(file, &files[index].text, include.span().start),
            message,
        };
        let mut path = base.join(include.get_ref());
        if path.is_dir() {
            path = path.join("catalog.toml");
        }
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if stack.contains(&canonical) {
            return Err(at(format!(
                "include `{}` forms a cycle (it is already being loaded)",
                include.get_ref()
            )));
        }
        if files
            .iter()
            .any(|f| f.file.canonicalize().ok().as_ref() == Some(&canonical))
        {
            continue; // included twice through different files: load once
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            at(format!(
                "cannot read included catalog `{}`: {e}",
                path.display()
            ))
        })?;
        load_tree(&path, text, files, stack)?;
    }
    stack.pop();
    Ok(())
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
    #[test]
    fn the_shard_mode_is_read_and_checked() {
        let c = parse(
            "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[[scenario]]\nname = \"b\"\nsource = \"b.wasm\"\nshard = \"one\"\n",
        )
        .unwrap();
        assert_eq!(c.scenarios[0].shard, crate::shard::ShardMode::Split);
        assert_eq!(c.scenarios[1].shard, crate::shard::ShardMode::One);
        let err = parse("[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\nshard = \"half\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":4:9: scenario `a`: shard `half` is not one of `split`, `whole`, `one`"),
            "{err}"
        );
    }

    #[test]
    fn an_opt_in_scenario_runs_only_when_named() {
        let c = parse(
            "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\ntags = [\"load\"]\n[[scenario]]\nname = \"manual\"\nsource = \"m.wasm\"\ntags = [\"load\"]\nopt-in = true\n",
        )
        .unwrap();
        let names = |selectors: &[&str]| -> Vec<String> {
            let selection = plan::Selection {
                selectors: selectors.iter().map(|s| (*s).to_owned()).collect(),
                params: Vec::new(),
                thresholds: Vec::new(),
                executor: None,
            };
            plan::plan(Some(&c), &selection)
                .unwrap()
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        assert_eq!(names(&[]), ["a"], "the whole catalog leaves it out");
        assert_eq!(names(&["load"]), ["a"], "so does a tag");
        assert_eq!(names(&["manual"]), ["manual"]);
        assert_eq!(names(&["load", "manual"]), ["a", "manual"]);
    }

    #[test]
    fn budgets_come_from_defaults_and_limits_and_bad_ones_are_located() {
        let c = parse(
            "[defaults]\nhost-memory = \"64MiB\"\nconnections = 8\n[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[scenario.limits]\nload-workers = 10000\nload-threads = 2\nchildren = 0\n[[scenario]]\nname = \"b\"\nsource = \"b.wasm\"\n",
        )
        .unwrap();
        let a = c.scenarios[0].limits.budgets;
        assert_eq!(a.host_memory, 64 << 20);
        assert_eq!(a.connections, 8);
        assert_eq!((a.load_workers, a.load_threads, a.children), (10_000, 2, 0));
        let b = c.scenarios[1].limits.budgets;
        assert_eq!(b.connections, 8);
        assert_eq!(b.load_threads, crate::budget::DEFAULT_LOAD_THREADS);

        let bad = parse(
            "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[scenario.limits]\nload-threads = 5000\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains(":5:16:") && bad.contains("`load-threads` is 5000; use 0..=1024"),
            "{bad}"
        );
        let bad = parse("[defaults]\nhost-memory = \"lots\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains(":2:15:") && bad.contains("`host-memory`: invalid size"),
            "{bad}"
        );
        let bad = parse("[defaults]\nconnections = -1\n")
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains(":2:15:") && bad.contains("`connections` is -1"),
            "{bad}"
        );
        let bad = parse("[defaults]\nsockets = 3\n").unwrap_err().to_string();
        assert!(bad.contains(":2:1:") && bad.contains("sockets"), "{bad}");
    }

    #[test]
    fn dir_and_pid_grants_resolve_against_the_catalog_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let file = dir.path().join("catalog.toml");
        let entry = "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[scenario.grants]\n";
        let c = Catalog::parse(
            &file,
            &format!("{entry}dirs = [{{ path = \"data\" }}, {{ path = \"data\", name = \"out\", mode = \"rw\" }}]\npids = [42]\n"),
        )
        .unwrap();
        let g = &c.scenarios[0].grants;
        assert_eq!(g.dirs.len(), 2);
        assert_eq!(g.dirs[0].name, "data");
        assert_eq!(
            g.dirs[0].path,
            dir.path().join("data").canonicalize().unwrap()
        );
        assert_eq!(g.dirs[1].mode, crate::probes::fs::DirMode::ReadWrite);
        assert!(g.pids.contains(&42));

        let bad = Catalog::parse(
            &file,
            &format!("{entry}dirs = [{{ path = \"data\", mode = \"wx\" }}]\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains(":5:9:") && bad.contains("use \"ro\" or \"rw\""),
            "{bad}"
        );
        let twice = Catalog::parse(
            &file,
            &format!("{entry}dirs = [{{ path = \"data\" }}, {{ path = \"data\" }}]\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(twice.contains("two directories named `data`"), "{twice}");
    }

    #[test]
    fn env_grants_name_single_variables() {
        let entry = "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[scenario.grants]\nexec = [\"env\"]\n";
        let c = parse(&format!("{entry}env = [\"PORT\", \"LD_PRELOAD\"]\n")).unwrap();
        let g = &c.scenarios[0].grants;
        assert!(g.env.contains("PORT") && g.env.contains("LD_PRELOAD"));
        assert!(g.describe().contains(&"env:PORT".to_owned()));
        for bad in ["LD_*", "A=1", " PORT", ""] {
            let err = parse(&format!("{entry}env = [\"{bad}\"]\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(":6:") && err.contains("is not a variable name"),
                "{bad}: {err}"
            );
        }
    }
}
