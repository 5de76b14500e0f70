//! Prometheus remote write 1.0: snapshots → `WriteRequest` (the `prompb`
//! messages, declared here with prost; field numbers from Prometheus'
//! `prompb/remote.proto` and `prompb/types.proto`), cut into bounded
//! batches, each protobuf-encoded and snappy-compressed (block format).
//!
//! Histograms go out as native histograms at
//! [`native_histogram::SCHEMA`](super::native_histogram::SCHEMA), or with
//! `histograms=classic` as `_bucket{le}`, `_sum` and `_count` series.

use prost::Message;

use super::Identity;
use super::names::{self, Kind};
use super::native_histogram::{self as native, ExpBuckets};
use super::snapshot::{Snapshot, Value};

/// Most series in one request; a larger snapshot is sent as several.
pub const MAX_SERIES_PER_BATCH: usize = 2_000;

/// The headers every remote-write 1.0 request carries.
pub const HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "snappy"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

/// How histograms are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistogramMode {
    Native,
    Classic,
}

#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// A native histogram with integer counts (`prompb.Histogram`).
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    #[prost(uint64, tag = "1")]
    pub count_int: u64,
    #[prost(double, tag = "3")]
    pub sum: f64,
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(uint64, tag = "6")]
    pub zero_count_int: u64,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// `ResetHint`: 0 unknown, 1 yes, 2 no, 3 gauge.
    #[prost(int32, tag = "14")]
    pub reset_hint: i32,
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// The series of `snapshots`, labelled with the run's identity.
pub fn series(identity: &Identity, snapshots: &[Snapshot], mode: HistogramMode) -> Vec<TimeSeries> {
    let mut out = Vec::new();
    for s in snapshots {
        let base = |name: String, extra: &[(&str, &str)]| -> Vec<Label> {
            let mut labels = vec![label("__name__", &name), label("scenario", &s.scenario)];
            if let Some(executor) = &s.executor {
                labels.push(label("executor", executor));
            }
            labels.extend(identity.labels().map(|(k, v)| label(k, v)));
            labels.extend(extra.iter().map(|(k, v)| label(k, v)));
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            labels
        };
        let sample = |value: f64| Sample {
            value,
            timestamp: s.at_ms,
        };
        for m in &s.metrics {
            let extra = [("metric", m.name.as_str())];
            let factor = names::to_base(m.unit);
            match &m.value {
                Value::Counter(c) => out.push(TimeSeries {
                    labels: base(
                        names::prometheus_name(&m.name, m.unit, Kind::Counter),
                        &extra,
                    ),
                    samples: vec![sample(*c as f64)],
                    histograms: Vec::new(),
                }),
                Value::Gauge(g) => out.push(TimeSeries {
                    labels: base(names::prometheus_name(&m.name, m.unit, Kind::Gauge), &extra),
                    samples: vec![sample(g * factor)],
                    histograms: Vec::new(),
                }),
                Value::Histogram {
                    buckets,
                    count,
                    mean,
                } => {
                    let name = names::prometheus_name(&m.name, m.unit, Kind::Histogram);
                    let sum = mean * *count as f64 * factor;
                    match mode {
                        HistogramMode::Native => {
                            let exp = ExpBuckets::from_hdr(buckets, factor);
                            let (spans, deltas) = exp.spans_and_deltas();
                            out.push(TimeSeries {
                                labels: base(name, &extra),
                                samples: Vec::new(),
                                histograms: vec![Histogram {
                                    count_int: exp.count(),
                                    sum,
                                    schema: native::SCHEMA,
                                    zero_threshold: 0.0,
                                    zero_count_int: exp.zero_count,
                                    positive_spans: spans
                                        .into_iter()
                                        .map(|(offset, length)| BucketSpan { offset, length })
                                        .collect(),
                                    positive_deltas: deltas,
                                    reset_hint: 0,
                                    timestamp: s.at_ms,
                                }],
                            });
                        }
                        HistogramMode::Classic => {
                            let bounds = native::classic_bounds(m.unit);
                            let counts = native::classic_counts(buckets, factor, &bounds);
                            for (bound, cumulative) in bounds.iter().zip(counts) {
                                let le = if bound.is_infinite() {
                                    "+Inf".to_owned()
                                } else {
                                    format!("{bound}")
                                };
                                out.push(TimeSeries {
                                    labels: base(
                                        format!("{name}_bucket"),
                                        &[("metric", m.name.as_str()), ("le", &le)],
                                    ),
                                    samples: vec![sample(cumulative as f64)],
                                    histograms: Vec::new(),
                                });
                            }
                            for (suffix, value) in [("sum", sum), ("count", *count as f64)] {
                                out.push(TimeSeries {
                                    labels: base(format!("{name}_{suffix}"), &extra),
                                    samples: vec![sample(value)],
                                    histograms: Vec::new(),
                                });
                            }
                        }
                    }
                }
            }
        }
        for t in &s.thresholds {
            out.push(TimeSeries {
                labels: base(
                    "rigor_threshold_passing".to_owned(),
                    &[("metric", &t.metric), ("expression", &t.expression)],
                ),
                samples: vec![sample(if t.passing { 1.0 } else { 0.0 })],
                histograms: Vec::new(),
            });
        }
        if let Some(p) = &s.progress {
            let phase = [("phase", p.phase.as_str())];
            out.push(TimeSeries {
                labels: base("rigor_phase_operations_total".to_owned(), &phase),
                samples: vec![sample(p.done as f64)],
                histograms: Vec::new(),
            });
            out.push(TimeSeries {
                labels: base("rigor_phase_operations_per_second".to_owned(), &phase),
                samples: vec![sample(if s.running { p.ops_per_sec } else { 0.0 })],
                histograms: Vec::new(),
            });
        }
        out.push(TimeSeries {
            labels: base("rigor_scenario_running".to_owned(), &[]),
            samples: vec![sample(if s.running { 1.0 } else { 0.0 })],
            histograms: Vec::new(),
        });
    }
    out
}

fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// The request bodies for `series`: at most [`MAX_SERIES_PER_BATCH`] series
/// each, protobuf then snappy.
pub fn bodies(series: Vec<TimeSeries>) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    let mut rest = series;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(MAX_SERIES_PER_BATCH));
        let request = WriteRequest { timeseries: rest };
        rest = tail;
        let raw = request.encode_to_vec();
        let compressed = snap::raw::Encoder::new()
            .compress_vec(&raw)
            .expect("snappy compresses any buffer below 4 GiB");
        bodies.push(compressed);
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Distribution, Unit};
    use crate::outputs::snapshot::{MetricPoint, ThresholdPoint};

    fn snapshot() -> Snapshot {
        let mut d = Distribution::new();
        for v in [1_000u64, 2_000, 2_000, 50_000] {
            d.record(v);
        }
        Snapshot {
            scenario: "redis-latency".into(),
            executor: None,
            started_ms: 1,
            at_ms: 1_000,
            running: true,
            metrics: vec![
                MetricPoint {
                    name: "get.100B".into(),
                    unit: Unit::Nanoseconds,
                    value: Value::Histogram {
                        buckets: d.buckets(),
                        count: d.len(),
                        mean: d.mean(),
                    },
                },
                MetricPoint {
                    name: "errors".into(),
                    unit: Unit::Count,
                    value: Value::Counter(3),
                },
            ],
            thresholds: vec![ThresholdPoint {
                metric: "get.100B".into(),
                expression: "p(99) < 1ms".into(),
                passing: true,
            }],
            progress: None,
        }
    }

    fn identity() -> Identity {
        Identity {
            run_id: "r1".into(),
            shard: None,
            host: "h".into(),
            tags: vec![("team".into(), "db".into())],
        }
    }

    #[test]
    fn a_snapshot_becomes_sorted_labelled_series_and_round_trips() {
        let series = series(&identity(), &[snapshot()], HistogramMode::Native);
        assert_eq!(series.len(), 4);
        for s in &series {
            let names: Vec<_> = s.labels.iter().map(|l| l.name.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted);
            assert!(names.contains(&"run_id") && names.contains(&"team"));
        }
        let h = &series[0].histograms[0];
        assert_eq!(h.count_int, 4);
        assert_eq!(h.schema, 8);
        assert_eq!(
            h.positive_deltas.iter().sum::<i64>(),
            1,
            "last bucket's count"
        );
        let bodies = bodies(series.clone());
        assert_eq!(bodies.len(), 1);
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&bodies[0])
            .unwrap();
        let back = WriteRequest::decode(raw.as_slice()).unwrap();
        assert_eq!(back.timeseries, series);
    }

    #[test]
    fn classic_histograms_have_cumulative_buckets_sum_and_count() {
        let series = series(&identity(), &[snapshot()], HistogramMode::Classic);
        let name_of = |s: &TimeSeries| {
            s.labels
                .iter()
                .find(|l| l.name == "__name__")
                .unwrap()
                .value
                .clone()
        };
        let inf = series
            .iter()
            .find(|s| s.labels.iter().any(|l| l.name == "le" && l.value == "+Inf"))
            .unwrap();
        assert_eq!(name_of(inf), "rigor_get_100b_seconds_bucket");
        assert_eq!(inf.samples[0].value, 4.0);
        let count = series
            .iter()
            .find(|s| name_of(s) == "rigor_get_100b_seconds_count")
            .unwrap();
        assert_eq!(count.samples[0].value, 4.0);
    }

    #[test]
    fn large_snapshots_are_cut_into_bounded_batches() {
        let one = series(&identity(), &[snapshot()], HistogramMode::Native).remove(1);
        let many = vec![one; MAX_SERIES_PER_BATCH * 2 + 1];
        assert_eq!(bodies(many).len(), 3);
    }
}
