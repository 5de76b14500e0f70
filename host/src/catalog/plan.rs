//! The plan of one run: which scenarios, with which parameters, grants,
//! thresholds and limits. Selection and precedence live here and nowhere else:
//! catalog defaults < `--param`, and thresholds from the scenario itself, the
//! catalog and the command line are all evaluated, each tagged with its source.

use std::path::{Path, PathBuf};

use super::{Catalog, CatalogError, Source};
use crate::engine::Limits;
use crate::policy::Grants;
use crate::report::model::ThresholdSource;
use crate::thresholds::{self, Expression};

use super::params::ParamOverride;

/// A threshold to evaluate after the scenario ran.
#[derive(Debug, Clone)]
pub struct PlannedThreshold {
    pub metric: String,
    pub expression: Expression,
    pub source: ThresholdSource,
}

/// One scenario of the run.
#[derive(Debug, Clone)]
pub struct PlannedScenario {
    pub name: String,
    pub source: Source,
    /// Every declared parameter with its value, defaults filled in.
    pub params: Vec<(String, String)>,
    pub grants: Grants,
    /// Grants settled once the parameters are known (emptied then).
    pub deferred: super::http_grant::Deferred,
    pub thresholds: Vec<PlannedThreshold>,
    pub limits: Limits,
    /// The catalog's executor table (with `--executor` laid over it), read
    /// into `executor` once the parameters are known.
    pub executor_decl: Option<super::executor::ExecutorDecl>,
    /// A VU scenario's executor (this shard's part of it in a sharded run).
    pub executor: Option<crate::vu::ExecutorConfig>,
    /// In a sharded run, this shard's part of the executor is empty (fewer
    /// VUs than shards): the scenario is skipped here.
    pub no_vus_here: bool,
    /// How a sharded run runs it.
    pub shard: crate::shard::ShardMode,
}

/// A `--threshold 'scenario:metric:expression'` argument.
#[derive(Debug, Clone)]
pub struct CliThreshold {
    pub scenario: String,
    pub metric: String,
    pub expression: Expression,
}

