//! `Json`: the event formatter.

use std::any::TypeId;
use std::fmt::{self, Write as _};

use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::{Extensions, LookupSpan, SpanRef};
use warden_core::internal::{visit_fields_with_text, with_scratch_pair};
use warden_core::{FieldRef, SanitizedFields};

use crate::callsite::Texts;
use crate::fields::{JsonFields, merge_sanitized};
use crate::names::FieldNames;
use crate::write;
use warden_core::internal as time;

/// The JSON event format: one object per line.
///
/// ```json
/// {"timestamp":"2026-11-22T09:31:07.123456Z","level":"INFO","target":"shop",
///  "message":"charged","order":42,"amount":9.5,
///  "span":{"name":"checkout","user":"[REDACTED:EMAIL]"},
///  "spans":[{"name":"request","method":"POST"},{"name":"checkout","user":"[REDACTED:EMAIL]"}],
///  "correlation_id":"0193...-..."}
/// ```
///
/// - `timestamp`: RFC 3339, UTC, microseconds. `level`, `target`,
///   `message`, then the event's fields with their types (numbers stay
///   numbers), at the top level or under `fields`
///   ([`flatten_event`](Self::flatten_event)).
/// - `span`: the name and fields of the span the event is in; `spans`: the
///   path from the root. Span fields are serialized once by [`JsonFields`]
///   when the span records them and copied from there into every line.
/// - `correlation_id`, when a `warden_correlation::CorrelationLayer` is in
///   the stack; `trace_id`/`span_id` of the OpenTelemetry span (feature
///   `opentelemetry`, with `tracing-opentelemetry` in the stack).
/// - `duration_ms` on span-close lines (`fmt::layer().with_span_events(FmtSpan::CLOSE)`).
/// - An error recorded as `&dyn Error` prints its whole `source()` chain:
///   `"outer: middle: inner"`. With [`with_backtrace`](Self::with_backtrace),
///   ERROR events carry a backtrace.
/// - Sanitized values: events reach the formatter already sanitized behind
///   a `warden_pii::PiiLayer`, and span fields the PII layer replaced (its
///   `SanitizedFields` extension) are printed in place of the raw ones.
///
/// Use it with [`JsonFields`] as the field formatter, which [`layer`](crate::layer)
/// does for you. With another field formatter the span fields are printed
/// as that formatter's text, under the span's `fields` key, and only the
/// sanitized values if the PII layer replaced any.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use tracing_subscriber::fmt;
/// use warden_json::{Json, JsonFields};
///
/// let subscriber = tracing_subscriber::registry().with(
///     fmt::layer()
///         .fmt_fields(JsonFields::default())
///         .event_format(Json::default().with_span_list(false))
///         .with_writer(std::io::sink),
/// );
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(order = 42u64, "charged");
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Json {
    pub(crate) names: FieldNames,
    timestamp: bool,
    level: bool,
    target: bool,
    flatten: bool,
    pub(crate) current_span: bool,
    pub(crate) span_list: bool,
    file: bool,
    line: bool,
    thread_names: bool,
    thread_ids: bool,
    backtrace: bool,
    #[cfg(feature = "opentelemetry")]
    pub(crate) otel_ids: bool,
}

impl Default for Json {
    /// Timestamp, level, target, message, flattened fields, the current
    /// span and the span list, correlation and trace ids when present.
    fn default() -> Self {
        Json {
            names: FieldNames::default(),
            timestamp: true,
            level: true,
            target: true,
            flatten: true,
            current_span: true,
            span_list: true,
            file: false,
            line: false,
            thread_names: false,
            thread_ids: false,
            backtrace: false,
            #[cfg(feature = "opentelemetry")]
            otel_ids: true,
        }
    }
}

impl Json {
    /// The default format.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `names` for the keys.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_json::{FieldNames, Json};
    ///
    /// let format = Json::new()
    ///     .field_names(FieldNames::camel_case())
    ///     .with_target(false)
    ///     .with_thread_names(true)
    ///     .with_file(true)
    ///     .with_line_number(true);
    /// // Or `warden_json::layer().map_event_format(|_| format)`.
    /// let layer = tracing_subscriber::fmt::layer()
    ///     .fmt_fields(warden_json::JsonFields::default())
    ///     .event_format(format)
    ///     .with_writer(std::io::sink);
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// # drop(subscriber);
    /// ```
    pub fn field_names(mut self, names: FieldNames) -> Self {
        self.names = names;
        self
    }

