//! `JsonLayer`: the JSON lines as a layer of their own, each span written
//! once when it opens and copied into every line inside it.

use std::io::{Stdout, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing_core::span::{Id, Record};
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, ExtensionsMut, LookupSpan, SpanRef};
use warden_core::internal::visit_fields_with_text;
use warden_core::internal::{LocalPool, Pool, Written, next_owner, with_scratch_pair};
use warden_core::{Callbacks, CorrelationId, Opening, SanitizedFields, SpanPart, WardenSpan};

use crate::Json;
use crate::callsite::{self, Texts};
use crate::fields::{NameCollector, merge_sanitized, remove_member};
use crate::format::Members;
use crate::write;

/// Span records seen by every `JsonLayer` of the process: a span's list
/// of spans written before the latest record may hold an old value.
static RECORDS: AtomicU64 = AtomicU64::new(0);

/// Told once: a line that could not be written.
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// A span written once, when it opens or records a field, for each event
/// line inside it to copy instead of writing it again: this layer's state
/// for a span, in its slot of the span's [`WardenSpan`] record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SpanText {
    /// Which layer wrote it (two formatters with different settings may
    /// share a stack).
    owner: u64,
    /// The span alone: its name and fields, as the formatter writes one.
    object: String,
    /// Where the name ends in `object` (its fields, if any, follow after a
    /// comma), for a later record to rewrite them.
    fields_start: usize,
    /// Every span from the root to this one, as the formatter lists them.
    path: String,
    /// The count of span records ([`RECORDS`]) when `path` was written: a
    /// record to an ancestor since then makes `path` stale.
    path_records: u64,
    /// [`SanitizedFields::changes`] when `object` was written (0 when the
    /// span had none).
    sanitized_changes: u64,
    /// The span's correlation ID as the formatter writes it (a whole
    /// member, `"correlation_id":"…"`), empty if it had none.
    ids: String,
    /// [`WardenSpan::correlation_changes`] when `ids` was written: a line
    /// of a span whose ID has changed since writes it again.
    ids_changes: u32,
}

thread_local! {
    /// Spans' texts kept for reuse, so that a span's strings (and the box
    /// its slot holds) are not allocated anew, and grown, for each span.
    static TEXTS: Pool<Box<SpanText>, 64> = const { Pool::new() };
}

fn pooled_text() -> Box<SpanText> {
    TEXTS.take_one().unwrap_or_default()
}

fn recycle(mut text: Box<SpanText>) {
    if text.object.capacity() > 4096 || text.path.capacity() > 16 * 1024 {
        return;
    }
    text.object.clear();
    text.path.clear();
    text.ids.clear();
    TEXTS.give_back(text);
}

/// Texts of layers other than the first one in a stack (two `JsonLayer`s
/// with different formats): each keeps its own here.
#[derive(Default)]
// Boxed: a text moves between the record's slot, this list and the pool.
#[allow(clippy::vec_box)]
struct OtherTexts(Vec<Box<SpanText>>);

/// [`Json`] lines as a layer of its own, not inside `fmt`'s layer: one
/// JSON object per event, with the same keys and options.
///
/// A span's object (its name and fields, the PII layer's sanitized values
/// in place of the raw ones) and the list of spans from the root to it are
/// written once, when the span opens or records a field, and kept in
/// warden's shared span record ([`WardenSpan`]); each event inside the span
/// copies them. That is what makes it cheaper than [`layer`](crate::layer),
/// which reads every span of the scope again for every line.
///
/// It writes event lines only; for span-close lines (with `duration_ms`)
/// use [`layer`](crate::layer) with `fmt`'s span events.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_json::{Json, JsonLayer};
///
/// let layer = JsonLayer::new()
///     .format(Json::new().with_target(false))
///     .with_writer(std::io::sink);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("checkout", order = 42u64);
///     let _entered = span.enter();
///     tracing::info!(amount = 9.5, "charged");
/// });
/// ```
#[derive(Debug)]
pub struct JsonLayer<W = fn() -> Stdout> {
    format: Json,
    make_writer: W,
    owner: u64,
}

