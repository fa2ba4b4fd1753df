//! The writer thread of a route: drains its queue in batches, builds the
//! records of captured events, writes every sink, retries a failing one
//! and states what was lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use warden_pii::Sanitizer;

use crate::from_event::{AuditFields, Captured, record_from_captured};
use crate::identity::Pseudonyms;
use crate::record::{AuditLevel, AuditRecord, EventType, Outcome};
use crate::sink::AuditSink;

/// What the logging thread hands the writer.
pub(crate) enum Pending {
    /// An audit event, to be turned into a record by the writer.
    Event(Captured),
    /// A record built by hand.
    Record(Box<AuditRecord>),
}

impl Pending {
    pub(crate) fn routing(&self) -> (AuditLevel, &EventType) {
        match self {
            Pending::Event(c) => (c.audit_level, &c.event_type),
            Pending::Record(r) => (r.level, &r.event_type),
        }
    }
}

impl Clone for Pending {
    fn clone(&self) -> Self {
        match self {
            Pending::Event(c) => Pending::Event(c.clone()),
            Pending::Record(r) => Pending::Record(r.clone()),
        }
    }
}

// Records are nearly every command sent: boxing them would allocate once
// per audit event to save a few bytes on the rare flush.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    Record(Pending, Option<Sender<()>>),
    Flush(Sender<()>),
    Shutdown,
}

/// Counters of one route, shared with its writer.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) queued: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) unreported_loss: AtomicU64,
    /// Records the writer wrote of its own: the statements of a loss.
    pub(crate) statements: AtomicU64,
    /// Queued records the writer gave up on at shutdown (also in
    /// `dropped`).
    pub(crate) abandoned: AtomicU64,
    pub(crate) sink_errors: AtomicU64,
    pub(crate) sync_timeouts: AtomicU64,
    /// When writes began to fail (microseconds since the epoch), 0 while
    /// they succeed.
    pub(crate) failing_since_us: std::sync::atomic::AtomicI64,
}

/// The most records one transaction takes.
pub(crate) const MAX_BATCH: usize = 4096;
/// How often the writer's sinks do their housekeeping.
const TICK: Duration = Duration::from_millis(250);
/// The longest a batched record waits in the queue before the writer
/// takes it.
const BATCH_DELAY: Duration = Duration::from_millis(5);

pub(crate) struct Writer {
    pub(crate) rx: Receiver<Command>,
    /// The most records taken out of the queue at once: no more than the
    /// queue holds, so that what waits for a stalled sink stays within
    /// about twice the route's bound.
    pub(crate) batch_limit: usize,
    pub(crate) recycle: Sender<AuditFields>,
    pub(crate) sanitizer: Sanitizer,
    pub(crate) pseudonyms: Option<Pseudonyms>,
    pub(crate) sinks: Vec<Box<dyn AuditSink>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) route: String,
    pub(crate) failing: bool,
}

