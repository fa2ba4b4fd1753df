//! The clock warden times spans with: the CPU's time-stamp counter where it
//! is reliable (through `quanta`, which checks and calibrates it), else the
//! operating system's monotonic clock; and wall-clock time derived from it.
//!
//! On this project's VM a reading costs 32 ns against 41 ns for
//! `std::time::Instant::now()` and 42 ns for `SystemTime::now()`
//! (`cargo bench --bench metrics -- clock`); the larger saving is that
//! warden's layers share one reading per span open and close.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One reading of the monotonic clock that times spans.
///
/// ```
/// use warden_core::Moment;
///
/// let start = Moment::now();
/// let end = Moment::now();
/// assert!(end >= start);
/// let _took: std::time::Duration = end.saturating_duration_since(start);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment(Reading);

/// What a [`Moment`] holds: quanta's reading; under Miri, which cannot run
/// the counter's instructions, the operating system's clock (the same
/// operations, so the code under test is the same).
#[cfg(not(miri))]
type Reading = quanta::Instant;
#[cfg(miri)]
type Reading = std::time::Instant;

impl Moment {
    /// The clock, now. The first reading in a process calibrates the
    /// counter (usually 10–20 ms, never over 200 ms): warden's layers take
    /// one when they are built, so no logging call pays for it.
    #[inline]
    pub fn now() -> Self {
        #[cfg(not(miri))]
        return Moment(clock().now());
        #[cfg(miri)]
        Moment(std::time::Instant::now())
    }

    /// The time from `earlier` to this moment; zero if `earlier` is later.
    #[inline]
    pub fn saturating_duration_since(self, earlier: Moment) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The time from `earlier` to this moment, if `earlier` is not later.
    #[inline]
    pub fn checked_duration_since(self, earlier: Moment) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// This moment plus `duration`, if it can be represented.
    #[inline]
    pub fn checked_add(self, duration: Duration) -> Option<Moment> {
        self.0.checked_add(duration).map(Moment)
    }
}

/// The clock [`Moment::now`] reads: one per process, calibrated once.
///
/// Read directly rather than through `quanta::Instant::now`, which first
/// looks for a per-thread mock clock (a thread-local `RefCell`) on every
/// reading; warden never mocks its clock.
#[cfg(not(miri))]
#[inline]
fn clock() -> &'static quanta::Clock {
    static CLOCK: std::sync::OnceLock<quanta::Clock> = std::sync::OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Both clocks read together: what turns [`Moment`]s into wall-clock
/// times. An exporter takes one per batch, so the times it sends are exact
/// to the clocks' resolution for what just happened, and a wall clock
/// stepped while a span was open does not change the span's duration.
///
/// ```
/// use warden_core::Moment;
/// use warden_core::internal::WallAnchor;
///
/// let opened = Moment::now();
/// let anchor = WallAnchor::now();
/// assert!(anchor.at(opened) <= std::time::SystemTime::now());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct WallAnchor {
    moment: Moment,
    system: SystemTime,
    /// `system` as the time since the Unix epoch (zero before it).
    since_epoch: Duration,
}

impl WallAnchor {
    /// Both clocks, now.
    pub fn now() -> Self {
        let system = SystemTime::now();
        WallAnchor {
            moment: Moment::now(),
            system,
            since_epoch: system.duration_since(UNIX_EPOCH).unwrap_or_default(),
        }
    }

    /// The time of `at` since the Unix epoch (zero before it).
    #[inline]
    fn since_epoch_at(&self, at: Moment) -> Duration {
        match at.checked_duration_since(self.moment) {
            Some(after) => self.since_epoch.saturating_add(after),
            None => self
                .since_epoch
                .saturating_sub(self.moment.saturating_duration_since(at)),
        }
    }

    /// The wall-clock time of `at`.
    #[inline]
    pub fn at(&self, at: Moment) -> SystemTime {
        match self.moment.checked_duration_since(at) {
            Some(before) => self
                .system
                .checked_sub(before)
                .unwrap_or(SystemTime::UNIX_EPOCH),
            None => self.system + at.saturating_duration_since(self.moment),
        }
    }
}

