//! `rigor run`: arguments → plan → build → load → run → reports → exit code.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use rigor::catalog::ParamOverride;
use rigor::catalog::plan::{CliThreshold, Selection, plan};
use rigor::engine::Engine;
use rigor::report::ndjson::NdjsonWriter;
use rigor::report::progress::{LiveDisplay, Mode};
use rigor::report::{console, html, json, junit, markdown, write_atomically};
use rigor::runner::{self, RedisSetup};

use super::{CatalogArgs, CliError, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, rust_sources};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario names, tags or `.wasm` files (default: the whole catalog).
    scenarios: Vec<String>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// URL of the `default` Redis target; without it rigor starts a
    /// throwaway redis-server for the run.
    #[arg(long, value_name = "URL", env = "RIGOR_REDIS_URL")]
    redis: Option<String>,
    /// A named Redis target, `NAME=URL` (repeatable).
    #[arg(long = "redis-target", value_name = "NAME=URL")]
    redis_targets: Vec<String>,
    /// Set a parameter: `name=value`, or `scenario:name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Add a threshold: `scenario:metric:expression` (repeatable), e.g.
    /// `redis-latency:get.100B:p(99)<500us`.
    #[arg(long = "threshold", value_name = "SPEC")]
    thresholds: Vec<String>,
    /// Write the JSON report (`rigor.report/v1`) to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the Markdown report to FILE (summary, results per scenario,
    /// findings, action items). Also appended to $GITHUB_STEP_SUMMARY when set.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write a JUnit XML report to FILE: one test suite per scenario, one
    /// test case per check and threshold.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a self-contained HTML report with latency and series plots to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Stream events while running, `ndjson=FILE`: one JSON line per event
    /// (run, scenario started/finished, progress). Repeatable.
    #[arg(long = "out", value_name = "FORMAT=FILE")]
    outputs: Vec<String>,
    /// Where compiled components are cached (default: $XDG_CACHE_HOME/rigor).
    #[arg(long, value_name = "DIR", env = "RIGOR_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile components every time instead of using the cache.
    #[arg(long)]
    no_cache: bool,
    /// Do not build scenario sources; use the components already built.
    #[arg(long)]
    no_build: bool,
    /// Keep each scenario's scratch directory instead of removing it at the
    /// end (its path is logged in the scenario's report).
    #[arg(long)]
    keep_scratch: bool,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Colour in the console summary.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    /// The redis-server program used for the managed default target.
    #[arg(long, value_name = "PATH", hide = true, env = "RIGOR_REDIS_SERVER")]
    redis_server: Option<PathBuf>,
}

