//! The per-thread caches and pools of every warden layer, written once:
//! a cache keyed by call site ([`SiteCache`], direct-mapped, for small `Copy`
//! answers, [`SiteTable`] for entries that own memory), and a pool of
//! values kept for reuse ([`Pool`]).
//!
//! A layer declares its own in a `thread_local!` (a `static` cannot be
//! generic) and reaches it through [`LocalSiteCache`], [`LocalSiteTable`]
//! or [`LocalPool`], which hold the one fallback every per-thread cache
//! needs: when the thread is ending, or the cache is in use further up the
//! stack (a value's `Debug` that logs while a line is written, a detector
//! that logs), the call goes on without it, never panics and never waits.
//!
//! ```
//! use warden_core::internal::{LocalPool, LocalSiteCache, Pool, SiteCache, SiteKey};
//!
//! thread_local! {
//!     static LENGTHS: SiteCache<usize, 16> = const { SiteCache::new(0) };
//!     static BUFFERS: Pool<String, 4> = const { Pool::new() };
//! }
//!
//! let key = SiteKey::new(warden_core::internal::next_owner(), 0x1000);
//! assert_eq!(LENGTHS.cached(key, || 7), 7);
//! assert_eq!(LENGTHS.cached(key, || unreachable!()), 7);
//!
//! let mut buffer = BUFFERS.take_one().unwrap_or_default();
//! buffer.push_str("a line");
//! buffer.clear();
//! BUFFERS.give_back(buffer);
//! assert!(BUFFERS.take_one().is_some());
//! ```

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::LocalKey;

/// A fresh owner for cache keys (a layer, a recorder, a sanitizer's
/// configuration), never reused, so that an entry can never answer for
/// another owner (an address could be reused).
pub fn next_owner() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What a cache entry answers for: the owner (from [`next_owner`]), a call
/// site (its metadata's or callsite's address) and an index within it (a
/// field's; 0 when the entry is for the whole site). Compared whole, so an
/// entry never answers for another key; only where it lives is hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SiteKey {
    owner: u64,
    site: usize,
    index: usize,
}

impl SiteKey {
    /// The key of a whole call site.
    #[inline]
    pub const fn new(owner: u64, site: usize) -> Self {
        SiteKey {
            owner,
            site,
            index: 0,
        }
    }

    /// The key of one field (by index) of a call site.
    #[inline]
    pub const fn field(owner: u64, site: usize, index: usize) -> Self {
        SiteKey { owner, site, index }
    }

    /// No key (what an empty slot holds; owners start at 1).
    const EMPTY: SiteKey = SiteKey::new(0, 0);

    /// The slot of `slots` (a power of two) this key lives in: Fibonacci
    /// hashing, the top bits of the product (call sites' addresses are
    /// close together and aligned, so their low bits say little).
    ///
    /// The hashed value is `site + index` plus an offset per owner: a sum,
    /// not a mix of bits, so that the keys of one owner that lie within
    /// about a hundred bytes of each other (field names packed side by
    /// side, keyed by address and length, so by where they end; a call
    /// site's fields by index) are an arithmetic run, which Fibonacci
    /// hashing never puts in the same slot of 256 (the three-gap theorem:
    /// the smallest gap between 100 consecutive multiples of 1/φ is above
    /// 1/256).
    #[inline]
    fn slot(&self, slots: usize) -> usize {
        let mixed = (self.site as u64)
            .wrapping_add(self.index as u64)
            .wrapping_add(self.owner.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let bits = slots.trailing_zeros();
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize & (slots - 1)
    }
}

/// One slot of a [`SiteCache`]: the key it answers for, and the answer.
type Entry<V> = Cell<(SiteKey, V)>;

/// A direct-mapped cache of `N` small `Copy` answers by [`SiteKey`], for a
/// `thread_local!` (with `const { SiteCache::new(..) }`); read through
/// [`LocalSiteCache::cached`].
pub struct SiteCache<V: Copy, const N: usize> {
    slots: Cell<[(SiteKey, V); N]>,
}

impl<V: Copy, const N: usize> std::fmt::Debug for SiteCache<V, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteCache").field("slots", &N).finish()
    }
}

impl<V: Copy, const N: usize> SiteCache<V, N> {
    /// An empty cache; `empty` fills the slots (it is never answered).
    /// `N` is a power of two (checked when it is built).
    pub const fn new(empty: V) -> Self {
        assert!(
            N.is_power_of_two(),
            "a SiteCache has a power of two of slots"
        );
        SiteCache {
            slots: Cell::new([(SiteKey::EMPTY, empty); N]),
        }
    }

