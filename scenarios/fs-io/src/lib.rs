//! fs-io: file I/O as a service sees it — 1 KB writes with and without
//! fsync, a JSON document write/read round trip, record-set dumps as JSON,
//! CSV and text, and 8 workers of concurrent block I/O — with thresholds on
//! p99 latency and throughput. It also proves the sandbox: escapes from the
//! scratch directory must be denied.

use rigor_guest::ProbeError;
use rigor_guest::prelude::*;

struct FsIo;

/// A representative document: 50 order records (~6 KB).
fn json_document() -> Vec<u8> {
    let orders: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"id":{i},"customer":"c-{}","total":{}.{:02},"paid":{},"items":[{{"sku":"s-{i}","qty":{}}}]}}"#,
                i % 7,
                i * 13,
                i % 100,
                i % 3 != 0,
                1 + i % 4
            )
        })
        .collect();
    format!(r#"{{"page":1,"orders":[{}]}}"#, orders.join(",")).into_bytes()
}

fn records(rows: usize) -> RecordSet {
    RecordSet {
        columns: vec!["id".into(), "name".into(), "score".into(), "note".into()],
        rows: (0..rows)
            .map(|i| {
                vec![
                    i.to_string(),
                    format!("user-{i}"),
                    format!("{}.5", i * 3),
                    if i % 10 == 0 {
                        "has, a comma".into()
                    } else {
                        "ok".into()
                    },
                ]
            })
            .collect(),
    }
}

/// An operation that must be refused, and what it tries.
type Attempt<'a> = (&'static str, Box<dyn Fn() -> Result<()> + 'a>);

/// Every way out of the scratch directory must be `denied`.
fn confinement(dir: &Dir) -> Result<()> {
    dir.symlink("/", "link-to-root")?;
    dir.symlink("..", "link-to-parent")?;
    let attempts: [Attempt<'_>; 5] = [
        ("read ../x", Box::new(|| dir.read("../x").map(drop))),
        (
            "read /etc/passwd",
            Box::new(|| dir.read("/etc/passwd").map(drop)),
        ),
        (
            "read through a symlink to /",
            Box::new(|| dir.read("link-to-root/etc/passwd").map(drop)),
        ),
        (
            "write through a symlink to ..",
            Box::new(|| dir.write("link-to-parent/escaped.txt", b"x").map(drop)),
        ),
        (
            "write ../escaped.txt",
            Box::new(|| dir.write("../escaped.txt", b"x").map(drop)),
        ),
    ];
    for (what, attempt) in attempts {
        let outcome = attempt();
        let denied = matches!(outcome, Err(Error::Probe(ProbeError::Denied(_))));
        check(
            &format!("confined: {what}"),
            denied,
            match outcome {
                Err(e) => e.to_string(),
                Ok(()) => "the operation succeeded: the sandbox leaks".into(),
            },
        );
    }
    dir.delete("link-to-root")?;
    dir.delete("link-to-parent")?;
    Ok(())
}

/// Writes the results somewhere the catalog granted (`export=ROOT:PATH`).
/// A failure is the scenario's finding, not a crash.
fn export(target: &str, set: &RecordSet) -> Result<()> {
    let Some((root, path)) = target.split_once(':') else {
        return Err(Error::Param {
            name: "export".into(),
            message: format!("`{target}` is not ROOT:PATH"),
        });
    };
    let outcome = Dir::open(root).and_then(|d| d.dump(path, set, DumpFormat::Csv, None));
    match outcome {
        Ok(t) => {
            check(
                "export results",
                true,
                format!("wrote {target} in {:.2} ms", t.as_secs_f64() * 1e3),
            );
        }
        Err(e) => {
            let text = e.to_string();
            check("export results", false, text.clone());
            let (title, action) = if text.contains("disk full") {
                (
                    "The export directory is full",
                    "Free space on the export filesystem or point `export` elsewhere.",
                )
            } else if text.contains("permission") || text.contains("read-only") {
                (
                    "The export directory cannot be written",
                    "Grant the directory with `mode = \"rw\"` and make it writable for the run.",
                )
            } else {
                (
                    "The results could not be exported",
                    "Read the error and fix the `export` parameter or the catalog grant.",
                )
            };
            finding(Severity::High, title, text, action);
        }
    }
    Ok(())
}

impl Scenario for FsIo {
    fn describe() -> Info {
        Info::new(
            "fs-io",
            "1 KB writes with and without fsync, JSON round trip, dumps and 8-worker concurrent file I/O",
        )
        .param("ops", "500", "timed 1 KB writes without fsync (and JSON round trips)")
        .param("fsync-ops", "200", "timed 1 KB writes with fsync")
        .param("workers", "8", "workers of the concurrent load")
        .param("load-ops", "20000", "operations of the concurrent load")
        .param("export", "", "ROOT:PATH of a granted directory to write the results to (CSV)")
    }

