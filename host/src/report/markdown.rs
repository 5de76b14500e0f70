//! The Markdown writer: a report a reviewer reads in a pull request or a CI
//! step summary. Executive summary with the pass ratio, one results table per
//! scenario (threshold, observed value, status), findings by severity, and
//! action items derived from what failed.
//!
//! The report is built as a list of blocks (a heading, a table row, an
//! action item) so that one too big for its budget can be shortened: the
//! summary and headings stay, failures are kept in preference to passes,
//! and notes say what was left out.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::model::{ErrorKind, RunReport, ScenarioReport, Severity, Status, ThresholdResult};
use super::units::{self, Quantity};

/// The most bytes [`render`] writes (unless the parts that are always
/// kept alone take more). GitHub refuses a whole step summary over 1 MiB
/// ("$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of
/// 1024k"), and the same Markdown is appended there; 900 KiB leaves room for
/// what other commands of the same step write to that file.
pub const MARKDOWN_BUDGET: usize = 900 * 1024;

/// Bytes set aside for a table's note on the rows it leaves out.
const TABLE_NOTE_RESERVE: usize = 256;
/// Bytes set aside for the note at the top of a shortened report.
const REPORT_NOTE_RESERVE: usize = 1024;

/// Renders the whole report as GitHub-flavoured Markdown within
/// [`MARKDOWN_BUDGET`].
pub fn render(report: &RunReport) -> String {
    render_within(report, MARKDOWN_BUDGET)
}

/// Renders the report in at most `budget` bytes: the whole report when it
/// fits, else a shortened one (see [`Doc::assemble`]).
pub fn render_within(report: &RunReport, budget: usize) -> String {
    let mut doc = Doc::default();
    doc.always("# Rigor report\n\n".into());
    doc.always(format!(
        "Started {} · {} · rigor {} · {} ({} {}, {} CPUs)\n\n",
        report.started_at,
        units::duration_ns(report.duration_ms * 1e6),
        report.rigor_version,
        cell(&report.host.hostname),
        report.host.os,
        report.host.arch,
        report.host.cpus
    ));
    summary(&mut doc, report);
    doc.always("## Results\n\n".into());
    for s in &report.scenarios {
        scenario(&mut doc, s);
    }
    findings(&mut doc, report);
    actions(&mut doc, report);
    doc.assemble(budget)
}

// ---------------------------------------------------------------- blocks

/// When a block is written in a shortened report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Keep {
    /// Always: the title, the executive summary, section headings.
    Always,
    /// Exactly when its parent is (a table's closing line).
    WithParent,
    /// Only as the parent of a block that is kept (a table's header).
    AsParent,
    /// In this order of preference: what scenarios failed or errored, the
    /// summary rows of the others, each failure, context (metrics, passed
    /// scenarios' sections, lesser findings), then passes.
    Verdict,
    Overview,
    Failure,
    Context,
    Pass,
}

/// What a block that can be left out is, for the notes that count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    FailedCheck,
    FailedThreshold,
    Action,
    Finding,
    ScenarioRow,
    Section,
    Metric,
    PassedThreshold,
    PassedCheck,
}

