//! `rigor run`: arguments → plan → report targets checked → build → load →
//! run (the runner's events go to the report manager and the live display)
//! → reports → exit code.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use rigor::catalog::ParamOverride;
use rigor::catalog::plan::{CliThreshold, Selection, plan};
use rigor::engine::Engine;
use rigor::outputs::LiveOutputs;
use rigor::report::console;
use rigor::report::manager::{Format, ReportManager, Target};
use rigor::report::model::RunReport;
use rigor::report::model::{RunIdentity, ShardInfo};
use rigor::report::progress::{LiveDisplay, Mode};
use rigor::runner::{self, Executor, Interrupt, Outcome, RedisSetup};
use rigor::shard::replay::Replay;
use rigor::shard::{ShardSpec, identity, seed};
use tokio::sync::watch;

use super::{
    CatalogArgs, CliError, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, rust_sources,
};

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
    /// A client certificate for a `rediss://` target, `NAME=CERT,KEY` (PEM
    /// files; repeatable). The host reads the key; scenarios never see it.
    #[arg(long = "redis-cert", value_name = "NAME=CERT,KEY")]
    redis_certs: Vec<String>,
    /// Trust the certificate authorities in this PEM file for HTTPS, `wss://`
    /// and `rediss://`, besides the system's (repeatable). The system store
    /// is read from `SSL_CERT_FILE` / `SSL_CERT_DIR` when they are set.
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_files: Vec<PathBuf>,
    /// Set a parameter: `name=value`, or `scenario:name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Add a threshold: `scenario:metric:expression` (repeatable), e.g.
    /// `redis-latency:get.100B:p(99)<500us`.
    #[arg(long = "threshold", value_name = "SPEC")]
    thresholds: Vec<String>,
    /// Override the executor of virtual-user scenarios: `key=value,...`,
    /// e.g. `type=constant-vus,vus=100,duration=30s` (catalog field names).
    #[arg(long = "executor", value_name = "KEY=VALUE,...")]
    executor: Option<String>,
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
    /// Stream while running (repeatable): `ndjson=FILE`, one JSON line per
    /// event; `prometheus=URL[,interval=5s][,histograms=classic]`, Prometheus
    /// remote write with native histograms; `otlp=URL[,interval=5s]`, OTLP/HTTP
    /// metrics (see docs/monitoring.md).
    #[arg(long = "out", value_name = "FORMAT=TARGET")]
    outputs: Vec<String>,
    /// A label on every series the live outputs send, `KEY=VALUE` (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
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
    /// Run shard I of N (1-based, e.g. `2/4`): every scenario with its part
    /// of the load (catalog `shard`), so the N shards together do what one
    /// run does; merge their reports with `rigor merge`.
    #[arg(long, value_name = "I/N", env = "RIGOR_SHARD")]
    shard: Option<String>,
    /// The shard count N when the 0-based index comes from
    /// JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job sets it.
    #[arg(long, value_name = "N", env = "RIGOR_SHARD_COUNT")]
    shard_count: Option<String>,
    /// The run seed everything random derives from (default: random, or
    /// derived from the run id when sharded or when --run-id is given).
    #[arg(long, value_name = "N", env = "RIGOR_SEED")]
    seed: Option<u64>,
    /// The id shared by every shard of one run (default: derived from the
    /// plan when sharded; set it to tell two runs of one plan apart).
    #[arg(long, value_name = "ID", env = "RIGOR_RUN_ID")]
    run_id: Option<String>,
    /// Start the scenarios at this instant (RFC 3339, e.g.
    /// 2026-05-01T10:00:00Z) after building and loading, so shards start
    /// together; the report records how late this one started.
    #[arg(long, value_name = "TIME", env = "RIGOR_START_AT")]
    start_at: Option<String>,
    /// Failed checks and thresholds do not fail this process (exit 0 unless
    /// a scenario errored): `rigor merge` judges the merged data.
    #[arg(long, env = "RIGOR_DEFER_THRESHOLDS")]
    defer_thresholds: bool,
    /// Run the plan of this JSON report again: its scenarios, parameters,
    /// command-line thresholds, shard and seed. Refuses when the plan or a
    /// component's digest differs, unless --force.
    #[arg(long, value_name = "REPORT", conflicts_with_all = ["scenarios", "params", "seed", "thresholds"])]
    replay: Option<PathBuf>,
    /// With --replay: run even when the plan or a component differs (each
    /// difference is printed as a warning).
    #[arg(long, requires = "replay")]
    force: bool,
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
    let replay = match &args.replay {
        Some(path) => Some(Replay::read(path).map_err(|e| invalid(e.to_string()))?),
        None => None,
    };
    let (mut selection, redis_targets) = selection(&args)?;
    if let Some(replay) = &replay {
        selection = replay.selection.clone();
    }
    let shard = shard_of(&args, replay.as_ref())?;
    let start_at = match &args.start_at {
        Some(text) => Some(humantime::parse_rfc3339_weak(text.trim()).map_err(|e| {
            invalid(format!(
                "--start-at `{text}`: {e}; expected RFC 3339, e.g. 2026-05-01T10:00:00Z"
            ))
        })?),
        None => None,
    };

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
    let mut planned = plan(catalog.as_ref(), &selection).map_err(|e| invalid(e.to_string()))?;
    let plan_digest = identity::plan_digest(&planned);
    if let Some(replay) = &replay {
        refuse_unless_forced(args.force, vec![replay.check_plan(&plan_digest)])?;
    }
    let mut run = run_identity(&args, shard, plan_digest, replay.as_ref())?;
    run.catalog_digest = catalog
        .as_ref()
        .and_then(|c| identity::catalog_digest(&c.path));

    // Client certificates are read before anything is built: a bad one costs nothing.
    let mut redis = RedisSetup {
        default_url: args.redis.clone(),
        targets: catalog
            .as_ref()
            .map(|c| c.redis_targets.clone())
            .unwrap_or_default(),
        server_program: args.redis_server.clone(),
        identities: Default::default(),
    };
    redis.targets.extend(redis_targets);
    redis.identities = redis_identities(&args, &redis)?;

    // Every report target is checked, and the streams opened, before
    // anything is built or run: a bad path costs nothing.
    let step_summary = std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let mut reports = ReportManager::open(report_targets(&args)?, step_summary)
        .map_err(|e| invalid(e.to_string()))?;
    let (live_outputs, tags) = live_outputs(&args)?;

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
    // Each shard runs its part of every split VU executor (after the plan
    // digest, which all shards share, was taken from the whole plan).
    for p in planned.iter_mut() {
        if p.shard == rigor::shard::ShardMode::Split
            && let Some(config) = &p.executor
        {
            match rigor::shard::split::split_executor(config, shard) {
                Some(share) => p.executor = Some(share),
                None => p.no_vus_here = true,
            }
        }
    }
    let prepared = runner::prepare(&engine, planned, &built).map_err(|e| invalid(e.to_string()))?;
    if let Some(replay) = &replay {
        let now = prepared
            .iter()
            .map(|p| (p.plan.name.as_str(), p.component.info.sha256.as_str()));
        refuse_unless_forced(
            args.force,
            replay.check_components(now).into_iter().map(Err).collect(),
        )?;
    }
    if let Some(at) = start_at {
        run.start_at = Some(humantime::format_rfc3339_millis(at).to_string());
        run.start_late_ms = Some(wait_until(&runtime, at, args.quiet));
    }

    let mode = if args.quiet {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() {
        Mode::Tty
    } else {
        Mode::Plain
    };
    let mut display = LiveDisplay::new(std::io::stderr(), mode);
    let trust = rigor::tls::TlsTrust::new(args.ca_files.clone())
        .map_err(|e| invalid(format!("--ca-file: {e}")))?;
    let mut live = LiveOutputs::start(
        live_outputs,
        tags,
        planned_thresholds(&prepared),
        prepared
            .iter()
            .filter_map(|p| {
                Some((
                    p.plan.name.clone(),
                    p.plan.executor.as_ref()?.name().to_owned(),
                ))
            })
            .collect(),
        trust.clone(),
    )
    .map_err(|e| CliError::Failed(format!("cannot start the live outputs: {e}")))?;
    let executor = Executor::new(&engine, &redis, args.keep_scratch)
        .with_tls(trust)
        .with_run(shard, run)
        .with_live(live.slot());
    let outcome = runtime.block_on(async {
        let interrupt = watch_signals()?;
        executor
            .run(
                &prepared,
                interrupt,
                &mut [&mut reports, &mut display, &mut live],
            )
            .await
            .map_err(|e| invalid(e.to_string()))
    });
    // The outputs' last batches go whatever happened (bounded by their
    // flush deadline), and what they dropped goes into the report.
    let delivered = live.finish();
    let mut outcome = outcome?;
    display.finish();
    for o in &delivered {
        if o.batches_dropped > 0 {
            eprintln!(
                "warning: --out {} {}: {} of {} batches not delivered ({})",
                o.kind,
                o.endpoint,
                o.batches_dropped,
                o.batches_dropped + o.batches_sent,
                o.last_error.as_deref().unwrap_or("unknown reason"),
            );
        }
    }
    outcome.report.outputs = delivered;

    // Every requested report is written, even when one of them fails (and
    // on interrupt, marked partial); the first failure is reported after.
    reports
        .finish(&outcome.report, &mut std::io::stdout())
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if !args.quiet {
        print_summary(&args, &outcome.report);
    }
    drop(prepared);
    drop(engine);
    runtime.shutdown_background();
    Ok(exit_code(&outcome, args.defer_thresholds))
}