    /// Whether to write the timestamp (default on).
    pub fn with_timestamp(mut self, on: bool) -> Self {
        self.timestamp = on;
        self
    }

    /// Whether to write the level (default on).
    pub fn with_level(mut self, on: bool) -> Self {
        self.level = on;
        self
    }

    /// Whether to write the target (default on).
    pub fn with_target(mut self, on: bool) -> Self {
        self.target = on;
        self
    }

    /// Whether the event's fields sit at the top level (default) or in an
    /// object under `fields`. The message stays at the top level either way.
    pub fn flatten_event(mut self, on: bool) -> Self {
        self.flatten = on;
        self
    }

    /// Whether to write the current span's object (default on).
    pub fn with_current_span(mut self, on: bool) -> Self {
        self.current_span = on;
        self
    }

    /// Whether to write the list of spans from the root (default on).
    pub fn with_span_list(mut self, on: bool) -> Self {
        self.span_list = on;
        self
    }

    /// Whether to write the source file (default off).
    pub fn with_file(mut self, on: bool) -> Self {
        self.file = on;
        self
    }

    /// Whether to write the source line (default off).
    pub fn with_line_number(mut self, on: bool) -> Self {
        self.line = on;
        self
    }

    /// Whether to write the thread's name (default off).
    pub fn with_thread_names(mut self, on: bool) -> Self {
        self.thread_names = on;
        self
    }

    /// Whether to write the thread's id (default off).
    pub fn with_thread_ids(mut self, on: bool) -> Self {
        self.thread_ids = on;
        self
    }

    /// Whether ERROR events carry a backtrace of where they were logged
    /// (default off; capturing one costs tens of microseconds).
    pub fn with_backtrace(mut self, on: bool) -> Self {
        self.backtrace = on;
        self
    }

    /// Whether to write the OpenTelemetry `trace_id` and `span_id` of the
    /// event's span when `tracing-opentelemetry` is in the stack (default
    /// on). Reading them starts the OpenTelemetry span if it was not yet.
    ///
    /// They are read through the subscriber, which a formatter can reach
    /// only when it is the global default (`set_global_default`, `init()`):
    /// `tracing-core` does not hand a scoped (`with_default`) dispatcher to
    /// code running inside it, so lines under a scoped subscriber have no
    /// trace ids.
    #[cfg(feature = "opentelemetry")]
    #[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
    pub fn with_otel_ids(mut self, on: bool) -> Self {
        self.otel_ids = on;
        self
    }
}

fn level_str(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "\"TRACE\"",
        Level::DEBUG => "\"DEBUG\"",
        Level::INFO => "\"INFO\"",
        Level::WARN => "\"WARN\"",
        _ => "\"ERROR\"",
    }
}

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // An audit event the stack's log filter turned down is the audit
        // layer's alone: no line (`fmt` writes the empty buffer as nothing).
        let late = match warden_core::internal::written(event.metadata()) {
            warden_core::internal::Written::Not => return Ok(()),
            warden_core::internal::Written::Now => None,
            warden_core::internal::Written::Late(at) => Some(at),
        };
        with_scratch_pair(|line, fields| {
            self.write_event(ctx, event, line, fields, late);
            writer.write_str(line)
        })
    }
}

/// Timing fields of a span-close line, as `fmt` writes them.
#[derive(Default)]
pub(crate) struct CloseTiming {
    busy_ns: Option<f64>,
    idle_ns: Option<f64>,
}

/// An object being written: puts the comma between members.
pub(crate) struct Members<'a> {
    pub(crate) out: &'a mut String,
    first: bool,
}

impl<'a> Members<'a> {
    /// Opens the object.
    pub(crate) fn open(out: &'a mut String) -> Self {
        out.push('{');
        Members { out, first: true }
    }

    /// Members written into `out` without the brace (to be copied into an
    /// object later).
    pub(crate) fn continued(out: &'a mut String) -> Self {
        Members { out, first: true }
    }