impl Writer {
    pub(crate) fn run(mut self) {
        let mut batch: Vec<AuditRecord> = Vec::new();
        let mut acks: Vec<Sender<()>> = Vec::new();
        let mut shutting_down = false;
        let mut last_tick = Instant::now();
        while !shutting_down {
            // Nobody wakes the writer for a batched record: it drains the
            // queue every BATCH_DELAY, so a logging call never pays for a
            // wake-up. `Sync` records, flushes and a half-full queue unpark it.
            let mut received = false;
            while batch.len() < self.batch_limit {
                match self.rx.try_recv() {
                    Ok(command) => {
                        received = true;
                        shutting_down |= self.take(command, &mut batch, &mut acks);
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        shutting_down = true;
                        break;
                    }
                }
            }
            let lost = self.counters.unreported_loss.swap(0, Ordering::AcqRel);
            if lost > 0 {
                batch.push(loss_record(lost, &self.route));
                self.counters.statements.fetch_add(1, Ordering::Relaxed);
            }
            self.write_until_done(&mut batch, shutting_down);
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                for sink in &mut self.sinks {
                    if let Err(e) = sink.tick() {
                        self.counters.sink_errors.fetch_add(1, Ordering::Relaxed);
                        if !self.failing {
                            eprintln!("warden-audit: route {}: {}: {e}", self.route, sink.name());
                        }
                    }
                }
            }
            if !received && !shutting_down {
                std::thread::park_timeout(BATCH_DELAY);
            }
        }
        for sink in &mut self.sinks {
            if let Err(e) = sink.close() {
                eprintln!("warden-audit: closing {}: {e}", sink.name());
            }
        }
    }

    /// Adds a command's record to the batch; whether it asks to stop.
    fn take(
        &self,
        command: Command,
        batch: &mut Vec<AuditRecord>,
        acks: &mut Vec<Sender<()>>,
    ) -> bool {
        match command {
            Command::Record(pending, ack) => {
                batch.push(match pending {
                    Pending::Record(record) => *record,
                    Pending::Event(captured) => {
                        let (record, buffers) = record_from_captured(
                            captured,
                            &self.sanitizer,
                            self.pseudonyms.as_ref(),
                        );
                        let _ = self.recycle.try_send(buffers);
                        record
                    }
                });
                acks.extend(ack);
                false
            }
            Command::Flush(ack) => {
                acks.push(ack);
                false
            }
            Command::Shutdown => true,
        }
    }

    /// Writes the batch to every sink, retrying with backoff while a sink
    /// fails (the queue fills meanwhile, and its overflow policy applies).
    /// At shutdown, gives up after a few attempts.
    fn write_until_done(&mut self, batch: &mut Vec<AuditRecord>, shutting_down: bool) {
        if batch.is_empty() {
            return;
        }
        // Sinks that have already taken this batch are not given it twice.
        let mut done = vec![false; self.sinks.len()];
        let mut backoff = Duration::from_millis(50);
        let mut attempts = 0;
        loop {
            let mut all = true;
            for (i, sink) in self.sinks.iter_mut().enumerate() {
                if done[i] {
                    continue;
                }
                match sink.write(batch) {
                    Ok(()) => done[i] = true,
                    Err(e) => {
                        all = false;
                        self.counters.sink_errors.fetch_add(1, Ordering::Relaxed);
                        if !self.failing {
                            eprintln!(
                                "warden-audit: route {}: writing to {} failed: {e}; the records stay queued and are retried with backoff (meanwhile a full queue drops new records, counted; at shutdown, records still unwritten after 3 attempts are counted as lost)",
                                self.route,
                                sink.name()
                            );
                        }
                        if !self.failing {
                            let now =
                                crate::record::micros_since_epoch(std::time::SystemTime::now());
                            self.counters
                                .failing_since_us
                                .store(now.max(1), Ordering::Relaxed);
                        }
                        self.failing = true;
                    }
                }
            }
            if all {
                if self.failing {
                    eprintln!("warden-audit: route {}: writing resumed", self.route);
                    self.failing = false;
                    self.counters.failing_since_us.store(0, Ordering::Relaxed);
                }
                self.counters
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
                return;
            }
            attempts += 1;
            if shutting_down && attempts >= 3 {
                eprintln!(
                    "warden-audit: route {}: {} records could not be written at shutdown",
                    self.route,
                    batch.len()
                );
                let given_up = batch.len() as u64;
                self.counters.dropped.fetch_add(given_up, Ordering::Relaxed);
                self.counters
                    .abandoned
                    .fetch_add(given_up, Ordering::Relaxed);
                batch.clear();
                return;
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

/// The record that states how many records a route lost.
fn loss_record(lost: u64, route: &str) -> AuditRecord {
    let mut record = AuditRecord::new(EventType::Security, "audit_records_lost")
        .with_level(AuditLevel::Security)
        .with_outcome(Outcome::Failure);
    record.error_message = Some(format!(
        "{lost} audit records were dropped because the queue of route {route} was full"
    ));
    record.metadata.insert("lost".into(), lost.into());
    record.metadata.insert("route".into(), route.into());
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::SinkError;
    use std::sync::Mutex;

    #[test]
    fn a_loss_is_stated_as_a_security_failure() {
        let record = loss_record(7, "db");
        assert_eq!(record.event_type, EventType::Security);
        assert_eq!(record.level, AuditLevel::Security);
        assert_eq!(record.outcome, Outcome::Failure);
        assert_eq!(record.metadata["lost"], 7);
        assert_eq!(record.metadata["route"], "db");
    }

    /// A sink that fails its first `failures` writes, then keeps records.
    #[derive(Clone, Default)]
    struct Flaky {
        failures: Arc<Mutex<u32>>,
        kept: Arc<Mutex<Vec<String>>>,
    }

    impl AuditSink for Flaky {
        fn name(&self) -> String {
            "flaky".into()
        }
        fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err("not now".into());
            }
            let mut kept = self.kept.lock().unwrap();
            kept.extend(records.iter().map(|r| r.action.clone()));
            Ok(())
        }
    }

    fn writer(sink: Flaky) -> (Writer, Sender<Command>, Arc<Counters>) {
        let (tx, rx) = crossbeam_channel::bounded(16);
        let (recycle, _) = crossbeam_channel::bounded(1);
        let counters = Arc::new(Counters::default());
        let writer = Writer {
            rx,
            batch_limit: 16,
            recycle,
            sanitizer: Sanitizer::default(),
            pseudonyms: None,
            sinks: vec![Box::new(sink)],
            counters: Arc::clone(&counters),
            route: "test".into(),
            failing: false,
        };
        (writer, tx, counters)
    }

    #[test]
    fn a_failing_sink_is_retried_until_it_takes_the_batch() {
        let sink = Flaky::default();
        *sink.failures.lock().unwrap() = 2;
        let (mut writer, _tx, counters) = writer(sink.clone());
        let mut batch = vec![AuditRecord::new(EventType::ApiCall, "kept")];
        writer.write_until_done(&mut batch, false);
        assert!(batch.is_empty());
        assert_eq!(*sink.kept.lock().unwrap(), ["kept"]);
        assert_eq!(counters.sink_errors.load(Ordering::Relaxed), 2);
        assert_eq!(counters.written.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn at_shutdown_a_dead_sink_costs_the_batch_counted() {
        let sink = Flaky::default();
        *sink.failures.lock().unwrap() = u32::MAX;
        let (mut writer, _tx, counters) = writer(sink);
        let mut batch = vec![AuditRecord::new(EventType::ApiCall, "lost")];
        writer.write_until_done(&mut batch, true);
        assert!(batch.is_empty());
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_thread_writes_queued_records_and_stops_on_shutdown() {
        let sink = Flaky::default();
        let (writer, tx, counters) = writer(sink.clone());
        let thread = std::thread::spawn(move || writer.run());
        let record = AuditRecord::new(EventType::ApiCall, "queued");
        tx.send(Command::Record(Pending::Record(Box::new(record)), None))
            .unwrap();
        let (ack, done) = crossbeam_channel::bounded(1);
        tx.send(Command::Flush(ack)).unwrap();
        done.recv_timeout(Duration::from_secs(10)).unwrap();
        tx.send(Command::Shutdown).unwrap();
        thread.join().unwrap();
        assert_eq!(*sink.kept.lock().unwrap(), ["queued"]);
        assert_eq!(counters.written.load(Ordering::Relaxed), 1);
    }
}
