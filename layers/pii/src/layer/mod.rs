//! The `tracing-subscriber` layer: the gate.

mod memo;
mod shadow;
mod wrap;

pub use wrap::Sanitized;

use shadow::{SUMMARY_FIELDS, make_shadow};

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing_core::callsite::Identifier;
use tracing_core::dispatcher::WeakDispatch;
use tracing_core::field::{Field, FieldSet};
use tracing_core::span::{Id, Record};
use tracing_core::subscriber::NoSubscriber;
use tracing_core::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{ExtensionsMut, LookupSpan};
use warden_core::internal::TextVisitor;
use warden_core::{
    Callbacks, DebugText, ErrorChain, FieldRef, FieldValue, Opening, OwnedFields, SanitizedFields,
    SpanPart, visit_fields,
};

use crate::FieldNameKind;
use crate::sanitizer::Tally;
use crate::{RedactionCounts, Sanitizer};

/// A layer that lets no layer of the subscriber see an event with a raw
/// sensitive value.
///
/// When an event holds a sensitive value — in any field, of any type
/// (`&str`, `String`, `%Display`, `?Debug` including structs, integers
/// such as a card number logged as `u64`, `&dyn Error` and its sources) or
/// in its message — the gate stops the original event for the whole
/// subscriber (through `Layer::event_enabled`, whatever its place in the
/// stack) and dispatches a sanitized copy in its place. The copy has the
/// same metadata (level, target, callsite), the same place in the span
/// tree (contextual, explicit parent or root) and the same field types,
/// except that a replaced value becomes a string. Per-layer filters see
/// the copy exactly as they would have seen the original. A clean event is
/// passed on as it is, never copied.
///
/// Span fields cannot be withheld from other layers the same way, so:
/// - [`PiiLayer::wrap`] gives any layer (`fmt::layer()`,
///   `tracing_opentelemetry::layer()`, …) sanitized span attributes and
///   sanitized `Span::record` values;
/// - the gate leaves the sanitized values of every span it sees replaced
///   in the span's [`SanitizedFields`] extension for warden's own layers.
///
/// The text scanned is the text written. A value read through `Debug` or
/// `Display` (and the message's format arguments) runs the application's
/// code each time it is formatted, and need not say the same thing twice.
/// The gate formats each such value once, in `event_enabled` (before any
/// layer's `on_event`) and in `on_new_span`/`on_record`, and every layer
/// after it that reads fields through `warden_core::visit_fields` (warden's
/// JSON layers, OTLP, audit, metrics) gets that text. A wrapped layer
/// ([`PiiLayer::wrap`]) is handed a copy with those texts; a layer warden
/// did not write and that is not wrapped formats the values itself, so
/// wrap it if its values may change between two formattings. Literal
/// strings and numbers are never copied.
///
/// Do not put a per-layer filter on the gate itself: events it does not
/// see pass unchecked.
///
/// To make the gate optional, use [`PiiLayer::enabled`], not `Option<L>`
/// or `Vec<L>`: tracing-subscriber 0.3 does not forward
/// `on_register_dispatch` through those, so a gate inside them never
/// learns its subscriber and cannot dispatch sanitized copies. It then
/// fails closed — the event is dropped, counted in
/// [`dropped_events`](PiiLayer::dropped_events) — and says so once on
/// stderr with this fix.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_pii::PiiLayer;
///
/// let redact = std::env::var_os("NO_REDACTION").is_none();
/// let subscriber = tracing_subscriber::registry()
///     .with(PiiLayer::default().enabled(redact))
///     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
/// # drop(subscriber);
/// ```
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tracing_subscriber::prelude::*;
/// use warden_pii::PiiLayer;
///
/// #[derive(Clone, Default)]
/// struct Buffer(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Buffer {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let buf = Buffer::default();
/// let out = buf.clone();
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().json().with_writer(move || buf.clone()))
///     .with(PiiLayer::default());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::warn!(card = 4111111111111111u64, "charge for {} failed", "ada@example.com");
/// });
/// let line = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
/// assert!(line.contains(r#""message":"charge for [REDACTED:EMAIL] failed""#), "{line}");
/// assert!(line.contains(r#""card":"[REDACTED:CREDIT_CARD]""#), "{line}");
/// ```
#[derive(Debug)]
pub struct PiiLayer {
    sanitizer: Sanitizer,
    /// The subscriber this gate sits in, set when it is registered.
    dispatch: OnceLock<WeakDispatch>,
    dropped: Arc<AtomicU64>,
    /// Whether the missing-dispatcher warning was printed.
    warned: Arc<std::sync::atomic::AtomicBool>,
    summary: bool,
    active: bool,
    shadows: Arc<RwLock<HashMap<Identifier, &'static Metadata<'static>>>>,
    /// Targets besides `audit` whose events are audit events.
    audit_targets: Arc<[String]>,
    /// Whether a clean event whose `Debug` values were formatted goes on
    /// as a copy holding those texts (see `copy_formatted_events`).
    copy_formatted: bool,
}

