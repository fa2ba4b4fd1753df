//! Several of warden's layers as one, so that each span is looked up and
//! locked once when it opens and once when it closes, not once per layer.

use std::any::TypeId;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, ExtensionsMut, LookupSpan, SpanRef};

/// A layer's work on a span when it opens and when it closes, done on a
/// span another layer has already looked up and locked: what lets
/// [`SpanParts`] run several layers under one look-up.
///
/// A layer that implements it does the same work in its own
/// `Layer::on_new_span` / `on_close` (looking the span up itself), so it
/// still works alone.
pub trait SpanPart<S>: Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// The layer's `on_new_span`, with the span, its parent (looked up,
    /// and its extensions locked for reading, once for every part) and the
    /// span's extensions, locked for writing. It must not lock either
    /// again (other spans' it may, an ancestor's above the parent too).
    fn open(
        &self,
        attrs: &Attributes<'_>,
        span: &SpanRef<'_, S>,
        parent: Option<(&SpanRef<'_, S>, &Extensions<'_>)>,
        extensions: &mut ExtensionsMut<'_>,
    );

    /// The layer's `on_close`, with the span's extensions locked for
    /// writing (the same rule as [`open`](Self::open)).
    fn close(&self, span: &SpanRef<'_, S>, extensions: &mut ExtensionsMut<'_>);

    /// The layer's `on_event`, with the event's span (its explicit parent
    /// or the current span), looked up once for every part. By default,
    /// `Layer::on_event`, which looks it up itself.
    fn event(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>, ctx: Context<'_, S>) {
        let _ = span;
        self.on_event(event, ctx);
    }

    /// The callbacks, besides a span's open and close, in which the part
    /// does anything: [`SpanParts`] calls it only in those (by default, in
    /// every one).
    fn callbacks(&self) -> Callbacks {
        Callbacks::ALL
    }

    /// Whether [`open`](Self::open) can run under another part's lock
    /// (the default). A part that must look its span up through the
    /// dispatcher when it opens (e.g. to read an OpenTelemetry context)
    /// says `false`, and gets its own `on_new_span` instead, in its place.
    fn opens_under_shared_lock(&self) -> bool {
        true
    }
}

/// A set of a layer's callbacks, for [`SpanPart::callbacks`]: a part
/// named in none of them is called only to open and close spans (and when
/// it is registered, and to filter call sites, which are rare).
///
/// ```
/// use warden_core::Callbacks;
///
/// let part = Callbacks::EVENT.and(Callbacks::RECORD);
/// assert!(part.has(Callbacks::EVENT) && !part.has(Callbacks::ENTER_EXIT));
/// assert!(Callbacks::ALL.has(part));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Callbacks(u8);

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
    /// Every one.
    pub const ALL: Callbacks = Callbacks((1 << 6) - 1);

    /// Both sets.
    pub const fn and(self, other: Callbacks) -> Callbacks {
        Callbacks(self.0 | other.0)
    }

    /// Whether every callback of `other` is in this set.
    pub const fn has(self, other: Callbacks) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Which parts take each callback, by index; and which open alone
/// ([`SpanPart::opens_under_shared_lock`]).
#[derive(Default)]
struct Takers {
    open_alone: Vec<usize>,
    event_enabled: Vec<usize>,
    event: Vec<usize>,
    record: Vec<usize>,
    enter_exit: Vec<usize>,
    follows_from: Vec<usize>,
    id_change: Vec<usize>,
}

