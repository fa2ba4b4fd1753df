//! The text of each `Debug`/`Display` value of the record being
//! dispatched, formatted once and shared by every layer that reads it.
//!
//! A value recorded through `Debug` or `Display` (`?x`, `%x`, the
//! message's format arguments) is formatted by each layer that reads it.
//! Formatting runs the application's code, which need not give the same
//! text twice: a counter, a `Mutex<String>` another thread writes. A gate
//! that scans the first text and a sink that writes the second would let
//! through what the gate never saw. So a gate *opens a rendering* for the
//! record it is about to scan ([`open`]); while it is open, [`visit_fields`]
//! formats each such value of that record once, keeps the text here, and
//! hands every later visitor of the same record (the sinks after the gate)
//! that text instead of the value. The text scanned is the text written.
//! An error's chain (each link's `Display`) is read once the same way.
//!
//! A rendering belongs to one record, known by its call site and, per
//! field, the address of the value formatted (the same for every layer that
//! reads the record, whatever reference to it the layer holds), and lasts
//! until the next one is opened on the thread: a gate opens one
//! per event in `event_enabled`, before any layer's `on_event`, and per
//! span in `on_new_span`/`on_record`. Values that are not formatted (strings,
//! numbers) are never copied, and a record no gate opened is read as
//! before, without a copy.
//!
//! [`visit_fields`]: crate::visit_fields

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write as _};

use tracing_core::field::{Field, FieldSet};

use crate::ErrorChain;

/// Fields beyond this index are formatted by each reader, as without a
/// rendering (`Open::done` is a 64-bit mask).
const MAX_FIELDS: usize = 64;
/// Texts that grew past this (a 10 MB field) are not kept for the next
/// record.
const KEEP_AT_MOST: usize = 64 * 1024;

/// The open rendering: the address of its record's call site (0: none)
/// and, bit `i`, whether `TEXTS[i]` holds field `i`'s text.
#[derive(Clone, Copy)]
struct Open {
    callsite: usize,
    done: u64,
}

// Not a call-site cache: the one rendering open on this thread, for the
// event being dispatched now, closed when its dispatch ends.
thread_local! {
    /// Checked first, so that reading a record no gate opened costs one
    /// comparison.
    static OPEN: Cell<Open> = const { Cell::new(Open { callsite: 0, done: 0 }) };
    /// Per field: the address of the value formatted, and its text.
    static TEXTS: RefCell<Vec<(usize, String)>> = const { RefCell::new(Vec::new()) };
    /// Per field: the address of an error value, and its chain's messages
    /// as read once.
    static ERRORS: RefCell<Vec<(usize, Option<ErrorChain>)>> = const { RefCell::new(Vec::new()) };
}

/// The address of the call site `field` belongs to.
fn callsite_of(field: &Field) -> usize {
    field.callsite().0 as *const dyn tracing_core::Callsite as *const () as usize
}

/// Opens the thread's rendering for the record about to be read, whose
/// fields are `fields`, closing the one before. From now until the next
/// call, every `Debug` value of that record that
/// [`visit_fields`](crate::visit_fields) reads is formatted once and read
/// back as that text.
///
/// A record read while one of its values is being formatted (a `Debug`
/// that logs) is read as it is.
pub fn open(fields: &FieldSet) {
    let callsite = fields.iter().next().map_or(0, |f| callsite_of(&f));
    let _ = OPEN.try_with(|open| open.set(Open { callsite, done: 0 }));
}

/// Closes the thread's rendering, if any.
pub fn close() {
    let _ = OPEN.try_with(|open| {
        open.set(Open {
            callsite: 0,
            done: 0,
        })
    });
}

/// Whether some `Debug` value of a record with `fields` was formatted in
/// the thread's open rendering (so a layer that formats values itself
/// would read a second text).
pub fn has_texts(fields: &FieldSet) -> bool {
    let Some(callsite) = fields.iter().next().map(|f| callsite_of(&f)) else {
        return false;
    };
    OPEN.try_with(Cell::get)
        .is_ok_and(|open| open.callsite == callsite && open.done != 0)
}

/// Calls `f` with the text of `value` (field `field` of the record being
/// read) if that record's rendering is open, formatting it the first time;
/// else with `None`.
pub(crate) fn with_text<R>(
    field: &Field,
    value: &dyn fmt::Debug,
    mut f: impl FnMut(Option<&str>) -> R,
) -> R {
    let address = value as *const dyn fmt::Debug as *const () as usize;
    let fill = |text: &mut String| {
        if text.capacity() > KEEP_AT_MOST {
            *text = String::new();
        }
        text.clear();
        // A value whose formatting fails keeps what it wrote.
        let _ = write!(text, "{value:?}");
    };
    with_slot(&TEXTS, field, address, fill, |text| {
        f(text.map(String::as_str))
    })
}

