//! Readiness waits on a child: a TCP port accepting, an HTTP status, or an
//! output line matching a pattern. Each attempt races the child's exit, so a
//! service that dies during start-up is reported at once, with its exit
//! status and the last lines it printed, instead of after the timeout.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use regex::Regex;

use super::child::{ChildProcess, ExitInfo};
use super::output::OutputRing;
use crate::probes::ProbeError;
use crate::probes::http::Url;
use crate::probes::http::client::{self, RequestTemplate};

/// Pause between attempts of a port or HTTP wait.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Bound on one attempt, so a hung accept cannot use up the whole wait.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest pattern accepted for a line wait.
pub const MAX_PATTERN_LEN: usize = 4096;

/// A child that became ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// From spawn to ready.
    pub after: Duration,
    /// How long this wait lasted.
    pub waited: Duration,
    /// For a line wait, the line.
    pub line: Option<String>,
}

/// Why a readiness wait did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    Exited {
        exit: ExitInfo,
        stdout_tail: String,
        stderr_tail: String,
    },
    Timeout {
        waited: Duration,
        last_attempt: String,
        stdout_tail: String,
        stderr_tail: String,
    },
    Failed(ProbeError),
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::Exited {
                exit, stderr_tail, ..
            } => write!(
                f,
                "the process ended before it was ready ({} after {:?}); stderr: {stderr_tail}",
                exit.status, exit.after
            ),
            NotReady::Timeout {
                waited,
                last_attempt,
                ..
            } => write!(
                f,
                "not ready after {waited:?}; last attempt: {last_attempt}"
            ),
            NotReady::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// What one attempt found: ready (with a line, for line waits) or why not.
type Attempt = Result<Option<String>, String>;