impl Item {
    fn count(self, n: usize) -> String {
        let (one, many) = match self {
            Item::FailedCheck => ("failing check", "failing checks"),
            Item::FailedThreshold => ("failing threshold", "failing thresholds"),
            Item::Action => ("action item", "action items"),
            Item::Finding => ("finding", "findings"),
            Item::ScenarioRow => ("scenario summary row", "scenario summary rows"),
            Item::Section => ("scenario section", "scenario sections"),
            Item::Metric => ("metric row", "metric rows"),
            Item::PassedThreshold => ("passing threshold", "passing thresholds"),
            Item::PassedCheck => ("passing check", "passing checks"),
        };
        format!(
            "{} {}",
            units::thousands(n as f64),
            if n == 1 { one } else { many }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// Closes its parent's rows; in a shortened report it says which of
    /// them were left out.
    End,
    /// Where a shortened report says so (empty in a whole one).
    ReportNote,
}

#[derive(Debug)]
struct Block {
    text: String,
    keep: Keep,
    parent: Option<usize>,
    item: Option<Item>,
    kind: Kind,
}

/// The report as blocks in document order; a parent comes before its children.
#[derive(Debug, Default)]
struct Doc {
    blocks: Vec<Block>,
}

impl Doc {
    fn push(
        &mut self,
        text: String,
        keep: Keep,
        parent: Option<usize>,
        item: Option<Item>,
    ) -> usize {
        self.blocks.push(Block {
            text,
            keep,
            parent,
            item,
            kind: Kind::Text,
        });
        self.blocks.len() - 1
    }

    fn always(&mut self, text: String) -> usize {
        self.push(text, Keep::Always, None, None)
    }

    /// A table's header (or a list's start), written only with a row of it.
    fn open(&mut self, text: String, parent: Option<usize>) -> usize {
        self.push(text, Keep::AsParent, parent, None)
    }

    /// Closes `parent`'s rows with `text` (a table's blank line).
    fn close(&mut self, parent: usize, text: &str) {
        let i = self.push(text.to_owned(), Keep::WithParent, Some(parent), None);
        self.blocks[i].kind = Kind::End;
    }

    fn report_note(&mut self) {
        let i = self.always(String::new());
        self.blocks[i].kind = Kind::ReportNote;
    }

    /// The whole report when it fits in `budget` bytes. Else the blocks
    /// that are always kept, then, while they fit, the others by their
    /// [`Keep`] preference, taking turns between scenarios (each one's
    /// first failure before any scenario's second) and else in report
    /// order, each with the parents it needs (its table's header, its
    /// scenario's heading). Every table that lost rows says how many of
    /// what, and a note at the top says that the report was shortened, what
    /// was left out, and that the JSON report has everything.
    fn assemble(&self, budget: usize) -> String {
        let whole: usize = self.blocks.iter().map(|b| b.text.len()).sum();
        if whole <= budget {
            return self.blocks.iter().map(|b| b.text.as_str()).collect();
        }
        let n = self.blocks.len();
        let mut closers: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, b) in self.blocks.iter().enumerate() {
            if let (Keep::WithParent, Some(p)) = (b.keep, b.parent) {
                closers[p].push(i);
            }
        }
        // What a block costs on its own: its text, its closing blocks and
        // room for their notes.
        let own = |i: usize| -> usize {
            self.blocks[i].text.len()
                + closers[i]
                    .iter()
                    .map(|&c| self.blocks[c].text.len() + TABLE_NOTE_RESERVE)
                    .sum::<usize>()
        };
        let mut kept = vec![false; n];
        let mut used = REPORT_NOTE_RESERVE;
        for (i, b) in self.blocks.iter().enumerate() {
            if b.keep == Keep::Always {
                kept[i] = true;
                used += own(i);
                for &c in &closers[i] {
                    kept[c] = true;
                }
            }
        }
        // A block's turn: how many blocks of its preference come before it
        // under the same top-level block (its scenario's section).
        let mut turn = vec![0usize; n];
        let mut seen: HashMap<(usize, Keep), usize> = HashMap::new();
        for (i, b) in self.blocks.iter().enumerate() {
            let mut root = i;
            while let Some(p) = self.blocks[root].parent {
                root = p;
            }
            let k = seen.entry((root, b.keep)).or_default();
            turn[i] = *k;
            *k += 1;
        }
        let preferences = [
            Keep::Verdict,
            Keep::Overview,
            Keep::Failure,
            Keep::Context,
            Keep::Pass,
        ];
        let mut candidates: Vec<usize> = (0..n)
            .filter(|&i| preferences.contains(&self.blocks[i].keep))
            .collect();
        let rank = |i: usize| {
            let keep = self.blocks[i].keep;
            preferences
                .iter()
                .position(|&p| p == keep)
                .unwrap_or(usize::MAX)
        };
        candidates.sort_by_key(|&i| (rank(i), turn[i], i));
        for i in candidates {
            if kept[i] {
                continue;
            }
            let mut chain = vec![i];
            let mut at = self.blocks[i].parent;
            while let Some(p) = at.filter(|&p| !kept[p]) {
                chain.push(p);
                at = self.blocks[p].parent;
            }
            let cost: usize = chain.iter().map(|&j| own(j)).sum();
            if used + cost > budget {
                continue;
            }
            used += cost;
            for j in chain {
                kept[j] = true;
                for &c in &closers[j] {
                    kept[c] = true;
                }
            }
        }
        // What was left out, under each parent and in all.
        let mut missing: HashMap<usize, BTreeMap<Item, usize>> = HashMap::new();
        let mut missing_in_all: BTreeMap<Item, usize> = BTreeMap::new();
        for (i, b) in self.blocks.iter().enumerate() {
            if let (false, Some(item)) = (kept[i], b.item) {
                *missing_in_all.entry(item).or_default() += 1;
                if let Some(p) = b.parent {
                    *missing.entry(p).or_default().entry(item).or_default() += 1;
                }
            }
        }
        let list = |counts: &BTreeMap<Item, usize>| {
            counts
                .iter()
                .map(|(item, &k)| item.count(k))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = String::with_capacity(used);
        for (i, b) in self.blocks.iter().enumerate() {
            if !kept[i] {
                continue;
            }
            match b.kind {
                Kind::Text => out.push_str(&b.text),
                Kind::End => match b.parent.and_then(|p| missing.get(&p)) {
                    Some(counts) => {
                        let _ = write!(
                            out,
                            "\n_Not shown here: {}; the JSON report has every one._\n{}",
                            list(counts),
                            b.text
                        );
                    }
                    None => out.push_str(&b.text),
                },
                Kind::ReportNote => {
                    let _ = writeln!(
                        out,
                        "> **Shortened report:** the whole report would take {}, more than the {} \
                         this Markdown may take (GitHub drops a step summary over 1 MiB). Failures \
                         are kept in preference to passes. Left out: {}. The JSON report \
                         (`--json FILE`) has everything.\n",
                        kib(whole),
                        kib(budget),
                        if missing_in_all.is_empty() {
                            "nothing but this note's room".to_owned()
                        } else {
                            list(&missing_in_all)
                        }
                    );
                }
            }
        }
        out
    }
}

fn kib(bytes: usize) -> String {
    format!("{} KiB", units::thousands((bytes as f64 / 1024.0).ceil()))
}

fn status_badge(status: Status) -> &'static str {
    match status {
        Status::Passed => "✅ passed",
        Status::Failed => "❌ failed",
        Status::Errored => "💥 errored",
        Status::Skipped => "⏭️ skipped",
    }
}

/// Text safe inside a table cell: no pipes, no line breaks, no HTML tags
/// (a `<` that could open a tag is escaped; `p(99) < 1ms` stays readable).
fn cell(text: &str) -> String {
    let text = code(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let opens_tag = c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        if opens_tag {
            out.push_str("&lt;");
        } else {
            out.push(c);
        }
    }
    out
}

/// Text safe inside a code span in a table cell (entities would show as
/// written there, so only pipes and line breaks are replaced).
fn code(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    one_line.replace('|', "\\|")
}

/// `part` of `whole` as a percentage, never rounded to 100 % while
/// something failed nor to 0 % while something passed (49,999 of 50,000
/// is 99.99 %).
fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".into();
    }
    let p = part as f64 * 100.0 / whole as f64;
    let rounded = p.round();
    if part < whole && rounded >= 100.0 {
        format!("{:.2}%", (p * 100.0).floor() / 100.0)
    } else if part > 0 && rounded <= 0.0 {
        format!("{:.2}%", (p * 100.0).ceil() / 100.0)
    } else {
        format!("{rounded:.0}%")
    }
}

