//! warden-metrics snapshots as OTLP metrics, mapped exactly: each
//! operation's [`LatencyHistogram`](warden_metrics::LatencyHistogram) is an
//! exponential histogram of the same scale with the same bucket counts.
//!
//! The OpenTelemetry SDK has no public way to export data it did not
//! aggregate itself, so these requests are built from `opentelemetry-proto`
//! types here and sent by the transport module's `MetricsTransport`
//! with the same endpoint, headers, compression and timeout as the spans and
//! logs.

use std::sync::atomic::Ordering::Relaxed;
#[cfg(feature = "metrics")]
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
#[cfg(feature = "metrics")]
use opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint;
#[cfg(feature = "metrics")]
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, Gauge, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
#[cfg(feature = "metrics")]
use warden_metrics::{MetricsLayer, OperationSnapshot, SCALE, Window};

use crate::queue::{Counters, ExportStats};

/// The metric names warden exports.
pub mod names {
    /// Exponential histogram of span durations per operation, in nanoseconds.
    pub const DURATION: &str = "warden.operation.duration";
    /// Spans closed per operation (cumulative counter).
    pub const CALLS: &str = "warden.operation.calls";
    /// Of those, errors (cumulative counter).
    pub const ERRORS: &str = "warden.operation.errors";
    /// Spans open now per operation (gauge).
    pub const IN_FLIGHT: &str = "warden.operation.in_flight";
    /// The exporter's own records: by `signal` and `outcome`
    /// (`exported`, `dropped`, `failed`).
    pub const EXPORT_RECORDS: &str = "warden.otlp.records";
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// The SDK resource in proto form.
pub(crate) fn resource_proto(resource: &opentelemetry_sdk::Resource) -> Resource {
    let attributes = resource
        .iter()
        .map(|(k, v)| {
            let value = match v {
                opentelemetry::Value::Bool(b) => any_value::Value::BoolValue(*b),
                opentelemetry::Value::I64(n) => any_value::Value::IntValue(*n),
                opentelemetry::Value::F64(n) => any_value::Value::DoubleValue(*n),
                other => any_value::Value::StringValue(other.as_str().into_owned()),
            };
            KeyValue {
                key: k.as_str().to_owned(),
                value: Some(AnyValue { value: Some(value) }),
                ..Default::default()
            }
        })
        .collect();
    Resource {
        attributes,
        ..Default::default()
    }
}

/// One operation's histogram as an exponential histogram data point.
#[cfg(feature = "metrics")]
fn histogram_point(op: &OperationSnapshot, start: u64, now: u64) -> ExponentialHistogramDataPoint {
    let h = &op.histogram;
    let mut positive = Buckets::default();
    let mut buckets = h.buckets().peekable();
    if let Some(&(first, _)) = buckets.peek() {
        positive.offset = first;
        for (index, count) in buckets {
            let slot = (index - first) as usize;
            if positive.bucket_counts.len() <= slot {
                positive.bucket_counts.resize(slot + 1, 0);
            }
            positive.bucket_counts[slot] = count;
        }
    }
    let as_nanos = |d: Duration| d.as_nanos() as f64;
    ExponentialHistogramDataPoint {
        attributes: vec![string_attr("operation", &op.operation)],
        start_time_unix_nano: start,
        time_unix_nano: now,
        count: h.count(),
        sum: Some(as_nanos(h.sum())),
        scale: SCALE,
        zero_count: 0,
        positive: Some(positive),
        min: h.min().map(as_nanos),
        max: h.max().map(as_nanos),
        ..Default::default()
    }
}

fn int_point(attributes: Vec<KeyValue>, value: i64, start: u64, now: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

fn counter(name: &str, description: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        description: description.to_owned(),
        unit: unit.to_owned(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// The layers whose operations are exported.
#[cfg(feature = "metrics")]
pub(crate) type Source = MetricsLayer;
/// Without the metrics glue there is no layer to export.
#[cfg(not(feature = "metrics"))]
pub(crate) type Source = std::convert::Infallible;

/// The request for every operation of `sources` since start (cumulative),
/// and the exporter's own counts.
pub(crate) fn build_request(
    sources: &[Source],
    stats: &ExportStats,
    resource: &Resource,
    start: SystemTime,
) -> ExportMetricsServiceRequest {
    let (start, now) = (nanos(start), nanos(SystemTime::now()));
    let mut histograms = Vec::new();
    let mut calls = Vec::new();
    let mut errors = Vec::new();
    let mut in_flight = Vec::new();
    #[cfg(not(feature = "metrics"))]
    let _ = (
        sources,
        &mut histograms,
        &mut calls,
        &mut errors,
        &mut in_flight,
    );
    #[cfg(feature = "metrics")]
    for source in sources {
        for op in source.snapshot(Window::SinceStart).operations {
            let attrs = || vec![string_attr("operation", &op.operation)];
            histograms.push(histogram_point(&op, start, now));
            calls.push(int_point(attrs(), op.count as i64, start, now));
            errors.push(int_point(attrs(), op.errors as i64, start, now));
            in_flight.push(int_point(attrs(), op.in_flight, start, now));
        }
    }
    let mut export_points = Vec::new();
    for (signal, s) in [
        ("spans", stats.spans),
        ("logs", stats.logs),
        ("audit", stats.audit),
    ] {
        for (outcome, n) in [
            ("exported", s.exported),
            ("dropped", s.dropped),
            ("failed", s.failed),
        ] {
            let attrs = vec![
                string_attr("signal", signal),
                string_attr("outcome", outcome),
            ];
            export_points.push(int_point(attrs, n as i64, start, now));
        }
    }
    let mut metrics = Vec::new();
    if !histograms.is_empty() {
        metrics.push(Metric {
            name: names::DURATION.to_owned(),
            description: "Span durations per operation".to_owned(),
            unit: "ns".to_owned(),
            data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: histograms,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
            ..Default::default()
        });
        metrics.push(counter(
            names::CALLS,
            "Spans closed per operation",
            "{call}",
            calls,
        ));
        metrics.push(counter(
            names::ERRORS,
            "Spans that ended in error per operation",
            "{error}",
            errors,
        ));
        metrics.push(Metric {
            name: names::IN_FLIGHT.to_owned(),
            description: "Spans open now per operation".to_owned(),
            unit: "{span}".to_owned(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: in_flight,
            })),
            ..Default::default()
        });
    }
    metrics.push(counter(
        names::EXPORT_RECORDS,
        "Records the OTLP exporter sent, dropped (queue full) or failed to send",
        "{record}",
        export_points,
    ));
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource.clone()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "warden-metrics".to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Counts one metrics export.
pub(crate) fn count(counters: &Counters, result: &Result<(), String>) {
    match result {
        Ok(()) => counters.exported.fetch_add(1, Relaxed),
        Err(_) => counters.failed.fetch_add(1, Relaxed),
    };
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;
    use std::time::Duration;
    use tracing_subscriber::prelude::*;

    #[test]
    fn histograms_are_exported_bucket_for_bucket() {
        let layer = MetricsLayer::new();
        let subscriber = tracing_subscriber::registry().with(layer.clone());
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..3 {
                let _s = tracing::info_span!("op").entered();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let request = build_request(
            std::slice::from_ref(&layer),
            &ExportStats::default(),
            &Resource::default(),
            SystemTime::now(),
        );
        let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
        let Some(metric::Data::ExponentialHistogram(h)) = &metrics[0].data else {
            panic!("{metrics:?}")
        };
        let point = &h.data_points[0];
        let op = layer.snapshot(Window::SinceStart);
        let expected = &op.operations[0].histogram;
        assert_eq!(point.count, 3);
        assert_eq!(point.scale, SCALE);
        let buckets = point.positive.as_ref().unwrap();
        let exported: Vec<(i32, u64)> = buckets
            .bucket_counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| (buckets.offset + i as i32, c))
            .collect();
        assert_eq!(exported, expected.buckets().collect::<Vec<_>>());
        assert_eq!(point.sum, Some(expected.sum().as_nanos() as f64));
        assert_eq!(metrics.len(), 5);
    }
}
