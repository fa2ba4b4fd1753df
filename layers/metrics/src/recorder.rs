//! Per-operation statistics, kept in shards so that threads do not share
//! a lock or a cache line, and merged when read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use warden_core::Moment;
use warden_core::internal::{LocalSiteCache, SiteCache, SiteKey, next_owner};

use crate::histogram::LatencyHistogram;

/// The name under which operations beyond the cardinality bound are counted.
pub const OVERFLOW: &str = "__overflow__";

/// How many one-minute windows each operation keeps.
pub(crate) const MINUTES: usize = 5;

/// One minute's samples of one operation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    pub(crate) minute: u64,
    pub(crate) histogram: LatencyHistogram,
    pub(crate) errors: u64,
}

/// What one shard knows of one operation.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpStats {
    pub(crate) total: LatencyHistogram,
    pub(crate) errors: u64,
    pub(crate) errors_by_code: HashMap<String, u64>,
    pub(crate) in_flight: i64,
    pub(crate) minutes: [Window; MINUTES],
}

impl OpStats {
    /// The window of `minute`, reusing the oldest one in place (its
    /// buckets' memory stays). In a shard, a window's samples are added to
    /// `total` only when the window is reused: a span is recorded in one
    /// histogram, not two (see [`Recorder::merge_into`]).
    pub(crate) fn window(&mut self, minute: u64) -> &mut Window {
        let window = &mut self.minutes[(minute % MINUTES as u64) as usize];
        if window.minute != minute {
            if window.histogram.count() > 0 {
                self.total.merge(&window.histogram);
            }
            window.minute = minute;
            window.histogram.reset();
            window.errors = 0;
        }
        window
    }

    /// Adds one shard's `stats` to these merged ones; that shard's windows
    /// older than the last [`MINUTES`] before `now_minute` count in the
    /// total only.
    fn add(&mut self, stats: &OpStats, now_minute: u64) {
        self.total.merge(&stats.total);
        self.errors += stats.errors;
        self.in_flight += stats.in_flight;
        for (code, n) in &stats.errors_by_code {
            match self.errors_by_code.get_mut(code.as_str()) {
                Some(count) => *count += n,
                None => {
                    self.errors_by_code.insert(code.clone(), *n);
                }
            }
        }
        for window in &stats.minutes {
            // A shard's windows are not in its total yet.
            if window.histogram.count() > 0 {
                self.total.merge(&window.histogram);
            }
            let stale =
                window.minute + (MINUTES as u64) <= now_minute || window.minute > now_minute;
            if stale || window.histogram.count() == 0 && window.errors == 0 {
                continue;
            }
            let slot = self.window(window.minute);
            slot.histogram.merge(&window.histogram);
            slot.errors += window.errors;
        }
    }

    /// Empties the stats, keeping their memory for the next merge.
    fn reset(&mut self) {
        self.total.reset();
        self.errors = 0;
        self.errors_by_code.values_mut().for_each(|n| *n = 0);
        self.in_flight = 0;
        for window in &mut self.minutes {
            window.histogram.reset();
            window.errors = 0;
            window.minute = u64::MAX;
        }
    }
}

/// Merged stats kept between scrapes, so that a scrape reuses their memory.
pub(crate) type MergedStats = HashMap<String, OpStats, Names>;

/// A fast hasher for operation names (FxHash's multiply-rotate over
/// 8-byte words): names are short, trusted and looked up on every span.
#[derive(Default, Clone, Copy)]
pub(crate) struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Names = std::hash::BuildHasherDefault<NameHasher>;

/// One shard: the operations seen by the threads assigned to it, by the
/// index the recorder gave each operation.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    /// Each operation's index, for the spans that name theirs on start.
    index_of: HashMap<String, usize, Names>,
    /// Stats by operation index (`None` where this shard saw none).
    pub(crate) ops: Vec<Option<OpStats>>,
    /// The minute the last sample fell in, and the instant it ends: most
    /// samples fall in the same minute, and a comparison is cheaper than
    /// working the minute out.
    minute: Option<(u64, Moment)>,
}

impl Shard {
    fn stats(&mut self, index: usize) -> &mut OpStats {
        if self.ops.len() <= index {
            self.ops.resize_with(index + 1, || None);
        }
        self.ops[index].get_or_insert_with(OpStats::default)
    }
}

/// A shard on its own cache lines: its stats behind a mutex (with minus
/// the spans closed, by operation), and the spans started by operation
/// index as atomics, so a span's start takes no lock; spans in flight are
/// the difference, summed over the shards.
#[repr(align(128))]
#[derive(Debug)]
struct Padded {
    shard: Mutex<Shard>,
    in_flight: Box<[AtomicI64]>,
}

impl Padded {
    fn new(operations: usize) -> Self {
        Padded {
            shard: Mutex::default(),
            in_flight: (0..operations).map(|_| AtomicI64::new(0)).collect(),
        }
    }

