//! The default export path: OTLP requests built directly as
//! `opentelemetry-proto` messages from warden's records, and kept from one
//! batch to the next. A batch's spans, log records and attributes, with
//! their strings and byte vectors, are emptied and filled again rather than
//! freed and allocated, so the export thread's steady state allocates
//! only the encoded request.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::logs::Severity;
use opentelemetry::trace::{SpanKind, Status as SdkStatus};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use prost::Message as _;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use crate::convert::{Clean, Converter, LogOut, SpanOut};
use crate::record::SpanRecord;
use warden_core::internal::WallAnchor;

/// Strings and vectors that grew past this many bytes (a 10 MB field) are
/// freed after their batch rather than kept for the next.
const KEEP_AT_MOST: usize = 64 * 1024;

/// Nanoseconds since the epoch.
pub(crate) fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The scope warden's spans (and, by default, records) are reported under.
pub(crate) fn scope(name: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Default::default()
    }
}

/// The bytes of field `tag` (below 16) holding a message of `len` bytes.
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// Writes the key and length of field `tag` holding a message of `len`
/// bytes.
fn field_head(tag: u32, len: usize, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

/// Encodes a request of one resource and its scopes of items
/// (`ExportTraceServiceRequest` or `ExportLogsServiceRequest`: the two
/// share this shape), as prost would, but with each item's length computed
/// once: prost's own `encode` computes a nested message's length again at
/// every level above it, which for a span's attributes is five times.
fn encode_request<'a, I: prost::Message + 'a>(
    resource: Option<&Resource>,
    scopes: impl Iterator<Item = (Option<&'a InstrumentationScope>, &'a [I])> + Clone,
    lens: &mut Vec<usize>,
) -> Vec<u8> {
    lens.clear();
    let mut scope_lens = Vec::new();
    for (scope, items) in scopes.clone() {
        let mut len = scope.map_or(0, |s| field_len(s.encoded_len()));
        for item in items {
            let item_len = item.encoded_len();
            lens.push(item_len);
            len += field_len(item_len);
        }
        scope_lens.push(len);
    }
    let resource_len = resource.map_or(0, |r| field_len(r.encoded_len()))
        + scope_lens.iter().map(|&l| field_len(l)).sum::<usize>();
    let mut buf = Vec::with_capacity(field_len(resource_len));
    field_head(1, resource_len, &mut buf);
    if let Some(resource) = resource {
        prost::encoding::message::encode(1, resource, &mut buf);
    }
    let mut item_lens = lens.iter();
    for ((scope, items), &scope_len) in scopes.zip(&scope_lens) {
        field_head(2, scope_len, &mut buf);
        if let Some(scope) = scope {
            prost::encoding::message::encode(1, scope, &mut buf);
        }
        for (item, &len) in items.iter().zip(&mut item_lens) {
            field_head(2, len, &mut buf);
            item.encode_raw(&mut buf);
        }
    }
    buf
}

/// Key-values kept for reuse, shared by every span or record of a batch.
#[derive(Debug, Default)]
struct Spare {
    key_values: Vec<KeyValue>,
}

impl Spare {
    /// Appends `key = value` to `out`, in a recycled key-value when there
    /// is one.
    fn push(&mut self, out: &mut Vec<KeyValue>, key: &str, value: Clean<'_>) {
        let mut kv = self.key_values.pop().unwrap_or_default();
        kv.key.clear();
        kv.key.push_str(key);
        set_value(kv.value.get_or_insert_with(AnyValue::default), value);
        out.push(kv);
    }

    /// Takes back the key-values of `from`.
    fn recycle(&mut self, from: &mut Vec<KeyValue>) {
        for kv in from.drain(..) {
            let big = kv.key.capacity() > KEEP_AT_MOST
                || matches!(
                    &kv.value,
                    Some(AnyValue { value: Some(any_value::Value::StringValue(s)) })
                        if s.capacity() > KEEP_AT_MOST
                );
            if !big {
                self.key_values.push(kv);
            }
        }
    }
}

/// Writes `value` into `slot`, reusing its string when it holds one.
fn set_value(slot: &mut AnyValue, value: Clean<'_>) {
    use any_value::Value as V;
    match value {
        Clean::Str(text) => set_string(slot, &text),
        Clean::I64(n) => slot.value = Some(V::IntValue(n)),
        Clean::F64(n) => slot.value = Some(V::DoubleValue(n)),
        Clean::Bool(b) => slot.value = Some(V::BoolValue(b)),
    }
}

fn set_string(slot: &mut AnyValue, text: &str) {
    match &mut slot.value {
        Some(any_value::Value::StringValue(s)) => {
            s.clear();
            s.push_str(text);
        }
        other => *other = Some(any_value::Value::StringValue(text.to_owned())),
    }
}

fn set_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.clear();
    out.extend_from_slice(bytes);
}