/// Calls `f` with the chain of `value` (an error, field `field` of the
/// record being read) as read once in the record's open rendering (each
/// link's `Display` is application code too), else with `None`.
pub(crate) fn with_error<R>(
    field: &Field,
    value: &(dyn std::error::Error + 'static),
    mut f: impl FnMut(Option<&ErrorChain>) -> R,
) -> R {
    let address = value as *const dyn std::error::Error as *const () as usize;
    let fill = |chain: &mut Option<ErrorChain>| *chain = Some(ErrorChain::capture(value));
    with_slot(&ERRORS, field, address, fill, |chain| {
        f(chain.and_then(Option::as_ref))
    })
}

/// The rendering's slot for `field` in `slots`: filled by `fill` the first
/// time the field's value (at `address`) is read, then lent to `f`; `f`
/// gets `None` when no rendering of the field's record is open (or the
/// value is another record's, a copy).
fn with_slot<T: Default, R>(
    slots: &'static std::thread::LocalKey<RefCell<Vec<(usize, T)>>>,
    field: &Field,
    address: usize,
    fill: impl FnOnce(&mut T),
    mut f: impl FnMut(Option<&T>) -> R,
) -> R {
    let i = field.index();
    let open = OPEN.try_with(Cell::get).unwrap_or(Open {
        callsite: 0,
        done: 0,
    });
    if open.callsite == 0 || i >= MAX_FIELDS || open.callsite != callsite_of(field) {
        return f(None);
    }
    let lent = slots
        .try_with(|cell| {
            let mut slots = cell.try_borrow_mut().ok()?;
            if slots.len() <= i {
                slots.resize_with(i + 1, Default::default);
            }
            let (at, value) = &mut slots[i];
            if open.done & (1 << i) == 0 {
                *at = address;
                fill(value);
                let _ = OPEN.try_with(|cell| {
                    let mut now = cell.get();
                    if now.callsite == open.callsite {
                        now.done |= 1 << i;
                        cell.set(now);
                    }
                });
            } else if *at != address {
                return None;
            }
            Some(f(Some(value)))
        })
        .ok()
        .flatten();
    match lent {
        Some(out) => out,
        None => f(None),
    }
}

/// A rendered text, read as the value it was made from.
pub(crate) struct Text<'a>(pub(crate) &'a str);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::{FieldRef, visit_fields};
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::{Context, SubscriberExt};

    /// Says `first` the first time it is formatted, `later` after.
    struct Turncoat(AtomicUsize);

    impl fmt::Debug for Turncoat {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.0.fetch_add(1, Ordering::Relaxed) {
                0 => f.write_str("first"),
                _ => f.write_str("later"),
            }
        }
    }

    /// Opens a rendering for each event (as a gate does), then reads it.
    struct Opener;
    impl<S: tracing::Subscriber> Layer<S> for Opener {
        fn event_enabled(&self, event: &tracing::Event<'_>, _: Context<'_, S>) -> bool {
            open(event.metadata().fields());
            true
        }
    }

    /// Keeps the text of every `Debug` value it reads.
    #[derive(Clone, Default)]
    struct Reader(std::sync::Arc<std::sync::Mutex<Vec<String>>>);
    impl<S: tracing::Subscriber> Layer<S> for Reader {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            visit_fields(event, |_, value| {
                if let FieldRef::Debug(d) = value {
                    self.0.lock().unwrap().push(format!("{d:?}"));
                }
            });
        }
    }

    #[test]
    fn every_reader_of_an_opened_record_reads_the_first_text() {
        let (a, b) = (Reader::default(), Reader::default());
        let subscriber = tracing_subscriber::registry()
            .with(Opener)
            .with(a.clone())
            .with(b.clone());
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..2 {
                let v = Turncoat(AtomicUsize::new(0));
                tracing::info!(v = ?v, "n {}", 1);
            }
        });
        let expected = ["n 1", "first", "n 1", "first"];
        assert_eq!(*a.0.lock().unwrap(), expected);
        assert_eq!(*b.0.lock().unwrap(), expected);
    }

    #[test]
    fn without_an_opened_record_each_reader_formats_again() {
        let (a, b) = (Reader::default(), Reader::default());
        let subscriber = tracing_subscriber::registry()
            .with(a.clone())
            .with(b.clone());
        tracing::subscriber::with_default(subscriber, || {
            let v = Turncoat(AtomicUsize::new(0));
            tracing::info!(v = ?v);
        });
        assert_eq!(*a.0.lock().unwrap(), ["first"]);
        assert_eq!(*b.0.lock().unwrap(), ["later"]);
    }

    #[test]
    fn a_value_that_logs_while_formatted_is_read_and_nothing_panics() {
        struct Loud;
        impl fmt::Debug for Loud {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                tracing::info!(inner = ?Turncoat(AtomicUsize::new(0)));
                f.write_str("loud")
            }
        }
        let a = Reader::default();
        let subscriber = tracing_subscriber::registry().with(Opener).with(a.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(v = ?Loud);
        });
        // `tracing` sends the inner event nowhere (a dispatcher is not
        // re-entered); what matters is that the outer one is read, once.
        assert_eq!(*a.0.lock().unwrap(), ["loud"]);
    }
}
