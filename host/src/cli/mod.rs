//! The command line: clap definitions and dispatch. Nothing else in rigor
//! reads arguments or decides the exit code.

mod build;
mod compare;
mod inspect;
mod list;
mod merge;
mod new;
mod run;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit code: every scenario passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: a check or threshold failed, or a scenario errored.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: invalid input (arguments, catalog, component, threshold syntax).
pub const EXIT_INVALID: u8 = 2;
/// Exit code: interrupted (Ctrl-C, SIGINT); requested reports are still
/// written, marked partial. 128 + the signal's number, as shells report it.
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit code: terminated (SIGTERM, e.g. CI cancellation or `timeout`);
/// requested reports are still written, marked partial.
pub const EXIT_TERMINATED: u8 = 143;

/// WebAssembly-scriptable test orchestration: sandboxed scenarios, native
/// timed probes, reports for people and CI.
#[derive(Debug, Parser)]
#[command(name = "rigor", version, about, long_about = None)]
#[command(after_help = "Examples:
  rigor run --json report.json                 run the whole catalog in ./scenarios
  rigor run redis-latency --param ops=5000     one scenario with a parameter
  rigor run redis-latency --redis redis://127.0.0.1:6379
  rigor list                                   what the catalog holds
  rigor compare base.json new.json --tolerance 5%   fail (exit 1) on a regression
  rigor run --shard 2/4 --json shard-2.json   shard 2 of 4: its part of every load
  rigor merge shard-*.json --junit junit.xml  one report, thresholds judged on the merged data

Exit codes: 0 passed, 1 failed or errored, 2 invalid input, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM).")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenarios and report (builds what is missing or stale first).
    Run(run::RunArgs),
    /// List the scenarios of a catalog.
    List(list::ListArgs),
    /// Build the catalog's scenario sources into components.
    Build(build::BuildArgs),
    /// Compare two JSON reports: per metric the change, regressions flagged (exit 1).
    Compare(compare::CompareArgs),
    /// Merge the JSON reports of a sharded run's shards into one report
    /// (every format), thresholds judged again on the merged data.
    Merge(merge::MergeArgs),
    /// Create a scenario folder (rust, python or js) that builds and passes as is.
    New(new::NewArgs),
    /// Show a component's world, describe() and the exact imports it uses.
    Inspect(inspect::InspectArgs),
}

/// An error at the command-line edge, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments, catalog, component or threshold: exit 2.
    #[error("{0}")]
    Invalid(String),
    /// The run could not be carried out: exit 1.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Invalid(_) => EXIT_INVALID,
            CliError::Failed(_) => EXIT_FAILED,
        }
    }
}

/// Runs the parsed command; returns the process exit code.
pub fn main(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Run(args) => run::execute(args),
        Command::List(args) => list::execute(args),
        Command::Build(args) => build::execute(args),
        Command::Compare(args) => compare::execute(args),
        Command::Merge(args) => merge::execute(args),
        Command::New(args) => new::execute(args),
        Command::Inspect(args) => inspect::execute(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// The catalog location shared by the subcommands.
#[derive(Debug, Clone, clap::Args)]
struct CatalogArgs {
    /// Catalog folder (holding catalog.toml) or catalog file.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "scenarios",
        env = "RIGOR_CATALOG"
    )]
    catalog: PathBuf,
}

impl CatalogArgs {
    fn load(&self) -> Result<rigor::catalog::Catalog, CliError> {
        rigor::catalog::Catalog::load(&self.catalog).map_err(|e| CliError::Invalid(e.to_string()))
    }
}

/// The buildable sources of `scenarios` (Rust, Python, JavaScript), to hand
/// to the builder.
fn rust_sources<'a>(
    scenarios: impl IntoIterator<Item = (&'a str, &'a rigor::catalog::Source)>,
) -> Vec<rigor::build::BuildSource> {
    scenarios
        .into_iter()
        .filter(|(_, source)| !matches!(source, rigor::catalog::Source::Wasm(_)))
        .map(|(name, source)| rigor::build::BuildSource {
            name: name.to_owned(),
            source: source.clone(),
        })
        .collect()
}