    /// Starts a member: the comma if one came before, then the quoted key
    /// and colon.
    pub(crate) fn key(&mut self, quoted: &str) -> &mut String {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        self.out.push_str(quoted);
        self.out
    }

    /// Appends a whole member written before (`"key":value`).
    pub(crate) fn member(&mut self, member: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        self.out.push_str(member);
    }
}

impl Json {
    fn write_event<S, N>(
        &self,
        ctx: &FmtContext<'_, S, N>,
        event: &Event<'_>,
        out: &mut String,
        fields: &mut String,
        late: Option<std::time::Duration>,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'w> FormatFields<'w> + 'static,
    {
        let mut line = Members::open(out);
        let timing = self.write_head(&mut line, event, fields, None, late);
        if let Some(leaf) = ctx.parent_span() {
            self.write_spans::<S, N>(&mut line, &leaf, fields);
        }
        self.write_tail(&mut line, event, timing);
    }

    /// The level and target members, as this format writes them.
    pub(crate) fn write_level_target(&self, line: &mut Members<'_>, meta: &Metadata<'_>) {
        let names = &self.names;
        if self.level {
            line.key(names.level.quoted())
                .push_str(level_str(meta.level()));
        }
        if self.target {
            write::string(line.key(names.target.quoted()), meta.target());
        }
    }

    /// The members before the spans: timestamp, level, target, message and
    /// fields, source location and thread; the level, target and field
    /// keys copied from `texts` when given (the call site's, written once).
    pub(crate) fn write_head(
        &self,
        line: &mut Members<'_>,
        event: &Event<'_>,
        fields: &mut String,
        texts: Option<&Texts>,
        late: Option<std::time::Duration>,
    ) -> CloseTiming {
        // A `log` record bridged by `tracing-log` has the call site of its
        // level; its own target, module, file and line are in its fields.
        // (The target is looked at first: most events are not `log`
        // records, and `normalized_metadata` looks up the bridge's call
        // sites for every event it is asked about.)
        let original = event.metadata();
        let normalized;
        let (meta, from_log) = if matches!(original.target().as_bytes(), [b'l', b'o', b'g']) {
            normalized = event.normalized_metadata();
            match &normalized {
                Some(normalized) => (normalized, true),
                None => (original, false),
            }
        } else {
            (original, false)
        };
        let names = &self.names;
        // A request's held line written late has its own time, and says so.
        if self.timestamp {
            let out = line.key(names.timestamp.quoted());
            out.push('"');
            let at = late.unwrap_or_else(warden_core::internal::wall_now_since_epoch);
            time::rfc3339_micros_since_epoch(out, at);
            out.push('"');
        }
        match texts {
            Some(texts) if !from_log && !texts.head.is_empty() => line.member(&texts.head),
            Some(_) if !from_log => {}
            _ => self.write_level_target(line, meta),
        }

        let is_span_event = meta.is_span();
        // One test per field for the common event, whatever is special.
        let special = is_span_event || from_log;
        let mut timing = CloseTiming::default();
        visit_fields_with_text(event, |field, value, text| {
            let name = field.name();
            if name == "message" {
                write::value_or_text(line.key(names.message.quoted()), value, text);
                return;
            }
            if special {
                if from_log && name.starts_with("log.") {
                    return;
                }
                if let (n @ ("time.busy" | "time.idle"), FieldRef::Debug(d)) = (name, value) {
                    let nanos = parse_timing(&format!("{d:?}"));
                    match n {
                        "time.busy" => timing.busy_ns = nanos,
                        _ => timing.idle_ns = nanos,
                    }
                }
            }
            if !fields.is_empty() {
                fields.push(',');
            }
            match texts.and_then(|t| t.key(field.index())) {
                Some(key) => fields.push_str(key),
                None => write::key(fields, name),
            }
            write::value_or_text(fields, value, text);
        });
        if !fields.is_empty() {
            if self.flatten {
                let out = line.key("");
                out.push_str(fields);
            } else {
                let out = line.key(names.fields.quoted());
                out.push('{');
                out.push_str(fields);
                out.push('}');
            }
        }
        if late.is_some() {
            line.key("\"buffered\":").push_str("true");
        }
        if self.file {
            if let Some(file) = meta.file() {
                write::string(line.key(names.file.quoted()), file);
            }
        }
        if self.line {
            if let Some(number) = meta.line() {
                line.key(names.line.quoted())
                    .push_str(itoa::Buffer::new().format(number));
            }
        }
        if self.thread_names {
            if let Some(name) = std::thread::current().name() {
                write::string(line.key(names.thread_name.quoted()), name);
            }
        }
        if self.thread_ids {
            write::debug_string(
                line.key(names.thread_id.quoted()),
                &std::thread::current().id(),
            );
        }
        timing
    }

    /// `span`, `spans` and the correlation and trace ids, from the spans'
    /// fields as `fmt`'s layer stored them.
    fn write_spans<S, N>(&self, line: &mut Members<'_>, leaf: &SpanRef<'_, S>, fields: &mut String)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'w> FormatFields<'w> + 'static,
    {
        let names = &self.names;
        #[cfg(feature = "opentelemetry")]
        let otel = if self.otel_ids {
            otel_ids(&leaf.id())
        } else {
            None
        };
        // The leaf's extensions are read once, for its object, its place
        // in the list and its correlation ID; its object is written once
        // and copied.
        let leaf_extensions = leaf.extensions();
        let mut leaf_object = None;
        if self.current_span {
            let out = line.key(names.span.quoted());
            let start = out.len();
            self.span_object::<S, N>(out, leaf, &leaf_extensions);
            leaf_object = Some(start..out.len());
        }
        if self.span_list {
            let out = line.key(names.spans.quoted());
            out.push('[');
            let leaf_id = leaf.id();
            for (i, span) in leaf.scope().from_root().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if span.id() != leaf_id {
                    let extensions = span.extensions();
                    self.span_object::<S, N>(out, &span, &extensions);
                } else if let Some(range) = leaf_object.clone() {
                    fields.clear();
                    fields.push_str(&out[range]);
                    out.push_str(fields);
                } else {
                    self.span_object::<S, N>(out, &span, &leaf_extensions);
                }
            }
            out.push(']');
        }
        #[cfg(not(feature = "opentelemetry"))]
        let otel = None;
        self.write_ids(line, &leaf_extensions, otel);
    }

