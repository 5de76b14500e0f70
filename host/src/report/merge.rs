//! `rigor merge`: the reports of a sharded run's shards made into one
//! report, as if one process had run the whole plan. Histograms are added
//! (HDR bucket counts: exact), counters summed, throughputs summed (the
//! shards ran side by side), ratios weighted by the operations behind them,
//! checks aggregated, and every threshold judged once more on the merged
//! data; each shard's own verdict is kept beside it but decides nothing.
//! Reports of different runs or plans, of different components, or with a
//! shard twice are refused; a missing shard is refused unless allowed, and
//! the result is then partial.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use super::builder::{MAX_FAILURE_DETAILS, MAX_LOG_LINES, ReportBuilder};
use super::model::{
    CapturedOutput, CheckResult, Dropped, ErrorKind, Finding, LogLine, MergeInfo, MergedShard,
    MetricReport, RunIdentity, RunReport, RunSummary, SCHEMA, ScenarioError, ScenarioReport,
    ShardVerdict, Status, ThresholdResult,
};
use crate::metrics::{Direction, Distribution, Unit};
use crate::shard::ShardMode;
use crate::thresholds::{Judged, MAX_NAMES_LISTED, Observed, Unjudged};

/// Most shard reports one merge takes.
pub const MAX_SHARD_REPORTS: usize = crate::shard::spec::MAX_SHARDS as usize;
/// Bytes of each captured stream kept in a merged scenario (the shards'
/// output one after another, each under a `--- shard N ---` line).
pub const MAX_MERGED_OUTPUT: usize = 64 * 1024;

/// One shard's report and the file it came from.
#[derive(Debug, Clone)]
pub struct ShardReport {
    pub file: String,
    pub report: RunReport,
}

/// Why reports cannot be merged. Every message names the files involved.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    #[error("nothing to merge: name the shard reports (JSON), e.g. `rigor merge shards/*.json`")]
    Nothing,
    #[error("{count} reports: at most {MAX_SHARD_REPORTS} can be merged")]
    TooMany { count: usize },
    #[error("`{file}`: schema `{schema}` is not `{SCHEMA}`; merge reports of this rigor version")]
    Schema { file: String, schema: String },
    #[error(
        "`{file}`: not a shard report (it has no shard: run each shard with `rigor run --shard I/N`)"
    )]
    NotAShard { file: String },
    #[error(
        "`{file}` is from run `{theirs}` but `{first}` is from run `{ours}`: merge the shards of one run only (same --run-id)"
    )]
    DifferentRun {
        file: String,
        theirs: String,
        first: String,
        ours: String,
    },
    #[error(
        "`{file}` ran a different plan than `{first}` ({theirs} vs {ours}): the scenarios, parameters, thresholds or shard modes differ; run every shard from the same catalog and arguments"
    )]
    DifferentPlan {
        file: String,
        theirs: String,
        first: String,
        ours: String,
    },
    #[error(
        "`{file}` is shard {index} of {theirs} but `{first}` is of {ours}: every shard must be run with the same count"
    )]
    DifferentCount {
        file: String,
        index: u32,
        theirs: u32,
        first: String,
        ours: u32,
    },
    #[error("`{file}` and `{other}` are both shard {index}: each shard may be merged once")]
    Duplicate {
        file: String,
        other: String,
        index: u32,
    },
    #[error(
        "scenario `{scenario}` ran component {theirs} in `{file}` but {ours} in `{first}`: every shard must run the same build"
    )]
    DifferentComponent {
        scenario: String,
        file: String,
        theirs: String,
        first: String,
        ours: String,
    },
    #[error("shard{} {} of {count} missing: merge every shard, or pass --allow-missing for a partial result", if .missing.len() == 1 { "" } else { "s" }, list(.missing))]
    Missing { missing: Vec<u32>, count: u32 },
}

