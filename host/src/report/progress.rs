//! Live progress on the terminal, from the runner's events: on a TTY one
//! status line redrawn in place (scenario, phase, ops done / expected, current
//! ops/s, elapsed and time left); otherwise plain lines, a progress line at
//! most every [`PLAIN_EVERY`]; nothing at all when quiet. Written to stderr so
//! stdout stays for reports.

use std::io::Write;
use std::time::{Duration, Instant};

use super::units;
use crate::events::{Progress, RunEvent, RunObserver};

/// Least time between two plain (non-TTY) progress lines.
pub const PLAIN_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Redraw one status line in place.
    Tty,
    /// Append lines, progress at most every `PLAIN_EVERY`.
    Plain,
    /// Print nothing.
    Quiet,
}

pub struct LiveDisplay<W: Write> {
    out: W,
    mode: Mode,
    /// A status line is on screen and must be cleared before other output.
    drawn: bool,
    last_plain: Option<Instant>,
    plain_every: Duration,
}

impl<W: Write> LiveDisplay<W> {
    pub fn new(out: W, mode: Mode) -> Self {
        Self {
            out,
            mode,
            drawn: false,
            last_plain: None,
            plain_every: PLAIN_EVERY,
        }
    }

    /// Sets the least time between two plain progress lines.
    pub fn plain_every(mut self, every: Duration) -> Self {
        self.plain_every = every;
        self
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn clear(&mut self) {
        if self.drawn {
            let _ = write!(self.out, "\r\x1b[2K");
            self.drawn = false;
        }
    }

    /// Shows one event of the run.
    pub fn event(&mut self, event: &RunEvent<'_>) {
        if self.mode == Mode::Quiet {
            return;
        }
        match event {
            RunEvent::RunStarted { .. } => {}
            RunEvent::Started { name, index, total } => {
                self.clear();
                self.last_plain = Some(Instant::now());
                let _ = writeln!(self.out, "▶ [{}/{total}] {name}", index + 1);
            }
            RunEvent::Finished { report, .. } => {
                self.clear();
                let _ = writeln!(
                    self.out,
                    "  {} {} in {:.1} s",
                    report.name,
                    report.status.as_str(),
                    report.duration_ms / 1e3
                );
            }
            RunEvent::Progress { name, progress } => match self.mode {
                Mode::Tty => {
                    let _ = write!(self.out, "\r\x1b[2K{}", status_line(name, progress));
                    self.drawn = true;
                }
                Mode::Plain => {
                    let now = Instant::now();
                    if self
                        .last_plain
                        .is_none_or(|t| now.duration_since(t) >= self.plain_every)
                    {
                        self.last_plain = Some(now);
                        let _ = writeln!(self.out, "{}", status_line(name, progress));
                    }
                }
                Mode::Quiet => {}
            },
        }
        let _ = self.out.flush();
    }

    /// Clears a status line left on screen (before the summary is printed).
    pub fn finish(&mut self) {
        self.clear();
        let _ = self.out.flush();
    }
}

impl<W: Write> RunObserver for LiveDisplay<W> {
    fn event(&mut self, event: &RunEvent<'_>) {
        LiveDisplay::event(self, event);
    }
}

/// `  redis-latency · run-load · 12,345/50,000 ops (25%) · 8,123 ops/s · 1.5 s, ~4.6 s left`
pub fn status_line(name: &str, p: &Progress) -> String {
    let done = match p.expected {
        Some(total) if total > 0 => format!(
            "{}/{} ops ({:.0}%)",
            units::thousands(p.done as f64),
            units::thousands(total as f64),
            (p.done as f64 * 100.0 / total as f64).min(100.0)
        ),
        _ => format!("{} ops", units::thousands(p.done as f64)),
    };
    let left = match p.remaining_secs {
        Some(r) => format!(", ~{} left", units::duration_ns(r * 1e9)),
        None => String::new(),
    };
    let detail = match &p.detail {
        Some(d) => format!(" · {d}"),
        None => String::new(),
    };
    format!(
        "  {name} · {} · {done} · {} ops/s{detail} · {}{left}",
        p.phase,
        units::thousands(p.ops_per_sec),
        units::duration_ns(p.elapsed_secs * 1e9)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{RunReport, ScenarioReport};

    fn progress() -> Progress {
        Progress {
            phase: "run-load".into(),
            done: 12_345,
            expected: Some(50_000),
            ops_per_sec: 8_123.4,
            elapsed_secs: 1.5,
            remaining_secs: Some(4.6),
            detail: None,
        }
    }

    #[test]
    fn status_line_says_phase_ops_rate_and_time() {
        assert_eq!(
            status_line("redis-latency", &progress()),
            "  redis-latency · run-load · 12,345/50,000 ops (25%) · 8,123 ops/s · 1.5 s, ~4.6 s left"
        );
    }

    #[test]
    fn tty_redraws_plain_throttles_quiet_prints_nothing() {
        let p = progress();
        let report = ScenarioReport::skipped("s", "s.wasm", Default::default(), "r".into());
        let run = RunReport::just_started();
        let events = [
            RunEvent::Started {
                name: "s",
                index: 0,
                total: 1,
            },
            RunEvent::Progress {
                name: "s",
                progress: &p,
            },
            RunEvent::Progress {
                name: "s",
                progress: &p,
            },
            RunEvent::Finished {
                report: &report,
                run: &run,
            },
        ];
        let run = |mode| {
            let mut d = LiveDisplay::new(Vec::new(), mode);
            for e in &events {
                d.event(e);
            }
            d.finish();
            String::from_utf8(d.into_inner()).unwrap()
        };
        let tty = run(Mode::Tty);
        assert_eq!(tty.matches("\r\x1b[2K").count(), 3, "{tty:?}");
        assert!(tty.ends_with("  s skipped in 0.0 s\n"), "{tty:?}");
        let plain = run(Mode::Plain);
        assert!(!plain.contains('\x1b'), "{plain:?}");
        // Both samples fall within PLAIN_EVERY of the start line: none shown.
        assert_eq!(plain, "▶ [1/1] s\n  s skipped in 0.0 s\n");
        assert_eq!(run(Mode::Quiet), "");

        // Past the interval, every sample is a plain line.
        let mut d = LiveDisplay::new(Vec::new(), Mode::Plain).plain_every(Duration::ZERO);
        for e in &events {
            d.event(e);
        }
        let plain = String::from_utf8(d.into_inner()).unwrap();
        assert_eq!(plain.matches(" · run-load · ").count(), 2, "{plain}");
        assert!(!plain.contains('\r'));
    }
}
