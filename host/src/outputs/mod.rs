//! Live outputs: the run's metrics pushed while it goes, to Prometheus
//! (remote write 1.0, native or classic histograms) and to OpenTelemetry
//! collectors (OTLP/HTTP protobuf, exponential histograms). See
//! `docs/monitoring.md`.
//!
//! An exporter on its own thread snapshots the running scenario's shared
//! recorder every interval ([`snapshot`]), encodes it ([`prometheus`],
//! [`otlp`]) and queues bounded batches for one sender per endpoint. A
//! batch that does not fit the queue, fails, or is still unsent at the
//! end-of-run flush deadline is dropped and counted in the report: the
//! outputs never block a probe, never delay the run by more than
//! [`FLUSH_TIMEOUT`] at its end, and never change its exit code. The
//! scenario's final values come from its report, so the last batch of a
//! scenario carries exactly what the report says.

mod endpoint;
mod exporter;
pub mod names;
pub mod native_histogram;
pub mod otlp;
pub mod prometheus;
pub mod snapshot;

use std::time::Duration;

pub use endpoint::{Endpoint, EndpointError, SendError};
pub use exporter::LiveOutputs;
pub use snapshot::Planned;

/// Default time between two snapshots.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Shortest interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Longest interval accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Longest one request may take (connect, send, answer).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the end of the run waits for queued batches to be delivered.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Batches one output may hold waiting for its endpoint.
pub const QUEUE_BATCHES: usize = 16;
/// Most `--tag`s.
pub const MAX_TAGS: usize = 32;
/// Longest `--tag` value (bytes).
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// The formats of `--out` this module sends.
pub const LIVE_FORMATS: &[&str] = &["prometheus", "otlp"];

/// Which protocol an output speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Prometheus(prometheus::HistogramMode),
    Otlp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Prometheus(_) => "prometheus",
            Protocol::Otlp => "otlp",
        }
    }
}

/// One `--out prometheus=…` or `--out otlp=…`.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    pub protocol: Protocol,
    pub endpoint: Endpoint,
    pub interval: Duration,
}

/// Why an `--out` or `--tag` was refused. Messages never repeat the URL
/// (it may carry credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid --out {format}=…: {reason}")]
    Endpoint {
        format: &'static str,
        reason: EndpointError,
    },
    #[error(
        "invalid --out {format}=…: `{option}` is not an option (known: interval=DURATION{})",
        if *.format == "prometheus" { ", histograms=native|classic" } else { "" }
    )]
    UnknownOption {
        format: &'static str,
        option: String,
    },
    #[error(
        "invalid --out {format}=…: interval `{value}` is not a duration from {MIN_INTERVAL:?} to {MAX_INTERVAL:?} (e.g. 5s, 500ms)"
    )]
    Interval { format: &'static str, value: String },
    #[error("invalid --out prometheus=…: histograms=`{0}` is not `native` or `classic`")]
    Histograms(String),
    #[error("invalid --tag `{0}`: expected `KEY=VALUE`")]
    TagSyntax(String),
    #[error(
        "invalid --tag `{0}`: the key must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __) that Rigor does not set itself ({reserved})",
        reserved = names::RESERVED_LABELS.join(", ")
    )]
    TagName(String),
    #[error("invalid --tag `{0}`: the value is longer than {MAX_TAG_VALUE_LEN} bytes")]
    TagValue(String),
    #[error("too many --tag: at most {MAX_TAGS}")]
    TooManyTags,
    #[error("--tag `{0}` is given twice")]
    DuplicateTag(String),
}

/// Whether `--out FORMAT=…` is a live output (and not a file stream).
pub fn is_live(format: &str) -> bool {
    LIVE_FORMATS.contains(&format.trim())
}

impl OutputConfig {
    /// Parses the part after `--out `: `prometheus=URL[,interval=5s][,histograms=classic]`
    /// or `otlp=URL[,interval=5s]`. `None` when the format is not a live one.
    /// Options are read from the end, so a URL may itself hold commas.
    pub fn parse(spec: &str) -> Option<Result<Self, ConfigError>> {
        let (format, rest) = spec.split_once('=')?;
        let format: &'static str = match format.trim() {
            "prometheus" => "prometheus",
            "otlp" => "otlp",
            _ => return None,
        };
        Some(Self::parse_live(format, rest))
    }

    fn parse_live(format: &'static str, rest: &str) -> Result<Self, ConfigError> {
        let mut url = rest;
        let mut interval = DEFAULT_INTERVAL;
        let mut histograms = prometheus::HistogramMode::Native;
        while let Some((head, option)) = url.rsplit_once(',') {
            let Some((key, value)) = option.split_once('=') else {
                break;
            };
            match key.trim() {
                "interval" => {
                    interval = humantime::parse_duration(value.trim())
                        .ok()
                        .filter(|d| (MIN_INTERVAL..=MAX_INTERVAL).contains(d))
                        .ok_or_else(|| ConfigError::Interval {
                            format,
                            value: value.trim().chars().take(40).collect(),
                        })?;
                }
                "histograms" if format == "prometheus" => {
                    histograms = match value.trim() {
                        "native" => prometheus::HistogramMode::Native,
                        "classic" => prometheus::HistogramMode::Classic,
                        other => {
                            return Err(ConfigError::Histograms(other.chars().take(40).collect()));
                        }
                    };
                }
                // Part of the URL (a query string's `&a=b,c=d`) unless it
                // looks like an option name.
                k if k.chars().all(|c| c.is_ascii_lowercase())
                    && !k.is_empty()
                    && !k.contains('/') =>
                {
                    return Err(ConfigError::UnknownOption {
                        format,
                        option: k.chars().take(40).collect(),
                    });
                }
                _ => break,
            }
            url = head;
        }
        let endpoint =
            Endpoint::parse(url).map_err(|reason| ConfigError::Endpoint { format, reason })?;
        let protocol = match format {
            "prometheus" => Protocol::Prometheus(histograms),
            _ => Protocol::Otlp,
        };
        Ok(Self {
            protocol,
            endpoint,
            interval,
        })
    }
}

