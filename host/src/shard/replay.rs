//! `rigor run --replay REPORT.json`: the plan, parameters, command-line
//! thresholds, shard and seed of an earlier run, read back from its report,
//! and the checks that the same plan and components are about to run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalog::ParamOverride;
use crate::catalog::plan::{CliThreshold, Selection};
use crate::report::model::{RunIdentity, RunReport};
use crate::thresholds::ThresholdSource;

/// Largest report read for a replay (or a merge): far above any real one,
/// small enough that a wrong file cannot exhaust memory.
pub const MAX_REPORT_BYTES: u64 = 512 * 1024 * 1024;

/// Why a report cannot be replayed, or differs from what would run now.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("--replay `{}`: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("--replay `{}`: the report has no run identity (it was written by a rigor that did not record seeds); it cannot be replayed", path.display())]
    NoIdentity { path: PathBuf },
    #[error("--replay `{}`: {what} differs: the report has {recorded}, this run has {now}; {hint}", path.display())]
    Differs {
        path: PathBuf,
        what: String,
        recorded: String,
        now: String,
        hint: &'static str,
    },
}

/// An earlier run to repeat.
#[derive(Debug, Clone)]
pub struct Replay {
    pub path: PathBuf,
    pub identity: RunIdentity,
    /// Its scenarios, parameters and command-line thresholds.
    pub selection: Selection,
    /// Scenario name → the sha256 of the component that ran.
    pub components: BTreeMap<String, String>,
}

/// Reads a JSON report (bounded by [`MAX_REPORT_BYTES`]).
pub fn read_report(path: &Path) -> Result<RunReport, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if meta.len() > MAX_REPORT_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_REPORT_BYTES} a report may have",
            meta.len()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "not a rigor JSON report (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })
}

/// Reads many reports at once, one thread per core: a merge of a hundred
/// shards spends most of its time parsing JSON.
pub fn read_reports(paths: &[PathBuf]) -> Vec<Result<RunReport, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = paths.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|p| read_report(p)).collect::<Vec<_>>())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

impl Replay {
    pub fn read(path: &Path) -> Result<Self, ReplayError> {
        let report = read_report(path).map_err(|message| ReplayError::Read {
            path: path.to_owned(),
            message,
        })?;
        let Some(identity) = report.run.clone() else {
            return Err(ReplayError::NoIdentity {
                path: path.to_owned(),
            });
        };
        let mut selection = Selection::default();
        let mut components = BTreeMap::new();
        for s in &report.scenarios {
            selection.selectors.push(s.name.clone());
            for (name, value) in &s.params {
                selection.params.push(ParamOverride {
                    scenario: Some(s.name.clone()),
                    name: name.clone(),
                    value: value.clone(),
                });
            }
            for t in s
                .thresholds
                .iter()
                .filter(|t| t.source == ThresholdSource::Cli)
            {
                let spec = format!("{}:{}:{}", s.name, t.metric, t.expression);
                let parsed = CliThreshold::parse(&spec).map_err(|message| ReplayError::Read {
                    path: path.to_owned(),
                    message,
                })?;
                selection.thresholds.push(parsed);
            }
            if let Some(c) = &s.component {
                components.insert(s.name.clone(), c.sha256.clone());
            }
        }
        Ok(Self {
            path: path.to_owned(),
            identity,
            selection,
            components,
        })
    }

    /// The plan about to run must be the recorded one.
    pub fn check_plan(&self, plan_digest: &str) -> Result<(), ReplayError> {
        if plan_digest == self.identity.plan_digest {
            return Ok(());
        }
        Err(ReplayError::Differs {
            path: self.path.clone(),
            what: "the plan (scenarios, parameters, thresholds, shard modes)".into(),
            recorded: self.identity.plan_digest.clone(),
            now: plan_digest.to_owned(),
            hint: "the catalog changed since; check it out as it was, or pass --force to run the plan as it is now",
        })
    }

    /// Each component about to run must be the one that ran: every
    /// difference, named.
    pub fn check_components<'a>(
        &self,
        now: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<ReplayError> {
        now.into_iter()
            .filter_map(|(name, digest)| {
                let recorded = self.components.get(name)?;
                (recorded != digest).then(|| ReplayError::Differs {
                    path: self.path.clone(),
                    what: format!("the component of scenario `{name}`"),
                    recorded: recorded.clone(),
                    now: digest.to_owned(),
                    hint: "it was rebuilt from different sources or with a different toolchain; pass --force to run it anyway",
                })
            })
            .collect()
    }
}
