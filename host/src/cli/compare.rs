//! `rigor compare BASE.json NEW.json`: per metric the change from a baseline
//! report, regressions beyond a tolerance flagged. Exit 0 when nothing
//! regressed, 1 when something did, 2 when a report cannot be read.

use std::path::{Path, PathBuf};

use rigor::report::compare::{compare, parse_tolerance, render};
use rigor::report::model::{RunReport, SCHEMA};

use super::{CliError, EXIT_FAILED, EXIT_OK};

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline JSON report (e.g. from the main branch).
    base: PathBuf,
    /// The JSON report to judge.
    new: PathBuf,
    /// Largest change in the bad direction that is not a regression
    /// (latency, memory and error rates up; throughput down).
    #[arg(long, value_name = "PERCENT", default_value = "10%")]
    tolerance: String,
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
    let tolerance = parse_tolerance(&args.tolerance).map_err(CliError::Invalid)?;
    let base = read(&args.base)?;
    let new = read(&args.new)?;
    let comparison = compare(&base, &new, tolerance);
    print!("{}", render(&comparison, tolerance));
    Ok(if comparison.regressed() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