    /// The slot `key` lives in (direct-mapped: a small answer is cheaper
    /// to compute again than a second slot is to look in).
    #[inline]
    fn slot(&self, key: SiteKey) -> &Entry<V> {
        let slots: &Cell<[(SiteKey, V)]> = &self.slots;
        &slots.as_slice_of_cells()[key.slot(N)]
    }
}

/// [`SiteCache`] reached through its `thread_local!` key.
pub trait LocalSiteCache<V> {
    /// The answer cached for `key`, if any (none once the thread is
    /// ending).
    fn get(&'static self, key: SiteKey) -> Option<V>;

    /// Caches `value` for `key`, in place of what its slot held.
    fn put(&'static self, key: SiteKey, value: V);

    /// The answer for `key`: the cached one, or `compute`'s (then cached).
    #[inline]
    fn cached(&'static self, key: SiteKey, compute: impl FnOnce() -> V) -> V
    where
        V: Copy,
    {
        if let Some(value) = self.get(key) {
            return value;
        }
        let value = compute();
        self.put(key, value);
        value
    }
}

impl<V: Copy + 'static, const N: usize> LocalSiteCache<V> for LocalKey<SiteCache<V, N>> {
    #[inline]
    fn get(&'static self, key: SiteKey) -> Option<V> {
        self.try_with(|cache| cache.slot(key).get())
            .ok()
            .filter(|&(k, _)| k == key)
            .map(|(_, value)| value)
    }

    #[inline]
    fn put(&'static self, key: SiteKey, value: V) {
        let _ = self.try_with(|cache| cache.slot(key).set((key, value)));
    }
}

/// A two-way table of `N` entries that own memory (texts), by
/// [`SiteKey`], for a `thread_local!` (with `const { SiteTable::new() }`);
/// reached through [`LocalSiteTable::with_entry`]. An entry is made with
/// `Default` once and reused: a slot taken over by another key keeps its
/// allocations.
pub struct SiteTable<E, const N: usize> {
    slots: RefCell<Vec<(SiteKey, E)>>,
}

impl<E, const N: usize> std::fmt::Debug for SiteTable<E, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteTable").field("slots", &N).finish()
    }
}

impl<E, const N: usize> SiteTable<E, N> {
    /// An empty table (it allocates on first use). `N` is a power of two
    /// (checked when it is built).
    pub const fn new() -> Self {
        assert!(
            N.is_power_of_two() && N >= 2,
            "a SiteTable has a power of two of slots, two at least"
        );
        SiteTable {
            slots: RefCell::new(Vec::new()),
        }
    }
}

impl<E, const N: usize> Default for SiteTable<E, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// [`SiteTable`] reached through its `thread_local!` key.
pub trait LocalSiteTable<E> {
    /// Runs `f` once, with the entry for `key`: `fill` first writes it if
    /// its slot held another key (or none). `f` gets `None` when the table
    /// is in use further up this thread's stack, or the thread is ending.
    fn with_entry<R>(
        &'static self,
        key: SiteKey,
        fill: impl FnOnce(&mut E),
        f: impl FnMut(Option<&mut E>) -> R,
    ) -> R;

    /// [`with_entry`](Self::with_entry) for reading: `f` gets the entry
    /// shared, so that a nested call (from inside `f`) still reads the
    /// entries there are; it gets `None` only for an entry that would have
    /// to be written while the table is read.
    fn read_entry<R>(
        &'static self,
        key: SiteKey,
        fill: impl FnOnce(&mut E),
        f: impl FnMut(Option<&E>) -> R,
    ) -> R;
}

/// The slot of `key`'s entry in `slots`, written by `fill` if it was not
/// there. Two-way: a key lives in one of the two slots of its pair (its
/// hash's slot with the lowest bit cleared, and the next one); the one
/// used last is kept in the first, so a third key of the pair evicts the
/// one used longer ago (with one slot per key, two fields that hash alike
/// would evict each other on every event).
#[inline]
fn entry_of<E: Default>(
    slots: &mut Vec<(SiteKey, E)>,
    n: usize,
    key: SiteKey,
    fill: impl FnOnce(&mut E),
) -> usize {
    if slots.is_empty() {
        slots.resize_with(n, || (SiteKey::EMPTY, E::default()));
    }
    let first = key.slot(n) & !1;
    if slots[first].0 == key {
        return first;
    }
    // Found in the second, or not at all: the second's entry moves to the
    // first (if it is the key's) or is the one written over, and the
    // first's becomes the second.
    slots.swap(first, first + 1);
    let (held, entry) = &mut slots[first];
    if *held != key {
        *held = key;
        fill(entry);
    }
    first
}

