//! Start-up timing next to `hyperfine -N`, same machine, same run:
//!
//! 1. `time-startup` (warm-up 5, 50 runs) against
//!    `hyperfine -N --warmup 5 --runs 50` on `true`, `python3 -c pass` and a
//!    virtual environment's `python -c pass`, rounds alternating the tools so
//!    drift hits both alike: means, medians and the ratio of means.
//! 2. Spawn overhead: the mean of `true` under each tool is the cost of
//!    starting and reaping one process; next to it, a service-style spawn
//!    (`ChildProcess`: `clone(CLONE_VM | CLONE_VFORK)` + `execveat` with the
//!    death signal, pipes, drain and exit-watch threads, the orphan sweep
//!    at the reap) of `true` waited for to its exit.
//!
//! Both tools get the same absolute program path and rigor's children
//! inherit the environment, as hyperfine's do.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rigor::events::ProgressSink;
use rigor::probes::children::ChildPids;
use rigor::probes::process::{ChildProcess, CommandSpec, find_on_path, time_startup};

const WARMUP: u32 = 5;
const RUNS: u32 = 50;
const ROUNDS: usize = 5;
const SPAWNS: usize = 200;

/// hyperfine's mean and median in milliseconds.
fn hyperfine(line: &str) -> Result<(f64, f64)> {
    let dir = tempfile::tempdir()?;
    let json = dir.path().join("h.json");
    let out = Command::new("hyperfine")
        .args([
            "-N",
            "--warmup",
            &WARMUP.to_string(),
            "--runs",
            &RUNS.to_string(),
        ])
        .args(["--style", "none", "--export-json"])
        .arg(&json)
        .arg(line)
        .output()
        .context("running hyperfine (Debian: apt-get install hyperfine)")?;
    if !out.status.success() {
        bail!(
            "hyperfine failed on `{line}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json)?)?;
    let r = &v["results"][0];
    let s = |k: &str| {
        r[k].as_f64()
            .map(|x| x * 1e3)
            .context("hyperfine JSON field")
    };
    Ok((s("mean")?, s("median")?))
}

/// rigor's mean and median in milliseconds.
fn rigor(runtime: &tokio::runtime::Runtime, program: &Path, args: &[&str]) -> Result<(f64, f64)> {
    let mut spec = CommandSpec::new(program)?.inherit_env();
    spec.args = args.iter().map(|a| (*a).to_owned()).collect();
    let stats = runtime
        .block_on(time_startup(spec, WARMUP, RUNS, ProgressSink::detached()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if stats.failed_runs > 0 {
        bail!("{} runs of {} failed", stats.failed_runs, program.display());
    }
    Ok((stats.mean / 1e6, stats.median / 1e6))
}

/// A virtual environment's python, created in `dir`.
fn venv_python(python: &Path, dir: &Path) -> Result<PathBuf> {
    let venv = dir.join("venv");
    let status = Command::new(python)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .context("creating a venv")?;
    if !status.success() {
        bail!("`python3 -m venv` failed (Debian: apt-get install python3-venv)");
    }
    Ok(venv.join("bin/python"))
}

pub fn run() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let truth = find_on_path("true").context("`true` is not on PATH")?;
    // The interpreter itself: `python3` on PATH may be a version manager's
    // shell-script shim, whose own start-up would dominate the figures.
    let python = {
        let shim = find_on_path("python3").context("python3 is not on PATH")?;
        let out = Command::new(&shim)
            .args(["-c", "import sys; print(sys.executable)"])
            .output()?;
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    };
    let dir = tempfile::tempdir()?;
    let venv = venv_python(&python, dir.path())?;
    let version = Command::new("hyperfine").arg("--version").output()?;
    println!(
        "{} ; warmup {WARMUP}, runs {RUNS}, {ROUNDS} rounds alternating tools\npython: {}\n",
        String::from_utf8_lossy(&version.stdout).trim(),
        python.display()
    );

    println!(
        "means: median over rounds of each round's mean; best: lowest round median (least disturbed by other load)"
    );
    println!(
        "{:<24} {:>12} {:>12} {:>7}   {:>12} {:>12} {:>7}",
        "command", "rigor mean", "hf mean", "ratio", "rigor best", "hf best", "ratio"
    );
    let commands: [(&str, &Path, &[&str]); 3] = [
        ("true", &truth, &[]),
        ("python3 -c pass", &python, &["-c", "pass"]),
        ("venv python -c pass", &venv, &["-c", "pass"]),
    ];
    for (label, program, args) in commands {
        let line = std::iter::once(program.display().to_string())
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect::<Vec<_>>()
            .join(" ");
        let (mut rm, mut rmed, mut hm, mut hmed) = (vec![], vec![], vec![], vec![]);
        for round in 0..ROUNDS {
            // Alternate which tool goes first.
            let (r, h) = if round % 2 == 0 {
                let r = rigor(&runtime, program, args)?;
                (r, hyperfine(&line)?)
            } else {
                let h = hyperfine(&line)?;
                (rigor(&runtime, program, args)?, h)
            };
            rm.push(r.0);
            rmed.push(r.1);
            hm.push(h.0);
            hmed.push(h.1);
        }
        let best = |v: Vec<f64>| v.into_iter().fold(f64::INFINITY, f64::min);
        let (rm, rmed, hm, hmed) = (crate::median(rm), best(rmed), crate::median(hm), best(hmed));
        println!(
            "{label:<24} {rm:>9.3} ms {hm:>9.3} ms {:>7.3}   {rmed:>9.3} ms {hmed:>9.3} ms {:>7.3}",
            rm / hm,
            rmed / hmed
        );
    }

    // A service-style spawn of `true`, waited for to its exit.
    let pids = ChildPids::default();
    let mut times = Vec::with_capacity(SPAWNS);
    let spec = CommandSpec::new(&truth)?;
    runtime.block_on(async {
        for _ in 0..SPAWNS {
            let t = Instant::now();
            let mut child = ChildProcess::spawn(&spec, &pids)?;
            child
                .wait(Duration::from_secs(5))
                .await
                .context("`true` did not exit")?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        anyhow::Ok(())
    })?;
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "\nservice-style spawn of `true` (vfork-style clone + execveat, pipes, drain and exit-watch threads, orphan sweep), to exit: mean {mean:.3} ms, median {:.3} ms over {SPAWNS}",
        crate::median(times)
    );
    Ok(())
}