impl Takers {
    fn add(&mut self, index: usize, callbacks: Callbacks) {
        for (callback, takers) in [
            (Callbacks::EVENT_ENABLED, &mut self.event_enabled),
            (Callbacks::EVENT, &mut self.event),
            (Callbacks::RECORD, &mut self.record),
            (Callbacks::ENTER_EXIT, &mut self.enter_exit),
            (Callbacks::FOLLOWS_FROM, &mut self.follows_from),
            (Callbacks::ID_CHANGE, &mut self.id_change),
        ] {
            if callbacks.has(callback) {
                takers.push(index);
            }
        }
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
/// use warden_core::{SpanParts, WardenSpan};
///
/// # use tracing_subscriber::registry::{Extensions, ExtensionsMut, LookupSpan, SpanRef};
/// /// A part that counts the spans it saw open.
/// #[derive(Default)]
/// struct Opened(std::sync::atomic::AtomicUsize);
/// impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Opened {}
/// impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> warden_core::SpanPart<S> for Opened {
///     fn open(&self, _: &tracing::span::Attributes<'_>, _: &SpanRef<'_, S>, _: Option<(&SpanRef<'_, S>, &Extensions<'_>)>, extensions: &mut ExtensionsMut<'_>) {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         WardenSpan::of_mut(extensions);
///     }
///     fn close(&self, _: &SpanRef<'_, S>, _: &mut ExtensionsMut<'_>) {}
/// }
///
/// let parts = SpanParts::new().with(Opened::default()).with(Opened::default());
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
struct Entered {
    owner: usize,
    shared: bool,
    spans: Vec<(u64, bool)>,
}

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
        if !part.opens_under_shared_lock() {
            self.takers.open_alone.push(index);
        }
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

    /// Opens the span for `parts`, which all open under one lock.
    fn open_together(
        &self,
        parts: &[BoxedSpanPart<S>],
        attrs: &Attributes<'_>,
        id: &Id,
        ctx: &Context<'_, S>,
    ) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span.parent();
        let parent_extensions = parent.as_ref().map(SpanRef::extensions);
        let parent = parent.as_ref().zip(parent_extensions.as_ref());
        let mut extensions = span.extensions_mut();
        for part in parts {
            part.open(attrs, &span, parent, &mut extensions);
        }
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
        self.parts.iter().all(|p| p.enabled(metadata, ctx.clone()))
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
        // Runs of parts that share the lock, in order; a part that cannot
        // opens alone, between them.
        let mut start = 0;
        for &i in &self.takers.open_alone {
            if start < i {
                self.open_together(&self.parts[start..i], attrs, id, &ctx);
            }
            self.parts[i].on_new_span(attrs, id, ctx.clone());
            start = i + 1;
        }
        if start < self.parts.len() {
            self.open_together(&self.parts[start..], attrs, id, &ctx);
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
        let Some(span) = ctx.span(&id) else { return };
        let mut extensions = span.extensions_mut();
        for part in &self.parts {
            part.close(&span, &mut extensions);
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
        shared_lock: bool,
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Journal {
        fn note(&self, what: &str) {
            self.seen
                .lock()
                .unwrap()
                .push(format!("{} {what}", self.name));
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Journal {
        fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
            // Looks the span up and locks it itself: only when it opens alone.
            let span = ctx.span(id).unwrap();
            WardenSpan::of_mut(&mut span.extensions_mut());
            self.note("opened alone");
        }

        fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
            self.note("event");
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> SpanPart<S> for Journal {
        fn open(
            &self,
            _: &Attributes<'_>,
            span: &SpanRef<'_, S>,
            parent: Option<(&SpanRef<'_, S>, &Extensions<'_>)>,
            extensions: &mut ExtensionsMut<'_>,
        ) {
            assert!(WardenSpan::of_mut(extensions).is_some());
            let parent = parent.map_or("-", |(p, _)| p.name());
            self.note(&format!("opened {} under {parent}", span.name()));
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

        fn opens_under_shared_lock(&self) -> bool {
            self.shared_lock
        }
    }

    #[test]
    fn every_part_sees_each_span_in_order_and_a_part_that_must_opens_alone() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let part = |name, shared_lock| Journal {
            name,
            shared_lock,
            seen: seen.clone(),
        };
        let parts = SpanParts::new()
            .with(part("a", true))
            .with(part("b", false))
            .with(part("c", true));
        assert_eq!(parts.len(), 3);
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(parts));
        tracing::dispatcher::with_default(&dispatch, || {
            let root = tracing::info_span!("root");
            root.in_scope(|| {
                let _child = tracing::info_span!("child").entered();
                tracing::info!("inside");
            });
        });
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                "a opened root under -",
                "b opened alone",
                "c opened root under -",
                "a opened child under root",
                "b opened alone",
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
        let part = Journal {
            name: "a",
            shared_lock: true,
            seen: seen.clone(),
        };
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
        let part = |seen: &Arc<Mutex<Vec<String>>>| Journal {
            name: "a",
            shared_lock: true,
            seen: seen.clone(),
        };
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
        fn open(
            &self,
            _: &Attributes<'_>,
            _: &SpanRef<'_, S>,
            _: Option<(&SpanRef<'_, S>, &Extensions<'_>)>,
            _: &mut ExtensionsMut<'_>,
        ) {
        }

        fn close(&self, _: &SpanRef<'_, S>, _: &mut ExtensionsMut<'_>) {}

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
}