impl Default for JsonLayer {
    /// The default [`Json`] format, written to stdout.
    fn default() -> Self {
        JsonLayer {
            format: Json::default(),
            make_writer: std::io::stdout,
            owner: next_owner(),
        }
    }
}

impl JsonLayer {
    /// The default [`Json`] format, written to stdout.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<W> JsonLayer<W> {
    /// Writes lines through `make_writer` (any `fmt` writer: a file,
    /// `tracing-appender`'s non-blocking writer, `std::io::sink`).
    pub fn with_writer<W2>(self, make_writer: W2) -> JsonLayer<W2>
    where
        W2: for<'w> MakeWriter<'w> + 'static,
    {
        JsonLayer {
            format: self.format,
            make_writer,
            owner: self.owner,
        }
    }

    /// Uses `format` for the lines.
    pub fn format(mut self, format: Json) -> Self {
        self.format = format;
        self
    }

    /// Changes the format: `.map_format(|json| json.with_span_list(false))`.
    pub fn map_format(mut self, f: impl FnOnce(Json) -> Json) -> Self {
        self.format = f(self.format);
        self
    }

    /// This layer's text of a span, if it wrote one.
    #[inline]
    fn text_in<'a>(&self, extensions: &'a Extensions<'_>) -> Option<&'a SpanText> {
        self.text_of(WardenSpan::of(extensions), extensions)
    }

