//! The one record warden's layers share for each open span.

use std::any::{Any, TypeId};
use std::mem::ManuallyDrop;

use tracing_subscriber::registry::{Extensions, ExtensionsMut};

use crate::{CorrelationId, Moment};

/// What warden's layers keep for one open span, in a single registry
/// extension instead of one per layer: its correlation ID, the clock
/// readings at its open and close (read once, whichever layer needs them
/// first), whether an `ERROR` event happened inside it; and, by type,
/// each layer's own state for it ([`slot`](WardenSpan::slot)), which core
/// keeps without knowing what it is.
///
/// Each layer still works alone: the first one to touch a span creates the
/// record ([`WardenSpan::of_mut`]); the others find it. Layers written
/// elsewhere can read a span's correlation ID with
/// [`correlation_id_in`].
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_core::WardenSpan;
///
/// struct Ids;
/// impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>>
///     tracing_subscriber::Layer<S> for Ids
/// {
///     fn on_new_span(&self, _: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
///         let span = ctx.span(id).unwrap();
///         let mut extensions = span.extensions_mut();
///         if let Some(record) = WardenSpan::of_mut(&mut extensions) {
///             record.set_correlation_id("req-1".parse().unwrap());
///         }
///     }
/// }
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(Ids), || {
///     let _request = tracing::info_span!("request").entered();
///     assert_eq!(warden_core::CorrelationId::current().unwrap().to_string(), "req-1");
/// });
/// ```
#[derive(Debug, Default)]
pub struct WardenSpan {
    correlation: Option<CorrelationId>,
    correlation_changes: u32,
    opened: Option<Moment>,
    closed: Option<Moment>,
    error_event: bool,
    /// Whether sampling keeps the request (on its root span): `None`
    /// without sampling.
    kept: Option<bool>,
    slots: Slots,
}

/// Each layer's own state for the span, by type: what a metrics layer
/// measures, the text a line formatter wrote, the record an exporter
/// fills. Core keeps them without knowing what they are.
///
/// Only the first `len` inline places can be full (a take may leave a
/// hole below `len`, which the next put fills). So a span without slots is
/// searched, and dropped, by reading `len` (and `more`) alone.
#[derive(Debug, Default)]
struct Slots {
    /// Enough for warden's own layers, without allocating. Dropped by
    /// hand (`Drop for Slots`): only the first `len` can hold anything.
    first: ManuallyDrop<[Option<Slot>; 3]>,
    /// How many of `first` may be full.
    len: u8,
    /// Any more (boxed: a span without them drops a null pointer, not an
    /// empty vector). Dropped by hand too.
    #[allow(clippy::box_collection)]
    more: ManuallyDrop<Option<Box<Vec<Slot>>>>,
}

impl Drop for Slots {
    /// A span without slots (most of them, at close: each layer takes
    /// its own) reads two words and returns, saving no registers.
    #[inline]
    fn drop(&mut self) {
        if self.len != 0 || self.more.is_some() {
            self.drop_full();
        }
    }
}

impl Slots {
    /// Drops what the places hold.
    #[cold]
    #[inline(never)]
    fn drop_full(&mut self) {
        let len = usize::from(self.len);
        for slot in &mut self.first[..len] {
            drop(slot.take());
        }
        self.len = 0;
        drop(self.more.take());
    }
}

/// A slot's value, with its type's id beside it: found by comparing ids,
/// without a call through the value's vtable for each slot passed.
#[derive(Debug)]
struct Slot {
    type_id: TypeId,
    value: Box<dyn Any + Send + Sync>,
}

impl Slot {
    /// The value, found by its type's id to be a `T`.
    ///
    /// `downcast_ref` would ask the value's vtable for its type again, a
    /// call per access; every span reads its slots several times (an
    /// event's line, the span's close), so the id compared on the way is
    /// used instead. The portable form is checked against it in debug
    /// builds and in `slots_read_as_the_portable_downcast_reads_them`.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn get<T: Any>(&self) -> &T {
        debug_assert!(self.type_id == TypeId::of::<T>() && self.value.is::<T>());
        let value: *const (dyn Any + Send + Sync) = &*self.value;
        // SAFETY: `type_id` is `TypeId::of::<T>()`: the slots are searched
        // by it (`Slots::find`), and a slot's id is set only in
        // `WardenSpan::put_slot` from the `Box<T>` it stores, so the value
        // behind the pointer is a `T`, and it lives as long as `&self`.
        unsafe { &*value.cast::<T>() }
    }

    /// [`get`](Self::get), to change.
    #[inline]
    #[allow(unsafe_code)]
    fn get_mut<T: Any>(&mut self) -> &mut T {
        debug_assert!(self.type_id == TypeId::of::<T>() && self.value.is::<T>());
        let value: *mut (dyn Any + Send + Sync) = &mut *self.value;
        // SAFETY: as in `get`; `&mut self` makes the borrow unique.
        unsafe { &mut *value.cast::<T>() }
    }
}

