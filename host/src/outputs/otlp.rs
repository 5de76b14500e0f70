//! OTLP/HTTP metrics (protobuf, `POST …/v1/metrics`): snapshots →
//! `ExportMetricsServiceRequest`, built from the official OpenTelemetry
//! generated types. One resource per scenario (attributes: service name,
//! run id, scenario, shard, host and the `--tag`s); latency and size
//! distributions go out as exponential histograms at
//! [`native_histogram::SCHEMA`](super::native_histogram::SCHEMA) (OTLP's
//! `scale`), counters as cumulative monotonic sums, gauges as gauges.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, exponential_histogram_data_point, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::Identity;
use super::names;
use super::native_histogram::{self as native, ExpBuckets};
use super::snapshot::{Snapshot, Value};

/// Most metrics in one request; a larger snapshot is sent as several.
pub const MAX_METRICS_PER_BATCH: usize = 2_000;

pub const HEADERS: &[(&str, &str)] = &[("Content-Type", "application/x-protobuf")];

/// The request bodies for `snapshots`: one resource per scenario, at most
/// [`MAX_METRICS_PER_BATCH`] metrics per request.
pub fn bodies(identity: &Identity, snapshots: &[Snapshot]) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    for s in snapshots {
        let mut all = metrics(s);
        while !all.is_empty() {
            let rest = all.split_off(all.len().min(MAX_METRICS_PER_BATCH));
            let request = request(identity, s, all);
            all = rest;
            bodies.push(request.encode_to_vec());
        }
    }
    bodies
}

fn request(identity: &Identity, s: &Snapshot, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    let mut attributes = vec![
        kv("service.name", "rigor"),
        kv("rigor.run_id", &identity.run_id),
        kv("rigor.scenario", &s.scenario),
        kv("host.name", &identity.host),
    ];
    if let Some(shard) = &identity.shard {
        attributes.push(kv("rigor.shard", shard));
    }
    if let Some(executor) = &s.executor {
        attributes.push(kv("rigor.executor", executor));
    }
    attributes.extend(identity.tags.iter().map(|(k, v)| kv(k, v)));
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "rigor".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn nanos(ms: i64) -> u64 {
    (ms.max(0) as u64).saturating_mul(1_000_000)
}

fn metrics(s: &Snapshot) -> Vec<Metric> {
    let start = nanos(s.started_ms);
    let time = nanos(s.at_ms);
    let point = |value: number_data_point::Value, attributes: Vec<KeyValue>| NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(value),
        ..Default::default()
    };
    let gauge = |name: String, unit: &str, points: Vec<NumberDataPoint>| Metric {
        name,
        unit: unit.to_owned(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    };
    let counter = |name: String, unit: &str, points: Vec<NumberDataPoint>| Metric {
        name,
        unit: unit.to_owned(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    let mut out = Vec::new();
    for m in &s.metrics {
        let name = names::otlp_name(&m.name);
        let unit = names::otlp_unit(m.unit);
        let factor = names::to_base(m.unit);
        out.push(match &m.value {
            Value::Counter(c) => counter(
                name,
                unit,
                vec![point(
                    number_data_point::Value::AsInt(i64::try_from(*c).unwrap_or(i64::MAX)),
                    Vec::new(),
                )],
            ),
            Value::Gauge(g) => gauge(
                name,
                unit,
                vec![point(
                    number_data_point::Value::AsDouble(g * factor),
                    Vec::new(),
                )],
            ),
            Value::Histogram {
                buckets,
                count,
                mean,
            } => {
                let exp = ExpBuckets::from_hdr(buckets, factor);
                let (offset, bucket_counts) = exp.dense();
                let min = buckets.first().map(|b| b.0 as f64 * factor);
                let max = buckets.last().map(|b| b.0 as f64 * factor);
                Metric {
                    name,
                    unit: unit.to_owned(),
                    data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                        data_points: vec![ExponentialHistogramDataPoint {
                            start_time_unix_nano: start,
                            time_unix_nano: time,
                            count: *count,
                            sum: Some(mean * *count as f64 * factor),
                            scale: native::SCHEMA,
                            zero_count: exp.zero_count,
                            positive: Some(exponential_histogram_data_point::Buckets {
                                offset,
                                bucket_counts,
                            }),
                            min,
                            max,
                            ..Default::default()
                        }],
                        aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    })),
                    ..Default::default()
                }
            }
        });
    }
    if !s.thresholds.is_empty() {
        let points = s
            .thresholds
            .iter()
            .map(|t| {
                point(
                    number_data_point::Value::AsInt(i64::from(t.passing)),
                    vec![kv("metric", &t.metric), kv("expression", &t.expression)],
                )
            })
            .collect();
        out.push(gauge("rigor.threshold.passing".into(), "1", points));
    }
    if let Some(p) = &s.progress {
        let phase = || vec![kv("phase", &p.phase)];
        out.push(counter(
            "rigor.phase.operations".into(),
            "{operation}",
            vec![point(
                number_data_point::Value::AsInt(i64::try_from(p.done).unwrap_or(i64::MAX)),
                phase(),
            )],
        ));
        let rate = if s.running { p.ops_per_sec } else { 0.0 };
        out.push(gauge(
            "rigor.phase.operations_per_second".into(),
            "{operation}/s",
            vec![point(number_data_point::Value::AsDouble(rate), phase())],
        ));
    }
    out.push(gauge(
        "rigor.scenario.running".into(),
        "1",
        vec![point(
            number_data_point::Value::AsInt(i64::from(s.running)),
            Vec::new(),
        )],
    ));
    out
}