    /// This layer's text of a span whose record (`WardenSpan::of`) was
    /// already looked up.
    #[inline(always)]
    fn text_of<'a>(
        &self,
        record: Option<&'a WardenSpan>,
        extensions: &'a Extensions<'_>,
    ) -> Option<&'a SpanText> {
        match record.and_then(WardenSpan::slot::<SpanText>) {
            Some(text) if text.owner == self.owner => Some(text),
            _ => extensions
                .get::<OtherTexts>()?
                .0
                .iter()
                .map(|t| &**t)
                .find(|t| t.owner == self.owner),
        }
    }

    /// Appends the span's object: its text, with the sanitized values of
    /// fields the PII layer replaced after it was written; or only its name
    /// if this layer has no text of it.
    fn write_object(&self, out: &mut String, name: &str, extensions: &Extensions<'_>) {
        let sanitized = extensions.get::<SanitizedFields>();
        self.write_object_from(out, name, self.text_in(extensions), sanitized);
    }

    /// [`write_object`](Self::write_object) from the span's text and
    /// sanitized values, already looked up.
    fn write_object_from(
        &self,
        out: &mut String,
        name: &str,
        text: Option<&SpanText>,
        sanitized: Option<&SanitizedFields>,
    ) {
        match text {
            Some(text) if is_fresh(text, sanitized) => out.push_str(&text.object),
            Some(text) => {
                let mut members = members_of(text).to_owned();
                if let Some(sanitized) = sanitized {
                    merge_sanitized(&mut members, sanitized);
                }
                out.push_str(&text.object[..text.fields_start]);
                if !members.is_empty() {
                    out.push(',');
                    out.push_str(&members);
                }
                out.push('}');
            }
            None => {
                out.push('{');
                out.push_str(self.format.names.span_name.quoted());
                write::string(out, name);
                out.push('}');
            }
        }
    }

    /// Appends the objects of `span`'s scope from the root, comma-separated;
    /// `span`'s own from `locked`, its extensions when the caller holds them
    /// (they are not locked again).
    fn write_path<S>(
        &self,
        out: &mut String,
        span: &SpanRef<'_, S>,
        locked: Option<&Extensions<'_>>,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let id = span.id();
        for (i, each) in span.scope().from_root().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match locked.filter(|_| each.id() == id) {
                Some(locked) => self.write_object(out, each.name(), locked),
                None => self.write_object(out, each.name(), &each.extensions()),
            }
        }
    }

    /// Writes the span's object and path into `text`, from its parent and
    /// its own sanitized values (read from its extensions by the caller).
    fn render<S>(
        &self,
        text: &mut SpanText,
        metadata: &'static Metadata<'static>,
        parent: Option<(&SpanRef<'_, S>, &Extensions<'_>)>,
        sanitized: Option<&SanitizedFields>,
        correlation: Option<(&CorrelationId, u32)>,
        fields: &dyn RecordFieldsDyn,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let name = metadata.name();
        let records = RECORDS.load(Ordering::Acquire);
        text.owner = self.owner;
        text.ids.clear();
        text.path.clear();
        // The parent's list, copied if it is current; else written again
        // from each span's object. Its correlation ID's member too, when
        // the span has the same ID (as a child inherits it).
        if let Some((parent, extensions)) = parent {
            if let Some((id, changes)) = correlation {
                let record = WardenSpan::of(extensions);
                match (record, self.text_of(record, extensions)) {
                    (Some(record), Some(p))
                        if record.correlation_id() == Some(id)
                            && p.ids_changes == record.correlation_changes()
                            && !p.ids.is_empty() =>
                    {
                        text.ids.push_str(&p.ids);
                        text.ids_changes = changes;
                    }
                    _ => {}
                }
            }
            match self.text_in(extensions) {
                Some(p)
                    if p.path_records == records
                        && is_fresh(p, extensions.get::<SanitizedFields>()) =>
                {
                    text.path.push_str(&p.path);
                }
                _ => self.write_path(&mut text.path, parent, Some(extensions)),
            }
            text.path.push(',');
        }
        if let Some((id, changes)) = correlation.filter(|_| text.ids.is_empty()) {
            let mut member = Members::continued(&mut text.ids);
            let out = member.key(self.format.names.correlation_id.quoted());
            self.format.write_correlation_id(out, id);
            text.ids_changes = changes;
        }
        let object = &mut text.object;
        object.push('{');
        object.push_str(self.format.names.span_name.quoted());
        write::string(object, name);
        text.fields_start = object.len();
        callsite::with_texts(
            self.owner,
            metadata,
            |_| {},
            |texts| {
                fields.members(object, sanitized, texts);
            },
        );
        object.push('}');
        text.sanitized_changes = sanitized.map_or(0, SanitizedFields::changes);
        text.path.push_str(&text.object);
        text.path_records = records;
    }

    /// Keeps `text` in the span's extensions (recycling the one it
    /// replaces).
    fn store(&self, extensions: &mut ExtensionsMut<'_>, text: Box<SpanText>) {
        let Some(record) = WardenSpan::of_mut(extensions) else {
            return;
        };
        // The record's slot, unless another JSON layer's text is there: then
        // this one's is kept among the others.
        let mine = match record.put_slot_unless(text, |old| old.owner != self.owner) {
            Ok(replaced) => return replaced.into_iter().for_each(recycle),
            Err(mine) => mine,
        };
        let others = match extensions.get_mut::<OtherTexts>() {
            Some(others) => others,
            None => {
                extensions.insert(OtherTexts::default());
                let Some(others) = extensions.get_mut::<OtherTexts>() else {
                    return;
                };
                others
            }
        };
        others.0.retain(|t| t.owner != self.owner);
        others.0.push(mine);
    }
}

/// Whether `text` was written with the span's current sanitized values.
fn is_fresh(text: &SpanText, sanitized: Option<&SanitizedFields>) -> bool {
    sanitized.map_or(0, SanitizedFields::changes) == text.sanitized_changes
}

/// The members of a span's object: `"a":1,"b":"x"`, without braces.
fn members_of(text: &SpanText) -> &str {
    let end = text.object.len().saturating_sub(1);
    text.object
        .get(text.fields_start..end)
        .map_or("", |m| m.strip_prefix(',').unwrap_or(m))
}