impl Slot {
    /// The value, out of the slot, found by its type's id to be a `T`.
    #[inline]
    #[allow(unsafe_code)]
    fn into_box<T: Any>(self) -> Box<T> {
        debug_assert!(self.type_id == TypeId::of::<T>() && self.value.is::<T>());
        let value: *mut (dyn Any + Send + Sync) = Box::into_raw(self.value);
        // SAFETY: as in `get`, the value is a `T`; it came from a `Box<T>`
        // (`put_slot`), so the allocation is a `T`'s and is given back to a
        // `Box<T>` exactly once (`self` is consumed).
        unsafe { Box::from_raw(value.cast::<T>()) }
    }
}

impl Slots {
    /// The inline places that may be full.
    #[inline(always)]
    fn full(&self) -> &[Option<Slot>] {
        &self.first[..usize::from(self.len)]
    }

    /// The slot holding a `T`, if one does.
    #[inline(always)]
    fn find<T: Any>(&self) -> Option<&Slot> {
        let id = TypeId::of::<T>();
        match self.full().iter().flatten().find(|s| s.type_id == id) {
            Some(slot) => Some(slot),
            None => self.more.as_deref()?.iter().find(|s| s.type_id == id),
        }
    }

    /// The same, to change.
    #[inline]
    fn find_mut<T: Any>(&mut self) -> Option<&mut Slot> {
        let id = TypeId::of::<T>();
        let in_first = self
            .full()
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.type_id == id));
        match in_first {
            Some(at) => self.first[at].as_mut(),
            None => self
                .more
                .as_deref_mut()?
                .iter_mut()
                .find(|s| s.type_id == id),
        }
    }

    /// Puts `slot` in the first free place.
    #[inline]
    fn put(&mut self, slot: Slot) {
        let len = usize::from(self.len);
        let free = match self.first[..len].iter().position(Option::is_none) {
            Some(hole) => Some(hole),
            None => (len < self.first.len()).then_some(len),
        };
        match free {
            Some(at) => {
                self.first[at] = Some(slot);
                self.len = self.len.max(at as u8 + 1);
            }
            None => self.more.get_or_insert_default().push(slot),
        }
    }

    /// Takes the slot holding a `T` out, if one does. The place it leaves
    /// stays empty until a later `put` (`len` shrinks only when it was the
    /// last, past any hole below), so a take moves nothing else.
    #[inline]
    fn take<T: Any>(&mut self) -> Option<Slot> {
        let id = TypeId::of::<T>();
        let len = usize::from(self.len);
        let in_first = self
            .full()
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.type_id == id));
        let Some(at) = in_first else {
            let more = self.more.as_deref_mut()?;
            let at = more.iter().position(|s| s.type_id == id)?;
            return Some(more.swap_remove(at));
        };
        let taken = self.first[at].take();
        if at + 1 == len {
            // The last full place: `len` shrinks past it and any hole
            // below, so that a span whose slots were all taken drops by
            // reading `len`.
            let mut len = at;
            while len > 0 && self.first[len - 1].is_none() {
                len -= 1;
            }
            self.len = len as u8;
        }
        taken
    }
}

impl WardenSpan {
    /// The span's record, if a warden layer made one.
    #[inline]
    pub fn of<'a>(extensions: &'a Extensions<'_>) -> Option<&'a WardenSpan> {
        extensions.get::<WardenSpan>()
    }