/// The shard asked for by flag or environment; a replay's own shard when
/// none is.
fn shard_of(args: &RunArgs, replay: Option<&Replay>) -> Result<ShardSpec, CliError> {
    let job_index = std::env::var(rigor::shard::spec::ENV_JOB_INDEX).ok();
    let shard = ShardSpec::resolve(
        args.shard.as_deref(),
        args.shard_count.as_deref(),
        job_index.as_deref(),
    )
    .map_err(|e| CliError::Invalid(e.to_string()))?;
    let recorded = replay
        .and_then(|r| r.identity.shard)
        .and_then(|s| ShardSpec::new(s.index.checked_sub(1)?, s.count));
    Ok(match recorded {
        Some(recorded) if args.shard.is_none() && args.shard_count.is_none() => recorded,
        _ => shard,
    })
}

/// The run's id and seed. A sharded run (or one given `--run-id`) derives
/// its seed from its id when no seed is given, so shards agree without
/// talking to each other; a replay keeps the recorded seed.
fn run_identity(
    args: &RunArgs,
    shard: ShardSpec,
    plan_digest: String,
    replay: Option<&Replay>,
) -> Result<RunIdentity, CliError> {
    if let Some(id) = &args.run_id {
        identity::check_run_id(id).map_err(CliError::Invalid)?;
    }
    let shared_id = args.run_id.clone().or_else(|| {
        shard
            .is_sharded()
            .then(|| identity::default_run_id(&plan_digest, true, 0))
    });
    let seed = match (replay, args.seed, &shared_id) {
        (Some(r), _, _) => r.identity.seed,
        (None, Some(seed), _) => seed,
        (None, None, Some(id)) => seed::derive(0, identity_hash(id)) & SEED_MASK,
        (None, None, None) => seed::random_run_seed() & SEED_MASK,
    };
    let id = shared_id.unwrap_or_else(|| identity::default_run_id(&plan_digest, false, seed));
    Ok(RunIdentity {
        id,
        seed,
        plan_digest,
        catalog_digest: None,
        shard: shard.is_sharded().then(|| ShardInfo {
            index: shard.number(),
            count: shard.count(),
        }),
        wasmtime_version: identity::WASMTIME_VERSION.to_owned(),
        cpu_model: identity::cpu_model(),
        kernel: identity::kernel(),
        start_at: None,
        start_late_ms: None,
        deferred: args.defer_thresholds,
        replay_of: replay.map(|r| r.identity.id.clone()),
    })
}