/// The fields a span opened with or recorded, written as members.
trait RecordFieldsDyn {
    /// Appends `,"name":value` for each field, the sanitized value where
    /// `sanitized` has one.
    fn members(&self, out: &mut String, sanitized: Option<&SanitizedFields>, texts: Option<&Texts>);
}

impl<R: RecordFields> RecordFieldsDyn for R {
    fn members(
        &self,
        out: &mut String,
        sanitized: Option<&SanitizedFields>,
        texts: Option<&Texts>,
    ) {
        visit_fields_with_text(self, |field, value, text| {
            out.push(',');
            match texts.and_then(|t| t.key(field.index())) {
                Some(key) => out.push_str(key),
                None => write::key(out, field.name()),
            }
            match sanitized.and_then(|s| s.get(field.name())) {
                Some(clean) => write::owned_value(out, clean),
                None => write::value_or_text(out, value, text),
            }
        });
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    warden_core::part_callbacks!(S: on_new_span, on_close, on_event);

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        RECORDS.fetch_add(1, Ordering::AcqRel);
        let Some(span) = ctx.span(id) else { return };
        let mut text = pooled_text();
        {
            let extensions = span.extensions();
            let Some(old) = self.text_in(&extensions) else {
                return;
            };
            // The earlier members, without those recorded again, then the
            // new values (`render` writes the object's head).
            let mut names = Vec::new();
            values.record(&mut NameCollector(&mut names));
            let mut kept = members_of(old).to_owned();
            for name in names {
                remove_member(&mut kept, name);
            }
            let earlier = Earlier {
                kept: &kept,
                values,
            };
            let parent = span.parent();
            let parent_extensions = parent.as_ref().map(SpanRef::extensions);
            let sanitized = extensions.get::<SanitizedFields>();
            let correlation = WardenSpan::of(&extensions)
                .and_then(|w| Some((w.correlation_id()?, w.correlation_changes())));
            self.render(
                &mut text,
                span.metadata(),
                parent.as_ref().zip(parent_extensions.as_ref()),
                sanitized,
                correlation,
                &earlier,
            );
        }
        self.store(&mut span.extensions_mut(), text);
    }
}

impl<W> JsonLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// Writes an event's line, inside `span` if it has one.
    fn write_line<S>(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let format = &self.format;
        let meta = event.metadata();
        // An audit event the stack's log filter turned down is the audit
        // layer's alone; a request's held line written late has its time.
        let late = match warden_core::internal::written(meta) {
            Written::Not => return,
            Written::Now => None,
            Written::Late(at) => Some(at),
        };
        let head =
            |head: &mut String| format.write_level_target(&mut Members::continued(head), meta);
        callsite::with_texts(self.owner, meta, head, |texts| {
            with_scratch_pair(|out, scratch| {
                let mut line = Members::open(out);
                let timing = format.write_head(&mut line, event, scratch, texts, late);
                if let Some(leaf) = span {
                    self.write_spans(&mut line, leaf);
                }
                format.write_tail(&mut line, event, timing);
                let mut writer = self.make_writer.make_writer_for(meta);
                if let Err(e) = writer.write_all(out.as_bytes()) {
                    if !WRITE_FAILED.swap(true, Ordering::Relaxed) {
                        eprintln!(
                            "[warden-json] a JSON line could not be written ({e}); later failures are not reported"
                        );
                    }
                }
            })
        });
    }
}

