//! The JUnit XML writer, in the Ant/Jenkins dialect every CI test reporter
//! reads (GitHub, GitLab, Jenkins, Azure, CircleCI).
//!
//! One `<testsuite>` per scenario. Its first test case, `run`, says how the
//! scenario ended: an `<error>` when it errored (trap, deadline, memory cap,
//! guest error, interrupt), `<skipped>` when it did not run, a `<failure>`
//! when an `abort-on-fail` threshold stopped it. Then one test case per
//! threshold (`<failure>` with the observed value and the expression) and one
//! per check. Times are seconds; the scenario's guest output goes to
//! `<system-out>` / `<system-err>`.
//!
//! What strict readers need: test case names are unique within a suite (a
//! repeated name is numbered, `check x (2)`, because GitLab keeps only the
//! first case of a name and would hide a later failure); every attribute is
//! one the Jenkins xunit plugin's JUnit schema allows (so `<testsuites>`
//! carries no `skipped`); each suite has its scenario's own start and
//! duration. `tests/fixtures/junit/` holds the published schemas the tests
//! validate against.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::model::{ErrorKind, RunReport, ScenarioReport, Status, ThresholdResult};
use super::units;
use crate::metrics::Unit;

/// Renders the report as a JUnit XML document.
pub fn render(report: &RunReport) -> String {
    let suites: Vec<Suite> = report.scenarios.iter().map(suite).collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = |f: fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    // Totals stay on the root, where some parsers read them; `skipped`
    // does not (the Jenkins schema refuses it there), each suite has it.
    let _ = writeln!(
        out,
        "<testsuites name=\"rigor\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">",
        total(|s| s.cases.len()),
        total(|s| s.count(Outcome::is_failure)),
        total(|s| s.count(Outcome::is_error)),
        seconds(report.duration_ms),
    );
    // Ant's schema requires a host name and suggests this one when unknown.
    let hostname = match report.host.hostname.trim() {
        "" => "localhost",
        name => name,
    };
    for (id, (scenario, suite)) in report.scenarios.iter().zip(&suites).enumerate() {
        // The scenario's own start; reports from before it was recorded
        // fall back to the run's.
        let timestamp = scenario
            .started_at
            .as_deref()
            .and_then(ant_timestamp)
            .or_else(|| ant_timestamp(&report.started_at))
            .map(|t| format!(" timestamp=\"{t}\""))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"{timestamp} hostname=\"{}\" id=\"{id}\" package=\"rigor\">",
            xml(&scenario.name),
            suite.cases.len(),
            suite.count(Outcome::is_failure),
            suite.count(Outcome::is_error),
            suite.count(Outcome::is_skipped),
            seconds(scenario.duration_ms),
            xml(hostname),
        );
        out.push_str("    <properties>\n");
        let _ = writeln!(
            out,
            "      <property name=\"status\" value=\"{}\"/>",
            scenario.status.as_str()
        );
        let _ = writeln!(
            out,
            "      <property name=\"source\" value=\"{}\"/>",
            xml(&scenario.source)
        );
        for (k, v) in &scenario.params {
            let _ = writeln!(
                out,
                "      <property name=\"param.{}\" value=\"{}\"/>",
                xml(k),
                xml(v)
            );
        }
        if report.partial {
            out.push_str("      <property name=\"partial\" value=\"true\"/>\n");
        }
        out.push_str("    </properties>\n");
        for case in &suite.cases {
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
                xml(&case.name),
                xml(&format!("rigor.{}", scenario.name)),
                seconds(case.time_ms)
            );
            match &case.outcome {
                Outcome::Passed => {
                    let _ = writeln!(out, "{open}/>");
                }
                Outcome::Failure { message, body } => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        xml(message),
                        case.kind,
                        xml_text(body)
                    );
                }
                Outcome::Error { kind, message } => {
                    let first = message.lines().next().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "{open}>\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>",
                        xml(first),
                        xml(kind),
                        xml_text(message)
                    );
                }
                Outcome::Skipped { message } => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(message)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "    <system-out>{}</system-out>",
            xml_text(&scenario.output.stdout)
        );
        let _ = writeln!(
            out,
            "    <system-err>{}</system-err>",
            xml_text(&scenario.output.stderr)
        );
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

struct Suite {
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, f: fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }
}

struct Case {
    name: String,
    /// `type` of a failure: `scenario`, `threshold` or `check`.
    kind: &'static str,
    time_ms: f64,
    outcome: Outcome,
}

enum Outcome {
    Passed,
    Failure { message: String, body: String },
    Error { kind: String, message: String },
    Skipped { message: String },
}

impl Outcome {
    fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failure { .. })
    }
    fn is_error(&self) -> bool {
        matches!(self, Outcome::Error { .. })
    }
    fn is_skipped(&self) -> bool {
        matches!(self, Outcome::Skipped { .. })
    }
}