    /// The event span's correlation ID (from its extensions) and
    /// OpenTelemetry trace and span ids.
    pub(crate) fn write_ids(
        &self,
        line: &mut Members<'_>,
        extensions: &Extensions<'_>,
        otel: Option<(u128, u64)>,
    ) {
        if let Some(id) = warden_core::correlation_id_in(extensions) {
            self.write_correlation_id(line.key(self.names.correlation_id.quoted()), id);
        }
        self.write_otel_ids(line, otel);
    }

    /// Appends a correlation ID's value (the member's key written).
    pub(crate) fn write_correlation_id(&self, out: &mut String, id: &warden_core::CorrelationId) {
        id.with_str(|text| write::string(out, text));
    }

    /// Appends the OpenTelemetry trace and span ids, if given.
    pub(crate) fn write_otel_ids(&self, line: &mut Members<'_>, otel: Option<(u128, u64)>) {
        if let Some((trace_id, span_id)) = otel {
            let _ = write!(
                line.key(self.names.trace_id.quoted()),
                "\"{trace_id:032x}\""
            );
            let _ = write!(line.key(self.names.span_id.quoted()), "\"{span_id:016x}\"");
        }
    }

    /// The members after the spans (a span-close line's duration, an
    /// ERROR event's backtrace), and the end of the line.
    pub(crate) fn write_tail(
        &self,
        line: &mut Members<'_>,
        event: &Event<'_>,
        timing: CloseTiming,
    ) {
        let names = &self.names;
        if let (Some(busy), Some(idle)) = (timing.busy_ns, timing.idle_ns) {
            let _ = write!(
                line.key(names.duration_ms.quoted()),
                "{:?}",
                ((busy + idle) / 1e3).round() / 1e3
            );
        }
        if self.backtrace && *event.metadata().level() == Level::ERROR {
            let out = line.key(names.backtrace.quoted());
            let backtrace = std::backtrace::Backtrace::force_capture();
            out.push('"');
            let _ = write!(write::Escaping(out), "{backtrace}");
            out.push('"');
        }
        line.out.push_str("}\n");
    }