/// Seeds chosen by rigor stay below 2^53, exact in every JSON reader.
const SEED_MASK: u64 = (1 << 53) - 1;

fn identity_hash(id: &str) -> u64 {
    let digest = identity::sha256(id.as_bytes());
    u64::from_str_radix(&digest["sha256:".len().."sha256:".len() + 16], 16).unwrap_or(0)
}

/// Each replay difference refuses the run, or with `--force` is printed as
/// a warning.
fn refuse_unless_forced(
    force: bool,
    checks: Vec<Result<(), rigor::shard::replay::ReplayError>>,
) -> Result<(), CliError> {
    let problems: Vec<String> = checks
        .into_iter()
        .filter_map(Result::err)
        .map(|e| e.to_string())
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    if force {
        for p in &problems {
            eprintln!("warning (--force): {p}");
        }
        return Ok(());
    }
    Err(CliError::Invalid(problems.join("\n")))
}

/// Sleeps until the wall-clock instant `at` (`--start-at`); returns how
/// late this process reached it, in milliseconds (0 when it waited).
fn wait_until(runtime: &tokio::runtime::Runtime, at: std::time::SystemTime, quiet: bool) -> f64 {
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(wait) => {
            if !quiet {
                eprintln!(
                    "waiting {:.1} s for --start-at {}",
                    wait.as_secs_f64(),
                    humantime::format_rfc3339_millis(at)
                );
            }
            runtime.block_on(tokio::time::sleep(wait));
            0.0
        }
        Err(late) => {
            let ms = late.duration().as_secs_f64() * 1e3;
            eprintln!(
                "warning: started {ms:.0} ms after --start-at; the shards did not all start together"
            );
            ms
        }
    }
}

