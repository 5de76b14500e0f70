//! memory-leak: the seed report's "Memory Leak Detection", with statistics.
//! The service under test runs as a child; after a warm-up the host takes a
//! baseline of its RSS, then one sample after every 1,000 requests. The
//! verdict is a least-squares slope in bytes per request with its 95 %
//! confidence interval and R², plus a Mann–Kendall trend test: a leak is
//! declared only when the trend is significant and the interval's lower
//! bound is above the limit. `target=leaky` starts the service with a
//! deliberate 10 KB-per-request leak, which must be caught.

use std::time::Duration;

use rigor_guest::prelude::*;

/// The service, as granted in the catalog.
const SERVICE: &str = "./sut/service.py";

struct MemoryLeak;

fn param_error(name: &str, message: String) -> Error {
    Error::Param {
        name: name.into(),
        message,
    }
}

impl Scenario for MemoryLeak {
    fn describe() -> Info {
        Info::new(
            "memory-leak",
            "RSS of the service under test over 5,000 requests, judged by slope, confidence interval and trend test",
        )
        .param("target", "clean", "clean, or leaky (the service keeps 10 KB per request)")
        .param("ops", "5000", "requests after the baseline")
        .param("sample-every", "1000", "requests between samples")
        .param("warmup", "500", "requests before the baseline")
        .param("max-bytes-per-op", "1024", "growth per request above which a significant trend is a leak")
        .param("leak-bytes", "10240", "bytes the leaky service keeps per request")
        .param("workers", "4", "concurrent connections")
    }

    fn run(params: &Params) -> Result<()> {
        let target: String = params.get("target")?;
        let ops: u64 = params.get("ops")?;
        let every: u64 = params.get("sample-every")?;
        let warmup: u64 = params.get("warmup")?;
        let limit: f64 = params.get("max-bytes-per-op")?;
        let leak_bytes: u64 = params.get("leak-bytes")?;
        let workers: u32 = params.get("workers")?;
        let leak = match target.as_str() {
            "clean" => 0,
            "leaky" => leak_bytes,
            other => {
                return Err(param_error(
                    "target",
                    format!("`{other}` is not one of clean, leaky"),
                ));
            }
        };
        if every == 0 || ops < every * 4 {
            return Err(param_error(
                "sample-every",
                format!(
                    "{ops} requests sampled every {every} give fewer than 5 samples; a verdict needs at least 5"
                ),
            ));
        }

        let port = process::free_port()?;
        let child = Command::new(SERVICE)
            .env("PORT", port.to_string())
            .env("APP_ENV", "production")
            .env("SECRET_KEY", "rigor-memory-leak")
            .env("PYTHONUNBUFFERED", "1")
            .env("LEAK_BYTES_PER_REQUEST", leak.to_string())
            .spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        if let Err(e) = child.wait_http(&format!("{base}/health"), 200, Duration::from_secs(10)) {
            check("service becomes ready", false, e.message());
            return Ok(());
        }
        log::info(format!(
            "service pid {} on port {port}, LEAK_BYTES_PER_REQUEST={leak}",
            child.pid()
        ));

        let request = Request::get(format!("{base}/items"));
        let batch = |n: u64| -> Result<()> {
            let report = HttpLoad::new(request.clone(), "request")
                .workers(workers)
                .requests(n)
                .run()?;
            if report.failed > 0 {
                return Err(Error::msg(format!(
                    "{} of {} requests failed: {}",
                    report.failed,
                    report.sent,
                    report.first_error.unwrap_or_default()
                )));
            }
            Ok(())
        };
        // Warm-up: interpreter caches, connection threads and allocator
        // arenas settle before the baseline.
        batch(warmup)?;
        let watcher = Watcher::start("service", Target::Child(child.pid()))?;
        let mut done = 0;
        while done < ops {
            let n = every.min(ops - done);
            batch(n)?;
            done += n;
            watcher.ops_done(n)?;
        }
        let verdict = watcher.verdict(Criteria::bytes_per_op(limit))?;
        child.kill(Duration::from_secs(2));

        let slope = verdict.per_op.map(|f| f.slope).unwrap_or(0.0);
        check(
            "the verdict is conclusive",
            verdict.conclusive,
            verdict.summary.clone(),
        );
        check("no memory leak", !verdict.leak, verdict.summary.clone());
        if verdict.leak {
            finding(
                Severity::High,
                &format!(
                    "The service leaks about {:.1} KB per request",
                    slope / 1024.0
                ),
                format!(
                    "RSS grew from {:.1} MB to {:.1} MB over {ops} requests. {}",
                    verdict.baseline_bytes as f64 / 1e6,
                    verdict.final_bytes as f64 / 1e6,
                    verdict.summary
                ),
                "Find what each request keeps alive (a growing list, cache without eviction, unclosed resources): run with tracemalloc or a heap profiler and compare snapshots across requests.",
            );
        }
        Ok(())
    }
}

rigor_guest::scenario!(MemoryLeak);