    /// The span's record, made now if no layer has yet (so always
    /// `Some`; an `Option` only because the registry's API hands back what
    /// was inserted by looking it up again).
    #[inline]
    pub fn of_mut<'a>(extensions: &'a mut ExtensionsMut<'_>) -> Option<&'a mut WardenSpan> {
        if extensions.get_mut::<WardenSpan>().is_none() {
            extensions.insert(WardenSpan::default());
        }
        extensions.get_mut::<WardenSpan>()
    }

    /// The span's correlation ID, if a correlation layer gave it one.
    #[inline]
    pub fn correlation_id(&self) -> Option<&CorrelationId> {
        self.correlation.as_ref()
    }

    /// Gives the span its correlation ID.
    #[inline]
    pub fn set_correlation_id(&mut self, id: CorrelationId) {
        self.correlation = Some(id);
        self.correlation_changes = self.correlation_changes.wrapping_add(1);
    }

    /// How many times the span's correlation ID was set: a formatter that
    /// wrote the ID once compares this to know whether its text is current.
    #[inline]
    pub fn correlation_changes(&self) -> u32 {
        self.correlation_changes
    }

    /// When the span opened: the clock is read by the first layer that
    /// asks, and every later one gets the same instant.
    #[inline]
    pub fn opened(&mut self) -> Moment {
        *self.opened.get_or_insert_with(Moment::now)
    }

    /// When the span closed, read once in the same way (ask only while it
    /// closes).
    #[inline]
    pub fn closed(&mut self) -> Moment {
        *self.closed.get_or_insert_with(Moment::now)
    }

    /// Marks that an `ERROR` event happened inside the span.
    #[inline]
    pub fn mark_error_event(&mut self) {
        self.error_event = true;
    }

    /// Whether an `ERROR` event happened inside the span.
    #[inline]
    pub fn had_error_event(&self) -> bool {
        self.error_event
    }

    /// Records, on a request's root span, whether sampling keeps the
    /// request: an exporter holds the spans of a request not kept until
    /// it ends, and sends them only if it is kept by then (it failed or
    /// was slow). Set by the part that samples (`warden::request_lines`).
    #[inline]
    pub fn set_kept(&mut self, kept: bool) {
        self.kept = Some(kept);
    }

    /// Whether sampling keeps the request this root span is (`None`: no
    /// sampling decided it).
    #[inline]
    pub fn kept(&self) -> Option<bool> {
        self.kept
    }

    /// A layer's own state for the span, if it left a `T` there
    /// ([`put_slot`](Self::put_slot)).
    ///
    /// ```
    /// let mut span = warden_core::WardenSpan::default();
    /// struct Mine(u32);
    /// assert!(span.put_slot(Box::new(Mine(7))).is_none());
    /// assert_eq!(span.slot::<Mine>().map(|m| m.0), Some(7));
    /// span.slot_mut::<Mine>().unwrap().0 += 1;
    /// assert_eq!(span.take_slot::<Mine>().map(|m| m.0), Some(8));
    /// assert!(span.slot::<Mine>().is_none());
    /// ```
    #[inline(always)]
    pub fn slot<T: Any>(&self) -> Option<&T> {
        Some(self.slots.find::<T>()?.get())
    }

    /// A layer's own state for the span, if it left a `T` there, to change.
    #[inline]
    pub fn slot_mut<T: Any>(&mut self) -> Option<&mut T> {
        Some(self.slots.find_mut::<T>()?.get_mut())
    }

    /// Leaves a layer's own state in the span (a box the layer may
    /// recycle: moving it here allocates nothing for the first three
    /// types), returning the `T` it replaces.
    #[inline]
    pub fn put_slot<T: Any + Send + Sync>(&mut self, value: Box<T>) -> Option<Box<T>> {
        // Nothing is kept, so the value is always put (`Err` cannot come).
        self.put_slot_unless(value, |_| false).ok().flatten()
    }