impl<E: Default + 'static, const N: usize> LocalSiteTable<E> for LocalKey<SiteTable<E, N>> {
    #[inline]
    fn with_entry<R>(
        &'static self,
        key: SiteKey,
        fill: impl FnOnce(&mut E),
        mut f: impl FnMut(Option<&mut E>) -> R,
    ) -> R {
        let done = self.try_with(|table| {
            let mut slots = table.slots.try_borrow_mut().ok()?;
            let at = entry_of(&mut slots, N, key, fill);
            Some(f(Some(&mut slots[at].1)))
        });
        match done {
            Ok(Some(result)) => result,
            // Not run: the table was in use or gone.
            _ => f(None),
        }
    }

    #[inline]
    fn read_entry<R>(
        &'static self,
        key: SiteKey,
        fill: impl FnOnce(&mut E),
        mut f: impl FnMut(Option<&E>) -> R,
    ) -> R {
        let done = self.try_with(|table| {
            // Write the entry if it is missing (needs the table alone)…
            if let Ok(mut slots) = table.slots.try_borrow_mut() {
                entry_of(&mut slots, N, key, fill);
            }
            // …then read it, shared with a nested call's read (where it
            // may still be in the neighbour).
            let slots = table.slots.try_borrow().ok()?;
            let first = key.slot(N) & !1;
            let (_, entry) = [first, first + 1]
                .into_iter()
                .filter_map(|at| slots.get(at))
                .find(|(held, _)| *held == key)?;
            Some(f(Some(entry)))
        });
        match done {
            Ok(Some(result)) => result,
            // Not run: the entry was missing while the table was read, or
            // the table is gone.
            _ => f(None),
        }
    }
}

/// A pool of at most `N` values kept for reuse on one thread (buffers,
/// per-span records), for a `thread_local!` (with
/// `const { Pool::new() }`); reached through [`LocalPool`]. Cells, not a
/// `RefCell`: taking and giving back run no code of the caller's, so a
/// nested use (a `Debug` that logs while a buffer is out) simply finds
/// what is left.
pub struct Pool<T, const N: usize> {
    items: [Cell<Option<T>>; N],
    len: Cell<usize>,
}

impl<T, const N: usize> std::fmt::Debug for Pool<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("max", &N).finish()
    }
}

impl<T, const N: usize> Pool<T, N> {
    /// An empty pool that keeps at most `N` values.
    pub const fn new() -> Self {
        Pool {
            items: [const { Cell::new(None) }; N],
            len: Cell::new(0),
        }
    }
}

impl<T, const N: usize> Pool<T, N> {
    /// A value from the pool, if it holds one.
    #[inline]
    pub fn take(&self) -> Option<T> {
        let len = self.len.get().checked_sub(1)?;
        self.len.set(len);
        self.items.get(len)?.take()
    }

    /// Gives `value` back: dropped if the pool is full.
    #[inline]
    pub fn give(&self, value: T) {
        let len = self.len.get();
        if let Some(free) = self.items.get(len) {
            free.set(Some(value));
            self.len.set(len + 1);
        }
    }
}