/// How long a thread's anchor for [`wall_now`] is used before both clocks
/// are read again: the wall clock's own adjustments (NTP slews it by at most
/// 0.5 ms a second) show within this.
const REANCHOR: Duration = Duration::from_secs(1);

// Not a call-site cache: one reading per thread, taken again each second.
thread_local! {
    static ANCHOR: Cell<Option<(WallAnchor, Moment)>> = const { Cell::new(None) };
}

/// The wall-clock time now, for timestamps (log lines, UUID v7s): one
/// reading of the fast clock against an anchor each thread takes again
/// every second, instead of a `SystemTime::now()` each time.
///
/// ```
/// let now = warden_core::internal::wall_now();
/// let std_now = std::time::SystemTime::now();
/// let apart = std_now.duration_since(now).unwrap_or_else(|e| e.duration());
/// assert!(apart < std::time::Duration::from_millis(50));
/// ```
#[inline]
pub fn wall_now() -> SystemTime {
    let now = Moment::now();
    thread_anchor(now).map_or_else(SystemTime::now, |anchor| anchor.at(now))
}

/// [`wall_now`] as the time since the Unix epoch, without `SystemTime`
/// arithmetic: what a line's timestamp needs.
///
/// ```
/// let since = warden_core::internal::wall_now_since_epoch();
/// let std_since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
/// assert!(std_since.abs_diff(since) < std::time::Duration::from_millis(50));
/// ```
#[inline]
pub fn wall_now_since_epoch() -> Duration {
    wall_since_epoch_at(Moment::now())
}

/// The wall-clock time of a recent `at` (a span's open, read once for
/// every layer) as the time since the Unix epoch, against this thread's
/// anchor: no clock is read again unless the anchor is due.
///
/// ```
/// use warden_core::Moment;
/// use warden_core::internal::wall_since_epoch_at;
///
/// let opened = Moment::now();
/// let since = wall_since_epoch_at(opened);
/// let std_since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
/// assert!(std_since.abs_diff(since) < std::time::Duration::from_millis(50));
/// ```
#[inline]
pub fn wall_since_epoch_at(at: Moment) -> Duration {
    match thread_anchor(at) {
        Some(anchor) => anchor.since_epoch_at(at),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    }
}

/// This thread's anchor, taken again once it is [`REANCHOR`] old (`None`
/// when the thread's storage is gone, as it ends).
#[inline]
fn thread_anchor(now: Moment) -> Option<WallAnchor> {
    ANCHOR
        .try_with(|cell| match cell.get() {
            Some((anchor, until)) if now < until => anchor,
            _ => {
                let anchor = WallAnchor::now();
                let until = anchor.moment.checked_add(REANCHOR).unwrap_or(anchor.moment);
                cell.set(Some((anchor, until)));
                anchor
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_follows_the_system_clock() {
        for _ in 0..1_000 {
            let before = SystemTime::now();
            let ours = wall_now();
            let after = SystemTime::now();
            let slack = Duration::from_millis(2);
            assert!(ours + slack >= before && ours <= after + slack);
            let since = wall_now_since_epoch();
            let epoch = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap();
            assert!(since + slack >= epoch(before) && since <= epoch(SystemTime::now()) + slack);
        }
        // Moments on either side of the anchor.
        let anchor = WallAnchor::now();
        let later = anchor.moment.checked_add(Duration::from_millis(3)).unwrap();
        assert_eq!(
            anchor.since_epoch_at(later),
            anchor.since_epoch + Duration::from_millis(3)
        );
        let earlier = Moment::now();
        let anchor = WallAnchor::now();
        assert!(anchor.since_epoch_at(earlier) <= anchor.since_epoch);
        let a = Moment::now();
        std::thread::sleep(Duration::from_millis(5));
        let b = Moment::now();
        assert!(b.saturating_duration_since(a) >= Duration::from_millis(5));
        assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    }
}
