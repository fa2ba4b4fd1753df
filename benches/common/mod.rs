//! The inputs both PII benches measure, so that wall time (`pii.rs`) and
//! instruction counts (`probe.rs`) describe the same work.
// Shared by several test or bench binaries: `pub` here is for them.
#![allow(unreachable_pub)]
#![allow(dead_code)]

/// A clean 120-byte log message as `tracing` messages usually are: prose,
/// with the values in fields of their own.
pub const CLEAN: &str = "User session for the account was refreshed and all background workers reported a healthy state after the deploy #42, ok.";

/// A clean 120-byte line of the dense `key=value` kind plain-text logs
/// have: every `=`, `:`, `-`, `.` and number in it is a place a detector
/// must look.
pub const CLEAN_KV: &str = "GET /api/v1/orders/98231 completed in 42 ms: status=200 tenant=acme-corp region=eu-west-1 cache.hit=0.93 retries=2 ok.ok";

/// A clean, number-dense line of the kind real logs are made of (issue 11):
/// every number, `=`, `.` and `-` is a place a detector must look.
pub const DENSE: &str = "GET /api/v2/orders/84213 completed status=200 bytes=5120 in 12.4ms cache=miss region=eu-west-1 worker=7 retry=0";

/// The five PII patterns issue 11 names as the baseline, as written there.
#[allow(dead_code)]
pub const FIVE_PATTERNS: [&str; 5] = [
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    r"\(?\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}",
    r"\b\d{3}-\d{2}-\d{4}\b",
    r"\b(?:\d[ -]?){13,16}\b",
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
];

/// The lines of the ten loghub samples, read in place from
/// `../shared/corpora/loghub` (research licence: never copied into the
/// repository); empty when the samples are not there.
pub fn loghub_lines() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/loghub");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .filter_map(|p| std::fs::read(p).ok())
        .flat_map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A message with an email address and a phone number.
pub const DIRTY: &str = "password reset requested by ada.lovelace@example.com, confirmation sent to +1 (415) 555-2671 at 10:42";

/// A clean event with four fields and a message.
pub fn clean_event() {
    tracing::info!(
        user_id = 4242u64,
        route = "/api/v1/orders",
        status = 200u64,
        latency_ms = 12.5,
        "request completed"
    );
}

/// The clean event with the dense line (`DENSE`) as its message.
pub fn dense_event() {
    tracing::info!(
        user_id = 4242u64,
        route = "/api/v2/orders",
        status = 200u64,
        latency_ms = 12.4,
        "{}",
        DENSE
    );
}

/// The same event with an email address in a field.
pub fn dirty_event() {
    tracing::info!(
        user = "ada@example.com",
        route = "/api/v1/orders",
        status = 200u64,
        latency_ms = 12.5,
        "request completed"
    );
}

/// The clean event inside two nested spans with two fields each, the spans
/// made once (as a request's spans are) and the event logged `n` times.
pub fn events_in_two_spans(n: usize) {
    let request = tracing::info_span!("request", method = "POST", path = "/api/v1/orders");
    let _r = request.enter();
    let handler = tracing::info_span!("handler", tenant = "acme", attempt = 1u64);
    let _h = handler.enter();
    for _ in 0..n {
        clean_event();
    }
}

/// The least any layer that keeps data on every span pays: one `u64` in
/// the span's extensions, inserted when the span opens.
pub struct ExtensionFloor;

impl<S> tracing_subscriber::Layer<S> for ExtensionFloor
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(std::hint::black_box(7u64));
        }
    }
}

/// The least any gate that reads every value of an event pays: it opens
/// the event's rendering (so that each `Debug` value, the message among
/// them, is formatted once) and visits every value, deciding nothing.
/// Beside `fmt::layer().json()`, the floor of the gate's cost on events.
pub struct ReadFloor;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ReadFloor {
    fn event_enabled(
        &self,
        event: &tracing::Event<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        warden::core::internal::open_rendering(event.metadata().fields());
        warden::core::internal::visit_fields_with(event, &mut ReadEach);
        true
    }
}

/// [`ReadFloor`]'s visitor: takes each value, and does nothing with it.
struct ReadEach;

impl warden::core::internal::TextVisitor for ReadEach {
    #[inline(always)]
    fn visit(
        &mut self,
        field: &tracing::field::Field,
        value: warden::core::FieldRef<'_>,
        text: Option<&str>,
    ) {
        std::hint::black_box((field, value, text));
    }
}

/// Benches `f` under each named dispatcher, in `group`: the same work
/// beside its baselines, in one run.
pub fn bench_each(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    cases: &[(&str, &tracing::Dispatch)],
    f: fn(),
) {
    for (name, dispatch) in cases {
        tracing::dispatcher::with_default(dispatch, || {
            group.bench_function(*name, |b| b.iter(f));
        });
    }
}

/// An audit sink that keeps nothing: its writer never holds the queue up,
/// so what is measured is the logging thread's own work.
pub struct Discard;

impl warden::audit::AuditSink for Discard {
    fn name(&self) -> String {
        "discard".into()
    }
    fn write(
        &mut self,
        records: &[warden::audit::AuditRecord],
    ) -> Result<(), warden::audit::SinkError> {
        std::hint::black_box(records);
        Ok(())
    }
}