/// The client certificates of `--redis-cert NAME=CERT,KEY`, each for a
/// `rediss://` target that is named: read and checked before anything runs.
fn redis_identities(
    args: &RunArgs,
    redis: &RedisSetup,
) -> Result<BTreeMap<String, rigor::tls::ClientIdentity>, CliError> {
    let invalid = |e: String| CliError::Invalid(e);
    let mut identities = BTreeMap::new();
    for spec in &args.redis_certs {
        let parsed = spec
            .split_once('=')
            .and_then(|(name, files)| Some((name.trim(), files.split_once(',')?)));
        let Some((name, (cert, key))) = parsed else {
            return Err(invalid(format!(
                "invalid --redis-cert `{spec}`: expected `NAME=CERT,KEY` (two PEM files)"
            )));
        };
        let url = if name == rigor::catalog::DEFAULT_REDIS_TARGET {
            redis.default_url.as_ref()
        } else {
            redis.targets.get(name)
        };
        match url {
            None => {
                return Err(invalid(format!(
                    "--redis-cert `{name}`: no Redis target `{name}` is given; name one with --redis-target {name}=rediss://HOST:PORT (or --redis for `default`)"
                )));
            }
            Some(url) if !url.trim().to_ascii_lowercase().starts_with("rediss://") => {
                return Err(invalid(format!(
                    "--redis-cert `{name}`: the target is not a TLS URL; a client certificate needs rediss://"
                )));
            }
            Some(_) => {}
        }
        let identity = rigor::tls::ClientIdentity::from_pem_files(
            std::path::Path::new(cert.trim()),
            std::path::Path::new(key.trim()),
        )
        .map_err(|e| invalid(format!("--redis-cert `{name}`: {e}")))?;
        identities.insert(name.to_owned(), identity);
    }
    Ok(identities)
}

/// The scenarios, parameters and thresholds asked for, and the named Redis
/// targets.
fn selection(args: &RunArgs) -> Result<(Selection, BTreeMap<String, String>), CliError> {
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
        executor: args
            .executor
            .as_deref()
            .map(rigor::catalog::executor::parse_override)
            .transpose()
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
    Ok((selection, redis_targets))
}