    /// [`put_slot`](Self::put_slot), unless the slot holds a `T` that
    /// `keep` says stays (another layer's of the same type, in a stack
    /// with two): then `value` comes back as `Err`, for the layer to keep
    /// elsewhere. `Ok` holds the `T` replaced, if any.
    ///
    /// ```
    /// let mut span = warden_core::WardenSpan::default();
    /// struct Text { owner: u64 }
    /// assert!(matches!(span.put_slot_unless(Box::new(Text { owner: 1 }), |_| true), Ok(None)));
    /// // Another owner's stays; this one's is handed back.
    /// let mine = span.put_slot_unless(Box::new(Text { owner: 2 }), |old| old.owner != 2);
    /// assert_eq!(mine.err().map(|t| t.owner), Some(2));
    /// assert_eq!(span.slot::<Text>().map(|t| t.owner), Some(1));
    /// ```
    #[inline]
    pub fn put_slot_unless<T: Any + Send + Sync>(
        &mut self,
        value: Box<T>,
        keep: impl FnOnce(&T) -> bool,
    ) -> Result<Option<Box<T>>, Box<T>> {
        match self.slots.find_mut::<T>() {
            Some(slot) if keep(slot.get()) => Err(value),
            Some(slot) => {
                let old = std::mem::replace(&mut slot.value, value);
                Ok(Some(
                    Slot {
                        type_id: TypeId::of::<T>(),
                        value: old,
                    }
                    .into_box(),
                ))
            }
            None => {
                self.slots.put(Slot {
                    type_id: TypeId::of::<T>(),
                    value,
                });
                Ok(None)
            }
        }
    }

    /// Takes a layer's own state out of the span, if it left a `T` there.
    #[inline]
    pub fn take_slot<T: Any + Send + Sync>(&mut self) -> Option<Box<T>> {
        Some(self.slots.take::<T>()?.into_box())
    }
}