/// The audit event both audit benches log.
pub fn audit_event(n: u64) {
    warden::audit::api_call!(
        action = "get_order",
        user_id = "user-42",
        resource_id = "order-9",
        outcome = "success",
        duration_ms = 12.5,
        n = n
    );
}

/// The stack `warden::init()` installs, without OTLP, its audit router
/// writing to [`Discard`]: what `benches/stack.rs` and `benches/probe.rs`
/// measure against `fmt::layer().json()`.
pub fn warden_stack() -> (tracing::Dispatch, warden::WardenGuard) {
    warden_stack_with(None)
}

/// The same stack, exporting through `otlp` when given.
pub fn warden_stack_with(
    otlp: Option<warden::otlp::OtlpBuilder>,
) -> (tracing::Dispatch, warden::WardenGuard) {
    warden_stack_tuned(otlp, |builder| builder)
}

/// The same stack, with `tune` applied to its builder last (to leave a
/// part out).
pub fn warden_stack_tuned(
    otlp: Option<warden::otlp::OtlpBuilder>,
    tune: impl FnOnce(warden::WardenBuilder) -> warden::WardenBuilder,
) -> (tracing::Dispatch, warden::WardenGuard) {
    let audit = warden::audit::AuditLayer::builder()
        .route(
            warden::audit::Route::new("discard", warden::audit::RouteFilter::all()).sink(Discard),
        )
        .build()
        .expect("audit router");
    // The flood limit at a rate no count reaches: its work is in every
    // event's count, and a probe of 100,000 events from one call site is
    // not suppressed past the default burst (which would count less work).
    let flood =
        warden::flood::FloodLimit::builder().rate(warden::flood::Rate::new(u32::MAX, u32::MAX));
    let builder = warden::Warden::builder().filter("info").audit(audit);
    // `WARDEN_PROBE_FLOOD=off`: the stack without issue 26's flood limit,
    // to count it apart (a commit from before it ignores the variable).
    let builder = if std::env::var("WARDEN_PROBE_FLOOD").is_ok_and(|v| v == "off") {
        builder.without_flood_limit()
    } else {
        builder.flood_limit(flood)
    };
    let builder = match otlp {
        Some(otlp) => builder.otlp(otlp),
        None => builder.without_otlp(),
    };
    let (subscriber, guard) = tune(builder.writer(std::io::sink))
        .build()
        .expect("the stack");
    (tracing::Dispatch::new(subscriber), guard)
}

/// The same stack at `RUST_LOG=warn`, as warden builds it (`logs_only`
/// false: audit events and INFO spans kept whatever the level) or as a
/// stack filtered by the directives alone would be (`logs_only` true):
/// the two sides of what issue 23 costs a `warn` service.
pub fn warden_stack_at_warn(logs_only: bool) -> (tracing::Dispatch, warden::WardenGuard) {
    warden_stack_tuned(None, |builder| {
        let filter = warden::StackFilter::parse("warn").expect("a filter");
        if logs_only {
            builder.stack_filter(filter.logs_only())
        } else {
            builder.filter("warn")
        }
    })
}

/// A `debug!` a service at `warn` does not write.
pub fn disabled_debug(n: u64) {
    tracing::debug!(attempt = n, "cache miss");
}

/// Issue 16's unit of work: a root span with three fields, a child span
/// with two, three events of which one carries an email.
pub fn request_unit(n: u64) {
    let root = tracing::info_span!(
        "request",
        method = "POST",
        path = "/api/v1/orders",
        tenant = "acme"
    );
    let _r = root.enter();
    tracing::info!(step = "validated", "request accepted");
    let child = tracing::info_span!("charge", order_id = n, attempt = 1u64);
    let _c = child.enter();
    tracing::info!(customer = "ada@example.com", "charging the customer");
    tracing::warn!(latency_ms = 12u64, "slow provider");
}

/// `init()`'s stack without an audit store or exporter, JSON lines to a
/// sink, DEBUG filtered out: with a request's DEBUG lines held for its
/// failure (`lines`), or not (issue 26, part 3).
pub fn request_lines_stack(
    lines: Option<warden::request_lines::RequestLinesBuilder>,
) -> (tracing::Dispatch, warden::WardenGuard) {
    let mut builder = warden::Warden::builder()
        .filter("info")
        .without_audit()
        .without_otlp()
        .writer(std::io::sink);
    if let Some(lines) = lines {
        builder = builder.request_lines(lines);
    }
    let (subscriber, guard) = builder.build().expect("a stack");
    (tracing::Dispatch::new(subscriber), guard)
}

/// A request with ten DEBUG lines (and an ERROR one that fails it).
pub fn ten_debug_request(fail: bool) {
    let _request = tracing::info_span!("request", route = "/orders").entered();
    for n in 0..10u64 {
        tracing::debug!(n = std::hint::black_box(n), key = "orders:42", "cache miss");
    }
    if fail {
        tracing::error!("payment refused");
    }
}

/// Ten DEBUG lines outside any request.
pub fn ten_debug_outside() {
    for n in 0..10u64 {
        tracing::debug!(n = std::hint::black_box(n), key = "orders:42", "cache miss");
    }
}

/// A layer that takes every event and does next to nothing with it: what
/// a filter or a limit sits in front of in a bench, so that the difference
/// measured is theirs.
pub struct Sink;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Sink {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        std::hint::black_box(event.metadata());
    }
}