fn list(n: &[u32]) -> String {
    n.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Merges the shard reports of one run. `allow_missing`: a shard with no
/// report makes the result partial instead of an error.
pub fn merge(mut shards: Vec<ShardReport>, allow_missing: bool) -> Result<RunReport, MergeError> {
    if shards.is_empty() {
        return Err(MergeError::Nothing);
    }
    if shards.len() > MAX_SHARD_REPORTS {
        return Err(MergeError::TooMany {
            count: shards.len(),
        });
    }
    let (identity, count) = validate(&shards)?;
    shards.sort_by_key(|s| shard_of(s).map_or(0, |i| i.index));
    let present: BTreeSet<u32> = shards
        .iter()
        .filter_map(|s| shard_of(s).map(|i| i.index))
        .collect();
    let missing: Vec<u32> = (1..=count).filter(|i| !present.contains(i)).collect();
    if !missing.is_empty() && !allow_missing {
        return Err(MergeError::Missing { missing, count });
    }
    check_components(&shards)?;

    let mut names: Vec<&str> = Vec::new();
    for s in &shards {
        for sc in &s.report.scenarios {
            if !names.contains(&sc.name.as_str()) {
                names.push(&sc.name);
            }
        }
    }
    let scenarios: Vec<ScenarioReport> = names
        .iter()
        .map(|name| {
            let parts: Vec<(u32, &ScenarioReport)> = shards
                .iter()
                .filter_map(|s| {
                    let index = shard_of(s)?.index;
                    let sc = s.report.scenarios.iter().find(|sc| sc.name == *name)?;
                    Some((index, sc))
                })
                .collect();
            merge_scenario(&parts)
        })
        .collect();

    let (started, span) = span(
        shards
            .iter()
            .map(|s| (&s.report.started_at, s.report.duration_ms)),
    );
    let first = &shards[0].report;
    let merge = MergeInfo {
        count,
        shards: shards
            .iter()
            .map(|s| MergedShard {
                index: shard_of(s).map_or(0, |i| i.index),
                file: s.file.clone(),
                started_at: s.report.started_at.clone(),
                duration_ms: s.report.duration_ms,
                summary: s.report.summary.clone(),
                start_late_ms: s.report.run.as_ref().and_then(|r| r.start_late_ms),
            })
            .collect(),
        missing: missing.clone(),
    };
    Ok(RunReport {
        schema: SCHEMA.to_owned(),
        rigor_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: started.unwrap_or_else(|| first.started_at.clone()),
        duration_ms: span,
        host: first.host.clone(),
        partial: !missing.is_empty() || shards.iter().any(|s| s.report.partial),
        summary: RunSummary::from_scenarios(&scenarios),
        scenarios,
        run: Some(RunIdentity {
            shard: None,
            start_late_ms: None,
            deferred: false,
            ..identity
        }),
        merge: Some(merge),
        // The shards' live-output label, when they agree on one.
        run_id: first
            .run_id
            .clone()
            .filter(|id| shards.iter().all(|s| s.report.run_id.as_ref() == Some(id))),
        outputs: Vec::new(),
    })
}

fn shard_of(s: &ShardReport) -> Option<super::model::ShardInfo> {
    s.report.run.as_ref().and_then(|r| r.shard)
}

/// Same schema, run, plan and count everywhere; no shard twice.
fn validate(shards: &[ShardReport]) -> Result<(RunIdentity, u32), MergeError> {
    let mut first: Option<(&ShardReport, &RunIdentity, u32)> = None;
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for s in shards {
        if s.report.schema != SCHEMA {
            return Err(MergeError::Schema {
                file: s.file.clone(),
                schema: s.report.schema.clone(),
            });
        }
        let not_a_shard = || MergeError::NotAShard {
            file: s.file.clone(),
        };
        let run = s.report.run.as_ref().ok_or_else(not_a_shard)?;
        let shard = run.shard.ok_or_else(not_a_shard)?;
        match first {
            None => first = Some((s, run, shard.count)),
            Some((f, frun, fcount)) => {
                if run.id != frun.id {
                    return Err(MergeError::DifferentRun {
                        file: s.file.clone(),
                        theirs: run.id.clone(),
                        first: f.file.clone(),
                        ours: frun.id.clone(),
                    });
                }
                if run.plan_digest != frun.plan_digest {
                    return Err(MergeError::DifferentPlan {
                        file: s.file.clone(),
                        theirs: run.plan_digest.clone(),
                        first: f.file.clone(),
                        ours: frun.plan_digest.clone(),
                    });
                }
                if shard.count != fcount {
                    return Err(MergeError::DifferentCount {
                        file: s.file.clone(),
                        index: shard.index,
                        theirs: shard.count,
                        first: f.file.clone(),
                        ours: fcount,
                    });
                }
            }
        }
        if let Some(other) = seen.insert(shard.index, &s.file) {
            return Err(MergeError::Duplicate {
                file: s.file.clone(),
                other: other.to_owned(),
                index: shard.index,
            });
        }
    }
    let (_, run, count) = first.expect("at least one report");
    Ok((run.clone(), count))
}

/// Every shard ran the same component for each scenario.
fn check_components(shards: &[ShardReport]) -> Result<(), MergeError> {
    let mut first: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for s in shards {
        for sc in &s.report.scenarios {
            let Some(c) = &sc.component else { continue };
            match first.get(sc.name.as_str()) {
                None => {
                    first.insert(&sc.name, (&c.sha256, &s.file));
                }
                Some((digest, file)) if *digest != c.sha256 => {
                    return Err(MergeError::DifferentComponent {
                        scenario: sc.name.clone(),
                        file: s.file.clone(),
                        theirs: c.sha256.clone(),
                        first: (*file).to_owned(),
                        ours: (*digest).to_owned(),
                    });
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The earliest start (RFC 3339) and the span to the latest end, in ms.
fn span<'a>(parts: impl Iterator<Item = (&'a String, f64)>) -> (Option<String>, f64) {
    let mut start: Option<(SystemTime, &str)> = None;
    let mut end: Option<SystemTime> = None;
    let mut longest = 0.0f64;
    for (at, ms) in parts {
        longest = longest.max(ms);
        let Ok(t) = humantime::parse_rfc3339_weak(at) else {
            continue;
        };
        let e = t + Duration::from_secs_f64(ms.max(0.0) / 1e3);
        if start.is_none_or(|(s, _)| t < s) {
            start = Some((t, at));
        }
        if end.is_none_or(|x| e > x) {
            end = Some(e);
        }
    }
    match (start, end) {
        (Some((s, text)), Some(e)) => (
            Some(text.to_owned()),
            e.duration_since(s)
                .map_or(longest, |d| d.as_secs_f64() * 1e3)
                .max(longest),
        ),
        _ => (None, longest),
    }
}

/// One scenario from its shards' reports (`(shard, report)`, by shard).
fn merge_scenario(parts: &[(u32, &ScenarioReport)]) -> ScenarioReport {
    let mode = parts
        .iter()
        .find_map(|(_, s)| s.shard.as_ref().map(|x| x.mode))
        .unwrap_or_default();
    // A `one` scenario ran on shard 1 only; the others skipped it by design.
    let ran: Vec<(u32, &ScenarioReport)> = match mode {
        ShardMode::One => parts
            .iter()
            .filter(|(_, s)| s.status != Status::Skipped)
            .copied()
            .collect(),
        _ => parts.to_vec(),
    };
    let first = ran
        .first()
        .or(parts.first())
        .expect("a scenario has a part")
        .1;
    let mut out = ScenarioReport {
        metrics: Vec::new(),
        checks: Vec::new(),
        thresholds: Vec::new(),
        findings: Vec::new(),
        logs: Vec::new(),
        logs_dropped: 0,
        dropped: Dropped::default(),
        output: CapturedOutput::default(),
        error: None,
        skip_reason: None,
        budgets: None,
        ..first.clone()
    };
    if ran.is_empty() || ran.iter().all(|(_, s)| s.status == Status::Skipped) {
        out.status = Status::Skipped;
        out.skip_reason = first.skip_reason.clone();
        return out;
    }
    let (started, span_ms) = span(
        ran.iter()
            .filter_map(|(_, s)| Some((s.started_at.as_ref()?, s.duration_ms))),
    );
    out.started_at = started.or(first.started_at.clone());
    out.duration_ms = span_ms;
    out.metrics = merge_metrics(&ran, span_ms);
    out.checks = merge_checks(&ran);
    out.findings = merge_findings(&ran);
    (out.logs, out.logs_dropped) = merge_logs(&ran);
    out.output = merge_output(&ran);
    for (_, s) in &ran {
        let d = &s.dropped;
        let o = &mut out.dropped;
        o.checks += d.checks;
        o.failed_checks += d.failed_checks;
        o.check_details += d.check_details;
        o.thresholds += d.thresholds;
        o.failed_thresholds += d.failed_thresholds;
        o.findings += d.findings;
        o.series_points += d.series_points;
    }
    out.error = merged_error(&ran);
    out.thresholds = rejudge(&ran, &out.metrics, span_ms / 1e3, out.error.is_some());
    out.status = if out.error.is_some() {
        Status::Errored
    } else if out.checks.iter().all(|c| c.passed)
        && out.thresholds.iter().all(|t| t.passed)
        && !out.dropped.any_failed()
    {
        Status::Passed
    } else {
        Status::Failed
    };
    out
}

/// The first shard's error, naming the shard; a split scenario some shards
/// skipped is incomplete, which is an error too.
fn merged_error(ran: &[(u32, &ScenarioReport)]) -> Option<ScenarioError> {
    if let Some((i, e)) = ran
        .iter()
        .find_map(|(i, s)| Some((i, s.error.as_ref().filter(|_| s.status == Status::Errored)?)))
    {
        return Some(ScenarioError {
            kind: e.kind,
            message: format!("shard {i}: {}", e.message),
        });
    }
    let skipped: Vec<String> = ran
        .iter()
        .filter(|(_, s)| s.status == Status::Skipped)
        .map(|(i, s)| {
            format!(
                "shard {i} ({})",
                s.skip_reason.as_deref().unwrap_or("skipped")
            )
        })
        .collect();
    (!skipped.is_empty()).then(|| ScenarioError {
        kind: ErrorKind::Load,
        message: format!(
            "skipped on {}: the merged result lacks those shards' part",
            skipped.join(", ")
        ),
    })
}

/// Metrics by name, in the order they first appear.
/// `span_ms`: the merged scenario's span, over which throughputs are
/// recomputed.
fn merge_metrics(ran: &[(u32, &ScenarioReport)], span_ms: f64) -> Vec<MetricReport> {
    let mut order: Vec<&str> = Vec::new();
    for (_, s) in ran {
        for m in &s.metrics {
            if !order.contains(&m.name.as_str()) {
                order.push(&m.name);
            }
        }
    }
    // Operations each shard measured: the weight of its ratios.
    let ops = |s: &ScenarioReport, prefix: &str| -> u64 {
        s.metrics
            .iter()
            .filter(|m| m.kind == "histogram" && m.name.starts_with(prefix))
            .filter_map(|m| m.summary.as_ref().map(|x| x.count))
            .sum()
    };
    order
        .into_iter()
        .map(|name| {
            let found: Vec<(&ScenarioReport, &MetricReport)> = ran
                .iter()
                .filter_map(|(_, s)| Some((*s, s.metric(name)?)))
                .collect();
            let base = found[0].1;
            let mut m = MetricReport {
                series: Vec::new(),
                ..base.clone()
            };
            match base.kind.as_str() {
                "histogram" => {
                    let mut all = Distribution::new();
                    for (_, x) in &found {
                        if let Some(d) = x
                            .histogram
                            .as_deref()
                            .and_then(|h| Distribution::from_base64(h).ok())
                        {
                            all.merge(&d);
                        }
                    }
                    m.summary = Some(all.summary());
                    m.histogram = Some(all.to_base64());
                }
                "counter" => {
                    m.value = Some(found.iter().filter_map(|(_, x)| x.value).sum());
                }
                _ => {
                    let values: Vec<(f64, &ScenarioReport)> = found
                        .iter()
                        .filter_map(|(s, x)| Some((x.value?, *s)))
                        .collect();
                    m.value = match base.unit {
                        // Each shard's operations (its rate over its
                        // span) over the merged span: the sum of the rates
                        // when the shards ran together, less when not.
                        Unit::OpsPerSecond => {
                            let ops: f64 = values.iter().map(|(v, s)| v * s.duration_ms).sum();
                            let sum: f64 = values.iter().map(|(v, _)| v).sum();
                            Some(if span_ms > 0.0 {
                                (ops / span_ms).min(sum)
                            } else {
                                sum
                            })
                        }
                        Unit::Count => Some(values.iter().map(|(v, _)| v).sum()),
                        Unit::Ratio => {
                            let prefix = name.rsplit_once('.').map_or("", |(p, _)| p);
                            let weights: Vec<f64> =
                                values.iter().map(|(_, s)| ops(s, prefix) as f64).collect();
                            let total: f64 = weights.iter().sum();
                            if total > 0.0 {
                                Some(
                                    values
                                        .iter()
                                        .zip(&weights)
                                        .map(|((v, _), w)| v * w)
                                        .sum::<f64>()
                                        / total,
                                )
                            } else {
                                Some(
                                    values.iter().map(|(v, _)| v).sum::<f64>()
                                        / values.len().max(1) as f64,
                                )
                            }
                        }
                        // Anything else: the worst shard's value.
                        _ => {
                            let vs = values.iter().map(|(v, _)| *v);
                            match base.direction() {
                                Direction::HigherIsBetter => vs.reduce(f64::min),
                                _ => vs.reduce(f64::max),
                            }
                        }
                    };
                }
            }
            m.series = merge_series(base.unit, found.iter().map(|(_, x)| &x.series));
            m
        })
        .collect()
}

/// Throughput series add point by point (the shards sample on the same
/// period); any other series is the first shard's.
fn merge_series<'a>(unit: Unit, all: impl Iterator<Item = &'a Vec<[f64; 2]>>) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::new();
    for (n, series) in all.enumerate() {
        if n == 0 {
            out = series.clone();
        } else if unit == Unit::OpsPerSecond {
            for (i, p) in series.iter().enumerate() {
                match out.get_mut(i) {
                    Some(o) => o[1] += p[1],
                    None => out.push(*p),
                }
            }
        }
    }
    out
}

fn merge_checks(ran: &[(u32, &ScenarioReport)]) -> Vec<CheckResult> {
    let mut out: Vec<CheckResult> = Vec::new();
    for (i, s) in ran {
        for c in &s.checks {
            // Reports from before checks were counted hold one item each.
            let (passes, fails) = if c.passes + c.fails == 0 {
                (u64::from(c.passed), u64::from(!c.passed))
            } else {
                (c.passes, c.fails)
            };
            let detail = |d: &str| format!("shard {i}: {d}");
            match out.iter_mut().find(|o| o.name == c.name) {
                None => out.push(CheckResult {
                    name: c.name.clone(),
                    passed: c.passed,
                    detail: detail(&c.detail),
                    passes,
                    fails,
                    failure_details: c.failure_details.iter().map(|d| detail(d)).collect(),
                }),
                Some(o) => {
                    if o.passed && !c.passed {
                        o.detail = detail(&c.detail);
                    }
                    o.passed &= c.passed;
                    o.passes += passes;
                    o.fails += fails;
                    for d in &c.failure_details {
                        if o.failure_details.len() < MAX_FAILURE_DETAILS {
                            o.failure_details.push(detail(d));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Every shard's findings, the same finding once.
fn merge_findings(ran: &[(u32, &ScenarioReport)]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for (_, s) in ran {
        for f in &s.findings {
            if !out
                .iter()
                .any(|o| o.title == f.title && o.detail == f.detail)
            {
                out.push(f.clone());
            }
        }
    }
    out
}

/// Log lines prefixed with their shard, bounded as a scenario's log is.
fn merge_logs(ran: &[(u32, &ScenarioReport)]) -> (Vec<LogLine>, u64) {
    let mut logs = Vec::new();
    let mut dropped = 0u64;
    for (i, s) in ran {
        dropped += s.logs_dropped;
        for l in &s.logs {
            if logs.len() < MAX_LOG_LINES {
                logs.push(LogLine {
                    level: l.level,
                    message: format!("[shard {i}] {}", l.message),
                });
            } else {
                dropped += 1;
            }
        }
    }
    (logs, dropped)
}

fn merge_output(ran: &[(u32, &ScenarioReport)]) -> CapturedOutput {
    let mut out = CapturedOutput::default();
    let append = |to: &mut String, dropped: &mut u64, i: u32, text: &str, before: u64| {
        *dropped += before;
        if text.is_empty() {
            return;
        }
        let block = format!("--- shard {i} ---\n{text}");
        if to.len() + block.len() <= MAX_MERGED_OUTPUT {
            to.push_str(&block);
        } else {
            *dropped += block.len() as u64;
        }
    };
    for (i, s) in ran {
        let o = &s.output;
        append(
            &mut out.stdout,
            &mut out.stdout_dropped_bytes,
            *i,
            &o.stdout,
            o.stdout_dropped_bytes,
        );
        append(
            &mut out.stderr,
            &mut out.stderr_dropped_bytes,
            *i,
            &o.stderr,
            o.stderr_dropped_bytes,
        );
    }
    out
}

/// Every threshold any shard judged, judged again on the merged metrics,
/// with each shard's verdict beside it.
fn rejudge(
    ran: &[(u32, &ScenarioReport)],
    metrics: &[MetricReport],
    span_secs: f64,
    errored: bool,
) -> Vec<ThresholdResult> {
    let mut keys: Vec<(
        &str,
        &str,
        crate::thresholds::ThresholdSource,
        &ThresholdResult,
    )> = Vec::new();
    for (_, s) in ran {
        for t in &s.thresholds {
            if !keys
                .iter()
                .any(|(m, e, src, _)| *m == t.metric && *e == t.expression && *src == t.source)
            {
                keys.push((&t.metric, &t.expression, t.source, t));
            }
        }
    }
    let mut results = Vec::with_capacity(keys.len());
    for (metric, text, source, original) in keys {
        let shards: Vec<ShardVerdict> =
            ran.iter()
                .filter_map(|(i, s)| {
                    let t = s.thresholds.iter().find(|t| {
                        t.metric == metric && t.expression == text && t.source == source
                    })?;
                    Some(ShardVerdict {
                        shard: *i,
                        passed: t.passed,
                        observed: t.observed,
                    })
                })
                .collect();
        let mut result = match crate::thresholds::parse(text) {
            Ok(expression) => {
                let judged = judge(metrics, metric, expression, source, span_secs, errored);
                let mut builder = ReportBuilder::new();
                builder.planned_thresholds(vec![judged]);
                builder
                    .threshold_results()
                    .pop()
                    .expect("one threshold in, one out")
            }
            // Written by a rigor whose syntax this one does not read: its
            // first shard's verdict stands, marked.
            Err(e) => ThresholdResult {
                passed: false,
                error: Some(format!("cannot judge `{text}` again: {e}")),
                ..original.clone()
            },
        };
        result.overrides = original.overrides.clone();
        result.shards = shards;
        results.push(result);
    }
    results
}

/// [`crate::thresholds::judge`] on merged metrics.
fn judge(
    metrics: &[MetricReport],
    metric: &str,
    expression: crate::thresholds::Expression,
    source: crate::thresholds::ThresholdSource,
    span_secs: f64,
    errored: bool,
) -> Judged {
    let mut judged = Judged {
        metric: metric.to_owned(),
        expression,
        source,
        metric_unit: None,
        outcome: Err(Unjudged::NotRecorded {
            metric: metric.to_owned(),
            recorded: metrics
                .iter()
                .take(MAX_NAMES_LISTED)
                .map(|m| m.name.clone())
                .collect(),
            more: metrics.len().saturating_sub(MAX_NAMES_LISTED),
        }),
    };
    if let Some(m) = metrics.iter().find(|m| m.name == metric) {
        judged.metric_unit = Some(m.unit);
        let distribution = m
            .histogram
            .as_deref()
            .and_then(|h| Distribution::from_base64(h).ok());
        let count = (m.kind == "counter")
            .then(|| m.value.map(|v| v as u64))
            .flatten();
        let observed = Observed {
            distribution: distribution.as_ref(),
            value: if m.kind == "histogram" { None } else { m.value },
            count,
            elapsed_secs: Some(span_secs),
            ..Observed::new(m.unit)
        };
        judged.outcome = expression
            .evaluate(&observed)
            .map_err(|reason| Unjudged::Eval {
                metric: metric.to_owned(),
                expression,
                reason,
            });
    }
    if errored {
        judged.outcome = judged.outcome.map_err(|why| {
            if why.is_missing_data() {
                Unjudged::ScenarioErrored(Box::new(why))
            } else {
                why
            }
        });
    }
    judged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::ShardInfo;

    fn shard(file: &str, run: &str, plan: &str, index: u32, count: u32) -> ShardReport {
        let mut report = RunReport::just_started();
        report.partial = false;
        report.run = Some(RunIdentity {
            id: run.into(),
            seed: 1,
            plan_digest: plan.into(),
            catalog_digest: None,
            shard: Some(ShardInfo { index, count }),
            wasmtime_version: "48.0.8".into(),
            cpu_model: None,
            kernel: None,
            start_at: None,
            start_late_ms: None,
            deferred: true,
            replay_of: None,
        });
        ShardReport {
            file: file.into(),
            report,
        }
    }

    #[test]
    fn reports_that_are_not_one_run_are_refused_by_name() {
        let err = |shards| merge(shards, false).unwrap_err().to_string();
        assert_eq!(
            err(vec![
                shard("a.json", "r1", "p", 1, 2),
                shard("b.json", "r2", "p", 2, 2)
            ]),
            "`b.json` is from run `r2` but `a.json` is from run `r1`: merge the shards of one run only (same --run-id)"
        );
        assert!(
            err(vec![
                shard("a.json", "r", "p", 1, 2),
                shard("b.json", "r", "p", 1, 2)
            ])
            .starts_with("`b.json` and `a.json` are both shard 1")
        );
        assert!(
            err(vec![
                shard("a.json", "r", "p", 1, 2),
                shard("b.json", "r", "p", 2, 3)
            ])
            .contains("every shard must be run with the same count")
        );
        let mut unsharded = shard("c.json", "r", "p", 1, 1);
        unsharded.report.run.as_mut().unwrap().shard = None;
        assert!(err(vec![unsharded]).contains("`c.json`: not a shard report"));
        assert_eq!(merge(Vec::new(), false).unwrap_err(), MergeError::Nothing);
    }

    #[test]
    fn a_missing_shard_is_an_error_or_a_partial_result() {
        let two = || {
            vec![
                shard("a.json", "r", "p", 1, 3),
                shard("c.json", "r", "p", 3, 3),
            ]
        };
        assert_eq!(
            merge(two(), false).unwrap_err(),
            MergeError::Missing {
                missing: vec![2],
                count: 3
            }
        );
        let merged = merge(two(), true).unwrap();
        assert!(merged.partial);
        assert_eq!(merged.merge.unwrap().missing, vec![2]);
        assert_eq!(merged.run.unwrap().shard, None);
    }
}