/// The correlation ID in a span's extensions: warden's [`WardenSpan`]
/// record's, or else a bare [`CorrelationId`] extension another layer left.
/// In a layer: `warden_core::correlation_id_in(&span.extensions())`.
#[inline]
pub fn correlation_id_in<'a>(extensions: &'a Extensions<'_>) -> Option<&'a CorrelationId> {
    match extensions.get::<WardenSpan>() {
        Some(span) => span
            .correlation
            .as_ref()
            .or_else(|| extensions.get::<CorrelationId>()),
        None => extensions.get::<CorrelationId>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_read_as_the_portable_downcast_reads_them() {
        let mut span = WardenSpan::default();
        span.put_slot(Box::new(String::from("text")));
        span.put_slot(Box::new(7u64));
        span.put_slot(Box::new([1u8, 2, 3]));
        span.put_slot(Box::new(Some(-1i32)));
        let portable = |span: &WardenSpan| {
            let more = span.slots.more.as_deref().into_iter().flatten();
            let all = span.slots.first.iter().flatten().chain(more);
            let find = |id| all.clone().find(|s: &&Slot| s.type_id == id);
            (
                find(TypeId::of::<String>())
                    .and_then(|s| s.value.downcast_ref::<String>())
                    .cloned(),
                find(TypeId::of::<u64>())
                    .and_then(|s| s.value.downcast_ref::<u64>())
                    .copied(),
                find(TypeId::of::<[u8; 3]>())
                    .and_then(|s| s.value.downcast_ref::<[u8; 3]>())
                    .copied(),
                find(TypeId::of::<Option<i32>>())
                    .and_then(|s| s.value.downcast_ref::<Option<i32>>())
                    .copied(),
            )
        };
        let fast = |span: &WardenSpan| {
            (
                span.slot::<String>().cloned(),
                span.slot::<u64>().copied(),
                span.slot::<[u8; 3]>().copied(),
                span.slot::<Option<i32>>().copied(),
            )
        };
        assert_eq!(fast(&span), portable(&span));
        span.slot_mut::<String>().unwrap().push('!');
        *span.slot_mut::<Option<i32>>().unwrap() = None;
        assert_eq!(fast(&span), portable(&span));
        assert_eq!(span.slot::<String>().map(String::as_str), Some("text!"));
        // Taken out, as the portable `downcast` would give it.
        let portable: Box<dyn Any + Send + Sync> = Box::new(String::from("text!"));
        let portable = portable.downcast::<String>().ok();
        assert_eq!(span.take_slot::<String>(), portable);
        assert_eq!(span.take_slot::<String>(), None);
        assert_eq!(span.slot::<u32>(), None);
    }

    #[test]
    fn the_clock_is_read_once_and_slots_come_back_by_type() {
        let mut span = WardenSpan::default();
        let opened = span.opened();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(span.opened(), opened);
        let closed = span.closed();
        assert!(closed > opened);
        assert_eq!(span.closed(), closed);
        assert!(span.put_slot(Box::new(7u32)).is_none());
        assert_eq!(span.slot::<u64>(), None);
        assert_eq!(span.take_slot::<u64>(), None);
        assert_eq!(span.slot::<u32>(), Some(&7));
        *span.slot_mut::<u32>().unwrap() += 1;
        assert_eq!(span.take_slot::<u32>().map(|b| *b), Some(8));
        assert_eq!(span.slot::<u32>(), None);
        // More types than inline slots, each found, replaced and taken.
        assert!(span.put_slot(Box::new(1u8)).is_none());
        assert!(span.put_slot(Box::new(2u16)).is_none());
        assert!(span.put_slot(Box::new(3u32)).is_none());
        assert!(span.put_slot(Box::new(4u64)).is_none());
        assert!(span.put_slot(Box::new(5u128)).is_none());
        assert_eq!(span.put_slot(Box::new(6u64)).map(|b| *b), Some(4));
        assert_eq!(span.take_slot::<u8>().map(|b| *b), Some(1));
        assert_eq!(span.take_slot::<u128>().map(|b| *b), Some(5));
        assert_eq!(
            (span.slot::<u16>(), span.slot::<u32>(), span.slot::<u64>()),
            (Some(&2), Some(&3), Some(&6))
        );
    }

    /// Puts, replaces and takes of six types in a long pseudo-random order,
    /// against a model: every slot is found as the model says, whether it
    /// sits inline or in `more`, and none sits past `len`.
    #[test]
    fn slots_stay_packed_and_found_through_any_order_of_puts_and_takes() {
        struct Tag<const N: usize>(u32);
        fn step<const N: usize>(span: &mut WardenSpan, model: &mut [Option<u32>; 6], op: u32) {
            if op % 3 == 0 {
                assert_eq!(span.take_slot::<Tag<N>>().map(|t| t.0), model[N].take());
            } else {
                let old = span.put_slot(Box::new(Tag::<N>(op)));
                assert_eq!(old.map(|t| t.0), model[N].replace(op));
            }
        }
        let mut span = WardenSpan::default();
        let mut model = [None; 6];
        let mut seed = 0x2545_f491_u32;
        for _ in 0..if cfg!(miri) { 600 } else { 5_000 } {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let op = seed >> 8;
            match (seed >> 4) % 6 {
                0 => step::<0>(&mut span, &mut model, op),
                1 => step::<1>(&mut span, &mut model, op),
                2 => step::<2>(&mut span, &mut model, op),
                3 => step::<3>(&mut span, &mut model, op),
                4 => step::<4>(&mut span, &mut model, op),
                _ => step::<5>(&mut span, &mut model, op),
            }
            let held = model.iter().flatten().count();
            let len = usize::from(span.slots.len);
            assert!(span.slots.first[len..].iter().all(Option::is_none));
            // The last place below `len` is full: no trailing hole.
            assert!(len == 0 || span.slots.first[len - 1].is_some());
            let inline = span.slots.first.iter().flatten().count();
            let more = span.slots.more.as_deref().map_or(0, Vec::len);
            assert_eq!(inline + more, held);
            assert_eq!(span.slot::<Tag<0>>().map(|t| t.0), model[0]);
            assert_eq!(span.slot::<Tag<3>>().map(|t| t.0), model[3]);
            assert_eq!(span.slot::<Tag<5>>().map(|t| t.0), model[5]);
        }
        // Dropped with whatever it holds (Miri checks nothing leaks).
        drop(span);
    }
}