    fn add_in_flight(&self, index: usize, n: i64) {
        if let Some(count) = self.in_flight.get(index) {
            count.fetch_add(n, Ordering::Relaxed);
        }
    }
}

thread_local! {
    /// Operation indices of span names by call site (and recorder), per
    /// thread: a span named by its call site finds its index without
    /// hashing its name.
    static CALLSITES: SiteCache<usize, 16> = const { SiteCache::new(0) };
}

/// The operations admitted so far: each name's index, and each index's
/// name.
#[derive(Debug, Default)]
struct Operations {
    index_of: HashMap<String, usize, Names>,
    names: Vec<String>,
}

/// The shards, the bound on operations, and the clock windows count from.
#[derive(Debug)]
pub(crate) struct Recorder {
    shards: Box<[Padded]>,
    operations: RwLock<Operations>,
    max_operations: usize,
    overflowed: AtomicUsize,
    pub(crate) started: Moment,
    /// Unique among the recorders of the process (a call-site cache entry
    /// names its recorder by it; an address could be reused).
    id: u64,
}

thread_local! {
    // Not a cache: a number each thread is given once.
    /// This thread's shard number, handed out round robin so that the
    /// first threads of a process all get shards of their own.
    static SHARD: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
}

/// A sample to record when a span closes.
#[derive(Debug)]
pub(crate) struct Sample<'a> {
    /// The operation's index (from [`Recorder::started_span`]).
    pub(crate) operation: usize,
    pub(crate) duration: Duration,
    pub(crate) error: bool,
    pub(crate) code: Option<&'a str>,
}