fn suite(s: &ScenarioReport) -> Suite {
    let run_outcome = match (s.status, &s.error, &s.skip_reason) {
        (_, Some(e), _) if e.kind == ErrorKind::Aborted => Outcome::Failure {
            message: e.message.clone(),
            body: e.message.clone(),
        },
        (_, Some(e), _) => Outcome::Error {
            kind: e.kind.as_str().to_owned(),
            message: e.message.clone(),
        },
        (Status::Skipped, _, reason) => Outcome::Skipped {
            message: reason.clone().unwrap_or_default(),
        },
        _ => Outcome::Passed,
    };
    let mut cases = vec![Case {
        name: "run".into(),
        kind: "scenario",
        time_ms: s.duration_ms,
        outcome: run_outcome,
    }];
    for t in &s.thresholds {
        cases.push(Case {
            name: format!(
                "threshold {}: {} [{}]",
                t.metric,
                t.expression,
                t.source.as_str()
            ),
            kind: "threshold",
            time_ms: 0.0,
            outcome: threshold_outcome(t),
        });
    }
    for c in &s.checks {
        cases.push(Case {
            name: format!("check {}", c.name),
            kind: "check",
            time_ms: 0.0,
            outcome: if c.passed {
                Outcome::Passed
            } else {
                Outcome::Failure {
                    message: if c.detail.is_empty() {
                        format!("check `{}` failed", c.name)
                    } else {
                        format!("check `{}` failed: {}", c.name, c.detail)
                    },
                    body: c.detail.clone(),
                }
            },
        });
    }
    // Failures counted past the report's bounds fail the scenario, so
    // they fail a case too: no reader may see only passes.
    if s.dropped.any_failed() {
        let counted = s.dropped.describe(0).unwrap_or_default();
        cases.push(Case {
            name: "failures not kept".into(),
            kind: "check",
            time_ms: 0.0,
            outcome: Outcome::Failure {
                message: format!(
                    "failures past the report's bounds were counted, not kept: {counted}"
                ),
                body: counted,
            },
        });
    }
    number_duplicates(&mut cases);
    Suite { cases }
}

/// Makes the case names of one suite unique: the second case named `x`
/// becomes `x (2)`, the third `x (3)`, skipping numbers another case already
/// has as its name. Numbering (rather than merging same-named cases) keeps
/// one case per recorded verdict, each failure with its own message, and in
/// report order, so a name means the same case from run to run.
fn number_duplicates(cases: &mut [Case]) {
    let originals: HashSet<String> = cases.iter().map(|c| c.name.clone()).collect();
    let mut used: HashSet<String> = HashSet::with_capacity(cases.len());
    let mut last_number: HashMap<String, usize> = HashMap::new();
    for case in cases.iter_mut() {
        if used.insert(case.name.clone()) {
            continue;
        }
        let n = last_number.entry(case.name.clone()).or_insert(1);
        let unique = loop {
            *n += 1;
            let candidate = format!("{} ({n})", case.name);
            if !originals.contains(&candidate) && !used.contains(&candidate) {
                break candidate;
            }
        };
        used.insert(unique.clone());
        case.name = unique;
    }
}

/// An RFC 3339 report time as Ant's JUnit timestamp: `2026-11-23T02:41:00`,
/// whole seconds and no zone (the Ant schema allows neither; the time is
/// UTC, as in the report).
fn ant_timestamp(rfc3339: &str) -> Option<String> {
    let at = humantime::parse_rfc3339_weak(rfc3339).ok()?;
    let text = humantime::format_rfc3339_seconds(at).to_string();
    Some(text.trim_end_matches('Z').to_owned())
}

fn threshold_outcome(t: &ThresholdResult) -> Outcome {
    if t.passed {
        return Outcome::Passed;
    }
    let message = match (&t.error, t.observed) {
        (Some(e), _) => format!(
            "`{}` on `{}` could not be evaluated: {e}",
            t.expression, t.metric
        ),
        (None, Some(v)) => format!(
            "observed {} for `{}`, expected `{}`",
            units::value(t.unit.unwrap_or(Unit::None), v),
            t.metric,
            t.expression
        ),
        (None, None) => format!("`{}` on `{}` failed", t.expression, t.metric),
    };
    let mut body = format!(
        "metric: {}\nexpression: {}\nsource: {}\n",
        t.metric,
        t.expression,
        t.source.as_str()
    );
    if let (Some(v), Some(l)) = (t.observed, t.limit) {
        let _ = write!(body, "observed: {v}\nlimit: {l}\n");
        if let Some(u) = t.unit {
            let _ = writeln!(body, "unit: {}", u.as_str());
        }
    }
    Outcome::Failure { message, body }
}

/// Milliseconds as JUnit's seconds, three decimals.
fn seconds(ms: f64) -> String {
    if ms.is_finite() && ms >= 0.0 {
        format!("{:.3}", ms / 1e3)
    } else {
        "0.000".into()
    }
}

/// Escapes text for an XML attribute, replacing the characters XML 1.0
/// cannot carry at all (most C0 controls).
pub fn xml(text: &str) -> String {
    escape(text, true)
}

/// Escapes element text; line breaks stay as they are.
fn xml_text(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' if !in_attribute => out.push(c),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_well_formed() {
        assert_eq!(xml("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&apos;");
        assert_eq!(xml("line\nnext\u{1}"), "line&#10;next\u{fffd}");
        assert_eq!(xml_text("a\nb<"), "a\nb&lt;");
        assert_eq!(seconds(1234.5), "1.234");
        assert_eq!(seconds(f64::NAN), "0.000");
    }

    fn case(name: &str) -> Case {
        Case {
            name: name.into(),
            kind: "check",
            time_ms: 0.0,
            outcome: Outcome::Passed,
        }
    }

    #[test]
    fn repeated_case_names_are_numbered_without_colliding() {
        let mut cases: Vec<Case> = ["check a", "check a", "check a (2)", "check a", "check b"]
            .into_iter()
            .map(case)
            .collect();
        number_duplicates(&mut cases);
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "check a",
                "check a (3)",
                "check a (2)",
                "check a (4)",
                "check b"
            ]
        );
    }

    #[test]
    fn timestamps_are_whole_seconds_without_a_zone() {
        assert_eq!(
            ant_timestamp("2026-11-23T02:41:00.750Z").as_deref(),
            Some("2026-11-23T02:41:00")
        );
        assert_eq!(
            ant_timestamp("2026-11-23T02:41:07Z").as_deref(),
            Some("2026-11-23T02:41:07")
        );
        assert_eq!(ant_timestamp("yesterday"), None);
    }
}
