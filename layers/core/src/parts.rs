//! Several of warden's layers as one, so that each span is looked up and
//! locked once when it opens and once when it closes, not once per layer;
//! and the adapter that makes one part a layer of its own.
//!
//! Each layer writes its span logic once, as a [`SpanPart`]. As a layer of
//! its own, its `Layer` callbacks are the adapter's
//! ([`part_callbacks!`](crate::part_callbacks)): [`open_alone`],
//! [`close_alone`] and [`event_alone`] look the span up and lock it for
//! that one part. Inside [`SpanParts`], the same part methods run under one
//! look-up for every part.

use std::any::TypeId;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, ExtensionsMut, LookupSpan, SpanRef};

use crate::CorrelationId;

/// A span opening, as a [`SpanPart`] sees it: its attributes, the span
/// (already looked up), and its parent with the parent's extensions
/// locked for reading (when a part asked for it with
/// [`Callbacks::PARENT`]).
pub struct Opening<'a, 'r, S>
where
    S: for<'l> LookupSpan<'l>,
{
    /// The new span's attributes.
    pub attrs: &'a Attributes<'a>,
    /// The new span.
    pub span: &'a SpanRef<'r, S>,
    /// Its parent and the parent's extensions, if it has a parent and a
    /// part asked for it ([`Callbacks::PARENT`]).
    pub parent: Option<(&'a SpanRef<'r, S>, &'a Extensions<'a>)>,
    /// What this part read of the span before it was locked
    /// ([`SpanPart::early_id`]), if it asked to ([`Callbacks::EARLY_ID`]).
    pub early: Option<CorrelationId>,
}

impl<S> fmt::Debug for Opening<'_, '_, S>
where
    S: for<'l> LookupSpan<'l>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening")
            .field("span", &self.span.name())
            .field("parent", &self.parent.map(|(p, _)| p.name()))
            .field("early", &self.early)
            .finish()
    }
}

/// A new span before it is looked up and locked, for
/// [`SpanPart::early_id`].
#[derive(Debug)]
pub struct Unlocked<'a, S> {
    /// The new span's attributes.
    pub attrs: &'a Attributes<'a>,
    /// Its id.
    pub id: &'a Id,
    /// The layer context, to look it (or the current span) up with.
    pub ctx: &'a Context<'a, S>,
}