impl Recorder {
    /// This recorder's unique number (see the field).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn new(shards: usize, max_operations: usize) -> Self {
        Recorder {
            // Admitted names, and the overflow's.
            shards: (0..shards.max(1))
                .map(|_| Padded::new(max_operations.max(1) + 1))
                .collect(),
            operations: RwLock::new(Operations::default()),
            max_operations: max_operations.max(1),
            overflowed: AtomicUsize::new(0),
            started: Moment::now(),
            id: next_owner(),
        }
    }

    fn padded(&self) -> &Padded {
        let n = SHARD.try_with(|n| *n).unwrap_or(0);
        &self.shards[n % self.shards.len()]
    }

    fn shard(&self) -> &Mutex<Shard> {
        &self.padded().shard
    }

    /// The minute (since the recorder started) `now` falls in.
    pub(crate) fn minute(&self, now: Moment) -> u64 {
        now.saturating_duration_since(self.started).as_secs() / 60
    }

    /// The index to count `operation` under: its own if it is admitted
    /// (or can be, under the bound), else [`OVERFLOW`]'s; and whether it
    /// is its own.
    fn admit(&self, operation: &str) -> (usize, bool) {
        if let Ok(operations) = self.operations.read() {
            if let Some(&index) = operations.index_of.get(operation) {
                return (index, true);
            }
            // Beyond the bound, with the overflow admitted: no write lock
            // for each span of an unbounded set of names.
            if let Some(&index) = operations.index_of.get(OVERFLOW) {
                if operations.names.len() > self.max_operations {
                    self.overflowed.fetch_add(1, Ordering::Relaxed);
                    return (index, false);
                }
            }
        }
        let Ok(mut operations) = self.operations.write() else {
            return (0, false);
        };
        let admitted =
            operations.names.len() - usize::from(operations.index_of.contains_key(OVERFLOW));
        let name = if admitted < self.max_operations {
            operation
        } else {
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            OVERFLOW
        };
        let own = name == operation;
        if let Some(&index) = operations.index_of.get(name) {
            return (index, own);
        }
        let index = operations.names.len();
        operations.names.push(name.to_owned());
        operations.index_of.insert(name.to_owned(), index);
        (index, own)
    }

    /// The index of `operation` (admitting it), with `shard` locked, and
    /// whether it is its own (not the overflow's).
    fn index(&self, shard: &mut Shard, operation: &str) -> (usize, bool) {
        if let Some(&index) = shard.index_of.get(operation) {
            return (index, true);
        }
        // First sight of this operation on this shard (rare), or one
        // beyond the bound (kept out of the shard, so that memory stays
        // bounded however many names come).
        let (index, own) = self.admit(operation);
        if own {
            shard.index_of.insert(operation.to_owned(), index);
        }
        (index, own)
    }

    /// The index of `operation`, looked up under this thread's shard lock.
    fn lookup(&self, operation: &str) -> (usize, bool) {
        match self.shard().lock() {
            Ok(mut shard) => self.index(&mut shard, operation),
            Err(_) => self.admit(operation),
        }
    }

    /// A span of `operation` started; returns the operation's index.
    /// `callsite` identifies a span named by its call site (its metadata's
    /// address), whose index this thread then remembers.
    pub(crate) fn started_span(&self, operation: &str, callsite: Option<usize>) -> usize {
        let index = match callsite {
            Some(site) => {
                let key = SiteKey::new(self.id, site);
                match CALLSITES.get(key) {
                    Some(index) => index,
                    None => {
                        let (index, own) = self.lookup(operation);
                        if own {
                            CALLSITES.put(key, index);
                        }
                        index
                    }
                }
            }
            None => self.lookup(operation).0,
        };
        self.padded().add_in_flight(index, 1);
        index
    }

    /// A span's operation changed (its operation field was recorded);
    /// returns the new operation's index.
    pub(crate) fn moved_span(&self, from: usize, to: &str) -> usize {
        let padded = self.padded();
        padded.add_in_flight(from, -1);
        let index = self.lookup(to).0;
        padded.add_in_flight(index, 1);
        index
    }

    pub(crate) fn closed_span(&self, sample: Sample<'_>, now: Moment) {
        let padded = self.padded();
        let Ok(mut shard) = padded.shard.lock() else {
            return;
        };
        let minute = match shard.minute {
            Some((minute, ends)) if now < ends => minute,
            _ => {
                let minute = self.minute(now);
                let ends = self
                    .started
                    .checked_add(Duration::from_secs((minute + 1) * 60))
                    .unwrap_or(now);
                shard.minute = Some((minute, ends));
                minute
            }
        };
        let op = shard.stats(sample.operation);
        // A close is counted under the lock this takes anyway, not with an
        // atomic of its own: a shard's stats hold minus its closes, and the
        // in-flight atomics (added to when spans start) are read after
        // them, so a sum is never below the spans really open.
        op.in_flight -= 1;
        let window = op.window(minute);
        window.histogram.record(sample.duration);
        if sample.error {
            window.errors += 1;
            op.errors += 1;
            if let Some(code) = sample.code {
                *op.errors_by_code.entry(code.to_owned()).or_default() += 1;
            }
        }
    }

    /// Each shard's stats with their operation's name (their `in_flight`
    /// minus the spans they closed), then each operation's spans started
    /// and not moved (summed over the shards, read after the closes) as
    /// stats of their own: the sum of both is the spans in flight.
    ///
    /// Locks are taken in the order the logging threads take them: a
    /// shard, then the operations (see [`index`](Self::index)). Holding
    /// the operations while waiting for a shard would deadlock against a
    /// thread admitting a name under its shard lock.
    fn for_each_op(&self, mut f: impl FnMut(&str, &OpStats)) {
        for padded in self.shards.iter() {
            let Ok(shard) = padded.shard.lock() else {
                continue;
            };
            let Ok(operations) = self.operations.read() else {
                return;
            };
            for (index, stats) in shard.ops.iter().enumerate() {
                if let (Some(stats), Some(name)) = (stats, operations.names.get(index)) {
                    f(name, stats);
                }
            }
        }
        let Ok(operations) = self.operations.read() else {
            return;
        };
        let mut in_flight = OpStats::default();
        for (index, name) in operations.names.iter().enumerate() {
            in_flight.in_flight = self
                .shards
                .iter()
                .map(|p| {
                    p.in_flight
                        .get(index)
                        .map_or(0, |n| n.load(Ordering::Relaxed))
                })
                .sum();
            if in_flight.in_flight != 0 {
                f(name, &in_flight);
            }
        }
    }

    /// Every shard's stats merged into `out`, reusing what `out` holds
    /// from an earlier merge (no allocation once every operation and error
    /// code has been seen); windows older than the last [`MINUTES`] before
    /// `now_minute` are left out.
    pub(crate) fn merge_into(&self, now_minute: u64, out: &mut MergedStats) {
        out.values_mut().for_each(OpStats::reset);
        self.for_each_op(|name, stats| {
            let into = match out.get_mut(name) {
                Some(into) => into,
                None => out.entry(name.to_owned()).or_default(),
            };
            into.add(stats, now_minute);
        });
    }

    /// Every shard's stats of every operation, merged; windows older than
    /// the last [`MINUTES`] before `now_minute` are left out.
    pub(crate) fn merged(&self, now_minute: u64) -> HashMap<String, OpStats> {
        let mut out: HashMap<String, OpStats> = HashMap::new();
        self.for_each_op(|name, stats| {
            out.entry(name.to_owned())
                .or_default()
                .add(stats, now_minute);
        });
        out
    }

    /// The minute now, and the merged stats into `out` (see [`merge_into`](Self::merge_into)).
    pub(crate) fn merge_now(&self, out: &mut MergedStats) -> u64 {
        let minute = self.minute(Moment::now());
        self.merge_into(minute, out);
        minute
    }

    /// How many times an operation beyond the bound was counted under
    /// [`OVERFLOW`] instead of its own name.
    pub(crate) fn overflowed(&self) -> usize {
        self.overflowed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clean sample of `operation` that took `duration`.
    fn sample(operation: usize, duration: Duration) -> Sample<'static> {
        Sample {
            operation,
            duration,
            error: false,
            code: None,
        }
    }

    fn close(recorder: &Recorder, at_minute: u64) {
        let index = recorder.started_span("op", None);
        let now = recorder
            .started
            .checked_add(Duration::from_secs(at_minute * 60 + 1))
            .unwrap();
        recorder.closed_span(sample(index, Duration::from_millis(3)), now);
    }

    #[test]
    fn totals_count_every_span_before_and_after_its_window_is_reused() {
        let recorder = Recorder::new(1, 10);
        close(&recorder, 0);
        close(&recorder, 0);
        let merged = recorder.merged(0);
        assert_eq!(merged["op"].total.count(), 2);
        assert_eq!(merged["op"].in_flight, 0);
        // Minute 5 reuses minute 0's window: its spans move to the total.
        close(&recorder, 5);
        let merged = recorder.merged(5);
        assert_eq!(merged["op"].total.count(), 3);
        let recent: u64 = merged["op"]
            .minutes
            .iter()
            .filter(|w| w.minute == 5)
            .map(|w| w.histogram.count())
            .sum();
        assert_eq!(recent, 1);
        let mut kept = MergedStats::default();
        recorder.merge_into(5, &mut kept);
        assert_eq!(kept["op"].total.count(), 3);
    }

    #[test]
    fn spans_in_flight_are_counted_per_recorder_through_the_call_site_cache() {
        let site = 0x1000;
        for _ in 0..3 {
            // A new recorder each time, perhaps at the address of the last:
            // the cache must not hand it the last one's index.
            let recorder = Recorder::new(2, 10);
            let _warm = recorder.started_span("warm", Some(site + 16));
            let a = recorder.started_span("op", Some(site));
            let b = recorder.started_span("op", Some(site));
            assert_eq!(a, b);
            assert_eq!(recorder.merged(0)["op"].in_flight, 2);
            let millisecond = Duration::from_millis(1);
            recorder.closed_span(sample(a, millisecond), recorder.started);
            let merged = recorder.merged(0);
            assert_eq!((merged["op"].in_flight, merged["op"].total.count()), (1, 1));
            // Closed on another thread (another shard): the sum is what counts.
            std::thread::scope(|s| {
                s.spawn(|| recorder.closed_span(sample(b, millisecond), recorder.started));
            });
            let merged = recorder.merged(0);
            assert_eq!((merged["op"].in_flight, merged["op"].total.count()), (0, 2));
        }
    }

    #[test]
    fn merging_while_threads_admit_new_names_does_not_deadlock() {
        // Names beyond the bound are admitted (as the overflow) under the
        // operations' write lock, taken while the thread holds its shard:
        // a merge must not hold the operations while it waits for a shard.
        let recorder = Recorder::new(2, 10);
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let writers: Vec<_> = (0..3)
                .map(|t| {
                    let recorder = &recorder;
                    s.spawn(move || {
                        for i in 0..3_000u64 {
                            let name = format!("op-{t}-{i}");
                            let op = recorder.started_span(&name, None);
                            let took = Duration::from_micros(i);
                            recorder.closed_span(sample(op, took), recorder.started);
                        }
                    })
                })
                .collect();
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    let _ = recorder.merged(0);
                }
            });
            for writer in writers {
                let _ = writer.join();
            }
            done.store(true, Ordering::Relaxed);
        });
        let merged = recorder.merged(0);
        assert_eq!(merged.values().map(|o| o.total.count()).sum::<u64>(), 9_000);
        assert!(merged.contains_key(OVERFLOW));
    }

    #[test]
    fn spans_in_flight_never_read_below_zero_while_threads_open_and_close_them() {
        let recorder = Recorder::new(2, 10);
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for i in 0..5_000u64 {
                        let op = recorder.started_span("op", None);
                        let op = if i % 7 == 0 {
                            recorder.moved_span(op, "other")
                        } else {
                            op
                        };
                        let took = Duration::from_micros(i);
                        recorder.closed_span(sample(op, took), recorder.started);
                    }
                });
            }
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    for stats in recorder.merged(0).values() {
                        assert!(stats.in_flight >= 0, "{}", stats.in_flight);
                    }
                }
            });
            std::thread::sleep(Duration::from_millis(200));
            done.store(true, Ordering::Relaxed);
        });
        let merged = recorder.merged(0);
        assert_eq!(merged.values().map(|o| o.in_flight).sum::<i64>(), 0);
        assert_eq!(
            merged.values().map(|o| o.total.count()).sum::<u64>(),
            15_000
        );
    }
}