impl Clone for PiiLayer {
    /// A gate with the same sanitizer, counters and options, for another
    /// subscriber: it learns its own subscriber when registered.
    fn clone(&self) -> Self {
        PiiLayer {
            sanitizer: self.sanitizer.clone(),
            dispatch: OnceLock::new(),
            dropped: Arc::clone(&self.dropped),
            warned: Arc::clone(&self.warned),
            summary: self.summary,
            active: self.active,
            shadows: Arc::clone(&self.shadows),
            audit_targets: Arc::clone(&self.audit_targets),
            copy_formatted: self.copy_formatted,
        }
    }
}

impl Default for PiiLayer {
    /// A gate with [`Sanitizer::default`].
    fn default() -> Self {
        PiiLayer::new(Sanitizer::default())
    }
}

impl PiiLayer {
    /// A gate that sanitizes with `sanitizer`.
    pub fn new(sanitizer: Sanitizer) -> Self {
        PiiLayer {
            sanitizer,
            dispatch: OnceLock::new(),
            dropped: Arc::new(AtomicU64::new(0)),
            warned: Arc::default(),
            summary: false,
            active: true,
            shadows: Arc::new(RwLock::new(HashMap::new())),
            audit_targets: Arc::new([]),
            copy_formatted: false,
        }
    }

    /// Adds `redaction.count` (how many values were replaced) and
    /// `redaction.kinds` (which kinds, e.g. `EMAIL,PHONE`) to every event
    /// the gate sanitizes, as the OpenTelemetry collector's redaction
    /// processor adds summary attributes. Off by default.
    ///
    /// The extra fields need a field set of their own, so a sanitized copy
    /// then goes out on a second callsite with the original's name,
    /// target, level and location (one per original callsite, made once).
    /// Clean events are unchanged.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_pii::PiiLayer;
    ///
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(PiiLayer::default().with_redaction_summary(true))
    ///     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    /// tracing::subscriber::with_default(subscriber, || {
    ///     // fmt prints: ... user="[REDACTED:EMAIL]" redaction.count=1 redaction.kinds="EMAIL"
    ///     tracing::info!(user = "ada@example.com");
    /// });
    /// ```
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_pii::PiiLayer;
    ///
    /// // Each sanitized event also carries `redaction.count` and `redaction.kinds`.
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(PiiLayer::default().with_redaction_summary(true))
    ///     .with(tracing_subscriber::fmt::layer().json().with_writer(std::io::sink));
    /// # drop(subscriber);
    /// ```
    pub fn with_redaction_summary(mut self, enabled: bool) -> Self {
        self.summary = enabled;
        self
    }

    /// Treats events with `target` as audit events, as
    /// [`AUDIT_TARGET`](warden_core::AUDIT_TARGET) is: when the gate
    /// replaces such an event, it lends the original values to the audit
    /// layer for the length of the dispatch (see
    /// [`warden_core::internal::lend_original`]), so that the trail's identity fields
    /// (user, client IP) are stored as keyed hashes rather than
    /// placeholders. Every other layer sees the sanitized copy as usual.
    /// Use it for the targets given to `AuditLayerBuilder::target`.
    ///
    /// ```
    /// use warden_pii::PiiLayer;
    ///
    /// let gate = PiiLayer::default().with_audit_target("compliance");
    /// # drop(gate);
    /// ```
    pub fn with_audit_target(mut self, target: impl Into<String>) -> Self {
        let mut targets = self.audit_targets.to_vec();
        targets.push(target.into());
        self.audit_targets = targets.into();
        self
    }