/// What the exporter does with a batch of either signal.
pub(crate) trait Batch {
    /// How many records it holds.
    fn count(&self) -> usize;
    /// The request, encoded.
    fn body(&mut self) -> Vec<u8>;
    /// Empties it, keeping its records for the next one.
    fn empty(&mut self);

    /// The batch as one request body, and how many records it holds; none
    /// when it is empty. Leaves it empty for the next one.
    fn take_body(&mut self) -> Option<(usize, Vec<u8>)> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let body = self.body();
        self.empty();
        Some((n, body))
    }
}

/// Both signals' batches are [`Batch`]es, through their own methods.
macro_rules! batches {
    ($($batch:ty),*) => {$(
        impl Batch for $batch {
            fn count(&self) -> usize {
                self.len()
            }
            fn body(&mut self) -> Vec<u8> {
                self.encode()
            }
            fn empty(&mut self) {
                self.clear();
            }
        }
    )*};
}

batches!(SpanBatch, LogBatch);

/// The spans of one export request, and what is kept between requests.
#[derive(Debug)]
pub(crate) struct SpanBatch {
    request: ExportTraceServiceRequest,
    spare_spans: Vec<Span>,
    spare: Spare,
    lens: Vec<usize>,
}

/// A span's attributes being written.
struct SpanAttributes<'a> {
    out: &'a mut Vec<KeyValue>,
    spare: &'a mut Spare,
}

impl SpanOut for SpanAttributes<'_> {
    fn attribute(&mut self, key: &'static str, value: Clean<'_>) {
        self.spare.push(self.out, key, value);
    }
}

impl SpanBatch {
    pub(crate) fn new(resource: Resource, scope: InstrumentationScope) -> Self {
        SpanBatch {
            request: ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(resource),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(scope),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
            spare_spans: Vec::new(),
            spare: Spare::default(),
            lens: Vec::new(),
        }
    }

    fn spans(&mut self) -> &mut Vec<Span> {
        &mut self.request.resource_spans[0].scope_spans[0].spans
    }

    pub(crate) fn len(&self) -> usize {
        self.request.resource_spans[0].scope_spans[0].spans.len()
    }

    /// Converts `record` (sanitizing it) into the batch.
    pub(crate) fn push(&mut self, converter: &Converter, record: &SpanRecord, clock: &WallAnchor) {
        let mut span = self.spare_spans.pop().unwrap_or_default();
        let head = converter.span(
            record,
            &mut SpanAttributes {
                out: &mut span.attributes,
                spare: &mut self.spare,
            },
        );
        set_bytes(&mut span.trace_id, &record.trace_id.to_be_bytes());
        set_bytes(&mut span.span_id, &record.span_id.to_be_bytes());
        if record.parent_span_id == 0 {
            span.parent_span_id.clear();
        } else {
            set_bytes(
                &mut span.parent_span_id,
                &record.parent_span_id.to_be_bytes(),
            );
        }
        // Sampled, and "whether the parent is remote" known (it is not), as
        // the SDK's exporter sets them.
        span.flags = 0x101;
        span.name.clear();
        span.name.push_str(&head.name);
        span.kind = match head.kind {
            SpanKind::Client => span::SpanKind::Client,
            SpanKind::Server => span::SpanKind::Server,
            SpanKind::Producer => span::SpanKind::Producer,
            SpanKind::Consumer => span::SpanKind::Consumer,
            SpanKind::Internal => span::SpanKind::Internal,
        } as i32;
        span.start_time_unix_nano = nanos(clock.at(record.start));
        span.end_time_unix_nano = nanos(clock.at(record.end));
        let status = span.status.get_or_insert_with(Status::default);
        status.message.clear();
        status.code = match head.status {
            SdkStatus::Unset => status::StatusCode::Unset,
            SdkStatus::Ok => status::StatusCode::Ok,
            SdkStatus::Error { description } => {
                status.message.push_str(&description);
                status::StatusCode::Error
            }
        } as i32;
        self.spans().push(span);
    }

