//! A writer that never blocks the logging call: each line goes into a
//! bounded queue that a writer thread of its own empties into the real
//! writer (stdout, a pipe, a file). When the queue is full (the reader of a
//! pipe stopped reading), the line is dropped and counted, and the writer
//! thread writes one line `warden: N lines dropped` before the next line it
//! writes once writing resumes. The count is also read with
//! [`NonBlocking::dropped`] (and shown in `/metrics` by `warden::init()`).
//!
//! The front end (a `MakeWriter`) and the worker are split as in
//! tracing-appender; the worker is warden's own so that it can say in-band
//! what it dropped.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;
use warden_core::{FlushError, FlushResult};

/// The counts the front end and the worker share.
#[derive(Debug, Default)]
struct Counts {
    /// Lines dropped because the queue was full or the worker gone.
    dropped: AtomicU64,
    /// Lines the worker wrote (the in-band lines not included).
    written: AtomicU64,
}

/// The front end: a `MakeWriter` whose writers queue each line and return
/// at once. Made by [`NonBlocking::new`] with its [`NonBlockingGuard`].
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_json::{JsonLayer, NonBlocking};
///
/// let (writer, guard) = NonBlocking::new(std::io::sink(), 1024);
/// let counts = writer.clone();
/// let layer = JsonLayer::new().with_writer(writer);
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing::info!("queued, written by the worker");
/// });
/// guard.shutdown(std::time::Duration::from_secs(1)).unwrap();
/// assert_eq!((counts.written(), counts.dropped()), (1, 0));
/// ```
#[derive(Clone, Debug)]
pub struct NonBlocking {
    sender: SyncSender<Msg>,
    counts: Arc<Counts>,
}

/// What the queue carries.
#[derive(Debug)]
enum Msg {
    Line(Vec<u8>),
    /// Write what is queued before this, say what was dropped, and stop.
    Shutdown,
}

/// Stops the worker when dropped, after it has written what was queued
/// (waiting at most a second: a writer that blocks for good is left to its
/// thread).
#[must_use = "dropping the guard stops the writer thread"]
#[derive(Debug)]
pub struct NonBlockingGuard {
    sender: SyncSender<Msg>,
    worker: Mutex<Option<JoinHandle<()>>>,
    counts: Arc<Counts>,
}

impl NonBlocking {
    /// A writer that queues up to `capacity` lines for a worker thread
    /// writing them to `writer`.
    pub fn new<W: Write + Send + 'static>(writer: W, capacity: usize) -> (Self, NonBlockingGuard) {
        let (sender, receiver) = sync_channel(capacity.max(1));
        let counts = Arc::new(Counts::default());
        let worker = {
            let counts = Arc::clone(&counts);
            std::thread::Builder::new()
                .name("warden-json-writer".into())
                .spawn(move || work(receiver, writer, &counts))
                .ok()
        };
        let guard = NonBlockingGuard {
            sender: sender.clone(),
            worker: Mutex::new(worker),
            counts: Arc::clone(&counts),
        };
        (NonBlocking { sender, counts }, guard)
    }

    /// Lines dropped so far (the queue was full, or the worker gone).
    pub fn dropped(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
    }

    /// Lines the worker has written so far.
    pub fn written(&self) -> u64 {
        self.counts.written.load(Ordering::Relaxed)
    }
}

impl NonBlockingGuard {
    /// Stops the worker once it has written what is queued, waiting up to
    /// `timeout`: `Err(Timeout)` if it did not finish (its writer blocks).
    /// Lines logged after are dropped and counted.
    pub fn shutdown(&self, timeout: Duration) -> FlushResult {
        let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) else {
            return Err(FlushError::ShutDown);
        };
        let deadline = Instant::now() + timeout;
        // The stop goes in behind every queued line; a full queue is
        // waited on, up to the deadline.
        let mut stop = Msg::Shutdown;
        loop {
            match self.sender.try_send(stop) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => break,
                Err(TrySendError::Full(again)) => {
                    if Instant::now() >= deadline {
                        return Err(FlushError::Timeout(timeout));
                    }
                    stop = again;
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        while !worker.is_finished() {
            if Instant::now() >= deadline {
                return Err(FlushError::Timeout(timeout));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = worker.join();
        Ok(())
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
    }

    /// Lines the worker has written so far.
    pub fn written(&self) -> u64 {
        self.counts.written.load(Ordering::Relaxed)
    }
}

impl Drop for NonBlockingGuard {
    fn drop(&mut self) {
        let _ = self.shutdown(Duration::from_secs(1));
    }
}

/// The worker: writes each line, and before the first one after lines were
/// dropped, how many.
fn work<W: Write>(receiver: Receiver<Msg>, mut writer: W, counts: &Counts) {
    let mut said = 0;
    let mut say_dropped = |writer: &mut W| {
        let dropped = counts.dropped.load(Ordering::Acquire);
        if dropped > said {
            let _ = writeln!(writer, "warden: {} lines dropped", dropped - said);
            said = dropped;
        }
    };
    for msg in &receiver {
        let Msg::Line(line) = msg else { break };
        say_dropped(&mut writer);
        if writer.write_all(&line).is_ok() {
            counts.written.fetch_add(1, Ordering::Relaxed);
        }
        let _ = writer.flush();
    }
    say_dropped(&mut writer);
    let _ = writer.flush();
}

/// One line's writer: queued when it is written, never waited for.
#[derive(Debug)]
pub struct LineWriter<'a> {
    front: &'a NonBlocking,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.front.sender.try_send(Msg::Line(buf.to_vec())) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.front.counts.dropped.fetch_add(1, Ordering::AcqRel);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for NonBlocking {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { front: self }
    }
}