/// A layer's work on a span when it opens and when it closes, done on a
/// span already looked up and locked: the one place a layer writes its span
/// logic. [`SpanParts`] runs several parts under one look-up; the adapter
/// ([`part_callbacks!`](crate::part_callbacks)) makes one part a layer of
/// its own.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use tracing_subscriber::registry::{ExtensionsMut, LookupSpan};
/// use warden_core::{Callbacks, Opening, SpanPart, WardenSpan};
///
/// /// Counts the spans it saw open.
/// #[derive(Default)]
/// struct Opened(std::sync::atomic::AtomicUsize);
///
/// impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Opened {
///     warden_core::part_callbacks!(S: on_new_span);
/// }
///
/// impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> SpanPart<S> for Opened {
///     fn open(&self, _: &Opening<'_, '_, S>, extensions: &mut ExtensionsMut<'_>) {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         WardenSpan::of_mut(extensions);
///     }
///
///     fn callbacks(&self) -> Callbacks {
///         Callbacks::OPEN
///     }
/// }
///
/// // Alone, or two of them as one layer.
/// let alone = Opened::default();
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(alone), || {
///     let _request = tracing::info_span!("request").entered();
/// });
/// let parts = warden_core::SpanParts::new().with(Opened::default()).with(Opened::default());
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(parts), || {
///     let _request = tracing::info_span!("request").entered();
/// });
/// ```
pub trait SpanPart<S>: Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// The layer's work when a span opens, with the span's extensions
    /// locked for writing. It must not lock the span or its parent again
    /// (other spans it may, an ancestor above the parent too). Called only
    /// if [`callbacks`](Self::callbacks) has [`Callbacks::OPEN`].
    fn open(&self, opening: &Opening<'_, '_, S>, extensions: &mut ExtensionsMut<'_>) {
        let _ = (opening, extensions);
    }

    /// The layer's work when a span closes, with its extensions locked for
    /// writing (the same rule as [`open`](Self::open)). Called only if
    /// [`callbacks`](Self::callbacks) has [`Callbacks::CLOSE`].
    fn close(&self, span: &SpanRef<'_, S>, extensions: &mut ExtensionsMut<'_>) {
        let _ = (span, extensions);
    }

    /// The layer's work when a span is about to close, before any part's
    /// [`close`](Self::close) and without its extensions locked: the span
    /// and every part's state in it are as they were while it was open,
    /// and the part may dispatch events inside it (a request's held lines,
    /// written when it failed). Called only if
    /// [`callbacks`](Self::callbacks) has [`Callbacks::BEFORE_CLOSE`].
    fn before_close(&self, span: &SpanRef<'_, S>) {
        let _ = span;
    }

    /// The layer's work on an event, with the event's span (its explicit
    /// parent or the current span), looked up once for every part. By
    /// default, `Layer::on_event`, which looks it up itself.
    fn event(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>, ctx: Context<'_, S>) {
        let _ = span;
        self.on_event(event, ctx);
    }

    /// A correlation ID read of a new span before it is locked, for a part
    /// that must look the span up through the dispatcher to find it (e.g.
    /// in an OpenTelemetry context), which it cannot do under the lock.
    /// Handed to [`open`](Self::open) as [`Opening::early`]. Called only if
    /// [`callbacks`](Self::callbacks) has [`Callbacks::EARLY_ID`].
    fn early_id(&self, span: &Unlocked<'_, S>) -> Option<CorrelationId> {
        let _ = span;
        None
    }

    /// The callbacks in which the part does anything: [`SpanParts`] and
    /// the adapter call it only in those (by default, in every one).
    fn callbacks(&self) -> Callbacks {
        Callbacks::ALL
    }
}

/// A set of a layer's callbacks, for [`SpanPart::callbacks`]: a part
/// named in none of them is called only when it is registered and to
/// filter call sites (which are rare).
///
/// ```
/// use warden_core::Callbacks;
///
/// let part = Callbacks::EVENT.and(Callbacks::RECORD);
/// assert!(part.has(Callbacks::EVENT) && !part.has(Callbacks::ENTER_EXIT));
/// assert!(Callbacks::ALL.has(part));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Callbacks(u16);

impl Callbacks {
    /// None of them.
    pub const NONE: Callbacks = Callbacks(0);
    /// `Layer::event_enabled`.
    pub const EVENT_ENABLED: Callbacks = Callbacks(1);
    /// `Layer::on_event` (through [`SpanPart::event`]).
    pub const EVENT: Callbacks = Callbacks(1 << 1);
    /// `Layer::on_record`.
    pub const RECORD: Callbacks = Callbacks(1 << 2);
    /// `Layer::on_enter` and `Layer::on_exit`.
    pub const ENTER_EXIT: Callbacks = Callbacks(1 << 3);
    /// `Layer::on_follows_from`.
    pub const FOLLOWS_FROM: Callbacks = Callbacks(1 << 4);
    /// `Layer::on_id_change`.
    pub const ID_CHANGE: Callbacks = Callbacks(1 << 5);
    /// [`SpanPart::open`].
    pub const OPEN: Callbacks = Callbacks(1 << 6);
    /// [`SpanPart::close`].
    pub const CLOSE: Callbacks = Callbacks(1 << 7);
    /// [`SpanPart::open`] reads the parent ([`Opening::parent`]).
    pub const PARENT: Callbacks = Callbacks(1 << 8);
    /// [`SpanPart::early_id`].
    pub const EARLY_ID: Callbacks = Callbacks(1 << 9);
    /// [`SpanPart::before_close`].
    pub const BEFORE_CLOSE: Callbacks = Callbacks(1 << 10);
    /// `Layer::enabled` (a part that filters by metadata; a part without
    /// it is not asked, which saves a call per part on each event of a
    /// call site asked every time).
    pub const ENABLED: Callbacks = Callbacks(1 << 11);
    /// Every one.
    pub const ALL: Callbacks = Callbacks((1 << 12) - 1);

    /// Both sets.
    pub const fn and(self, other: Callbacks) -> Callbacks {
        Callbacks(self.0 | other.0)
    }

    /// Whether every callback of `other` is in this set.
    pub const fn has(self, other: Callbacks) -> bool {
        self.0 & other.0 == other.0
    }
}

/// A part's `open`, as its own layer's `on_new_span`: looks the span (and,
/// if the part reads it, its parent) up and locks it for this part alone.
#[inline(always)]
pub fn open_alone<S, P>(part: &P, attrs: &Attributes<'_>, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    P: SpanPart<S> + ?Sized,
{
    let callbacks = part.callbacks();
    if !callbacks.has(Callbacks::OPEN) {
        return;
    }
    let early = if callbacks.has(Callbacks::EARLY_ID) {
        part.early_id(&Unlocked { attrs, id, ctx })
    } else {
        None
    };
    let Some(span) = ctx.span(id) else { return };
    let parent = if callbacks.has(Callbacks::PARENT) {
        span.parent()
    } else {
        None
    };
    let parent_extensions = parent.as_ref().map(SpanRef::extensions);
    let opening = Opening {
        attrs,
        span: &span,
        parent: parent.as_ref().zip(parent_extensions.as_ref()),
        early,
    };
    part.open(&opening, &mut span.extensions_mut());
}

/// A part's `close`, as its own layer's `on_close`.
#[inline(always)]
pub fn close_alone<S, P>(part: &P, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    P: SpanPart<S> + ?Sized,
{
    let callbacks = part.callbacks();
    if !callbacks.has(Callbacks::CLOSE) && !callbacks.has(Callbacks::BEFORE_CLOSE) {
        return;
    }
    let Some(span) = ctx.span(id) else { return };
    if callbacks.has(Callbacks::BEFORE_CLOSE) {
        part.before_close(&span);
    }
    if callbacks.has(Callbacks::CLOSE) {
        part.close(&span, &mut span.extensions_mut());
    }
}

/// A part's `event`, as its own layer's `on_event`: the event's span
/// looked up for this part alone.
#[inline(always)]
pub fn event_alone<S, P>(part: &P, event: &Event<'_>, ctx: Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    P: SpanPart<S> + ?Sized,
{
    let span = ctx.event_span(event);
    part.event(event, span.as_ref(), ctx.clone());
}

/// The adapter that makes a [`SpanPart`] a layer of its own: writes, inside
/// an `impl Layer<S> for …` block, the callbacks named, each calling the
/// part's method through [`open_alone`], [`close_alone`] or
/// [`event_alone`]. Name the subscriber's type parameter first.
///
/// A part that overrides [`SpanPart::event`] names `on_event` (the
/// default `event` calls `on_event`, so one that does not must not).
///
/// ```
/// # use tracing_subscriber::registry::{LookupSpan, SpanRef};
/// # struct Part;
/// impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Part {
///     warden_core::part_callbacks!(S: on_new_span, on_close, on_event);
/// }
/// impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> warden_core::SpanPart<S> for Part {
///     fn event(&self, _: &tracing::Event<'_>, span: Option<&SpanRef<'_, S>>, _: tracing_subscriber::layer::Context<'_, S>) {
///         let _in = span.map(|s| s.name());
///     }
/// }
/// ```
#[macro_export]
macro_rules! part_callbacks {
    ($s:ident: $($callback:ident),+ $(,)?) => {
        $($crate::part_callbacks!(@ $s $callback);)+
    };
    (@ $s:ident on_new_span) => {
        fn on_new_span(
            &self,
            attrs: &$crate::internal::Attributes<'_>,
            id: &$crate::internal::Id,
            ctx: $crate::internal::Context<'_, $s>,
        ) {
            $crate::open_alone(self, attrs, id, &ctx);
        }
    };
    (@ $s:ident on_close) => {
        fn on_close(&self, id: $crate::internal::Id, ctx: $crate::internal::Context<'_, $s>) {
            $crate::close_alone(self, &id, &ctx);
        }
    };
    (@ $s:ident on_event) => {
        fn on_event(&self, event: &$crate::internal::Event<'_>, ctx: $crate::internal::Context<'_, $s>) {
            $crate::event_alone(self, event, ctx);
        }
    };
}

/// Which parts take each callback, by index.
#[derive(Default)]
struct Takers {
    enabled: Vec<usize>,
    event_enabled: Vec<usize>,
    event: Vec<usize>,
    record: Vec<usize>,
    enter_exit: Vec<usize>,
    follows_from: Vec<usize>,
    id_change: Vec<usize>,
    open: Vec<usize>,
    close: Vec<usize>,
    before_close: Vec<usize>,
    early_id: Vec<usize>,
    /// Whether any part reads the parent when a span opens.
    parent: bool,
}

impl Takers {
    fn add(&mut self, index: usize, callbacks: Callbacks) {
        for (callback, takers) in [
            (Callbacks::ENABLED, &mut self.enabled),
            (Callbacks::EVENT_ENABLED, &mut self.event_enabled),
            (Callbacks::EVENT, &mut self.event),
            (Callbacks::RECORD, &mut self.record),
            (Callbacks::ENTER_EXIT, &mut self.enter_exit),
            (Callbacks::FOLLOWS_FROM, &mut self.follows_from),
            (Callbacks::ID_CHANGE, &mut self.id_change),
            (Callbacks::OPEN, &mut self.open),
            (Callbacks::CLOSE, &mut self.close),
            (Callbacks::BEFORE_CLOSE, &mut self.before_close),
            (Callbacks::EARLY_ID, &mut self.early_id),
        ] {
            if callbacks.has(callback) {
                takers.push(index);
            }
        }
        self.parent |= callbacks.has(Callbacks::OPEN.and(Callbacks::PARENT));
    }
}

/// A boxed [`SpanPart`].
pub type BoxedSpanPart<S> = Box<dyn SpanPart<S> + Send + Sync>;

/// Several [`SpanPart`] layers as one layer: each callback goes to every
/// part in order, as with `layer_a.and_then(layer_b)`, except that a new
/// span is looked up, its parent found and its extensions locked once for
/// all of them, and a closing span likewise. (A layer with a per-layer
/// filter is not a `SpanPart`: compose it beside, with `.with(..)`.)
///
/// With six parts that is five look-ups fewer per span opened and closed,
/// each two atomic reference-count updates and a lock. `warden::init`
/// assembles its whole stack this way: the PII gate, audit, correlation,
/// metrics, export and JSON layers.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_core::SpanParts;
///
/// # use tracing_subscriber::registry::LookupSpan;
/// /// A part with nothing to do (see [`SpanPart`]'s example for one that
/// /// does something).
/// struct Quiet;
/// impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Quiet {}
/// impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> warden_core::SpanPart<S> for Quiet {
///     fn callbacks(&self) -> warden_core::Callbacks {
///         warden_core::Callbacks::NONE
///     }
/// }
///
/// let parts = SpanParts::new().with(Quiet).with(Quiet);
/// assert_eq!(parts.len(), 2);
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(parts), || {
///     let _request = tracing::info_span!("request").entered();
/// });
/// ```
pub struct SpanParts<S> {
    parts: Vec<BoxedSpanPart<S>>,
    takers: Takers,
    /// Which `SpanParts` this is, for the thread's record of entered spans.
    id: usize,
}

/// `SpanParts` made so far, to tell them apart.
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// The spans entered on this thread, kept as the registry keeps them (a
/// span entered again while entered is a duplicate, which is never the
/// current one), so that an event's current span is found with one
/// look-up instead of two (the registry's `current_span` looks the span up
/// for its metadata, then the layers look it up again).
///
/// One `SpanParts` at a time keeps it: the first to enter a span while it
/// is empty. If another enters a span while it holds any, the thread's
/// record is given up for good (`shared`), and every event's span is found
/// through the registry.
///
/// What it buys, measured against the same code without it (A/B of
/// `benches/probe.rs`, same run, BENCHMARKS.md): 18 instructions an event
/// and 39 a request unit in the `info` stack `init()` builds; it costs 165
/// a request in a `warn` service (every span entered and left, few events).
/// Kept for the default stack, where events outnumber what they pay for.
struct Entered {
    owner: usize,
    shared: bool,
    spans: Vec<(u64, bool)>,
}

// Not a cache or a pool: the thread's stack of entered spans.
thread_local! {
    static ENTERED: RefCell<Entered> = const {
        RefCell::new(Entered {
            owner: 0,
            shared: false,
            spans: Vec::new(),
        })
    };
}

/// What this thread's record says of `owner`'s current span.
enum Current {
    /// The record is another's or given up: ask the registry.
    Unknown,
    /// The current span's id, if a span is entered.
    Known(Option<u64>),
}

impl<S> fmt::Debug for SpanParts<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanParts")
            .field("parts", &self.parts.len())
            .finish()
    }
}

impl<S> Default for SpanParts<S> {
    fn default() -> Self {
        SpanParts {
            parts: Vec::new(),
            takers: Takers::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl<S> SpanParts<S> {
    fn entered(&self, id: &Id) {
        let _ = ENTERED.try_with(|entered| {
            let Ok(mut entered) = entered.try_borrow_mut() else {
                return;
            };
            if entered.shared {
                return;
            }
            if entered.owner != self.id {
                if !entered.spans.is_empty() {
                    entered.shared = true;
                    entered.spans = Vec::new();
                    return;
                }
                entered.owner = self.id;
            }
            let id = id.into_u64();
            let duplicate = entered.spans.iter().any(|&(e, _)| e == id);
            entered.spans.push((id, duplicate));
        });
    }

    fn exited(&self, id: &Id) {
        let _ = ENTERED.try_with(|entered| {
            let Ok(mut entered) = entered.try_borrow_mut() else {
                return;
            };
            if entered.shared || entered.owner != self.id {
                return;
            }
            let id = id.into_u64();
            if let Some(at) = entered.spans.iter().rposition(|&(e, _)| e == id) {
                entered.spans.remove(at);
            }
        });
    }

    fn current(&self) -> Current {
        ENTERED
            .try_with(|entered| {
                let Ok(entered) = entered.try_borrow() else {
                    return Current::Unknown;
                };
                if entered.shared {
                    Current::Unknown
                } else if entered.owner != self.id {
                    // Every span this one entered on this thread would be
                    // in the record (or the record given up): none is.
                    Current::Known(None)
                } else {
                    Current::Known(
                        entered
                            .spans
                            .iter()
                            .rev()
                            .find(|&&(_, duplicate)| !duplicate)
                            .map(|&(id, _)| id),
                    )
                }
            })
            .unwrap_or(Current::Unknown)
    }
}

impl<S> SpanParts<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// No parts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `part` after the others.
    pub fn with(mut self, part: impl SpanPart<S> + Send + Sync + 'static) -> Self {
        self.push(Box::new(part));
        self
    }

    /// Adds a boxed part after the others.
    pub fn push(&mut self, part: BoxedSpanPart<S>) {
        let index = self.parts.len();
        self.takers.add(index, part.callbacks());
        self.parts.push(part);
    }

    /// How many parts there are.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

impl<S> Layer<S> for SpanParts<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        for part in &self.parts {
            part.on_register_dispatch(subscriber);
        }
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        for part in &mut self.parts {
            part.on_layer(subscriber);
        }
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        // The highest interest of any part, as `Vec<L>` does.
        let mut interest = Interest::never();
        for part in &self.parts {
            let new = part.register_callsite(metadata);
            if (interest.is_sometimes() && new.is_always())
                || (interest.is_never() && !new.is_never())
            {
                interest = new;
            }
        }
        interest
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.takers
            .enabled
            .iter()
            .all(|&i| self.parts[i].enabled(metadata, ctx.clone()))
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.takers
            .event_enabled
            .iter()
            .all(|&i| self.parts[i].event_enabled(event, ctx.clone()))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let mut max = LevelFilter::OFF;
        for part in &self.parts {
            max = max.max(part.max_level_hint()?);
        }
        Some(max)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if self.takers.open.is_empty() {
            return;
        }
        // What parts read before the span is locked (most stacks: none, and
        // no allocation), then every part under one lock.
        let early: Vec<(usize, Option<CorrelationId>)> = if self.takers.early_id.is_empty() {
            Vec::new()
        } else {
            let span = Unlocked {
                attrs,
                id,
                ctx: &ctx,
            };
            let early_of = |&i: &usize| (i, self.parts[i].early_id(&span));
            self.takers.early_id.iter().map(early_of).collect()
        };
        let Some(span) = ctx.span(id) else { return };
        let parent = if self.takers.parent {
            span.parent()
        } else {
            None
        };
        let parent_extensions = parent.as_ref().map(SpanRef::extensions);
        let parent = parent.as_ref().zip(parent_extensions.as_ref());
        let mut extensions = span.extensions_mut();
        let mut opening = Opening {
            attrs,
            span: &span,
            parent,
            early: None,
        };
        for &i in &self.takers.open {
            if !early.is_empty() {
                opening.early = early.iter().find(|e| e.0 == i).and_then(|e| e.1.clone());
            }
            self.parts[i].open(&opening, &mut extensions);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        for &i in &self.takers.record {
            self.parts[i].on_record(id, values, ctx.clone());
        }
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        for &i in &self.takers.follows_from {
            self.parts[i].on_follows_from(span, follows, ctx.clone());
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let span = if event.is_contextual() {
            match self.current() {
                Current::Known(id) => id.and_then(|id| ctx.span(&Id::from_u64(id))),
                Current::Unknown => ctx.event_span(event),
            }
        } else {
            ctx.event_span(event)
        };
        for &i in &self.takers.event {
            self.parts[i].event(event, span.as_ref(), ctx.clone());
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.entered(id);
        for &i in &self.takers.enter_exit {
            self.parts[i].on_enter(id, ctx.clone());
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.exited(id);
        for &i in &self.takers.enter_exit {
            self.parts[i].on_exit(id, ctx.clone());
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if self.takers.close.is_empty() && self.takers.before_close.is_empty() {
            return;
        }
        let Some(span) = ctx.span(&id) else { return };
        for &i in &self.takers.before_close {
            self.parts[i].before_close(&span);
        }
        if self.takers.close.is_empty() {
            return;
        }
        let mut extensions = span.extensions_mut();
        for &i in &self.takers.close {
            self.parts[i].close(&span, &mut extensions);
        }
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        for &i in &self.takers.id_change {
            self.parts[i].on_id_change(old, new, ctx.clone());
        }
    }

    #[allow(unsafe_code)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarding to each part's own `downcast_raw`, whose
        // pointer (if any) is to that part, which lives as long as `self`:
        // the contract tracing-subscriber's `Vec<L>` and `Layered` keep.
        self.parts
            .iter()
            .find_map(|part| unsafe { part.downcast_raw(id) })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::WardenSpan;

    /// A part that writes what it sees into a shared journal.
    #[derive(Clone)]
    struct Journal {
        name: &'static str,
        early: bool,
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Journal {
        fn new(name: &'static str, early: bool, seen: &Arc<Mutex<Vec<String>>>) -> Self {
            let seen = seen.clone();
            Journal { name, early, seen }
        }

        fn note(&self, what: &str) {
            self.seen
                .lock()
                .unwrap()
                .push(format!("{} {what}", self.name));
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Journal {
        crate::part_callbacks!(S: on_new_span, on_close, on_event);
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> SpanPart<S> for Journal {
        fn open(&self, opening: &Opening<'_, '_, S>, extensions: &mut ExtensionsMut<'_>) {
            assert!(WardenSpan::of_mut(extensions).is_some());
            let parent = opening.parent.map_or("-", |(p, _)| p.name());
            let early = opening
                .early
                .as_ref()
                .map_or(String::new(), |id| format!(" ({id})"));
            self.note(&format!(
                "opened {} under {parent}{early}",
                opening.span.name()
            ));
        }

        fn close(&self, span: &SpanRef<'_, S>, extensions: &mut ExtensionsMut<'_>) {
            assert!(extensions.get_mut::<WardenSpan>().is_some());
            self.note(&format!("closed {}", span.name()));
        }

        fn event(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>, ctx: Context<'_, S>) {
            // The span the parts found is the one the registry would give.
            assert_eq!(span.map(|s| s.id()), ctx.event_span(event).map(|s| s.id()));
            let span = span.map_or("-", |s| s.name());
            self.note(&format!("event in {span}"));
        }

        fn early_id(&self, span: &Unlocked<'_, S>) -> Option<CorrelationId> {
            // Unlocked: this would deadlock under the lock.
            drop(span.ctx.span(span.id)?.extensions_mut());
            self.note("read early");
            "early".parse().ok()
        }

        fn callbacks(&self) -> Callbacks {
            let all = Callbacks::EVENT
                .and(Callbacks::OPEN)
                .and(Callbacks::CLOSE)
                .and(Callbacks::PARENT);
            if self.early {
                all.and(Callbacks::EARLY_ID)
            } else {
                all
            }
        }
    }

    /// A root span, a child entered inside it, and an event in the child.
    fn an_event_in_a_child() {
        let root = tracing::info_span!("root");
        root.in_scope(|| {
            let _child = tracing::info_span!("child").entered();
            tracing::info!("inside");
        });
    }

    #[test]
    fn every_part_sees_each_span_in_order_under_one_lock_and_reads_early_before_it() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let part = |name, early| Journal::new(name, early, &seen);
        let parts = SpanParts::new()
            .with(part("a", false))
            .with(part("b", true))
            .with(part("c", false));
        assert_eq!(parts.len(), 3);
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(parts));
        tracing::dispatcher::with_default(&dispatch, an_event_in_a_child);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                "b read early",
                "a opened root under -",
                "b opened root under - (early)",
                "c opened root under -",
                "b read early",
                "a opened child under root",
                "b opened child under root (early)",
                "c opened child under root",
                "a event in child",
                "b event in child",
                "c event in child",
                "a closed child",
                "b closed child",
                "c closed child",
                "a closed root",
                "b closed root",
                "c closed root",
            ]
        );
        assert!(
            dispatch
                .downcast_ref::<SpanParts<tracing_subscriber::Registry>>()
                .is_some()
        );
        assert_eq!(
            dispatch.downcast_ref::<Journal>().map(|j| j.name),
            Some("a")
        );
        assert!(
            dispatch
                .downcast_ref::<tracing_subscriber::Registry>()
                .is_some()
        );
    }

    #[test]
    fn a_part_alone_through_the_adapter_sees_what_it_sees_among_parts() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let alone = Journal::new("a", true, &seen);
        let subscriber = tracing_subscriber::registry().with(alone);
        tracing::subscriber::with_default(subscriber, an_event_in_a_child);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                "a read early",
                "a opened root under - (early)",
                "a read early",
                "a opened child under root (early)",
                "a event in child",
                "a closed child",
                "a closed root",
            ]
        );
    }

    /// The names of the spans events were in, as a part was told.
    fn events_in(seen: &Mutex<Vec<String>>) -> Vec<String> {
        seen.lock()
            .unwrap()
            .iter()
            .filter_map(|line| line.strip_prefix("a event in ").map(str::to_owned))
            .collect()
    }

    #[test]
    fn an_event_is_in_the_span_the_registry_calls_current() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let part = Journal::new("a", false, &seen);
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry().with(SpanParts::new().with(part)),
        );
        tracing::dispatcher::with_default(&dispatch, || {
            let a = tracing::info_span!("a");
            let b = tracing::info_span!("b");
            tracing::info!("outside");
            let _a = a.enter();
            tracing::info!("in a");
            {
                let _b = b.enter();
                // Entered again while entered: a duplicate, never current.
                let again = a.enter();
                tracing::info!("a again, still in b");
                drop(again);
                tracing::info!("back in b");
                tracing::info!(parent: None, "a root event");
                tracing::info!(parent: &a, "explicitly in a");
            }
            tracing::info!("in a after b");
            // Entered on another thread: not current here.
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    tracing::dispatcher::with_default(&dispatch, || {
                        let _b = b.enter();
                        tracing::info!("b on another thread");
                    });
                });
            });
            tracing::info!("still in a");
        });
        assert_eq!(
            events_in(&seen),
            ["-", "a", "b", "b", "-", "a", "a", "b", "a"]
        );
    }

    #[test]
    fn two_stacks_entering_spans_on_one_thread_each_see_their_own() {
        let seen_x = Arc::new(Mutex::new(Vec::new()));
        let seen_y = Arc::new(Mutex::new(Vec::new()));
        let part = |seen: &Arc<Mutex<Vec<String>>>| Journal::new("a", false, seen);
        let x = tracing::Dispatch::new(
            tracing_subscriber::registry().with(SpanParts::new().with(part(&seen_x))),
        );
        let y = tracing::Dispatch::new(
            tracing_subscriber::registry().with(SpanParts::new().with(part(&seen_y))),
        );
        tracing::dispatcher::with_default(&x, || {
            let outer = tracing::info_span!("x-outer");
            let _o = outer.enter();
            tracing::info!("x 1");
            tracing::dispatcher::with_default(&y, || {
                tracing::info!("y 1");
                let inner = tracing::info_span!("y-inner");
                let _i = inner.enter();
                tracing::info!("y 2");
            });
            tracing::info!("x 2");
            tracing::dispatcher::with_default(&y, || tracing::info!("y 3"));
        });
        assert_eq!(events_in(&seen_x), ["x-outer", "x-outer"]);
        assert_eq!(events_in(&seen_y), ["-", "y-inner", "-"]);
    }

    /// A part that counts the events and enters it is given.
    #[derive(Clone, Default)]
    struct Counts {
        callbacks: Option<Callbacks>,
        events: Arc<std::sync::atomic::AtomicUsize>,
        enters: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Counts {
        fn seen(&self) -> (usize, usize) {
            let events = self.events.load(Ordering::Relaxed);
            (events, self.enters.load(Ordering::Relaxed))
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Counts {
        fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
            self.events.fetch_add(1, Ordering::Relaxed);
        }

        fn on_enter(&self, _: &Id, _: Context<'_, S>) {
            self.enters.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> SpanPart<S> for Counts {
        fn callbacks(&self) -> Callbacks {
            self.callbacks.unwrap_or(Callbacks::ALL)
        }
    }

    #[test]
    fn a_part_is_called_only_in_the_callbacks_it_names() {
        let all = Counts::default();
        let events_only = Counts {
            callbacks: Some(Callbacks::EVENT),
            ..Counts::default()
        };
        let none = Counts {
            callbacks: Some(Callbacks::NONE),
            ..Counts::default()
        };
        let parts = SpanParts::new()
            .with(all.clone())
            .with(events_only.clone())
            .with(none.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(parts), || {
            let _span = tracing::info_span!("s").entered();
            tracing::info!("one");
        });
        assert_eq!(all.seen(), (1, 1));
        assert_eq!(events_only.seen(), (1, 0));
        assert_eq!(none.seen(), (0, 0));
        assert!(Callbacks::ALL.has(Callbacks::EVENT.and(Callbacks::ENTER_EXIT)));
        assert!(!Callbacks::NONE.has(Callbacks::EVENT));
    }

    /// A part that filters by metadata (turning `skip` down) and notes
    /// what it sees when spans close, in order.
    #[derive(Clone, Default)]
    struct Closing {
        callbacks: Option<Callbacks>,
        seen: Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl Closing {
        fn naming(callbacks: Callbacks) -> Closing {
            Closing {
                callbacks: Some(callbacks),
                seen: Arc::default(),
            }
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Closing {
        // Asked per event, whatever `enabled` says of a call site.
        fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
            Interest::sometimes()
        }

        fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
            metadata.name() != "skip"
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> SpanPart<S> for Closing {
        fn callbacks(&self) -> Callbacks {
            self.callbacks.unwrap_or(Callbacks::ALL)
        }

        fn before_close(&self, span: &SpanRef<'_, S>) {
            // Unlocked: the span can be locked here.
            let locked = span.extensions_mut().get_mut::<u8>().is_some();
            self.seen
                .lock()
                .unwrap()
                .push(format!("before {} {locked}", span.name()));
        }

        fn close(&self, span: &SpanRef<'_, S>, _: &mut ExtensionsMut<'_>) {
            self.seen
                .lock()
                .unwrap()
                .push(format!("close {}", span.name()));
        }
    }

    /// `before_close` runs before every part's `close`, with the span not
    /// locked; `enabled` is asked only of the parts that name it.
    #[test]
    fn before_close_comes_first_and_enabled_only_where_named() {
        let closing = Closing::default();
        let not_filtering = Closing::naming(Callbacks::CLOSE);
        let parts = SpanParts::new()
            .with(closing.clone())
            .with(not_filtering.clone());
        let events = Counts::default();
        let subscriber = tracing_subscriber::registry()
            .with(parts)
            .with(events.clone());
        tracing::subscriber::with_default(subscriber, || {
            drop(tracing::info_span!("s"));
            tracing::info!(name: "skip", "turned down by the part that filters");
            tracing::info!("kept");
        });
        assert_eq!(*closing.seen.lock().unwrap(), ["before s false", "close s"]);
        assert_eq!(*not_filtering.seen.lock().unwrap(), ["close s"]);
        assert_eq!(
            events.seen().0,
            1,
            "the part naming ENABLED turned one down"
        );
        let without = Closing::naming(Callbacks::CLOSE.and(Callbacks::BEFORE_CLOSE));
        let events = Counts::default();
        let subscriber = tracing_subscriber::registry()
            .with(SpanParts::new().with(without))
            .with(events.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(name: "skip", "not asked: it does not name ENABLED");
        });
        assert_eq!(events.seen().0, 1);
    }
}