    /// The request, encoded.
    pub(crate) fn encode(&mut self) -> Vec<u8> {
        let resource_spans = &self.request.resource_spans[0];
        let scopes = resource_spans
            .scope_spans
            .iter()
            .map(|s| (s.scope.as_ref(), s.spans.as_slice()));
        encode_request(resource_spans.resource.as_ref(), scopes, &mut self.lens)
    }

    /// Empties the batch, keeping its spans for the next one.
    pub(crate) fn clear(&mut self) {
        let mut spans = std::mem::take(self.spans());
        for mut span in spans.drain(..) {
            self.spare.recycle(&mut span.attributes);
            if span.name.capacity() <= KEEP_AT_MOST
                && span
                    .status
                    .as_ref()
                    .is_none_or(|s| s.message.capacity() <= KEEP_AT_MOST)
            {
                self.spare_spans.push(span);
            }
        }
        *self.spans() = spans;
    }
}

/// The log records of one export request, grouped by scope (the `tracing`
/// target), and what is kept between requests.
#[derive(Debug)]
pub(crate) struct LogBatch {
    request: ExportLogsServiceRequest,
    scope_version: String,
    spare_records: Vec<LogRecord>,
    spare_scopes: Vec<ScopeLogs>,
    spare: Spare,
    len: usize,
    lens: Vec<usize>,
}

/// One log record being written; [`LogBatch::push`] files it.
pub(crate) struct LogWriter {
    record: LogRecord,
    target: Cow<'static, str>,
    spare: Spare,
}

impl LogOut for LogWriter {
    fn target(&mut self, target: Cow<'static, str>) {
        self.target = target;
    }
    fn event_name(&mut self, name: &'static str) {
        self.record.event_name.push_str(name);
    }
    fn times(&mut self, time: SystemTime, observed: SystemTime) {
        self.record.time_unix_nano = nanos(time);
        self.record.observed_time_unix_nano = nanos(observed);
    }
    fn severity(&mut self, number: Severity, text: &'static str) {
        self.record.severity_number = number as i32;
        self.record.severity_text.push_str(text);
    }
    fn body(&mut self, body: Clean<'_>) {
        let slot = self.record.body.get_or_insert_with(AnyValue::default);
        match body {
            Clean::Str(text) => set_string(slot, &text),
            other => set_string(slot, &other.into_text()),
        }
    }
    fn attribute(&mut self, key: &'static str, value: Clean<'_>) {
        self.spare.push(&mut self.record.attributes, key, value);
    }
    fn attribute_named(&mut self, key: String, value: Clean<'_>) {
        self.spare.push(&mut self.record.attributes, &key, value);
    }
    fn trace_context(&mut self, trace_id: u128, span_id: u64) {
        set_bytes(&mut self.record.trace_id, &trace_id.to_be_bytes());
        set_bytes(&mut self.record.span_id, &span_id.to_be_bytes());
        self.record.flags = 1;
    }
}