pub(super) fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("rigor"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/rigor"))
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

pub fn execute(args: RunArgs) -> Result<u8, CliError> {
    let invalid = |e: String| CliError::Invalid(e);

    let selection = Selection {
        selectors: args.scenarios.clone(),
        params: args
            .params
            .iter()
            .map(|p| ParamOverride::parse(p))
            .collect::<Result<_, _>>()
            .map_err(invalid)?,
        thresholds: args
            .thresholds
            .iter()
            .map(|t| CliThreshold::parse(t))
            .collect::<Result<_, _>>()
            .map_err(invalid)?,
    };
    let mut redis_targets = BTreeMap::new();
    for spec in &args.redis_targets {
        let (name, url) = spec.split_once('=').ok_or_else(|| {
            invalid(format!(
                "invalid --redis-target `{spec}`: expected `NAME=URL`"
            ))
        })?;
        redis_targets.insert(name.trim().to_owned(), url.trim().to_owned());
    }

    // Without selectors the catalog is required; with only file paths it is
    // optional, unless asked for explicitly.
    let only_files = !args.scenarios.is_empty()
        && args
            .scenarios
            .iter()
            .all(|s| s.ends_with(".wasm") || std::path::Path::new(s).is_file());
    let catalog = if only_files && !args.catalog.catalog.exists() {
        None
    } else {
        Some(args.catalog.load()?)
    };
    let planned = plan(catalog.as_ref(), &selection).map_err(|e| invalid(e.to_string()))?;

    let built = if args.no_build {
        built_paths_without_building(&planned)
    } else {
        let sources = rust_sources(planned.iter().map(|p| (p.name.as_str(), &p.source)));
        rigor::build::build_sources(&sources).map_err(|e| invalid(e.to_string()))?
    };

    // One event loop: scenarios run one after another, and a single-threaded
    // loop wakes a timed request without a hand-off between worker threads
    // (measured: lower single-connection latency than the multi-threaded
    // runtime). Concurrent loads bring their own threads; blocking work goes
    // to the blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    let cache_dir = if args.no_cache {
        None
    } else {
        args.cache_dir.clone().or_else(default_cache_dir)
    };
    let engine = Engine::new(cache_dir).map_err(|e| CliError::Failed(e.to_string()))?;
    let prepared = runner::prepare(&engine, planned, &built).map_err(|e| invalid(e.to_string()))?;

    let mut redis = RedisSetup {
        default_url: args.redis.clone(),
        targets: catalog
            .as_ref()
            .map(|c| c.redis_targets.clone())
            .unwrap_or_default(),
        server_program: args.redis_server.clone(),
    };
    redis.targets.extend(redis_targets);

    let quiet = args.quiet;
    let mut streams = open_streams(&args.outputs)?;
    let mut stream_error: Option<String> = None;
    for (path, w) in &mut streams {
        if let Err(e) = w.run_started(prepared.len()) {
            stream_error.get_or_insert(format!("cannot write to `{}`: {e}", path.display()));
        }
    }
    let mode = if quiet {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() {
        Mode::Tty
    } else {
        Mode::Plain
    };
    let mut display = LiveDisplay::new(std::io::stderr(), mode);
    let keep_scratch = args.keep_scratch;
    let report = runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: stopping the current scenario and writing reports (Ctrl-C again to abort)");
                let _ = stop_tx.send(true);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
            }
        });
        runner::execute(&engine, &prepared, &redis, keep_scratch, stop_rx, |event| {
            for (path, w) in &mut streams {
                if let Err(e) = stream_event(w, &event) {
                    stream_error
                        .get_or_insert(format!("cannot write to `{}`: {e}", path.display()));
                }
            }
            display.event(&event);
        })
        .await
    });
    let report = report.map_err(|e| invalid(e.to_string()))?;
    display.finish();

    // Every requested report is written, even when one of them fails (and
    // on interrupt, marked partial); the first failure is reported after.
    let mut write_error: Option<CliError> = None;
    for (path, w) in &mut streams {
        if let Err(e) = w.run_finished(&report) {
            stream_error.get_or_insert(format!("cannot write to `{}`: {e}", path.display()));
        }
    }
    if let Some(e) = stream_error {
        write_error.get_or_insert(CliError::Failed(e));
    }
    type Render = fn(&rigor::report::model::RunReport) -> String;
    let files: [(&str, Option<&PathBuf>, Render); 4] = [
        ("JSON", args.json.as_ref(), json::render),
        ("Markdown", args.markdown.as_ref(), markdown::render),
        ("JUnit", args.junit.as_ref(), junit::render),
        ("HTML", args.html.as_ref(), html::render),
    ];
    for (what, path, render) in files {
        let Some(path) = path else { continue };
        let text = render(&report);
        if path.as_os_str() == "-" {
            print!("{text}");
        } else if let Err(e) = write_atomically(path, &text) {
            write_error.get_or_insert(CliError::Failed(format!(
                "cannot write the {what} report to `{}`: {e}",
                path.display()
            )));
        }
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let path = PathBuf::from(summary);
        if let Err(e) = append(&path, &markdown::render(&report)) {
            write_error.get_or_insert(CliError::Failed(format!(
                "cannot append to the GitHub step summary `{}`: {e}",
                path.display()
            )));
        }
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    if !quiet {
        let text = console::render(&report, use_color(args.color));
        // A report written to stdout keeps stdout to itself.
        let to_stdout = [&args.json, &args.markdown, &args.junit, &args.html]
            .into_iter()
            .any(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"));
        if to_stdout {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    drop(prepared);
    drop(engine);
    runtime.shutdown_background();

    Ok(if report.partial {
        EXIT_INTERRUPTED
    } else if report.summary.failed + report.summary.errored > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Opens the `--out FORMAT=FILE` streams (only `ndjson` exists).
fn open_streams(specs: &[String]) -> Result<Vec<(PathBuf, NdjsonWriter)>, CliError> {
    let mut streams = Vec::new();
    for spec in specs {
        let (format, file) = spec.split_once('=').ok_or_else(|| {
            CliError::Invalid(format!(
                "invalid --out `{spec}`: expected `FORMAT=FILE`, e.g. `ndjson=events.ndjson`"
            ))
        })?;
        if format.trim() != "ndjson" {
            return Err(CliError::Invalid(format!(
                "invalid --out `{spec}`: unknown format `{format}` (known: ndjson)"
            )));
        }
        let path = PathBuf::from(file.trim());
        let writer = NdjsonWriter::create(&path)
            .map_err(|e| CliError::Failed(format!("cannot create `{}`: {e}", path.display())))?;
        streams.push((path, writer));
    }
    Ok(streams)
}

fn stream_event(w: &mut NdjsonWriter, event: &runner::RunEvent<'_>) -> std::io::Result<()> {
    match event {
        runner::RunEvent::Started { name, index, total } => {
            w.scenario_started(name, *index, *total)
        }
        runner::RunEvent::Finished { report } => w.scenario_finished(report),
        runner::RunEvent::Progress { name, progress } => w.progress(name, progress),
    }
}

/// Appends `text` to `path` (the GitHub step summary is shared by every step).
fn append(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// With `--no-build`, where cargo would have put each Rust scenario.
fn built_paths_without_building(
    planned: &[rigor::catalog::plan::PlannedScenario],
) -> BTreeMap<String, PathBuf> {
    let sources = rust_sources(planned.iter().map(|p| (p.name.as_str(), &p.source)));
    rigor::build::expected_source_outputs(&sources)
}
