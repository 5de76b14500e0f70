//! File I/O and memory sampling next to `fio`, same machine, same run:
//!
//! 1. 1 KB sequential writes with an fsync after each (`fio --rw=write
//!    --bs=1k --fsync=1`) against `run-io-load` with the same shape:
//!    write and fsync latency p50/p99, writes per second.
//! 2. 4 KB random reads of a 64 MiB file (`fio --rw=randread --bs=4k`,
//!    psync engine, buffered) against `run-io-load`: reads per second from
//!    a cold page cache (the device) and from a warm one (the harness).
//! 3. The cost of one memory sample (`statm`, `smaps_rollup`, and the
//!    `sysinfo` crate for comparison), and the host's RSS and CPU overhead
//!    of a watcher sampling at 100 Hz.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rigor::probes::fs::load::{self, FsyncPolicy, IoLoadReport, IoLoadSpec, Stop};
use rigor::probes::fs::{Root, Scratch};
use rigor::probes::memory::sample;
use rigor::probes::memory::watcher::{Measure, Watcher};

/// Size of the fsync test file: 2,048 writes of 1 KiB.
const SYNC_FILE: u64 = 2 * 1024 * 1024;
/// Size of the random-read file.
const READ_FILE: u64 = 64 * 1024 * 1024;
/// Length of each random-read run.
const READ_SECONDS: u64 = 3;
const ROUNDS: usize = 5;
const SAMPLES: u32 = 5_000;

/// Runs fio with `args` in `dir` and returns its JSON job.
fn fio(dir: &std::path::Path, args: &[&str]) -> Result<serde_json::Value> {
    settle();
    let out = Command::new("fio")
        .current_dir(dir)
        .args(["--output-format=json", "--ioengine=psync", "--numjobs=1"])
        .args(args)
        .output()
        .context("running fio (Debian: apt-get install fio)")?;
    if !out.status.success() {
        bail!("fio failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "parsing fio output: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    Ok(json["jobs"][0].clone())
}

fn pct(v: &serde_json::Value, p: &str) -> f64 {
    v["percentile"][p].as_f64().unwrap_or(f64::NAN)
}

fn rigor_load(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    spec: IoLoadSpec,
) -> Result<IoLoadReport> {
    settle();
    let scratch = Arc::new(Scratch::new("bench", dir, false));
    let root = Root::scratch(&scratch)?;
    Ok(runtime.block_on(load::run(root, spec))?)
}

/// Lets the disk settle before a measured run: the previous run's deleted
/// files are discarded (ext4 `discard`) and dirty pages written back, which
/// would otherwise land in the next tool's fsyncs.
fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(500));
}

fn row(what: &str, rigor: f64, fio: f64, unit: &str) {
    println!(
        "  {what:<34} {rigor:>12.1} {fio:>12.1} {unit:<6} {:>6.2}",
        rigor / fio
    );
}