    /// Sends every event with a `Debug`/`Display` value (the message's
    /// format arguments included) on as a copy holding the texts the gate
    /// scanned, clean or not, so that a layer beside the gate that formats
    /// values itself (`fmt::layer()` not [wrapped](Self::wrap)) writes
    /// what was scanned even if a value's text changes between two
    /// formattings. Off by default: warden's layers and wrapped layers get
    /// the scanned texts without a copy, and a copy costs a second
    /// dispatch. Span fields need [`wrap`](Self::wrap) for the same.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_pii::PiiLayer;
    ///
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(PiiLayer::default().copy_formatted_events(true))
    ///     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    /// tracing::subscriber::with_default(subscriber, || tracing::info!("order {}", 17));
    /// ```
    pub fn copy_formatted_events(mut self, yes: bool) -> Self {
        self.copy_formatted = yes;
        self
    }

    /// Whether events with `target` are audit events, whose originals the
    /// gate lends to the audit layer.
    fn is_audit_target(&self, target: &str) -> bool {
        target == warden_core::AUDIT_TARGET
            || target
                .strip_prefix(warden_core::AUDIT_TARGET)
                .is_some_and(|rest| rest.starts_with("::"))
            || self.audit_targets.iter().any(|t| {
                target
                    .strip_prefix(t.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
    }

    /// The shadow metadata for `original` (see `with_redaction_summary`).
    fn shadow_of(&self, original: &'static Metadata<'static>) -> &'static Metadata<'static> {
        let id = original.callsite();
        if let Some(meta) = self
            .shadows
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return meta;
        }
        let mut shadows = self.shadows.write().unwrap_or_else(|e| e.into_inner());
        shadows.entry(id).or_insert_with(|| make_shadow(original))
    }

    /// The sanitizer this gate uses.
    pub fn sanitizer(&self) -> &Sanitizer {
        &self.sanitizer
    }

    /// How many values of each kind the gate has replaced so far (shared
    /// with every clone of its sanitizer).
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_pii::{PiiKind, PiiLayer};
    ///
    /// let gate = PiiLayer::default();
    /// let subscriber = tracing_subscriber::registry().with(gate.clone());
    /// tracing::subscriber::with_default(subscriber, || {
    ///     tracing::info!(user = "ada@example.com", "signed in");
    /// });
    /// assert_eq!(gate.redactions().get(&PiiKind::Email), 1);
    /// ```
    pub fn redactions(&self) -> RedactionCounts {
        self.sanitizer.redactions()
    }

    /// Whether the gate checks events and spans (`true`, the default). A
    /// disabled gate stays in the stack and passes everything on as it
    /// is: the way to make the gate optional (see the type's docs for why
    /// not `Option<PiiLayer>`).
    pub fn enabled(mut self, yes: bool) -> Self {
        self.active = yes;
        self
    }

    /// Counts an event the gate could not dispatch, and says why once.
    fn drop_event(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "warden-pii: an event with sensitive values was dropped: this PiiLayer never \
                 learned its subscriber. It is probably inside Option<L> or Vec<L>, which do \
                 not forward on_register_dispatch in tracing-subscriber 0.3. Add the gate \
                 directly and use PiiLayer::enabled(false) to turn it off. Drops are counted \
                 in PiiLayer::dropped_events()."
            );
        }
    }

    /// How many events the gate had to drop because it could not dispatch
    /// their sanitized copy (the subscriber was never registered as a
    /// `Dispatch`, or was already dropped). Always 0 in a normal set-up.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_pii::PiiLayer;
    ///
    /// // Inside `Option<L>` the gate never learns its subscriber: it fails closed,
    /// // counts what it drops, and says so once on stderr.
    /// let gate = PiiLayer::default();
    /// let subscriber = tracing_subscriber::registry().with(Some(gate.clone()));
    /// tracing::subscriber::with_default(subscriber, || tracing::info!(user = "ada@example.com"));
    /// assert_eq!(gate.dropped_events(), 1);
    /// ```
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Wraps `inner` so that it also sees sanitized span attributes and
    /// `Span::record` values. The wrapper is a gate itself, so it replaces
    /// this layer in the stack; `downcast_raw` is forwarded to `inner`
    /// (so `OpenTelemetrySpanExt` keeps working through it).
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_pii::PiiLayer;
    ///
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(PiiLayer::default().wrap(tracing_subscriber::fmt::layer().with_writer(std::io::sink)));
    /// tracing::subscriber::with_default(subscriber, || {
    ///     let span = tracing::info_span!("checkout", customer = "ada@example.com");
    ///     let _entered = span.enter();
    /// });
    /// ```
    pub fn wrap<L>(self, inner: L) -> Sanitized<L> {
        Sanitized { gate: self, inner }
    }