    /// Appends `{"name":…, <fields>}` for one span.
    fn span_object<S, N>(
        &self,
        out: &mut String,
        span: &SpanRef<'_, S>,
        extensions: &Extensions<'_>,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'w> FormatFields<'w> + 'static,
    {
        out.push('{');
        out.push_str(self.names.span_name.quoted());
        write::string(out, span.name());
        let sanitized = extensions.get::<SanitizedFields>();
        match (stored_members::<N>(extensions), sanitized) {
            (Stored::Members(members), None) => {
                if !members.is_empty() {
                    out.push(',');
                    out.push_str(members);
                }
            }
            (Stored::Members(members), Some(sanitized)) => {
                let mut merged = members.to_owned();
                merge_sanitized(&mut merged, sanitized);
                if !merged.is_empty() {
                    out.push(',');
                    out.push_str(&merged);
                }
            }
            (Stored::Text(text), None) => {
                if !text.is_empty() {
                    out.push(',');
                    out.push_str(self.names.fields.quoted());
                    out.push('"');
                    for part in without_ansi(text) {
                        write::escape_into(out, part);
                    }
                    out.push('"');
                }
            }
            (Stored::Text(_) | Stored::Nothing, Some(sanitized)) => {
                for (name, value) in sanitized.iter() {
                    out.push(',');
                    write::key(out, name);
                    write::owned_value(out, value);
                }
            }
            (Stored::Nothing, None) => {}
        }
        out.push('}');
    }
}

/// A span's fields as the `fmt` layer stored them.
enum Stored<'a> {
    /// JSON object members (from [`JsonFields`] or `fmt`'s own JSON fields).
    Members(&'a str),
    /// Another field formatter's text.
    Text(&'a str),
    Nothing,
}

fn stored_members<'a, N: 'static>(extensions: &'a Extensions<'_>) -> Stored<'a> {
    let Some(stored) = extensions.get::<FormattedFields<N>>() else {
        return Stored::Nothing;
    };
    let text = stored.fields.as_str();
    if TypeId::of::<N>() == TypeId::of::<JsonFields>() {
        Stored::Members(text)
    } else if TypeId::of::<N>() == TypeId::of::<tracing_subscriber::fmt::format::JsonFields>() {
        let inner = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text);
        Stored::Members(inner)
    } else {
        Stored::Text(text)
    }
}

/// The pieces of `text` between ANSI escape sequences (`ESC [ … letter`),
/// as `fmt`'s default field formatter colours them for a terminal.
fn without_ansi(text: &str) -> impl Iterator<Item = &str> {
    text.split('\u{1b}').enumerate().map(|(i, piece)| {
        if i == 0 {
            return piece;
        }
        match piece.strip_prefix('[') {
            Some(rest) => rest
                .find(|c: char| c.is_ascii_alphabetic())
                .map_or("", |end| &rest[end + 1..]),
            None => piece,
        }
    })
}

/// Nanoseconds from `fmt`'s span timing text: a number and a unit among
/// `ns`, `µs`, `ms`, `s` (three significant digits).
fn parse_timing(text: &str) -> Option<f64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "ns" => 1.0,
        "µs" | "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    Some(number * scale)
}

#[cfg(feature = "opentelemetry")]
pub(crate) fn otel_ids(id: &tracing_core::span::Id) -> Option<(u128, u64)> {
    use opentelemetry::trace::TraceContextExt;
    tracing_core::dispatcher::get_default(|dispatch| {
        let cx = tracing_opentelemetry::get_otel_context(id, dispatch)?;
        let span = cx.span();
        let context = span.span_context();
        context.is_valid().then(|| {
            (
                u128::from_be_bytes(context.trace_id().to_bytes()),
                u64::from_be_bytes(context.span_id().to_bytes()),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_parse_in_every_unit() {
        assert_eq!(parse_timing("512ns"), Some(512.0));
        assert_eq!(parse_timing("1.25µs"), Some(1250.0));
        assert_eq!(parse_timing("10.5ms"), Some(10_500_000.0));
        assert_eq!(parse_timing("3.00s"), Some(3e9));
        assert_eq!(parse_timing("fast"), None);
        assert_eq!(parse_timing("12parsecs"), None);
    }
}