fn summary(doc: &mut Doc, report: &RunReport) {
    let mut out = String::new();
    let s = &report.summary;
    let verdict = if s.failed + s.errored == 0 {
        "PASSED"
    } else {
        "FAILED"
    };
    let ran = s.total - s.skipped;
    let _ = writeln!(out, "## Executive summary\n");
    let _ = writeln!(
        out,
        "**{verdict}: {} of {} scenarios passed ({})** — {} passed, {} failed, {} errored, {} skipped.\n",
        s.passed,
        ran,
        percent(s.passed, ran),
        s.passed,
        s.failed,
        s.errored,
        s.skipped
    );
    let thresholds: Vec<&ThresholdResult> = report
        .scenarios
        .iter()
        .flat_map(|s| &s.thresholds)
        .collect();
    let checks: Vec<_> = report.scenarios.iter().flat_map(|s| &s.checks).collect();
    let t_pass = thresholds.iter().filter(|t| t.passed).count();
    let c_pass = checks.iter().filter(|c| c.passed).count();
    let n_findings: usize = report.scenarios.iter().map(|s| s.findings.len()).sum();
    let _ = writeln!(
        out,
        "- Thresholds: {} of {} passed ({})",
        units::thousands(t_pass as f64),
        units::thousands(thresholds.len() as f64),
        percent(t_pass, thresholds.len())
    );
    let _ = writeln!(
        out,
        "- Checks: {} of {} passed ({})",
        units::thousands(c_pass as f64),
        units::thousands(checks.len() as f64),
        percent(c_pass, checks.len())
    );
    let _ = writeln!(out, "- Findings: {n_findings}");
    if report.partial {
        let _ = writeln!(
            out,
            "\n> **Partial report:** the run was interrupted; scenarios after the interruption did not run."
        );
    }
    out.push('\n');
    doc.always(out);
    doc.report_note();
    let table = doc.push(
        "| scenario | status | duration | thresholds | checks | findings |\n| --- | --- | ---: | ---: | ---: | ---: |\n".into(),
        Keep::Always,
        None,
        None,
    );
    for sc in &report.scenarios {
        let tp = sc.thresholds.iter().filter(|t| t.passed).count();
        let cp = sc.checks.iter().filter(|c| c.passed).count();
        doc.push(
            format!(
                "| {} | {} | {} | {}/{} | {}/{} | {} |\n",
                cell(&sc.name),
                status_badge(sc.status),
                units::duration_ns(sc.duration_ms * 1e6),
                units::thousands(tp as f64),
                units::thousands(sc.thresholds.len() as f64),
                units::thousands(cp as f64),
                units::thousands(sc.checks.len() as f64),
                units::thousands(sc.findings.len() as f64)
            ),
            match sc.status {
                Status::Failed | Status::Errored => Keep::Verdict,
                Status::Passed | Status::Skipped => Keep::Overview,
            },
            Some(table),
            Some(Item::ScenarioRow),
        );
    }
    doc.close(table, "\n");
}