impl ChildProcess {
    /// Runs `attempt` until it succeeds, the child exits, or `timeout`
    /// passes. `wake` resolves when a new attempt is worth making.
    async fn wait_ready<A, F, W, G>(
        &mut self,
        timeout: Duration,
        mut attempt: A,
        mut wake: W,
    ) -> Result<Ready, NotReady>
    where
        A: FnMut() -> F,
        F: Future<Output = Attempt>,
        W: FnMut() -> G,
        G: Future<Output = ()>,
    {
        let begin = Instant::now();
        let deadline = begin + timeout;
        let mut exit_rx = self.exit_watch();
        let mut last = String::new();
        loop {
            if let Some(exit) = self.try_exit() {
                self.settle_output().await;
                return Err(NotReady::Exited {
                    exit,
                    stdout_tail: self.stdout().text(),
                    stderr_tail: self.stderr().text(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let bound = left.min(ATTEMPT_TIMEOUT);
            let outcome = tokio::time::timeout(bound, attempt()).await;
            match outcome {
                Ok(Ok(line)) => {
                    // An exit noticed in the same instant wins: a dead
                    // service is not ready, whatever its last words were.
                    if self.try_exit().is_none() {
                        let now = Instant::now();
                        return Ok(Ready {
                            after: now.duration_since(self.started()),
                            waited: now.duration_since(begin),
                            line,
                        });
                    }
                    continue;
                }
                Ok(Err(why)) => last = why,
                // An attempt cut short by the end of the wait keeps the
                // previous attempt's reason, which says more.
                Err(_) if bound < ATTEMPT_TIMEOUT && !last.is_empty() => {}
                Err(_) => last = format!("no answer within {bound:?}"),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(NotReady::Timeout {
                    waited: now.duration_since(begin),
                    last_attempt: last,
                    stdout_tail: self.stdout().text(),
                    stderr_tail: self.stderr().text(),
                });
            }
            let left = deadline - now;
            tokio::select! {
                _ = exit_rx.wait_for(Option::is_some) => {}
                _ = tokio::time::timeout(left, wake()) => {}
            }
        }
    }

    /// Waits until `127.0.0.1:port` accepts a connection.
    pub async fn wait_port(&mut self, port: u16, timeout: Duration) -> Result<Ready, NotReady> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        self.wait_ready(
            timeout,
            move || async move {
                tokio::net::TcpStream::connect(addr)
                    .await
                    .map(|_| None)
                    .map_err(|e| format!("connect to {addr}: {e}"))
            },
            || tokio::time::sleep(POLL_INTERVAL),
        )
        .await
    }

    /// Waits until `GET url` answers `expected`. `url` is already checked
    /// against the grants by the caller.
    pub async fn wait_http(
        &mut self,
        url: &Url,
        expected: u16,
        timeout: Duration,
    ) -> Result<Ready, NotReady> {
        let request = RequestTemplate::new("GET", url.clone(), &[], Vec::new())
            .map_err(|e| NotReady::Failed(e.into()))?;
        // An https:// readiness URL trusts the system's roots.
        let tls = match url.scheme {
            crate::probes::http::url::Scheme::Https => Some(client::TlsSetup::new(
                crate::tls::TlsTrust::default()
                    .client_config(None, client::alpn_for(None))
                    .map_err(|e| NotReady::Failed(client::HttpError::from(e).into()))?,
            )),
            crate::probes::http::url::Scheme::Http => None,
        };
        let request = Arc::new(request);
        self.wait_ready(
            timeout,
            move || {
                let request = Arc::clone(&request);
                let tls = tls.clone();
                async move {
                    match client::send_once(&request, tls, None, 0, ATTEMPT_TIMEOUT).await {
                        Ok((r, _)) if r.status == expected => Ok(None),
                        Ok((r, _)) => {
                            Err(format!("GET answered {}, expected {expected}", r.status))
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
            || tokio::time::sleep(POLL_INTERVAL),
        )
        .await
    }

    /// Waits until a line of `stream` matches `pattern`.
    pub async fn wait_line(
        &mut self,
        stream: Arc<OutputRing>,
        pattern: &str,
        timeout: Duration,
    ) -> Result<Ready, NotReady> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(NotReady::Failed(ProbeError::Invalid(format!(
                "pattern is {} bytes; the limit is {MAX_PATTERN_LEN}",
                pattern.len()
            ))));
        }
        let re = Regex::new(pattern).map_err(|e| {
            NotReady::Failed(ProbeError::Invalid(format!("pattern `{pattern}`: {e}")))
        })?;
        let mut cursor = 0u64;
        let mut changes = stream.subscribe();
        let scan = Arc::clone(&stream);
        let re = &re;
        let cursor = &mut cursor;
        let attempt = move || {
            let found = scan.find_line(cursor, re);
            let closed = scan.is_closed();
            async move {
                match found {
                    Some(line) => Ok(Some(line)),
                    None if closed => Err("the stream was closed".to_owned()),
                    None => Err("no matching line yet".to_owned()),
                }
            }
        };
        let wake = move || {
            let mut rx = changes.clone();
            let _ = changes.borrow_and_update();
            async move {
                // A closed stream never changes again: fall back to polling.
                if rx.changed().await.is_err() {
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
            }
        };
        self.wait_ready(timeout, attempt, wake).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::CommandSpec;
    use super::super::child::ExitStatus;
    use super::*;
    use crate::probes::children::ChildPids;

    fn sh(script: &str) -> CommandSpec {
        CommandSpec::new("/bin/sh").unwrap().arg("-c").arg(script)
    }

    #[tokio::test]
    async fn a_line_wait_returns_the_line_and_the_time_since_spawn() {
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(
            &sh("echo booting; sleep 0.2; echo 'listening on 4242'; sleep 30"),
            &pids,
        )
        .unwrap();
        let out = Arc::clone(child.stdout());
        let ready = child
            .wait_line(out, r"listening on (\d+)", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(ready.line.as_deref(), Some("listening on 4242"));
        // The clock starts when spawn returns; on a busy machine the child
        // may already have run a little by then.
        assert!(ready.after >= Duration::from_millis(150), "{ready:?}");
        assert!(ready.after < Duration::from_secs(3), "{ready:?}");
    }

    #[tokio::test]
    async fn a_child_dying_first_is_reported_with_status_and_stderr() {
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(
            &sh("echo 'config error: SECRET_KEY is not set' >&2; exit 1"),
            &pids,
        )
        .unwrap();
        let started = Instant::now();
        let err = child
            .wait_port(1, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        match err {
            NotReady::Exited {
                exit, stderr_tail, ..
            } => {
                assert_eq!(exit.status, ExitStatus::Code(1));
                assert!(stderr_tail.contains("SECRET_KEY"), "{stderr_tail}");
            }
            other => panic!("expected Exited, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_port_that_never_opens_times_out_with_the_last_attempt() {
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(&sh("echo warming up; exec sleep 30"), &pids).unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let err = child
            .wait_port(port, Duration::from_millis(300))
            .await
            .unwrap_err();
        match err {
            NotReady::Timeout {
                waited,
                last_attempt,
                stdout_tail,
                ..
            } => {
                assert!(waited >= Duration::from_millis(300));
                assert!(last_attempt.contains("connect"), "{last_attempt}");
                assert_eq!(stdout_tail, "warming up");
            }
            other => panic!("expected Timeout, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn port_and_http_waits_succeed_against_a_listener() {
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(&sh("exec sleep 30"), &pids).unwrap();
        let addr = client::tests::serve(b"HTTP/1.1 204 No Content\r\n\r\n").await;
        let ready = child
            .wait_port(addr.port(), Duration::from_secs(5))
            .await
            .unwrap();
        assert!(ready.line.is_none());
        let url = Url::parse(&format!("http://127.0.0.1:{}/health", addr.port())).unwrap();
        child
            .wait_http(&url, 204, Duration::from_secs(5))
            .await
            .unwrap();
        let err = child
            .wait_http(&url, 200, Duration::from_millis(600))
            .await
            .unwrap_err();
        assert!(
            matches!(err, NotReady::Timeout { ref last_attempt, .. } if last_attempt.contains("answered 204")),
            "{err:?}"
        );
        let out = Arc::clone(child.stdout());
        let err = child
            .wait_line(out, "(", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(err, NotReady::Failed(ProbeError::Invalid(_))));
    }
}
