//! env-startup: the same program's start-up time in two environments (by
//! default the system `python3` against a virtual environment's `python`),
//! the seed report's "Environment Reality Gap Testing" with both
//! distributions, their ratio and a finding when they differ by more than a
//! threshold. Timing follows `hyperfine -N`: no shell, warm-up runs, then
//! sequential timed runs.

use std::time::Duration;

use rigor_guest::prelude::*;

/// How long the one-off setup command (creating the venv) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

struct EnvStartup;

fn ms(ns: f64) -> f64 {
    ns / 1e6
}

fn describe_stats(label: &str, cmd: &Command, s: &process::StartupStats) -> String {
    format!(
        "{label} `{}`: mean {:.2} ms ± {:.2} ms, median {:.2} ms, min {:.2} ms, max {:.2} ms, user {:.2} ms, system {:.2} ms over {} runs",
        cmd.display(),
        ms(s.mean_ns),
        ms(s.stdev_ns),
        ms(s.median_ns),
        ms(s.min_ns as f64),
        ms(s.max_ns as f64),
        ms(s.user_ns),
        ms(s.system_ns),
        s.runs
    )
}

/// Times one command and records its figures under `prefix`.
fn measure(prefix: &str, cmd: &Command, warmup: u32, runs: u32) -> Result<process::StartupStats> {
    let histogram = Histogram::latency(&format!("{prefix}.startup"));
    let stats = cmd.time_startup(warmup, runs, Some(&histogram))?;
    gauge(&format!("{prefix}.mean"), stats.mean_ns, Unit::Nanoseconds);
    gauge(&format!("{prefix}.user"), stats.user_ns, Unit::Nanoseconds);
    gauge(
        &format!("{prefix}.system"),
        stats.system_ns,
        Unit::Nanoseconds,
    );
    check(
        &format!("command {} exits with code 0", prefix.to_uppercase()),
        stats.failed_runs == 0,
        match stats.last_failure {
            Some(status) => format!(
                "{} of {} runs of `{}` failed; the last ended with {status}",
                stats.failed_runs,
                stats.runs,
                cmd.display()
            ),
            None => format!(
                "all {} runs of `{}` exited with code 0",
                stats.runs,
                cmd.display()
            ),
        },
    );
    Ok(stats)
}

impl Scenario for EnvStartup {
    fn describe() -> Info {
        Info::new(
            "env-startup",
            "Start-up time of a program in two environments (system python3 vs a venv), like hyperfine -N",
        )
        .param("command-a", "python3 -c pass", "first command line (no shell)")
        .param(
            "command-b",
            "{work}/venv/bin/python -c pass",
            "second command line (no shell)",
        )
        .param(
            "setup-b",
            "python3 -m venv --copies --without-pip {work}/venv",
            "run once before timing to prepare command B's environment; empty for none",
        )
        .param("runs", "30", "timed runs per command")
        .param("warmup", "3", "untimed runs per command before timing")
        .param(
            "max-difference-pct",
            "25.0",
            "a finding is raised when the mean start-up times differ by more than this",
        )
    }

    fn run(params: &Params) -> Result<()> {
        let runs: u32 = params.get("runs")?;
        let warmup: u32 = params.get("warmup")?;
        let max_diff: f64 = params.get("max-difference-pct")?;
        let a = Command::parse(&params.get::<String>("command-a")?)?;
        let b = Command::parse(&params.get::<String>("command-b")?)?;
        let setup: String = params.get("setup-b")?;

        if !setup.trim().is_empty() {
            let setup = Command::parse(&setup)?;
            let exit = setup.output(SETUP_TIMEOUT)?;
            let ok = exit.status.success();
            check(
                "environment B is set up",
                ok,
                format!("`{}` ended with {}", setup.display(), exit.status),
            );
            if !ok {
                finding(
                    Severity::High,
                    "Environment B could not be created",
                    format!(
                        "`{}` ended with {}; stderr: {}",
                        setup.display(),
                        exit.status,
                        exit.stderr_tail
                    ),
                    "Install what the setup command needs (Debian: `apt-get install python3-venv`) or set `setup-b` to an empty string and point `command-b` at an existing environment.",
                );
                return Ok(());
            }
        }

        let sa = measure("a", &a, warmup, runs)?;
        let sb = measure("b", &b, warmup, runs)?;
        let line_a = describe_stats("A", &a, &sa);
        let line_b = describe_stats("B", &b, &sb);
        log::info(&line_a);
        log::info(&line_b);

        let ratio = sb.mean_ns / sa.mean_ns;
        gauge("ratio", ratio, Unit::None);
        let diff_pct = (ratio - 1.0) * 100.0;
        let (faster, slower) = if ratio >= 1.0 { ("A", "B") } else { ("B", "A") };
        if diff_pct.abs() > max_diff {
            finding(
                Severity::Medium,
                &format!(
                    "Start-up differs by {:.0}% between the two environments",
                    diff_pct.abs()
                ),
                format!(
                    "{line_a}.\n{line_b}.\nB/A = {ratio:.3}: {slower} starts {:.2} ms slower than {faster} on average (limit {max_diff}%).",
                    ms((sb.mean_ns - sa.mean_ns).abs())
                ),
                "Find what the slower environment adds at start-up (wrapper scripts such as version-manager shims, extra site-packages, .pth files, `python -X importtime`), or raise `max-difference-pct` if the gap is expected.",
            );
        } else {
            finding(
                Severity::Info,
                "No start-up gap between the two environments",
                format!("{line_a}.\n{line_b}.\nB/A = {ratio:.3} (within {max_diff}%)."),
                "None.",
            );
        }
        Ok(())
    }
}

rigor_guest::scenario!(EnvStartup);