    /// How many values of `record` come before the first one that must be
    /// replaced (in visiting order), if one must; with that value's
    /// replacement when the scan that found it made it.
    #[inline]
    fn first_dirty<R: RecordFields + ?Sized>(
        &self,
        fields: &FieldSet,
        record: &R,
    ) -> Option<(usize, Option<Made>)> {
        let s = &self.sanitizer;
        memo::with_site(
            s.id(),
            fields,
            |name| s.field_name_kind(name),
            |memo| {
                let mut scan = FirstDirty {
                    gate: self,
                    memo,
                    visited: 0,
                    dirty: None,
                    made: Cell::new(None),
                };
                warden_core::internal::visit_fields_with(record, &mut scan);
                let made = scan.made.take();
                scan.dirty.map(|at| (at, made))
            },
        )
    }

    /// Whether `value` must be replaced. A text scanned is sanitized as it
    /// is scanned: if dirty, its replacement is left in `made`, so it is
    /// not scanned again (and is written as it was scanned). `text` is a
    /// `Debug` value's text, formatted in the record's rendering.
    fn value_is_dirty(
        &self,
        memo: &mut memo::FieldMemo<'_>,
        field: &Field,
        value: FieldRef<'_>,
        text: Option<&str>,
        made: &Cell<Option<Made>>,
    ) -> bool {
        if matches!(value, FieldRef::Bool(_) | FieldRef::F64(_)) {
            return false;
        }
        let s = &self.sanitizer;
        let sanitize = |text: &str| {
            let mut tally = Tally::default();
            match s.sanitize_tallied(text, &mut tally) {
                std::borrow::Cow::Borrowed(_) => false,
                std::borrow::Cow::Owned(clean) => {
                    made.set(Some(Made { clean, tally }));
                    true
                }
            }
        };
        match memo.kind(|| s.field_name_kind(field.name())) {
            FieldNameKind::Secret | FieldNameKind::Personal(_) => {
                return !matches!(value, FieldRef::Str(""));
            }
            FieldNameKind::Phone => {
                let bare = match value {
                    FieldRef::Str(text) => crate::sanitizer::is_bare_phone(text),
                    FieldRef::U64(n) => (1_000_000..=999_999_999_999_999).contains(&n),
                    FieldRef::I64(n) => (1_000_000..=999_999_999_999_999).contains(&n),
                    _ => false,
                };
                if bare {
                    return true;
                }
            }
            // Plain, and any kind a later version adds: scanned as text.
            _ => {}
        }
        if let (FieldRef::Debug(_), Some(text)) = (value, text) {
            return memo.is_dirty(text, sanitize);
        }
        match value {
            FieldRef::Str(text) => memo.is_dirty(text, sanitize),
            FieldRef::Debug(d) => warden_core::internal::with_scratch(|buf| {
                let _ = write!(buf, "{d:?}");
                memo.is_dirty(buf, sanitize)
            }),
            FieldRef::U64(n) => s.integer_is_pii(u128::from(n)),
            FieldRef::I64(n) => n >= 0 && s.integer_is_pii(n.unsigned_abs().into()),
            FieldRef::U128(n) => s.integer_is_pii(n),
            FieldRef::I128(n) => n >= 0 && s.integer_is_pii(n.unsigned_abs()),
            FieldRef::Bytes(b) => s.contains_pii(&String::from_utf8_lossy(b)),
            FieldRef::Error(e) => warden_core::error_chain(e).any(|err| {
                warden_core::internal::with_scratch(|buf| {
                    let _ = write!(buf, "{err}");
                    s.contains_pii(buf)
                })
            }),
            FieldRef::Bool(_) | FieldRef::F64(_) => false,
        }
    }