impl LogBatch {
    pub(crate) fn new(resource: Resource) -> Self {
        LogBatch {
            request: ExportLogsServiceRequest {
                resource_logs: vec![ResourceLogs {
                    resource: Some(resource),
                    ..Default::default()
                }],
            },
            scope_version: env!("CARGO_PKG_VERSION").to_owned(),
            spare_records: Vec::new(),
            spare_scopes: Vec::new(),
            spare: Spare::default(),
            len: 0,
            lens: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// An empty record to convert into.
    pub(crate) fn writer(&mut self) -> LogWriter {
        let mut record = self.spare_records.pop().unwrap_or_default();
        record.event_name.clear();
        record.severity_text.clear();
        record.trace_id.clear();
        record.span_id.clear();
        record.flags = 0;
        record.time_unix_nano = 0;
        record.observed_time_unix_nano = 0;
        record.severity_number = 0;
        match record.body.as_mut().and_then(|b| b.value.as_mut()) {
            Some(any_value::Value::StringValue(s)) => s.clear(),
            _ => record.body = None,
        }
        LogWriter {
            record,
            target: Cow::Borrowed("warden-otlp"),
            spare: std::mem::take(&mut self.spare),
        }
    }

    /// Files a written record under its scope.
    pub(crate) fn push(&mut self, writer: LogWriter) {
        let LogWriter {
            record,
            target,
            spare,
        } = writer;
        self.spare = spare;
        let scopes = &mut self.request.resource_logs[0].scope_logs;
        // Few targets per batch, often one: a look from the end finds the
        // last record's scope first.
        let at = scopes
            .iter()
            .rposition(|s| s.scope.as_ref().is_some_and(|s| s.name == *target));
        let scope = match at {
            Some(at) => &mut scopes[at],
            None => {
                let mut fresh = self.spare_scopes.pop().unwrap_or_default();
                let scope = fresh
                    .scope
                    .get_or_insert_with(InstrumentationScope::default);
                scope.name.clear();
                scope.name.push_str(&target);
                scope.version.clone_from(&self.scope_version);
                scopes.push(fresh);
                let last = scopes.len() - 1;
                &mut scopes[last]
            }
        };
        scope.log_records.push(record);
        self.len += 1;
    }

    /// The request, encoded.
    pub(crate) fn encode(&mut self) -> Vec<u8> {
        let resource_logs = &self.request.resource_logs[0];
        let scopes = resource_logs
            .scope_logs
            .iter()
            .map(|s| (s.scope.as_ref(), s.log_records.as_slice()));
        encode_request(resource_logs.resource.as_ref(), scopes, &mut self.lens)
    }

    /// Empties the batch, keeping its records for the next one.
    pub(crate) fn clear(&mut self) {
        let mut scopes = std::mem::take(&mut self.request.resource_logs[0].scope_logs);
        for mut scope in scopes.drain(..) {
            for mut record in scope.log_records.drain(..) {
                self.spare.recycle(&mut record.attributes);
                let body_big = matches!(
                    &record.body,
                    Some(AnyValue { value: Some(any_value::Value::StringValue(s)) })
                        if s.capacity() > KEEP_AT_MOST
                );
                if body_big {
                    record.body = None;
                }
                self.spare_records.push(record);
            }
            self.spare_scopes.push(scope);
        }
        self.request.resource_logs[0].scope_logs = scopes;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use std::borrow::Cow;

    /// A body as text.
    fn text_of(value: &Option<AnyValue>) -> Cow<'_, str> {
        match value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => Cow::Borrowed(s),
            Some(other) => Cow::Owned(format!("{other:?}")),
            None => Cow::Borrowed(""),
        }
    }

    fn converter() -> Converter {
        use opentelemetry::logs::LoggerProvider as _;
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
        let scope = opentelemetry::InstrumentationScope::builder("warden-otlp").build();
        Converter {
            sanitizer: crate::last_step::LastStep::default(),
            logger: provider.logger_with_scope(scope.clone()),
            scope,
        }
    }

    #[test]
    fn records_are_grouped_by_target_and_reused_across_batches() {
        let converter = converter();
        let mut batch = LogBatch::new(Resource::default());
        for round in 0..3 {
            for (target, body) in [("a", "one"), ("b", "two"), ("a", "ada@example.com")] {
                let mut w = batch.writer();
                w.target(Cow::Borrowed(if target == "a" { "a" } else { "b" }));
                w.body(Clean::Str(converter.sanitizer.named("message", body)));
                w.attribute("round", Clean::I64(round));
                batch.push(w);
            }
            let encoded = batch.encode();
            assert_eq!(
                encoded,
                batch.request.encode_to_vec(),
                "as prost encodes it"
            );
            let decoded = ExportLogsServiceRequest::decode(&encoded[..]).unwrap();
            let scopes = &decoded.resource_logs[0].scope_logs;
            assert_eq!(scopes.len(), 2);
            assert_eq!(scopes[0].scope.as_ref().unwrap().name, "a");
            assert_eq!(scopes[0].log_records.len(), 2);
            let bodies: Vec<_> = scopes[0]
                .log_records
                .iter()
                .map(|r| text_of(&r.body).into_owned())
                .collect();
            assert_eq!(bodies[0], "one");
            // The last step sanitizes (with the `pii` feature).
            #[cfg(feature = "pii")]
            assert!(!bodies[1].contains("ada@example.com"), "{bodies:?}");
            assert_eq!(scopes[1].log_records[0].attributes.len(), 1);
            batch.clear();
            assert_eq!(batch.len(), 0);
        }
        assert_eq!(batch.spare_records.len(), 3);
    }

    #[test]
    fn spans_encode_as_prost_encodes_them() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use warden_core::CapturedFields;

        let converter = converter();
        let resource = Resource {
            attributes: vec![KeyValue {
                key: "service.name".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue("checkout".into())),
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut batch = SpanBatch::new(resource, scope("warden-otlp"));
        for round in 0..2u64 {
            for i in 0..300u64 {
                let mut fields = CapturedFields::new();
                fields.push("customer", warden_core::FieldRef::Str("ada@example.com"));
                fields.push("n", warden_core::FieldRef::U64(i * 1_000));
                fields.push("error", warden_core::FieldRef::Bool(i % 7 == 0));
                let record = SpanRecord {
                    metadata: None,
                    trace_id: u128::from(i + 1) << 64 | 9,
                    span_id: i + 1,
                    parent_span_id: i,
                    start: warden_core::Moment::now(),
                    end: warden_core::Moment::now(),
                    fields,
                    correlation_id: Some("req-1".parse().unwrap()),
                    error_event: round == 1,
                };
                batch.push(&converter, &record, &WallAnchor::now());
            }
            let encoded = batch.encode();
            assert_eq!(encoded, batch.request.encode_to_vec());
            let decoded = ExportTraceServiceRequest::decode(&encoded[..]).unwrap();
            let spans = &decoded.resource_spans[0].scope_spans[0].spans;
            assert_eq!(spans.len(), 300);
            #[cfg(feature = "pii")]
            {
                let text = format!("{spans:?}");
                assert!(!text.contains("ada@example.com") && text.contains("[REDACTED:EMAIL]"));
            }
            assert_eq!(spans[0].parent_span_id, Vec::<u8>::new());
            assert_eq!(spans[5].span_id, 6u64.to_be_bytes());
            // Monotonic readings made wall-clock times against the batch's
            // anchor: now, to well within a second.
            let now = nanos(SystemTime::now());
            for span in spans {
                assert!(span.start_time_unix_nano <= span.end_time_unix_nano);
                assert!(now.abs_diff(span.end_time_unix_nano) < 1_000_000_000);
            }
            batch.clear();
        }
    }

    #[test]
    fn a_huge_value_is_not_kept_after_its_batch() {
        let mut batch = LogBatch::new(Resource::default());
        let mut w = batch.writer();
        w.target(Cow::Borrowed("t"));
        w.attribute("big", Clean::Str(Cow::Owned("x".repeat(10 << 20))));
        w.attribute("small", Clean::Str(Cow::Borrowed("y")));
        batch.push(w);
        batch.clear();
        assert_eq!(batch.spare.key_values.len(), 1);
        assert!(batch.spare.key_values[0].key == "small");
    }
}