impl CliThreshold {
    pub fn parse(arg: &str) -> Result<Self, String> {
        let shape = || {
            format!(
                "invalid --threshold `{arg}`: expected `scenario:metric:expression`, e.g. `redis-latency:get.100B:p(99)<500us`"
            )
        };
        let (scenario, rest) = arg.split_once(':').ok_or_else(shape)?;
        let (metric, expr) = rest.split_once(':').ok_or_else(shape)?;
        if scenario.trim().is_empty() || metric.trim().is_empty() {
            return Err(shape());
        }
        let expression =
            thresholds::parse(expr).map_err(|e| format!("invalid --threshold `{arg}`: {e}"))?;
        Ok(Self {
            scenario: scenario.trim().to_owned(),
            metric: metric.trim().to_owned(),
            expression,
        })
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Scenario names, tags or `.wasm` paths; empty = the whole catalog.
    pub selectors: Vec<String>,
    pub params: Vec<ParamOverride>,
    pub thresholds: Vec<CliThreshold>,
    /// `--executor key=value,...`: laid over every VU scenario's executor,
    /// and the executor of `.wasm` files run by path.
    pub executor: Option<toml::Table>,
}

/// Resolves the selection against the catalog.
pub fn plan(
    catalog: Option<&Catalog>,
    selection: &Selection,
) -> Result<Vec<PlannedScenario>, CatalogError> {
    let mut runs: Vec<PlannedScenario> = Vec::new();
    let push_entry = |runs: &mut Vec<PlannedScenario>, entry: &super::CatalogScenario| {
        if runs.iter().any(|r| r.name == entry.name) {
            return;
        }
        runs.push(PlannedScenario {
            name: entry.name.clone(),
            source: entry.source.clone(),
            params: entry
                .params
                .iter()
                .map(|p| (p.name.clone(), p.default.clone()))
                .collect(),
            grants: entry.grants.clone(),
            deferred: entry.deferred.clone(),
            thresholds: entry
                .thresholds
                .iter()
                .map(|(metric, expression)| PlannedThreshold {
                    metric: metric.clone(),
                    expression: *expression,
                    source: ThresholdSource::Catalog,
                })
                .collect(),
            limits: entry.limits,
            executor_decl: entry.executor.clone(),
            executor: None,
            no_vus_here: false,
            shard: entry.shard,
        });
    };

    if selection.selectors.is_empty() {
        let Some(catalog) = catalog else {
            return Err(CatalogError::Selection(
                "nothing to run: name scenarios or `.wasm` files, or pass `--catalog DIR`".into(),
            ));
        };
        for entry in catalog.scenarios.iter().filter(|s| !s.opt_in) {
            push_entry(&mut runs, entry);
        }
    }
    for selector in &selection.selectors {
        if let Some(entry) = catalog.and_then(|c| c.get(selector)) {
            push_entry(&mut runs, entry);
            continue;
        }
        let path = Path::new(selector);
        if selector.ends_with(".wasm") || path.is_file() {
            if !path.is_file() {
                return Err(CatalogError::Selection(format!(
                    "component `{selector}` does not exist"
                )));
            }
            runs.push(ad_hoc(path));
            continue;
        }
        let tagged: Vec<_> = catalog
            .map(|c| {
                c.scenarios
                    .iter()
                    .filter(|s| !s.opt_in && s.tags.iter().any(|t| t == selector))
                    .collect()
            })
            .unwrap_or_default();
        if tagged.is_empty() {
            let known = catalog
                .map(|c| {
                    c.scenarios
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            return Err(CatalogError::Selection(match catalog {
                Some(c) => format!(
                    "unknown scenario `{selector}`: no scenario, tag or file of that name in `{}` (scenarios: {known})",
                    c.path.display()
                ),
                None => format!(
                    "unknown scenario `{selector}`: no catalog was loaded and no such file exists"
                ),
            }));
        }
        for entry in tagged {
            push_entry(&mut runs, entry);
        }
    }

    apply_params(catalog, &mut runs, &selection.params)?;
    apply_thresholds(&mut runs, &selection.thresholds)?;
    for run in runs.iter_mut() {
        let decl = match (run.executor_decl.take(), &selection.executor) {
            (Some(mut decl), Some(overrides)) => {
                decl.table = super::executor::overlay(&decl.table, overrides);
                decl.location = format!("{} (with --executor)", decl.location);
                Some(decl)
            }
            (None, Some(overrides))
                if matches!(run.source, Source::Wasm(_))
                    && catalog.and_then(|c| c.get(&run.name)).is_none() =>
            {
                Some(super::executor::ExecutorDecl {
                    table: overrides.clone(),
                    location: "--executor".to_owned(),
                })
            }
            (decl, _) => decl,
        };
        if let Some(decl) = &decl {
            run.executor = Some(
                super::executor::resolve(decl, &run.name, &run.params)
                    .map_err(CatalogError::Selection)?,
            );
        }
        let deferred = std::mem::take(&mut run.deferred);
        super::http_grant::resolve(&run.name, &deferred, &run.params, &mut run.grants)
            .map_err(CatalogError::Selection)?;
    }
    Ok(runs)
}

fn ad_hoc(path: &Path) -> PlannedScenario {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    PlannedScenario {
        name: stem,
        source: Source::Wasm(PathBuf::from(path)),
        params: Vec::new(),
        // Components run by path are not in the catalog: they are granted nothing.
        grants: Grants::default(),
        deferred: Default::default(),
        thresholds: Vec::new(),
        limits: Limits::default(),
        executor_decl: None,
        executor: None,
        no_vus_here: false,
        shard: Default::default(),
    }
}

fn apply_params(
    catalog: Option<&Catalog>,
    runs: &mut [PlannedScenario],
    overrides: &[ParamOverride],
) -> Result<(), CatalogError> {
    for o in overrides {
        let mut applied = false;
        for run in runs.iter_mut() {
            if o.scenario.as_deref().is_some_and(|s| s != run.name) {
                continue;
            }
            let declared = catalog
                .and_then(|c| c.get(&run.name))
                .map(|entry| entry.params.iter().find(|p| p.name == o.name));
            match declared {
                // Declared: type-check and replace the default.
                Some(Some(param)) => {
                    let value = param.ty.check(&o.value).map_err(|e| {
                        CatalogError::Selection(format!(
                            "invalid --param `{}` for scenario `{}`: {e} (the parameter is {})",
                            o.name, run.name, param.ty
                        ))
                    })?;
                    for (name, v) in run.params.iter_mut() {
                        if *name == o.name {
                            *v = value.clone();
                        }
                    }
                    applied = true;
                }
                // In the catalog but not declared: only an error if it was aimed here.
                Some(None) => {
                    if o.scenario.is_some() {
                        return Err(unknown_param(catalog, run, &o.name));
                    }
                }
                // A component run by path declares nothing: pass it through.
                None => {
                    run.params.push((o.name.clone(), o.value.clone()));
                    applied = true;
                }
            }
        }
        if !applied {
            return Err(
                match runs.iter().find(|r| Some(&r.name) == o.scenario.as_ref()) {
                    Some(run) => unknown_param(catalog, run, &o.name),
                    None if o.scenario.is_some() => CatalogError::Selection(format!(
                        "--param `{}` names scenario `{}`, which is not part of this run",
                        o.name,
                        o.scenario.as_deref().unwrap_or_default()
                    )),
                    None => CatalogError::Selection(format!(
                        "unknown parameter `{}`: no selected scenario declares it",
                        o.name
                    )),
                },
            );
        }
    }
    Ok(())
}

fn unknown_param(catalog: Option<&Catalog>, run: &PlannedScenario, name: &str) -> CatalogError {
    let known: Vec<String> = catalog
        .and_then(|c| c.get(&run.name))
        .map(|e| e.params.iter().map(|p| p.name.clone()).collect())
        .unwrap_or_default();
    CatalogError::Selection(format!(
        "unknown parameter `{name}` for scenario `{}` (it declares: {})",
        run.name,
        if known.is_empty() {
            "none".into()
        } else {
            known.join(", ")
        }
    ))
}

fn apply_thresholds(
    runs: &mut [PlannedScenario],
    cli: &[CliThreshold],
) -> Result<(), CatalogError> {
    for t in cli {
        let Some(run) = runs.iter_mut().find(|r| r.name == t.scenario) else {
            return Err(CatalogError::Selection(format!(
                "--threshold names scenario `{}`, which is not part of this run",
                t.scenario
            )));
        };
        run.thresholds.push(PlannedThreshold {
            metric: t.metric.clone(),
            expression: t.expression,
            source: ThresholdSource::Cli,
        });
    }
    Ok(())
}