    /// The sanitized form of one value.
    fn sanitized_value(
        &self,
        name: &'static str,
        value: FieldRef<'_>,
        tally: &mut Tally,
    ) -> FieldValue {
        let s = &self.sanitizer;
        let whole = match s.field_name_kind(name) {
            FieldNameKind::Secret => Some(None),
            FieldNameKind::Personal(kind) => Some(Some(kind)),
            _ => None,
        };
        if let (Some(personal), false) =
            (whole, matches!(value, FieldRef::Bool(_) | FieldRef::F64(_)))
        {
            let text = match value {
                FieldRef::Str(t) => t.to_owned(),
                FieldRef::Error(e) => e.to_string(),
                FieldRef::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                FieldRef::Debug(d) => format!("{d:?}"),
                other => format!("{other:?}"),
            };
            let replaced = match personal {
                None => s.secret_replacement(&text, tally),
                Some(kind) => {
                    s.whole_replacement(crate::kind::Builtin::ALL[usize::from(kind)], &text, tally)
                }
            };
            return FieldValue::Str(replaced.unwrap_or(text));
        }
        if self.sanitizer.field_name_kind(name) == FieldNameKind::Phone {
            let bare = match value {
                FieldRef::Str(text) => s.bare_phone_replacement(text, tally),
                FieldRef::U64(n) => s.bare_phone_replacement(&n.to_string(), tally),
                FieldRef::I64(n) if n >= 0 => s.bare_phone_replacement(&n.to_string(), tally),
                _ => None,
            };
            if let Some(replacement) = bare {
                return FieldValue::Str(replacement);
            }
        }
        match value {
            FieldRef::Str(text) => FieldValue::Str(s.sanitize_tallied(text, tally).into_owned()),
            FieldRef::Debug(d) => {
                let text = format!("{d:?}");
                FieldValue::Debug(DebugText::from(match s.sanitize_tallied(&text, tally) {
                    std::borrow::Cow::Owned(clean) => clean,
                    std::borrow::Cow::Borrowed(_) => text,
                }))
            }
            FieldRef::U64(n) => s
                .integer_replacement(n.into(), tally)
                .map_or(FieldValue::U64(n), FieldValue::Str),
            FieldRef::I64(n) if n >= 0 => s
                .integer_replacement(n.unsigned_abs().into(), tally)
                .map_or(FieldValue::I64(n), FieldValue::Str),
            FieldRef::U128(n) => s
                .integer_replacement(n, tally)
                .map_or(FieldValue::U128(n), FieldValue::Str),
            FieldRef::I128(n) if n >= 0 => s
                .integer_replacement(n.unsigned_abs(), tally)
                .map_or(FieldValue::I128(n), FieldValue::Str),
            FieldRef::Bytes(b) => {
                let text = String::from_utf8_lossy(b);
                match s.sanitize_tallied(&text, tally) {
                    std::borrow::Cow::Owned(clean) => FieldValue::Str(clean),
                    std::borrow::Cow::Borrowed(_) => FieldValue::Bytes(b.to_vec()),
                }
            }
            FieldRef::Error(e) => FieldValue::Error(
                ErrorChain::capture(e).map_messages(|m| s.sanitize_tallied(m, tally).into_owned()),
            ),
            other => FieldValue::from_ref(other),
        }
    }

    /// A sanitized copy of `record`'s values (with `extra` empty slots
    /// after the fields) and what was replaced, or `None` if it is clean.
    #[inline]
    fn sanitized_copy<R: RecordFields + ?Sized>(
        &self,
        fields: &FieldSet,
        record: &R,
        extra: usize,
    ) -> Option<(OwnedFields, Tally)> {
        // Every layer after the gate reads the texts the gate scans.
        warden_core::internal::open_rendering(fields);
        let (first_dirty, made) = self.first_dirty(fields, record)?;
        Some(self.copy_of(fields, record, extra, first_dirty, made))
    }