impl<S, W> SpanPart<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn callbacks(&self) -> Callbacks {
        Callbacks::EVENT
            .and(Callbacks::RECORD)
            .and(Callbacks::OPEN)
            .and(Callbacks::PARENT)
            .and(Callbacks::CLOSE)
    }

    /// Writes the new span's text and keeps it in its extensions.
    fn open(&self, opening: &Opening<'_, '_, S>, extensions: &mut ExtensionsMut<'_>) {
        let mut text = pooled_text();
        // (`ExtensionsMut` reads only through `get_mut`: the ID is copied
        // out, for the sanitized values' borrow.)
        let correlation = extensions
            .get_mut::<WardenSpan>()
            .and_then(|r| Some((r.correlation_id()?.clone(), r.correlation_changes())));
        let sanitized = extensions.get_mut::<SanitizedFields>().map(|s| &*s);
        let correlation = correlation.as_ref().map(|(id, changes)| (id, *changes));
        self.render(
            &mut text,
            opening.span.metadata(),
            opening.parent,
            sanitized,
            correlation,
            opening.attrs,
        );
        self.store(extensions, text);
    }

    /// Recycles the closing span's text.
    fn close(&self, _span: &SpanRef<'_, S>, extensions: &mut ExtensionsMut<'_>) {
        if let Some(record) = extensions.get_mut::<WardenSpan>() {
            if record
                .slot::<SpanText>()
                .is_some_and(|t| t.owner == self.owner)
            {
                if let Some(text) = record.take_slot::<SpanText>() {
                    recycle(text);
                }
            }
        }
    }

    fn event(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>, _ctx: Context<'_, S>) {
        self.write_line(event, span);
    }
}

impl<W> JsonLayer<W> {
    /// `span`, `spans` and the correlation and trace ids of the event's span.
    fn write_spans<S>(&self, line: &mut Members<'_>, leaf: &SpanRef<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let format = &self.format;
        let names = &format.names;
        #[cfg(feature = "opentelemetry")]
        let otel = if format.otel_ids {
            crate::format::otel_ids(&leaf.id())
        } else {
            None
        };
        let extensions = leaf.extensions();
        let record = WardenSpan::of(&extensions);
        let text = self.text_of(record, &extensions);
        let sanitized = extensions.get::<SanitizedFields>();
        if format.current_span {
            let out = line.key(names.span.quoted());
            self.write_object_from(out, leaf.name(), text, sanitized);
        }
        if format.span_list {
            let out = line.key(names.spans.quoted());
            out.push('[');
            match text {
                Some(text)
                    if text.path_records == RECORDS.load(Ordering::Acquire)
                        && is_fresh(text, sanitized) =>
                {
                    out.push_str(&text.path);
                }
                _ => {
                    if let Some(parent) = leaf.parent() {
                        self.write_path(out, &parent, None);
                        out.push(',');
                    }
                    self.write_object_from(out, leaf.name(), text, sanitized);
                }
            }
            out.push(']');
        }
        // The correlation ID as written with the span's text, unless it
        // has changed since (or another layer left a bare one).
        match record.and_then(|r| Some((r.correlation_id()?, r.correlation_changes()))) {
            Some((_, changes))
                if text.is_some_and(|t| !t.ids.is_empty() && t.ids_changes == changes) =>
            {
                line.member(text.map_or("", |t| t.ids.as_str()));
            }
            Some((id, _)) => {
                format.write_correlation_id(line.key(names.correlation_id.quoted()), id);
            }
            None => {
                if let Some(id) = extensions.get::<CorrelationId>() {
                    format.write_correlation_id(line.key(names.correlation_id.quoted()), id);
                }
            }
        }
        #[cfg(not(feature = "opentelemetry"))]
        let otel = None;
        format.write_otel_ids(line, otel);
    }
}

/// A recorded span's members: those kept from before, then the new values.
struct Earlier<'a, 'r> {
    kept: &'a str,
    values: &'a Record<'r>,
}

impl RecordFieldsDyn for Earlier<'_, '_> {
    fn members(
        &self,
        out: &mut String,
        sanitized: Option<&SanitizedFields>,
        texts: Option<&Texts>,
    ) {
        if !self.kept.is_empty() {
            out.push(',');
            out.push_str(self.kept);
        }
        self.values.members(out, sanitized, texts);
    }
}
