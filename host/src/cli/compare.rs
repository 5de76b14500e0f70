//! `rigor compare BASE.json NEW.json`: per metric the change from a baseline
//! report, judged by the metric's direction; scenarios, checks and
//! thresholds that started failing; what is new or gone. Exit 0 when nothing
//! regressed, 1 when something did, 2 when a report cannot be read.

use std::path::{Path, PathBuf};

use rigor::report::compare::{Tolerances, compare, parse_percentage, render, render_markdown};
use rigor::report::model::{RunReport, SCHEMA};
use rigor::report::write_atomically;

use super::{CliError, EXIT_FAILED, EXIT_OK};

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline JSON report (e.g. from the main branch).
    base: PathBuf,
    /// The JSON report to judge.
    new: PathBuf,
    /// Largest relative change in a metric's bad direction that is not a
    /// regression (latency and memory up, throughput down).
    #[arg(long, value_name = "PERCENT", default_value = "10%")]
    tolerance: String,
    /// Largest rise of an error rate, in percentage points, that is not a
    /// regression: 0% to 5% regresses, 0% to 0.05% does not. Failure
    /// counts regress on any increase.
    #[arg(long, value_name = "PERCENT", default_value = "0.1%")]
    error_tolerance: String,
    /// Also write the comparison as Markdown to FILE. It is appended to
    /// $GITHUB_STEP_SUMMARY when that is set.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

fn read(path: &Path) -> Result<RunReport, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Invalid(format!("cannot read report `{}`: {e}", path.display())))?;
    let report: RunReport = serde_json::from_str(&text).map_err(|e| {
        CliError::Invalid(format!(
            "`{}` is not a rigor JSON report: {e} (write one with `rigor run --json FILE`)",
            path.display()
        ))
    })?;
    if report.schema != SCHEMA {
        return Err(CliError::Invalid(format!(
            "`{}` has schema `{}`; this rigor reads `{SCHEMA}`",
            path.display(),
            report.schema
        )));
    }
    Ok(report)
}

pub fn execute(args: CompareArgs) -> Result<u8, CliError> {
    let tolerances = Tolerances {
        relative: parse_percentage("--tolerance", &args.tolerance).map_err(CliError::Invalid)?,
        error: parse_percentage("--error-tolerance", &args.error_tolerance)
            .map_err(CliError::Invalid)?,
    };
    let base = read(&args.base)?;
    let new = read(&args.new)?;
    let comparison = compare(&base, &new, tolerances);
    print!("{}", render(&comparison));
    let markdown = render_markdown(&comparison);
    if let Some(path) = &args.markdown {
        write_atomically(path, &markdown).map_err(|e| {
            CliError::Failed(format!(
                "cannot write the Markdown comparison to `{}`: {e}",
                path.display()
            ))
        })?;
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        use std::io::Write as _;
        let path = PathBuf::from(summary);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(markdown.as_bytes()))
            .map_err(|e| {
                CliError::Failed(format!(
                    "cannot append to the GitHub step summary `{}`: {e}",
                    path.display()
                ))
            })?;
    }
    Ok(if comparison.regressed() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
