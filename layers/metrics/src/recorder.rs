//! Per-operation statistics, kept in shards so that threads do not share
//! a lock or a cache line, and merged when read.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

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
    pub(crate) fn window(&mut self, minute: u64) -> &mut Window {
        let window = &mut self.minutes[(minute % MINUTES as u64) as usize];
        if window.minute != minute {
            // Reused in place: its buckets' memory stays.
            window.minute = minute;
            window.histogram.reset();
            window.errors = 0;
        }
        window
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

/// One shard: the operations seen by the threads assigned to it.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    pub(crate) ops: HashMap<String, OpStats, Names>,
}

/// A mutex on its own cache lines.
#[repr(align(128))]
#[derive(Debug, Default)]
struct Padded(Mutex<Shard>);

/// The shards, the bound on operations, and the clock windows count from.
#[derive(Debug)]
pub(crate) struct Recorder {
    shards: Box<[Padded]>,
    admitted: RwLock<HashSet<String>>,
    max_operations: usize,
    overflowed: AtomicUsize,
    pub(crate) started: Instant,
}

thread_local! {
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
    pub(crate) operation: &'a str,
    pub(crate) duration: Duration,
    pub(crate) error: bool,
    pub(crate) code: Option<&'a str>,
}

impl Recorder {
    pub(crate) fn new(shards: usize, max_operations: usize) -> Self {
        Recorder {
            shards: (0..shards.max(1)).map(|_| Padded::default()).collect(),
            admitted: RwLock::new(HashSet::new()),
            max_operations: max_operations.max(1),
            overflowed: AtomicUsize::new(0),
            started: Instant::now(),
        }
    }

    fn shard(&self) -> &Mutex<Shard> {
        let n = SHARD.try_with(|n| *n).unwrap_or(0);
        &self.shards[n % self.shards.len()].0
    }

    /// The minute (since the recorder started) `now` falls in.
    pub(crate) fn minute(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs() / 60
    }

    /// The name to count `operation` under: itself if it is admitted (or
    /// can be, under the bound), else [`OVERFLOW`].
    fn admit<'a>(&self, operation: &'a str) -> &'a str {
        if let Ok(admitted) = self.admitted.read() {
            if admitted.contains(operation) {
                return operation;
            }
            if admitted.len() >= self.max_operations {
                self.overflowed.fetch_add(1, Ordering::Relaxed);
                return OVERFLOW;
            }
        }
        let Ok(mut admitted) = self.admitted.write() else {
            return OVERFLOW;
        };
        if admitted.contains(operation) {
            return operation;
        }
        if admitted.len() < self.max_operations {
            admitted.insert(operation.to_owned());
            operation
        } else {
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            OVERFLOW
        }
    }

    /// Runs `f` on this thread's stats of `operation`.
    fn with_op<R>(&self, operation: &str, f: impl FnOnce(&mut OpStats) -> R) -> Option<R> {
        let mut shard = self.shard().lock().ok()?;
        if let Some(stats) = shard.ops.get_mut(operation) {
            return Some(f(stats));
        }
        // First sight of this operation on this shard (rare).
        let name = self.admit(operation);
        Some(f(shard.ops.entry(name.to_owned()).or_default()))
    }

    pub(crate) fn started_span(&self, operation: &str) {
        self.with_op(operation, |op| op.in_flight += 1);
    }

    /// A span's operation changed (its operation field was recorded).
    pub(crate) fn moved_span(&self, from: &str, to: &str) {
        self.with_op(from, |op| op.in_flight -= 1);
        self.with_op(to, |op| op.in_flight += 1);
    }

    pub(crate) fn closed_span(&self, sample: Sample<'_>, now: Instant) {
        let minute = self.minute(now);
        self.with_op(sample.operation, |op| {
            op.in_flight -= 1;
            op.total.record(sample.duration);
            let window = op.window(minute);
            window.histogram.record(sample.duration);
            if sample.error {
                window.errors += 1;
                op.errors += 1;
                if let Some(code) = sample.code {
                    *op.errors_by_code.entry(code.to_owned()).or_default() += 1;
                }
            }
        });
    }

    /// Every shard's stats merged into `out`, reusing what `out` holds
    /// from an earlier merge (no allocation once every operation and error
    /// code has been seen); windows older than the last [`MINUTES`] before
    /// `now_minute` are left out.
    pub(crate) fn merge_into(&self, now_minute: u64, out: &mut MergedStats) {
        out.values_mut().for_each(OpStats::reset);
        for shard in self.shards.iter() {
            let Ok(shard) = shard.0.lock() else { continue };
            for (name, stats) in &shard.ops {
                let into = match out.get_mut(name.as_str()) {
                    Some(into) => into,
                    None => out.entry(name.clone()).or_default(),
                };
                into.total.merge(&stats.total);
                into.errors += stats.errors;
                into.in_flight += stats.in_flight;
                for (code, n) in &stats.errors_by_code {
                    match into.errors_by_code.get_mut(code.as_str()) {
                        Some(count) => *count += n,
                        None => {
                            into.errors_by_code.insert(code.clone(), *n);
                        }
                    }
                }
                for window in &stats.minutes {
                    let stale = window.minute + (MINUTES as u64) <= now_minute
                        || window.minute > now_minute;
                    if stale || window.histogram.count() == 0 && window.errors == 0 {
                        continue;
                    }
                    let slot = into.window(window.minute);
                    slot.histogram.merge(&window.histogram);
                    slot.errors += window.errors;
                }
            }
        }
    }

    /// Every shard's stats of every operation, merged; windows older than
    /// the last [`MINUTES`] before `now_minute` are left out.
    pub(crate) fn merged(&self, now_minute: u64) -> HashMap<String, OpStats> {
        let mut out: HashMap<String, OpStats> = HashMap::new();
        for shard in self.shards.iter() {
            let Ok(shard) = shard.0.lock() else { continue };
            for (name, stats) in &shard.ops {
                let into = out.entry(name.clone()).or_default();
                into.total.merge(&stats.total);
                into.errors += stats.errors;
                into.in_flight += stats.in_flight;
                for (code, n) in &stats.errors_by_code {
                    *into.errors_by_code.entry(code.clone()).or_default() += n;
                }
                for window in &stats.minutes {
                    let stale = window.minute + (MINUTES as u64) <= now_minute
                        || window.minute > now_minute;
                    if stale || window.histogram.count() == 0 && window.errors == 0 {
                        continue;
                    }
                    let slot = into.window(window.minute);
                    slot.histogram.merge(&window.histogram);
                    slot.errors += window.errors;
                }
            }
        }
        out
    }

    /// The minute now, and the merged stats into `out` (see [`merge_into`](Self::merge_into)).
    pub(crate) fn merge_now(&self, out: &mut MergedStats) -> u64 {
        let minute = self.minute(Instant::now());
        self.merge_into(minute, out);
        minute
    }

    /// How many times an operation beyond the bound was counted under
    /// [`OVERFLOW`] instead of its own name.
    pub(crate) fn overflowed(&self) -> usize {
        self.overflowed.load(Ordering::Relaxed)
    }
}