/// Failed and errored scenarios are what a reader of a failing run looks for.
fn verdict_keep(status: Status) -> Keep {
    match status {
        Status::Failed | Status::Errored => Keep::Verdict,
        Status::Passed | Status::Skipped => Keep::Context,
    }
}

/// The threshold's source, and what it replaced.
fn source(t: &ThresholdResult) -> String {
    if t.overrides.is_empty() {
        t.source.as_str().to_owned()
    } else {
        format!(
            "{} (replaces {})",
            t.source.as_str(),
            t.overrides
                .iter()
                .map(|o| format!("`{}`", code(o)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn observed(t: &ThresholdResult, s: &ScenarioReport) -> String {
    match (t.observed, &t.error) {
        (_, Some(e)) => cell(e),
        (Some(v), None) => Quantity::of_threshold(t, s).format(v),
        (None, None) => "-".into(),
    }
}

fn scenario(doc: &mut Doc, s: &ScenarioReport) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} — {} ({})\n",
        s.name,
        status_badge(s.status),
        units::duration_ns(s.duration_ms * 1e6)
    );
    if let Some(reason) = &s.skip_reason {
        let _ = writeln!(out, "Skipped: {}\n", cell(reason));
    }
    if let Some(error) = &s.error {
        let first = error.message.lines().next().unwrap_or_default();
        let _ = writeln!(
            out,
            "**Error ({}):** {}\n",
            error.kind.as_str(),
            cell(first)
        );
    }
    if !s.params.is_empty() {
        let params: Vec<String> = s
            .params
            .iter()
            .map(|(k, v)| format!("`{}={}`", cell(k), cell(v)))
            .collect();
        let _ = writeln!(out, "Parameters: {}\n", params.join(" "));
    }
    let section = doc.push(out, verdict_keep(s.status), None, Some(Item::Section));
    if !s.thresholds.is_empty() {
        let table = doc.open(
            "| metric | threshold | observed | status | source |\n| --- | --- | ---: | --- | --- |\n"
                .into(),
            Some(section),
        );
        for t in &s.thresholds {
            let (keep, item) = if t.passed {
                (Keep::Pass, Item::PassedThreshold)
            } else {
                (Keep::Failure, Item::FailedThreshold)
            };
            doc.push(
                format!(
                    "| {} | `{}` | {} | {} | {} |\n",
                    cell(&t.metric),
                    code(&t.expression),
                    observed(t, s),
                    if t.passed { "✅ pass" } else { "❌ fail" },
                    source(t)
                ),
                keep,
                Some(table),
                Some(item),
            );
        }
        doc.close(table, "\n");
    }
    let rows: Vec<_> = s
        .metrics
        .iter()
        .filter(|m| m.summary.is_some() || m.value.is_some())
        .collect();
    if !rows.is_empty() {
        let table = doc.open(
            "| metric | count | avg / value | p50 | p95 | p99 | max |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n".into(),
            Some(section),
        );
        for m in rows {
            let q = Quantity::of_metric(m);
            let f = |v: f64| q.format(v);
            let row = match &m.summary {
                Some(sum) => format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    cell(&m.name),
                    units::thousands(sum.count as f64),
                    f(sum.mean),
                    f(sum.p50 as f64),
                    f(sum.p95 as f64),
                    f(sum.p99 as f64),
                    f(sum.max as f64)
                ),
                None => format!(
                    "| {} |  | {} |  |  |  |  |\n",
                    cell(&m.name),
                    f(m.value.unwrap_or_default())
                ),
            };
            doc.push(row, Keep::Context, Some(table), Some(Item::Metric));
        }
        doc.close(table, "\n");
    }
    if !s.checks.is_empty() {
        let table = doc.open(
            "| check | status | detail |\n| --- | --- | --- |\n".into(),
            Some(section),
        );
        for c in &s.checks {
            let (keep, item) = if c.passed {
                (Keep::Pass, Item::PassedCheck)
            } else {
                (Keep::Failure, Item::FailedCheck)
            };
            doc.push(
                format!(
                    "| {} | {}{} | {} |\n",
                    cell(&c.name),
                    if c.passed { "✅ pass" } else { "❌ fail" },
                    c.counts(),
                    cell(&c.detail)
                ),
                keep,
                Some(table),
                Some(item),
            );
        }
        doc.close(table, "\n");
    }
    if let Some(dropped) = s.dropped.describe(s.logs_dropped) {
        // What the report bounds dropped can hide a failure: keep it with them.
        doc.push(
            format!("> **Not kept (report bounds):** {dropped}.\n\n"),
            Keep::Failure,
            Some(section),
            None,
        );
    }
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🔴 critical",
        Severity::High => "🟠 high",
        Severity::Medium => "🟡 medium",
        Severity::Low => "🔵 low",
        Severity::Info => "⚪ info",
    }
}