    fn run(params: &Params) -> Result<()> {
        let ops: u64 = params.get("ops")?;
        let fsync_ops: u64 = params.get("fsync-ops")?;
        let workers: u32 = params.get("workers")?;
        let load_ops: u64 = params.get("load-ops")?;
        let export_to: String = params.get("export")?;
        if ops == 0 || fsync_ops == 0 || load_ops == 0 {
            return Err(Error::msg(
                "`ops`, `fsync-ops` and `load-ops` must be at least 1",
            ));
        }
        let dir = Dir::scratch()?;
        confinement(&dir)?;

        let kb = [b'r'; 1024];
        let write = Histogram::latency("write.1KB");
        for i in 0..ops {
            dir.write_timed(&format!("plain-{}", i % 100), &kb, false, &write)?;
        }
        let synced = Histogram::latency("write.1KB.fsync");
        for i in 0..fsync_ops {
            dir.write_timed(&format!("synced-{}", i % 100), &kb, true, &synced)?;
        }

        let doc = json_document();
        let json_write = Histogram::latency("json.write");
        let json_read = Histogram::latency("json.read");
        let mut mismatched = 0u64;
        for i in 0..ops {
            let path = format!("doc-{}.json", i % 20);
            dir.write_timed(&path, &doc, false, &json_write)?;
            if dir.read_timed(&path, &json_read)? != doc {
                mismatched += 1;
            }
        }
        check(
            "json round trip returns the document",
            mismatched == 0,
            format!(
                "{mismatched} of {ops} reads differed from the {} bytes written",
                doc.len()
            ),
        );

        let set = records(1000);
        for (label, format) in [
            ("json", DumpFormat::Json),
            ("csv", DumpFormat::Csv),
            ("text", DumpFormat::Text),
        ] {
            let h = Histogram::latency(&format!("dump.{label}"));
            let path = format!("dump.{label}");
            for _ in 0..20 {
                dir.dump(&path, &set, format, Some(&h))?;
            }
            let data = dir.read(&path)?;
            let text = String::from_utf8_lossy(&data);
            let ok = match format {
                DumpFormat::Json => text.contains(r#""name": "user-999""#),
                DumpFormat::Csv => {
                    text.starts_with("id,name,score,note\r\n") && text.contains("\"has, a comma\"")
                }
                DumpFormat::Text => text.lines().count() == 1002,
            };
            check(
                &format!("dump as {label} holds every record"),
                ok,
                format!("{} bytes written", data.len()),
            );
        }

        let report = dir.io_load(
            IoLoad::new("concurrent")
                .workers(workers)
                .files_per_worker(4)
                .file_size(1024 * 1024)
                .block_size(4096)
                .read_percent(70)
                .fsync(FsyncPolicy::Every(16))
                .ops(load_ops),
        )?;
        check(
            "concurrent load completes without errors",
            report.errors == 0,
            format!(
                "{} reads, {} writes in {:.2} s ({:.0} ops/s){}",
                report.reads,
                report.writes,
                report.elapsed_ns as f64 / 1e9,
                report.ops_per_second,
                report
                    .first_error
                    .as_deref()
                    .map(|e| format!("; first error: {e}"))
                    .unwrap_or_default()
            ),
        );

        for (metric, expr) in [
            ("write.1KB", "p(99) < 5ms"),
            ("write.1KB.fsync", "p(99) < 50ms"),
            ("json.write", "p(99) < 5ms"),
            ("json.read", "p(99) < 5ms"),
            ("concurrent.read", "p(99) < 10ms"),
            ("concurrent.write", "p(99) < 10ms"),
            ("concurrent.ops-per-s", "value > 1000"),
        ] {
            let verdict = threshold(metric, expr)?;
            if !verdict.passed {
                finding(
                    Severity::Medium,
                    &format!("`{metric}` misses `{expr}`"),
                    format!(
                        "observed {:.0} against a limit of {:.0}",
                        verdict.observed, verdict.limit
                    ),
                    "Check the disk (`iostat -x 1`), other I/O on the machine and the filesystem's mount options.",
                );
            }
        }

        if !export_to.is_empty() {
            let summary = RecordSet {
                columns: vec!["metric".into(), "p50_ns".into(), "p99_ns".into()],
                rows: [&write, &synced, &json_write, &json_read]
                    .iter()
                    .map(|h| {
                        let s = h.summary();
                        vec![h.name(), s.p50.to_string(), s.p99.to_string()]
                    })
                    .collect(),
            };
            export(&export_to, &summary)?;
        }
        Ok(())
    }
}

rigor_guest::scenario!(FsIo);