pub fn run() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let base = tempfile::tempdir_in(
        std::env::var_os("RIGOR_BENCH_DIR").unwrap_or_else(|| ".".into()),
    )
    .context(
        "creating the bench directory (set RIGOR_BENCH_DIR to a directory on the disk to measure)",
    )?;
    println!("  files in {} (the disk under test)", base.path().display());
    println!(
        "  {:<34} {:>12} {:>12} {:<6} {:>6}",
        "figure (median of 5)", "rigor", "fio", "unit", "ratio"
    );

    // 1. 1 KB write + fsync.
    let (mut w50, mut w99, mut s50, mut s99, mut wps) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut fw50, mut fw99, mut fs50, mut fs99, mut fwps) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        let r = rigor_load(
            &runtime,
            base.path(),
            IoLoadSpec {
                workers: 1,
                files_per_worker: 1,
                file_size: SYNC_FILE,
                block_size: 1024,
                read_percent: 0,
                fsync: FsyncPolicy::EveryWrite,
                random: false,
                stop: Stop::Ops(SYNC_FILE / 1024),
                dir: "sync".into(),
                invalidate: true,
            },
        )?;
        w50.push(r.write.value_at_quantile(0.5) as f64 / 1e3);
        w99.push(r.write.value_at_quantile(0.99) as f64 / 1e3);
        s50.push(r.fsync.value_at_quantile(0.5) as f64 / 1e3);
        s99.push(r.fsync.value_at_quantile(0.99) as f64 / 1e3);
        wps.push(r.ops_per_second());

        let size = format!("--size={SYNC_FILE}");
        let job = fio(
            base.path(),
            &[
                "--name=sync",
                "--rw=write",
                "--bs=1k",
                "--fsync=1",
                // Overwrite a written file, as run-io-load does (its
                // layout is written and flushed before the clock starts).
                "--overwrite=1",
                &size,
                "--filename=fio-sync",
            ],
        )?;
        let w = &job["write"];
        fw50.push(pct(&w["clat_ns"], "50.000000") / 1e3);
        fw99.push(pct(&w["clat_ns"], "99.000000") / 1e3);
        fs50.push(pct(&job["sync"]["lat_ns"], "50.000000") / 1e3);
        fs99.push(pct(&job["sync"]["lat_ns"], "99.000000") / 1e3);
        fwps.push(w["iops"].as_f64().unwrap_or(f64::NAN));
        let _ = std::fs::remove_file(base.path().join("fio-sync"));
    }
    row(
        "1 KB write p50",
        crate::median(w50),
        crate::median(fw50),
        "µs",
    );
    row(
        "1 KB write p99",
        crate::median(w99),
        crate::median(fw99),
        "µs",
    );
    row(
        "fsync after 1 KB write p50",
        crate::median(s50),
        crate::median(fs50),
        "µs",
    );
    row(
        "fsync after 1 KB write p99",
        crate::median(s99),
        crate::median(fs99),
        "µs",
    );
    row(
        "1 KB write+fsync rate",
        crate::median(wps),
        crate::median(fwps),
        "ops/s",
    );

    // 2. 4 KB random reads, buffered. Cold: 8,192 reads (half the file's
    //    blocks, offsets drawn with repetition on both sides:
    //    `--norandommap`) right after the file was dropped from the page
    //    cache. Cached: 3 s on a file already in the page cache
    //    (`--invalidate=0`), which measures the harness, not the device.
    let cold_reads = READ_FILE / 4096 / 2;
    let (mut rc, mut fc, mut rw, mut fw) = (vec![], vec![], vec![], vec![]);
    let size = format!("--size={READ_FILE}");
    let io_size = format!("--io_size={}", cold_reads * 4096);
    let runtime_arg = format!("--runtime={READ_SECONDS}");
    for _ in 0..ROUNDS {
        for (cached, rigor_out, fio_out) in [(false, &mut rc, &mut fc), (true, &mut rw, &mut fw)] {
            let r = rigor_load(
                &runtime,
                base.path(),
                IoLoadSpec {
                    workers: 1,
                    files_per_worker: 1,
                    file_size: READ_FILE,
                    block_size: 4096,
                    read_percent: 100,
                    fsync: FsyncPolicy::Never,
                    random: true,
                    stop: if cached {
                        Stop::Duration(Duration::from_secs(READ_SECONDS))
                    } else {
                        Stop::Ops(cold_reads)
                    },
                    dir: "randread".into(),
                    invalidate: !cached,
                },
            )?;
            rigor_out.push(r.ops_per_second());
            let mut args = vec![
                "--name=randread",
                "--rw=randread",
                "--bs=4k",
                size.as_str(),
                "--filename=fio-read",
            ];
            if cached {
                args.extend(["--invalidate=0", runtime_arg.as_str(), "--time_based"]);
            } else {
                args.extend([io_size.as_str(), "--norandommap"]);
            }
            let job = fio(base.path(), &args)?;
            fio_out.push(job["read"]["iops"].as_f64().unwrap_or(f64::NAN));
            let _ = std::fs::remove_file(base.path().join("fio-read"));
        }
    }
    row(
        "4 KB random read IOPS, cold",
        crate::median(rc),
        crate::median(fc),
        "IOPS",
    );
    row(
        "4 KB random read IOPS, cached",
        crate::median(rw),
        crate::median(fw),
        "IOPS",
    );

    // 3. Memory samples.
    let pid = std::process::id();
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..SAMPLES {
            f();
        }
        start.elapsed().as_secs_f64() * 1e6 / f64::from(SAMPLES)
    };
    let statm = time(&mut || {
        sample::rss(pid).expect("statm");
    });
    let rollup = time(&mut || {
        sample::usage(pid).expect("smaps_rollup");
    });
    let mut sys = sysinfo::System::new()
        .map_err(|e| anyhow::anyhow!("sysinfo cannot read this system: {e:?}"))?;
    let spid = sysinfo::Pid::from_u32(pid);
    let sysinfo_us = time(&mut || {
        sys.refresh_processes_specifics(
            sysinfo::ProcessesToUpdate::Some(&[spid]),
            true,
            sysinfo::ProcessRefreshKind::nothing().with_memory(),
        );
    });
    let procs = std::fs::read_dir("/proc")?
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
        })
        .count();
    println!();
    println!(
        "  memory sample cost ({SAMPLES} samples of the bench process, {procs} processes on the host)"
    );
    println!("  {:<34} {:>12.1} µs", "RSS from /proc/<pid>/statm", statm);
    println!(
        "  {:<34} {:>12.1} µs",
        "RSS/PSS/USS from smaps_rollup", rollup
    );
    println!(
        "  {:<34} {:>12.1} µs   (statm is {:.1}× cheaper)",
        "sysinfo 0.40 memory refresh",
        sysinfo_us,
        sysinfo_us / statm
    );

    // Watcher at 100 Hz: RSS and CPU of the host over 5 s.
    let cpu = || -> f64 {
        let u = cpu_times();
        u.0 + u.1
    };
    let rss_before = sample::rss(pid)?;
    let cpu_before = cpu();
    let wall = Instant::now();
    let points = runtime.block_on(async {
        let w = Watcher::start(pid, Measure::Rss, Some(Duration::from_millis(10)))?;
        tokio::time::sleep(Duration::from_secs(5)).await;
        anyhow::Ok(w.points().len())
    })?;
    let cpu_used = cpu() - cpu_before;
    let rss_after = sample::rss(pid)?;
    println!(
        "  watcher at 100 Hz for 5 s: {points} samples, host RSS {:+.1} KiB, CPU {:.2} % of one core",
        (rss_after as f64 - rss_before as f64) / 1024.0,
        cpu_used / wall.elapsed().as_secs_f64() * 100.0
    );
    Ok(())
}

/// (user, system) CPU seconds of this process (USER_HZ is 100 on Linux).
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    // After the command name: state is field 0, utime 11, stime 12.
    (ticks(11), ticks(12))
}