/// Parses every `--tag KEY=VALUE`: label names Rigor does not set itself,
/// bounded in number and length, each key once.
pub fn parse_tags(specs: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    if specs.len() > MAX_TAGS {
        return Err(ConfigError::TooManyTags);
    }
    let mut tags: Vec<(String, String)> = Vec::with_capacity(specs.len());
    for spec in specs {
        let shown = || spec.chars().take(80).collect::<String>();
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| ConfigError::TagSyntax(shown()))?;
        let key = key.trim();
        if !names::valid_tag_name(key) {
            return Err(ConfigError::TagName(shown()));
        }
        if value.len() > MAX_TAG_VALUE_LEN {
            return Err(ConfigError::TagValue(key.to_owned()));
        }
        if tags.iter().any(|(k, _)| k == key) {
            return Err(ConfigError::DuplicateTag(key.to_owned()));
        }
        tags.push((key.to_owned(), value.to_owned()));
    }
    Ok(tags)
}

/// Who is sending: the run's identity, on every series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    pub run_id: String,
    /// `INDEX/COUNT` when the run is one shard of several.
    pub shard: Option<String>,
    /// The host's name (an OTLP resource attribute).
    pub host: String,
    pub tags: Vec<(String, String)>,
}

impl Identity {
    /// The labels every Prometheus series carries besides its name and
    /// scenario.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        [("run_id", self.run_id.as_str())]
            .into_iter()
            .chain(self.shard.as_deref().map(|s| ("shard", s)))
            .chain(self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_specs_parse_with_options_from_the_end() {
        let c = OutputConfig::parse(
            "prometheus=http://u:p@h:9090/api/v1/write,interval=2s,histograms=classic",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            c.protocol,
            Protocol::Prometheus(prometheus::HistogramMode::Classic)
        );
        assert_eq!(c.interval, Duration::from_secs(2));
        assert_eq!(c.endpoint.redacted(), "http://…@h:9090/api/v1/write");
        let c = OutputConfig::parse("otlp=http://h:4318/v1/metrics")
            .unwrap()
            .unwrap();
        assert_eq!((c.protocol, c.interval), (Protocol::Otlp, DEFAULT_INTERVAL));
        assert!(OutputConfig::parse("ndjson=events.ndjson").is_none());
    }

    #[test]
    fn bad_specs_are_refused_without_repeating_the_url() {
        let err = |s: &str| OutputConfig::parse(s).unwrap().unwrap_err().to_string();
        let e = err("prometheus=http://alice:hunter2@h/w,interval=0s");
        assert!(e.contains("interval `0s` is not a duration"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err("prometheus=ftp://alice:hunter2@h/w");
        assert_eq!(
            e,
            "invalid --out prometheus=…: the URL must start with http:// or https://"
        );
        let e = err("otlp=http://h/v1/metrics,histograms=classic");
        assert!(e.contains("`histograms` is not an option"), "{e}");
        let e = err("prometheus=http://h/w,histograms=sparse");
        assert!(e.contains("`sparse` is not `native` or `classic`"), "{e}");
    }

    #[test]
    fn tags_are_checked() {
        let ok = parse_tags(&["team=db".into(), "env=ci=1".into()]).unwrap();
        assert_eq!(ok[1], ("env".into(), "ci=1".into()));
        let err = |s: &[&str]| {
            parse_tags(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap_err()
                .to_string()
        };
        assert!(err(&["scenario=x"]).contains("that Rigor does not set itself"));
        assert!(err(&["novalue"]).contains("expected `KEY=VALUE`"));
        assert!(err(&["a=1", "a=2"]).contains("given twice"));
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}=x")).collect();
        assert_eq!(parse_tags(&many).unwrap_err(), ConfigError::TooManyTags);
    }
}
