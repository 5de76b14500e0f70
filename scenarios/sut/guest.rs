//! Starting the service under test (`scenarios/sut/service.py`) in one of
//! its fixture modes and turning a failed start into a critical finding.

use std::time::Duration;

use rigor_guest::prelude::*;
use rigor_guest::process::NotReady;

/// The program, as granted in the catalog.
pub const PROGRAM: &str = "./sut/service.py";

/// A running service and where it listens.
pub struct Service {
    pub child: Child,
    pub base: String,
}

/// The environment of each fixture mode: `healthy` is a complete production
/// configuration, `fail-at-start` forgets `SECRET_KEY` (the service exits
/// with code 1 and says why on stderr), `never-ready` keeps it warming up.
pub fn command(mode: &str, port: u16) -> Result<Command> {
    let cmd = Command::new(PROGRAM)
        .env("PORT", port.to_string())
        .env("APP_ENV", "production")
        .env("PYTHONUNBUFFERED", "1");
    Ok(match mode {
        "healthy" => cmd.env("SECRET_KEY", "rigor-test-secret"),
        "fail-at-start" => cmd,
        "never-ready" => cmd
            .env("SECRET_KEY", "rigor-test-secret")
            .env("WARMUP_SECONDS", "never"),
        other => {
            return Err(Error::Param {
                name: "fixture-mode".into(),
                message: format!("`{other}` is not one of healthy, fail-at-start, never-ready"),
            });
        }
    })
}

/// Starts the service and waits until `/health` answers 200. A service that
/// dies first or never gets ready yields a critical finding and a failed
/// check, and `None`.
pub fn start(mode: &str, ready_timeout: Duration) -> Result<Option<Service>> {
    let port = process::free_port()?;
    let cmd = command(mode, port)?;
    let child = cmd.spawn()?;
    log::info(format!(
        "started `{}` (fixture-mode={mode}) as pid {} on port {port}",
        cmd.display(),
        child.pid()
    ));
    let base = format!("http://127.0.0.1:{port}");
    match child.wait_http(&format!("{base}/health"), 200, ready_timeout) {
        Ok(ready) => {
            gauge("time-to-ready", ready.after_ns as f64, Unit::Nanoseconds);
            check(
                "service becomes ready",
                true,
                format!(
                    "/health answered 200 {:.1} ms after spawn",
                    ready.after_ns as f64 / 1e6
                ),
            );
            Ok(Some(Service { child, base }))
        }
        Err(NotReady::Exited(exit)) => {
            let detail = format!(
                "`{}` exited with {} {:.1} ms after it was started, before /health answered. Its stderr ends with:\n{}",
                cmd.display(),
                exit.status,
                exit.after_ns as f64 / 1e6,
                exit.stderr_tail
            );
            check("service becomes ready", false, detail.clone());
            finding(
                Severity::Critical,
                "The service fails to start in a production-like environment",
                detail,
                "Fix the production configuration the stderr names (here: set every variable production requires) and rerun; a deployment with this environment would fail.",
            );
            Ok(None)
        }
        Err(NotReady::Timeout(t)) => {
            let detail = format!(
                "`{}` was still running but /health did not answer 200 within {:.1} s (last attempt: {}). Its stdout ends with:\n{}",
                cmd.display(),
                t.waited_ns as f64 / 1e9,
                t.last_attempt,
                t.stdout_tail
            );
            check("service becomes ready", false, detail.clone());
            finding(
                Severity::Critical,
                "The service never becomes ready",
                detail,
                "Find what start-up waits for (a dependency, a warm-up, a lock) or raise `ready-timeout-ms` if the service is slow by design.",
            );
            let exit = child.kill(Duration::from_secs(2));
            log::info(format!("stopped the unready service: {}", exit.status));
            Ok(None)
        }
        Err(NotReady::Failed(e)) => Err(ProbeError::from(e).into()),
    }
}

/// Stops the service with SIGTERM and checks it exits cleanly in time.
pub fn stop(service: Service, grace: Duration) {
    let exit = service.child.kill(grace);
    check(
        "service stops cleanly on SIGTERM",
        exit.status.success(),
        format!(
            "ended with {} after SIGTERM (grace {:.1} s); stdout ends with: {}",
            exit.status,
            grace.as_secs_f64(),
            exit.stdout_tail.lines().last().unwrap_or_default()
        ),
    );
}