/// The console summary: on stdout, unless a report is written there.
fn print_summary(args: &RunArgs, report: &RunReport) {
    let text = console::render(report, use_color(args.color));
    let to_stdout = [&args.json, &args.markdown, &args.junit, &args.html]
        .into_iter()
        .any(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"));
    if to_stdout {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// `deferred` (`--defer-thresholds`): failed checks and thresholds are left
/// for `rigor merge` to judge; only errors fail the shard.
fn exit_code(outcome: &Outcome, deferred: bool) -> u8 {
    let summary = &outcome.report.summary;
    let failed = if deferred { 0 } else { summary.failed };
    match outcome.interrupted {
        Some(Interrupt::CtrlC) => EXIT_INTERRUPTED,
        Some(Interrupt::Terminate) => EXIT_TERMINATED,
        None if failed + summary.errored > 0 => EXIT_FAILED,
        None => EXIT_OK,
    }
}

/// The report files asked for, each named by its flag for errors.
fn report_targets(args: &RunArgs) -> Result<Vec<Target>, CliError> {
    let files = [
        ("--json", Format::Json, &args.json),
        ("--markdown", Format::Markdown, &args.markdown),
        ("--junit", Format::Junit, &args.junit),
        ("--html", Format::Html, &args.html),
    ];
    let mut targets: Vec<Target> = files
        .into_iter()
        .filter_map(|(flag, format, path)| Some(Target::new(flag, format, path.clone()?)))
        .collect();
    // `--out FORMAT=FILE` streams (`ndjson`); the live outputs are
    // `live_outputs`' and their URLs are never echoed (credentials).
    for spec in &args.outputs {
        let (format, file) = spec.split_once('=').ok_or_else(|| {
            CliError::Invalid(format!(
                "invalid --out `{spec}`: expected `FORMAT=TARGET`, e.g. `ndjson=events.ndjson`"
            ))
        })?;
        if rigor::outputs::is_live(format) {
            continue;
        }
        if format.trim() != "ndjson" {
            return Err(CliError::Invalid(format!(
                "invalid --out `{spec}`: unknown format `{format}` (known: ndjson, prometheus, otlp)"
            )));
        }
        targets.push(Target::new("--out ndjson", Format::Ndjson, file.trim()));
    }
    Ok(targets)
}

/// `--tag KEY=VALUE` pairs, in order.
type Tags = Vec<(String, String)>;

/// The `--out prometheus=…` and `--out otlp=…` outputs and the `--tag`s,
/// checked before anything runs.
fn live_outputs(args: &RunArgs) -> Result<(Vec<rigor::outputs::OutputConfig>, Tags), CliError> {
    let invalid = |e: rigor::outputs::ConfigError| CliError::Invalid(e.to_string());
    let outputs = args
        .outputs
        .iter()
        .filter_map(|spec| rigor::outputs::OutputConfig::parse(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let tags = rigor::outputs::parse_tags(&args.tags).map_err(invalid)?;
    Ok((outputs, tags))
}

/// Each scenario's catalog and command-line thresholds, judged live by
/// the outputs.
fn planned_thresholds(
    prepared: &[runner::Prepared],
) -> std::collections::HashMap<String, Vec<rigor::outputs::Planned>> {
    prepared
        .iter()
        .map(|p| {
            let planned = p
                .plan
                .thresholds
                .iter()
                .map(|t| rigor::outputs::Planned {
                    metric: t.metric.clone(),
                    expression: t.expression,
                    source: t.source,
                })
                .collect();
            (p.plan.name.clone(), planned)
        })
        .collect()
}

/// Turns the first SIGINT (Ctrl-C) or SIGTERM (CI cancellation, `timeout`)
/// into an interrupt of the run: the current scenario stops and every report
/// is written, marked partial. A second one exits at once.
fn watch_signals() -> Result<watch::Receiver<Option<Interrupt>>, CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| {
        signal(kind).map_err(|e| CliError::Failed(format!("cannot listen for signals: {e}")))
    };
    let mut int = listen(SignalKind::interrupt())?;
    let mut term = listen(SignalKind::terminate())?;
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let mut next = async || {
            tokio::select! {
                _ = int.recv() => Interrupt::CtrlC,
                _ = term.recv() => Interrupt::Terminate,
            }
        };
        let first = next().await;
        eprintln!(
            "interrupted ({}): stopping the current scenario and writing reports (Ctrl-C or SIGTERM again to abort)",
            first.name()
        );
        let _ = tx.send(Some(first));
        let code = match next().await {
            Interrupt::CtrlC => EXIT_INTERRUPTED,
            Interrupt::Terminate => EXIT_TERMINATED,
        };
        std::process::exit(i32::from(code));
    });
    Ok(rx)
}

/// With `--no-build`, where cargo would have put each Rust scenario.
fn built_paths_without_building(
    planned: &[rigor::catalog::plan::PlannedScenario],
) -> BTreeMap<String, PathBuf> {
    let sources = rust_sources(planned.iter().map(|p| (p.name.as_str(), &p.source)));
    rigor::build::expected_source_outputs(&sources)
}