    /// [`sanitized_copy`](Self::sanitized_copy) once a value must be
    /// replaced: out of line, so that the clean path (most events) stays
    /// small.
    #[cold]
    #[inline(never)]
    fn copy_of<R: RecordFields + ?Sized>(
        &self,
        fields: &FieldSet,
        record: &R,
        extra: usize,
        first_dirty: usize,
        mut made: Option<Made>,
    ) -> (OwnedFields, Tally) {
        let mut owned = OwnedFields::with_len(fields.len() + extra);
        let mut tally = Tally::default();
        let mut visited = 0;
        warden_core::internal::visit_fields_with_text(record, |field, value, text| {
            // Values visited before the first dirty one were found clean:
            // copied, not scanned again; the first dirty one was sanitized
            // when it was found.
            visited += 1;
            let value = if visited <= first_dirty {
                match text {
                    Some(text) => FieldValue::Debug(DebugText::from(text.to_owned())),
                    None => FieldValue::from_ref(value),
                }
            } else {
                match made.take() {
                    Some(made) => made.into_value(value, &mut tally),
                    None => self.sanitized_value(field.name(), value, &mut tally),
                }
            };
            owned.set(field.index(), value);
        });
        (owned, tally)
    }

    /// Dispatches a sanitized copy of `event` to the whole subscriber
    /// (with the redaction summary when `summarize`).
    fn redispatch(&self, event: &Event<'_>, mut owned: OwnedFields, tally: Tally, summarize: bool) {
        // An audit event's original values, for the audit layer's keyed
        // hashes of its identity fields.
        let mut original = self.is_audit_target(event.metadata().target()).then(|| {
            let mut values = OwnedFields::with_len(owned.len());
            visit_fields(event, |field, value| {
                values.set(field.index(), FieldValue::from_ref(value));
            });
            values
        });
        let dispatch = self.dispatch.get().and_then(WeakDispatch::upgrade);
        let meta = if summarize {
            let n = event.metadata().fields().len();
            owned.set(n, FieldValue::U64(tally.count));
            owned.set(n + 1, FieldValue::Str(self.sanitizer.kind_names(&tally)));
            self.shadow_of(event.metadata())
        } else {
            event.metadata()
        };
        // The dispatcher this layer was registered with holds it, so it is
        // never the no-op one; only a default found from here may be.
        let registered = dispatch.is_some();
        let mut send = |dispatch: &Dispatch| {
            if !registered && dispatch.is::<NoSubscriber>() {
                self.drop_event();
                return;
            }
            owned.with_value_set(meta.fields(), |values| {
                let copy = event_like(event, meta, values);
                warden_core::internal::dispatching_copy(&copy, || match original.take() {
                    Some(original) => warden_core::internal::lend_original(&copy, original, || {
                        dispatch.event(&copy)
                    }),
                    None => dispatch.event(&copy),
                });
            });
        };
        match dispatch {
            Some(d) => send(&d),
            // Only a global default can be reached from inside a dispatch.
            None => tracing_core::dispatcher::get_default(send),
        }
    }

    fn store_span_fields<S>(
        &self,
        id: &Id,
        ctx: &Context<'_, S>,
        fields: &FieldSet,
        owned: &OwnedFields,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Some(span) = ctx.span(id) else { return };
        store_sanitized(&mut span.extensions_mut(), fields, owned);
    }
}

/// The gate's visitor of a record's values: how many come before the
/// first one that must be replaced (see [`PiiLayer::first_dirty`]).
struct FirstDirty<'g, 'm, 'e> {
    gate: &'g PiiLayer,
    memo: &'m mut memo::SiteMemo<'e>,
    visited: usize,
    dirty: Option<usize>,
    made: Cell<Option<Made>>,
}

impl TextVisitor for FirstDirty<'_, '_, '_> {
    // Inlined into each typed method of the visitor, where the value's
    // type is known: most values of most events (numbers, and the texts
    // they held last time, under names that say nothing) are decided in a
    // few instructions, without a call.
    #[inline(always)]
    fn visit(&mut self, field: &Field, value: FieldRef<'_>, text: Option<&str>) {
        let i = field.index();
        if self.dirty.is_none()
            && !(self.memo.is_plain(i) && plainly_clean(self.memo, i, value, text))
        {
            self.check(field, value, text);
        }
        self.visited += 1;
    }
}

impl FirstDirty<'_, '_, '_> {
    /// The value at `self.visited`, checked in full.
    #[inline(never)]
    fn check(&mut self, field: &Field, value: FieldRef<'_>, text: Option<&str>) {
        let memo = &mut self.memo.field(field.index());
        if self
            .gate
            .value_is_dirty(memo, field, value, text, &self.made)
        {
            self.dirty = Some(self.visited);
        }
    }
}

