//! The stack's level filter: `tracing-subscriber`'s `Targets` when the
//! directives name only targets and levels, `EnvFilter` when they need its
//! span and field matching.

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::level_filters::LevelFilter;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The filter [`WardenBuilder::filter`](crate::WardenBuilder::filter) (or
/// `RUST_LOG`) builds.
///
/// Directives of targets and levels only (`info`, `my_app=debug,warn`) make
/// a `Targets` filter: decided per call site, it does nothing per span.
/// `EnvFilter` takes a read lock on every span's open, enter, exit and
/// close to look for span-scoped directives, even when there are none; it
/// is used only when the directives have some (`[request{user}]=trace`).
///
/// ```
/// use warden::StackFilter;
///
/// assert!(StackFilter::parse("info,my_app::db=debug")?.is_static());
/// assert!(!StackFilter::parse("info,[request{tenant=acme}]=trace")?.is_static());
/// assert!(StackFilter::parse("info,=nonsense").is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug)]
pub struct StackFilter(Inner);

// One per stack: `Targets` (inline directives, with `smallvec`) stays
// unboxed so that the callsite and event checks do not follow a pointer.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Inner {
    Static(Targets),
    Env(Box<EnvFilter>),
}

impl StackFilter {
    /// Parses `EnvFilter` directives; the error says what is wrong.
    pub fn parse(directives: &str) -> Result<Self, String> {
        // EnvFilter's parser is the reference: whatever it refuses is an
        // error, whichever filter is built.
        let env = EnvFilter::builder()
            .parse(directives)
            .map_err(|e| e.to_string())?;
        // An empty list means `EnvFilter`'s default (errors only), which an
        // empty `Targets` would not.
        let plain = !directives.trim().is_empty() && !directives.contains(['[', '{', '(']);
        if plain {
            if let Ok(targets) = directives.trim().parse::<Targets>() {
                return Ok(StackFilter(Inner::Static(targets)));
            }
        }
        Ok(StackFilter(Inner::Env(Box::new(env))))
    }

    /// Whether the filter decides per call site only (`Targets`).
    pub fn is_static(&self) -> bool {
        matches!(self.0, Inner::Static(_))
    }
}

/// Calls `$method` on whichever filter this is.
macro_rules! each {
    ($self:ident, $f:ident => $body:expr) => {
        match &$self.0 {
            Inner::Static($f) => $body,
            Inner::Env($f) => {
                let $f = &**$f;
                $body
            }
        }
    };
}

impl<S> Layer<S> for StackFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        each!(self, f => Layer::<S>::register_callsite(f, metadata))
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        each!(self, f => Layer::<S>::enabled(f, metadata, ctx))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        each!(self, f => Layer::<S>::max_level_hint(f))
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        each!(self, f => Layer::<S>::event_enabled(f, event, ctx))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Inner::Env(f) = &self.0 {
            Layer::<S>::on_new_span(&**f, attrs, id, ctx);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Inner::Env(f) = &self.0 {
            Layer::<S>::on_record(&**f, id, values, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Inner::Env(f) = &self.0 {
            Layer::<S>::on_enter(&**f, id, ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Inner::Env(f) = &self.0 {
            Layer::<S>::on_exit(&**f, id, ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Inner::Env(f) = &self.0 {
            Layer::<S>::on_close(&**f, id, ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    /// Counts the events that reach it.
    #[derive(Clone, Default)]
    struct Count(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Count {
        fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn seen(directives: &str, f: impl FnOnce()) -> usize {
        let count = Count::default();
        let filter = StackFilter::parse(directives).unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(count.clone());
        tracing::subscriber::with_default(subscriber, f);
        count.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The events `EnvFilter` itself lets through for `directives`.
    fn seen_by_env_filter(directives: &str, f: impl FnOnce()) -> usize {
        let count = Count::default();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::builder().parse(directives).unwrap())
            .with(count.clone());
        tracing::subscriber::with_default(subscriber, f);
        count.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[test]
    fn targets_decide_every_plain_directive_list_as_env_filter_does() {
        let events = || {
            tracing::error!(target: "app", "e");
            tracing::warn!(target: "app::db", "w");
            tracing::info!(target: "app::db::pool", "i");
            tracing::debug!(target: "app::web", "d");
            tracing::trace!(target: "other", "t");
            tracing::info!(target: "application", "prefix, not a path");
            let _span = tracing::debug_span!(target: "app::web", "request").entered();
            tracing::debug!(target: "app::web", "inside");
        };
        for directives in [
            "",
            "info",
            "INFO",
            "warn,app=trace",
            "app::db=debug",
            "app",
            "off,app::web=debug",
            "trace,app::db=off",
            "error,application=info",
            "debug,other=trace",
        ] {
            assert_eq!(
                seen(directives, events),
                seen_by_env_filter(directives, events),
                "{directives:?}"
            );
        }
    }

    #[test]
    fn both_filters_decide_as_env_filter_does() {
        let events = || {
            tracing::debug!(target: "app::db", "query");
            tracing::debug!(target: "app::web", "request");
            tracing::info!(target: "other", "hello");
            tracing::trace!(target: "other", "noise");
            let _span = tracing::info_span!("request", tenant = "acme").entered();
            tracing::trace!(target: "other", "inside");
        };
        assert!(StackFilter::parse("info,app::db=debug").unwrap().is_static());
        assert_eq!(seen("info,app::db=debug", events), 2);
        assert_eq!(seen("warn", events), 0);
        assert_eq!(seen("trace", events), 5);
        assert_eq!(seen("off", events), 0);
        assert!(!StackFilter::parse("").unwrap().is_static());
        assert_eq!(seen("app::db=debug", events), 1);
        let scoped = "info,[request{tenant=acme}]=trace";
        assert!(!StackFilter::parse(scoped).unwrap().is_static());
        assert_eq!(seen(scoped, events), 2);
    }
}
