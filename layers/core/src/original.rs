//! The original values of an audit event that the PII gate replaced with a
//! sanitized copy, lent to the audit layer while the copy is dispatched.
//!
//! The gate stops an event that holds a sensitive value and dispatches a
//! sanitized copy in its place, so every layer sees `[REDACTED:EMAIL]`
//! where the application wrote an address. That is right for logs and
//! exports, and wrong for an audit trail's identity fields (who, from
//! where): the audit layer stores those as keyed hashes, which it can only
//! make from the original value. So while the gate dispatches the copy of
//! an audit event, it lends the original values here, on the dispatching
//! thread only; the audit layer takes the identity fields from them and
//! hashes them with its key before anything is stored. Nothing is kept
//! once the dispatch returns.

use std::cell::RefCell;

use tracing_core::Event;

use crate::OwnedFields;

// Not a cache or a pool: values lent for the length of one dispatch.
thread_local! {
    /// The copy being dispatched (its address) and the original's values.
    static ORIGINAL: RefCell<Option<(usize, OwnedFields)>> = const { RefCell::new(None) };
}

/// Runs `dispatch` (which dispatches `copy`) with `original` — the values
/// of the event `copy` replaces, indexed like its fields — lent to
/// [`with_original_fields`] for `copy` only.
///
/// Called by the PII gate; a layer that writes its own gate can call it too.
pub fn lend_original<R>(
    copy: &Event<'_>,
    original: OwnedFields,
    dispatch: impl FnOnce() -> R,
) -> R {
    let marker = copy as *const Event<'_> as usize;
    let previous = ORIGINAL
        .try_with(|slot| {
            slot.try_borrow_mut()
                .ok()
                .and_then(|mut slot| slot.replace((marker, original)))
        })
        .ok()
        .flatten();
    let _restore = Restore(previous);
    dispatch()
}

/// Calls `f` with the original values of `event` if `event` is a sanitized
/// copy being dispatched with [`lend_original`], else with `None`.
///
/// ```
/// use warden_core::internal::with_original_fields;
///
/// // Outside a gate's dispatch there is nothing to lend.
/// # struct Probe;
/// # impl tracing::Subscriber for Probe {
/// #     fn enabled(&self, _: &tracing::Metadata<'_>) -> bool { true }
/// #     fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id { tracing::span::Id::from_u64(1) }
/// #     fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
/// #     fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
/// #     fn event(&self, event: &tracing::Event<'_>) {
/// #         assert!(with_original_fields(event, |o| o.is_none()));
/// #     }
/// #     fn enter(&self, _: &tracing::span::Id) {}
/// #     fn exit(&self, _: &tracing::span::Id) {}
/// # }
/// tracing::subscriber::with_default(Probe, || tracing::info!(user = "ada"));
/// ```
pub fn with_original_fields<R>(event: &Event<'_>, f: impl FnOnce(Option<&OwnedFields>) -> R) -> R {
    let marker = event as *const Event<'_> as usize;
    // Taken out for the call, so that `f` may log (and a nested gate may
    // lend its own originals) without a double borrow.
    let taken = ORIGINAL
        .try_with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            match &*slot {
                Some((lent_for, _)) if *lent_for == marker => slot.take(),
                _ => None,
            }
        })
        .ok()
        .flatten();
    match taken {
        None => f(None),
        Some((lent_for, values)) => {
            let result = f(Some(&values));
            let _ = ORIGINAL.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    if slot.is_none() {
                        *slot = Some((lent_for, values));
                    }
                }
            });
            result
        }
    }
}

/// Puts back what was lent before, when a dispatch returns or unwinds.
struct Restore(Option<(usize, OwnedFields)>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = ORIGINAL.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = previous;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldValue;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

    /// Records, for each event, the first original value lent for it.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<Option<String>>>>);

    impl<S: tracing::Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let lent = with_original_fields(event, |o| {
                o.and_then(|o| o.get(0))
                    .and_then(|v| v.as_text().map(str::to_owned))
            });
            self.0.lock().unwrap().push(lent);
        }
    }

    /// Dispatches a copy of every `original`-field event with the original lent.
    struct Gate;

    impl<S: tracing::Subscriber> Layer<S> for Gate {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            if event.metadata().name() != "lend" {
                return;
            }
            let mut original = OwnedFields::with_len(1);
            original.set(0, FieldValue::Str("ada@example.com".into()));
            let values = event.metadata().fields().value_set(&[]);
            let copy = Event::new(event.metadata(), &values);
            // Lent for `copy` only: `event` itself sees nothing.
            lend_original(&copy, original, || {
                assert!(with_original_fields(event, |o| o.is_none()));
                assert!(with_original_fields(&copy, |o| o.is_some()));
                // Twice: the lending survives a read.
                assert!(with_original_fields(&copy, |o| o.is_some()));
            });
            assert!(with_original_fields(&copy, |o| o.is_none()), "gone after");
        }
    }

    #[test]
    fn originals_are_lent_for_the_copy_only_and_only_during_its_dispatch() {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry().with(Gate).with(seen.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(name: "lend", user = "[REDACTED:EMAIL]");
            tracing::info!(user = "plain");
        });
        assert_eq!(*seen.0.lock().unwrap(), [None, None]);
    }
}