/// Whether `value` (`text` its rendered text), of the field at `index`
/// under a name that says nothing, is clean as
/// [`PiiLayer::value_is_dirty`] would find it, by its type and size alone
/// (a boolean, a float, an integer too short for a card number) or because
/// the field held the same text last time, found clean.
#[inline]
fn plainly_clean(
    memo: &memo::SiteMemo<'_>,
    index: usize,
    value: FieldRef<'_>,
    text: Option<&str>,
) -> bool {
    const CARD_MIN: u64 = crate::detect::CARD_MIN as u64;
    match (value, text) {
        (FieldRef::Bool(_) | FieldRef::F64(_), _) => true,
        (FieldRef::U64(n), _) => n < CARD_MIN,
        (FieldRef::I64(n), _) => n < CARD_MIN as i64,
        (FieldRef::Str(text), _) | (FieldRef::Debug(_), Some(text)) => {
            memo.remembers_clean(index, text)
        }
        _ => false,
    }
}

/// A copy of `event` with `meta` and `values`, in the same place of the
/// span tree (contextual, or under the same explicit parent).
#[inline]
fn event_like<'a>(
    event: &Event<'_>,
    meta: &'static Metadata<'static>,
    values: &'a tracing_core::field::ValueSet<'a>,
) -> Event<'a> {
    if event.is_contextual() {
        Event::new(meta, values)
    } else {
        Event::new_child_of(event.parent().cloned(), meta, values)
    }
}

/// A dirty text's replacement, made by the scan that found it.
struct Made {
    clean: String,
    tally: Tally,
}

impl Made {
    /// The replacement as the sanitized form of `value` (the value it was
    /// made from), its replacements added to `tally`.
    fn into_value(self, value: FieldRef<'_>, tally: &mut Tally) -> FieldValue {
        tally.merge(self.tally);
        match value {
            FieldRef::Debug(_) => FieldValue::Debug(DebugText::from(self.clean)),
            _ => FieldValue::Str(self.clean),
        }
    }
}

/// Keeps a span's sanitized values (those of `fields` that `owned` has)
/// in its extensions, beside any it had.
fn store_sanitized(extensions: &mut ExtensionsMut<'_>, fields: &FieldSet, owned: &OwnedFields) {
    if extensions.get_mut::<SanitizedFields>().is_none() {
        extensions.insert(SanitizedFields::default());
    }
    let Some(stored) = extensions.get_mut::<SanitizedFields>() else {
        return;
    };
    for field in fields.iter() {
        if let Some(value) = owned.get(field.index()) {
            stored.set(field.name(), value.clone());
        }
    }
}

impl<S> Layer<S> for PiiLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        if !self.active {
            warden_core::internal::close_rendering();
            return true;
        }
        if warden_core::internal::is_copy(event) {
            return true;
        }
        let extra = if self.summary {
            SUMMARY_FIELDS.len()
        } else {
            0
        };
        let fields = event.metadata().fields();
        match self.sanitized_copy(fields, event, extra) {
            None if self.copy_formatted => match wrap::rendered_copy(fields, event) {
                Some(owned) => {
                    self.redispatch(event, owned, Tally::default(), false);
                    false
                }
                None => true,
            },
            None => true,
            Some((owned, tally)) => {
                self.redispatch(event, owned, tally, self.summary);
                false
            }
        }
    }

    warden_core::part_callbacks!(S: on_new_span);

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if !self.active {
            return;
        }
        let Some(meta) = ctx.metadata(id) else { return };
        if let Some((owned, _)) = self.sanitized_copy(meta.fields(), values, 0) {
            self.store_span_fields(id, &ctx, meta.fields(), &owned);
        }
    }
}

impl<S> SpanPart<S> for PiiLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// The gate: events, and new spans and span records to sanitize.
    fn callbacks(&self) -> Callbacks {
        if !self.active {
            return Callbacks::EVENT_ENABLED;
        }
        Callbacks::EVENT_ENABLED
            .and(Callbacks::RECORD)
            .and(Callbacks::OPEN)
    }

    /// Sanitizes the new span's fields into its extensions, if any is
    /// dirty.
    fn open(&self, opening: &Opening<'_, '_, S>, extensions: &mut ExtensionsMut<'_>) {
        let fields = opening.attrs.metadata().fields();
        if let Some((owned, _)) = self.sanitized_copy(fields, opening.attrs, 0) {
            store_sanitized(extensions, fields, &owned);
        }
    }
}