fn findings(doc: &mut Doc, report: &RunReport) {
    let mut all: Vec<_> = report
        .scenarios
        .iter()
        .flat_map(|s| s.findings.iter().map(move |f| (s, f)))
        .collect();
    doc.always("## Findings\n\n".into());
    if all.is_empty() {
        doc.always("No findings.\n\n".into());
        return;
    }
    // Most severe first; stable, so each scenario keeps its own order.
    all.sort_by_key(|(_, f)| std::cmp::Reverse(f.severity));
    let table = doc.open(
        "| severity | scenario | finding | detail |\n| --- | --- | --- | --- |\n".into(),
        None,
    );
    for (s, f) in all {
        let keep = if f.severity >= Severity::High {
            Keep::Failure
        } else {
            Keep::Context
        };
        doc.push(
            format!(
                "| {} | {} | {} | {} |\n",
                severity_label(f.severity),
                cell(&s.name),
                cell(&f.title),
                cell(&f.detail)
            ),
            keep,
            Some(table),
            Some(Item::Finding),
        );
    }
    doc.close(table, "\n");
}

/// What to do next, most urgent first: critical findings, errored
/// scenarios, high findings, failed thresholds and checks, medium findings,
/// skipped scenarios, then the rest.
fn actions(doc: &mut Doc, report: &RunReport) {
    let mut items: Vec<(u8, String)> = Vec::new();
    for s in &report.scenarios {
        if let Some(e) = s.error.as_ref().filter(|e| e.kind == ErrorKind::Aborted) {
            items.push((3, format!("**{}**: {}", s.name, cell(&e.message))));
        } else if let Some(e) = &s.error {
            let first = e.message.lines().next().unwrap_or_default();
            items.push((
                1,
                format!(
                    "**{}** errored ({}): {} — fix the cause, then re-run `rigor run {}`.",
                    s.name,
                    e.kind.as_str(),
                    cell(first),
                    s.name
                ),
            ));
        }
        if let Some(reason) = &s.skip_reason {
            items.push((5, format!("**{}** was skipped: {}", s.name, cell(reason))));
        }
        for t in s.thresholds.iter().filter(|t| !t.passed) {
            items.push((
                3,
                match &t.error {
                    Some(e) => format!(
                        "**{}**: threshold `{}: {}` could not be evaluated: {}",
                        s.name,
                        code(&t.metric),
                        code(&t.expression),
                        cell(e)
                    ),
                    None => format!(
                        "**{}**: `{}` is {} against `{}` ({}): investigate or adjust the limit.",
                        s.name,
                        code(&t.metric),
                        observed(t, s),
                        code(&t.expression),
                        t.source.as_str()
                    ),
                },
            ));
        }
        for c in s.checks.iter().filter(|c| !c.passed) {
            items.push((
                3,
                format!(
                    "**{}**: check `{}` failed{}",
                    s.name,
                    code(&c.name),
                    if c.detail.is_empty() {
                        ".".to_owned()
                    } else {
                        format!(": {}", cell(&c.detail))
                    }
                ),
            ));
        }
        if s.dropped.any_failed() {
            items.push((
                3,
                format!(
                    "**{}**: failures past the report's bounds were counted, not kept ({}): fewer distinct check names or thresholds keep every failure in the report.",
                    s.name,
                    s.dropped.describe(0).unwrap_or_default()
                ),
            ));
        }
        for f in s.findings.iter().filter(|f| !f.action.is_empty()) {
            let priority = match f.severity {
                Severity::Critical => 0,
                Severity::High => 2,
                Severity::Medium => 4,
                Severity::Low | Severity::Info => 6,
            };
            items.push((
                priority,
                format!(
                    "[{}] **{}**: {}",
                    format!("{:?}", f.severity).to_uppercase(),
                    s.name,
                    cell(&f.action)
                ),
            ));
        }
    }
    // Stable: within a priority, the run's order.
    items.sort_by_key(|(priority, _)| *priority);
    doc.always("## Action items\n\n".into());
    if items.is_empty() {
        doc.always("None: every scenario passed and nothing needs attention.\n".into());
        return;
    }
    let list = doc.open(String::new(), None);
    for (i, (priority, item)) in items.iter().enumerate() {
        // Errors, failures, critical and high findings; then the rest.
        let keep = if *priority <= 3 {
            Keep::Failure
        } else {
            Keep::Context
        };
        doc.push(
            format!("{}. {item}\n", i + 1),
            keep,
            Some(list),
            Some(Item::Action),
        );
    }
    doc.close(list, "");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::model::{CheckResult, RunSummary, SCHEMA};

    fn check(name: String, passed: bool) -> CheckResult {
        CheckResult {
            name,
            passed,
            detail: if passed {
                String::new()
            } else {
                "on purpose".into()
            },
            passes: u64::from(passed),
            fails: u64::from(!passed),
            failure_details: Vec::new(),
        }
    }

    fn scenario(name: &str, status: Status, checks: Vec<CheckResult>) -> ScenarioReport {
        let mut s = ScenarioReport::skipped(name, "x.wasm", BTreeMap::new(), String::new());
        s.status = status;
        s.skip_reason = None;
        s.checks = checks;
        s
    }

    fn run(scenarios: Vec<ScenarioReport>) -> RunReport {
        RunReport {
            schema: SCHEMA.into(),
            rigor_version: "0.1.0".into(),
            started_at: "2026-11-23T02:41:00Z".into(),
            duration_ms: 1.0,
            host: crate::report::model::HostInfo {
                hostname: "ci".into(),
                os: "linux".into(),
                arch: "x86_64".into(),
                cpus: 2,
                memory_bytes: 0,
            },
            partial: false,
            summary: RunSummary::from_scenarios(&scenarios),
            run_id: None,
            outputs: Vec::new(),
            scenarios,
            run: None,
            merge: None,
        }
    }

    #[test]
    fn pass_ratios_are_not_rounded_to_all_or_nothing() {
        assert_eq!(percent(49_999, 50_000), "99.99%");
        assert_eq!(percent(1, 50_000), "0.01%");
        assert_eq!(percent(50_000, 50_000), "100%");
        assert_eq!(percent(0, 3), "0%");
        assert_eq!(percent(1, 4), "25%");
        assert_eq!(percent(0, 0), "-");
    }

    #[test]
    fn a_report_that_fits_is_written_whole() {
        let checks = (0..50).map(|i| check(format!("c{i}"), i != 7)).collect();
        let report = run(vec![scenario("a", Status::Failed, checks)]);
        let whole = render_within(&report, usize::MAX);
        assert_eq!(render_within(&report, whole.len()), whole);
        assert!(!whole.contains("Shortened report"));
        assert!(!whole.contains("Not shown here"));
    }

    #[test]
    fn a_report_over_its_budget_keeps_the_failure_and_says_what_it_left_out() {
        let checks = (0..2_000)
            .map(|i| check(format!("check number {i}"), i != 1_234))
            .collect();
        let report = run(vec![
            scenario("first", Status::Failed, checks),
            scenario("second", Status::Passed, vec![check("fine".into(), true)]),
        ]);
        let budget = 12 * 1024;
        let md = render_within(&report, budget);
        assert!(md.len() <= budget, "{} > {budget}", md.len());
        assert!(
            md.contains("| check number 1234 | ❌ fail | on purpose |"),
            "{md}"
        );
        assert!(
            md.contains("check `check number 1234` failed: on purpose"),
            "{md}"
        );
        // Both scenarios are in the summary table.
        assert!(md.contains("| first | ❌ failed |") && md.contains("| second | ✅ passed |"));
        // The counts add up: what is shown plus what the notes say is left out.
        let shown = md.matches("| ✅ pass |").count();
        let left_out = 2_000 - 1 + 1 - shown;
        let note = md
            .lines()
            .find(|l| l.starts_with("> **Shortened report:**"))
            .unwrap_or_else(|| panic!("{md}"));
        assert!(
            note.contains(&format!(
                "Left out: {} passing checks",
                units::thousands(left_out as f64)
            )) && note.contains("The JSON report (`--json FILE`) has everything."),
            "{note}"
        );
        assert!(
            md.contains("passing checks not shown") || md.contains("_Not shown here: "),
            "{md}"
        );
        // The sections still come in order and the Markdown ends complete.
        let results = md.find("## Results").unwrap();
        let actions = md.find("## Action items").unwrap();
        assert!(results < actions);
    }

    #[test]
    fn scenarios_take_turns_so_each_first_failure_is_kept() {
        let failing = |prefix: &str| {
            (0..3_000)
                .map(|i| check(format!("{prefix} {i}"), false))
                .collect::<Vec<_>>()
        };
        let report = run(vec![
            scenario("a", Status::Failed, failing("a-check")),
            scenario("b", Status::Failed, failing("b-check")),
        ]);
        let md = render_within(&report, 16 * 1024);
        assert!(md.len() <= 16 * 1024);
        assert!(md.contains("| a-check 0 | ❌ fail |"), "{md}");
        assert!(md.contains("| b-check 0 | ❌ fail |"), "{md}");
        assert!(md.contains("### b — ❌ failed"), "{md}");
        assert!(
            md.contains("failing checks; the JSON report has every one._"),
            "{md}"
        );
    }
}
