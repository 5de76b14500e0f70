//! `rigor merge REPORT...`: the JSON reports of a sharded run's shards
//! merged into one report, written in every format `rigor run` writes, with
//! the same exit code meaning: 0 passed, 1 a check or threshold failed on
//! the merged data (or a scenario errored), 2 the reports cannot be merged.

use std::io::IsTerminal;
use std::path::PathBuf;

use rigor::report::console;
use rigor::report::manager::{Format, ReportManager, Target};
use rigor::report::merge::{ShardReport, merge};
use rigor::shard::replay::read_reports;

use super::run::ColorChoice;
use super::{CliError, EXIT_FAILED, EXIT_OK};

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' JSON reports (`rigor run --shard I/N --json FILE`).
    #[arg(required = true)]
    reports: Vec<PathBuf>,
    /// Merge even when some shards' reports are missing; the result is
    /// marked partial and names them.
    #[arg(long)]
    allow_missing: bool,
    /// Write the merged JSON report to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the merged Markdown report to FILE. Also appended to
    /// $GITHUB_STEP_SUMMARY when set.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write the merged JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the merged HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Colour in the console summary.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

pub fn execute(args: MergeArgs) -> Result<u8, CliError> {
    let targets: Vec<Target> = [
        ("--json", Format::Json, &args.json),
        ("--markdown", Format::Markdown, &args.markdown),
        ("--junit", Format::Junit, &args.junit),
        ("--html", Format::Html, &args.html),
    ]
    .into_iter()
    .filter_map(|(flag, format, path)| Some(Target::new(flag, format, path.clone()?)))
    .collect();
    let step_summary = std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let reports =
        ReportManager::open(targets, step_summary).map_err(|e| CliError::Invalid(e.to_string()))?;

    let shards = args
        .reports
        .iter()
        .zip(read_reports(&args.reports))
        .map(|(path, report)| {
            let report =
                report.map_err(|e| CliError::Invalid(format!("`{}`: {e}", path.display())))?;
            Ok(ShardReport {
                file: path.display().to_string(),
                report,
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let merged = merge(shards, args.allow_missing).map_err(|e| CliError::Invalid(e.to_string()))?;

    reports
        .finish(&merged, &mut std::io::stdout())
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if !args.quiet {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        let text = console::render(&merged, color);
        let to_stdout = [&args.json, &args.markdown, &args.junit, &args.html]
            .into_iter()
            .any(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"));
        if to_stdout {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    let s = &merged.summary;
    Ok(if s.failed + s.errored > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