impl<T, const N: usize> Default for Pool<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// [`Pool`] reached through its `thread_local!` key.
pub trait LocalPool<T> {
    /// A value from the pool, if it holds one (none once the thread is
    /// ending).
    fn take_one(&'static self) -> Option<T>;

    /// Gives `value` back for reuse: dropped if the pool is full or the
    /// thread is ending.
    fn give_back(&'static self, value: T);
}

impl<T: 'static, const N: usize> LocalPool<T> for LocalKey<Pool<T, N>> {
    #[inline]
    fn take_one(&'static self) -> Option<T> {
        self.try_with(Pool::take).ok().flatten()
    }

    #[inline]
    fn give_back(&'static self, value: T) {
        let _ = self.try_with(|pool| pool.give(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static ANSWERS: SiteCache<u32, 4> = const { SiteCache::new(0) };
        static TEXTS: SiteTable<String, 4> = const { SiteTable::new() };
        static POOL: Pool<Vec<u8>, 2> = const { Pool::new() };
    }

    #[test]
    fn keys_within_a_hundred_bytes_never_share_a_slot_of_256() {
        // Any owner, any base address (a few thousand drawn by a
        // xorshift): the keys base..base+100 of one owner land in 100
        // different slots, whatever mix of sites and indexes gives them.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..4000 {
            let owner = next() >> 16;
            let base = (next() >> 8) as usize;
            let mut seen = [false; 256];
            for offset in 0..100 {
                // Half by the site, half by the index: the sum is hashed.
                let key = SiteKey::field(owner, base + offset / 2, offset - offset / 2);
                let slot = key.slot(256);
                assert!(
                    !seen[slot],
                    "owner {owner}, base {base:#x}, offset {offset}"
                );
                seen[slot] = true;
            }
        }
    }

    #[test]
    fn a_cached_answer_is_only_ever_for_its_own_key() {
        let owner = next_owner();
        let other = next_owner();
        assert_eq!(ANSWERS.cached(SiteKey::new(owner, 64), || 1), 1);
        assert_eq!(ANSWERS.cached(SiteKey::new(owner, 64), || 2), 1);
        assert_eq!(ANSWERS.cached(SiteKey::new(other, 64), || 3), 3);
        assert_eq!(ANSWERS.cached(SiteKey::field(owner, 64, 1), || 4), 4);
        // More keys than slots: evicted, never confused.
        for site in 0..64 {
            assert_eq!(
                ANSWERS.cached(SiteKey::new(owner, 0x1000 + site * 16), || site as u32),
                site as u32
            );
        }
        for site in 0..64 {
            let again = ANSWERS.cached(SiteKey::new(owner, 0x1000 + site * 16), || site as u32);
            assert_eq!(again, site as u32);
        }
    }

    #[test]
    fn a_table_entry_is_filled_once_and_a_nested_use_does_without() {
        let key = SiteKey::new(next_owner(), 0x40);
        let fills = Cell::new(0);
        let fill = |entry: &mut String| {
            fills.set(fills.get() + 1);
            entry.clear();
            entry.push_str("text");
        };
        for _ in 0..3 {
            let len = TEXTS.with_entry(key, fill, |entry| entry.map(|e| e.len()));
            assert_eq!(len, Some(4));
        }
        assert_eq!(fills.get(), 1);
        // Two keys of one slot both stay (two-way), as long as a third
        // of the pair does not come.
        let owner = next_owner();
        let mut pair = Vec::new();
        let mut site = 0x1000;
        while pair.len() < 2 {
            let other = SiteKey::new(owner, site);
            if other.slot(4) & !1 == key.slot(4) & !1 && other != key {
                pair.push(other);
            }
            site += 16;
        }
        let before = fills.get();
        for _ in 0..3 {
            TEXTS.with_entry(key, fill, |e| assert!(e.is_some()));
            TEXTS.with_entry(pair[0], fill, |e| assert!(e.is_some()));
        }
        assert_eq!(
            fills.get(),
            before + 1,
            "the key and its neighbour alternate without filling"
        );
        TEXTS.with_entry(pair[1], fill, |_| ());
        TEXTS.with_entry(key, fill, |_| ());
        assert_eq!(
            fills.get(),
            before + 3,
            "a third evicts the one used longer ago"
        );
        let nested = TEXTS.with_entry(key, fill, |outer| {
            assert!(outer.is_some());
            TEXTS.with_entry(key, fill, |inner| inner.is_none())
        });
        assert!(nested, "the table is in use: the nested call goes without");
        let nested = TEXTS.read_entry(key, fill, |outer| {
            assert!(outer.is_some());
            let again = TEXTS.read_entry(key, fill, |inner| inner.is_some());
            let other = TEXTS.read_entry(SiteKey::new(next_owner(), 0x40), fill, |e| e.is_none());
            again && other
        });
        assert!(
            nested,
            "a nested read reads what is there, and writes nothing"
        );
        assert_eq!(fills.get(), before + 3);
    }

    #[test]
    fn a_pool_keeps_at_most_its_bound_and_lends_each_value_once() {
        let nested = POOL.take_one();
        assert_eq!(nested, None, "empty at first");
        POOL.give_back(vec![1]);
        POOL.give_back(vec![2]);
        POOL.give_back(vec![3]);
        let a = POOL.take_one();
        let b = POOL.take_one();
        assert_eq!(POOL.take_one(), None, "the third was dropped");
        assert_eq!((a, b), (Some(vec![2]), Some(vec![1])));
    }
}
